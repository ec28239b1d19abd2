"""Set-based helpers: INSERT … SELECT, history records, statistics after bulk changes,
foreign-key checks in the background."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Value
from django.test.utils import CaptureQueriesContext
from psycopg import pq

from backoffice import db
from catalog.models import ListingEvent, Product, Tag, Variant
from inventory.models import Movement

from ..factories import ProductFactory, TagFactory, VariantFactory

pytestmark = pytest.mark.django_db


def test_insert_select_writes_one_row_per_selected_row_in_one_statement():
    products = ProductFactory.create_batch(5)
    tag = TagFactory()
    with CaptureQueriesContext(connection) as queries:
        written = db.insert_select(
            Product.tags.through,
            {"product_id": F("pk"), "tag_id": Value(tag.pk)},
            Product.objects.filter(pk__in=[p.pk for p in products[:3]]),
        )
    assert written == 3
    assert len(queries) == 1
    assert set(tag.products.values_list("pk", flat=True)) == {p.pk for p in products[:3]}


def test_record_history_copies_the_rows_with_actor_and_reason(admin_user):
    products = ProductFactory.create_batch(3)
    before = Product.history.count()
    db.record_history(Product, Product.objects.all(), actor=admin_user, reason="bulk edit")
    records = Product.history.order_by("-history_id")[:3]
    assert Product.history.count() == before + 3
    assert {r.history_user_id for r in records} == {admin_user.pk}
    assert {r.history_change_reason for r in records} == {"bulk edit"}
    assert {r.id for r in records} == {p.pk for p in products}


def test_ignore_conflicts_needs_a_filtered_selection():
    with pytest.raises(ValueError, match="filtered queryset"):
        db.insert_select(
            ListingEvent, {"product_id": F("pk")}, Product.objects.all(), ignore_conflicts=True
        )


@pytest.mark.postgres
def test_statistics_are_refreshed_after_a_big_bulk_change(monkeypatch):
    monkeypatch.setattr(db, "STATISTICS_AFTER", 2)
    with CaptureQueriesContext(connection) as queries:
        db.refresh_statistics(Product, 1, ["status"])
        db.refresh_statistics(Product, 2, ["status", "category"])
    assert [q["sql"] for q in queries] == ['ANALYZE "catalog_product" ("status", "category_id")']


# --- any_of and reserve_ids ---------------------------------------------------------------


def test_any_of_matches_like_in_for_text_integer_and_foreign_keys():
    products = [ProductFactory(handle=f"any-of-{i}") for i in range(3)]
    handles = ["any-of-0", "any-of-2", "missing", "any-of-0"]
    assert set(Product.objects.filter(handle__any_of=handles)) == {products[0], products[2]}
    ids = [products[1].pk, 0]
    assert list(Product.objects.filter(pk__any_of=ids)) == [products[1]]
    variant = VariantFactory(product=products[1])
    assert list(Variant.objects.filter(product__any_of=[products[1].pk])) == [variant]


def test_any_of_matches_text_with_quotes_backslashes_braces_and_separators():
    odd = ['say "hi"', "back\\slash", "{brace}", "a,b", " spaced ", "", "NULL", "ünï", "end\\"]
    variants = [VariantFactory(sku=f"AO-{n}", barcode=value or None) for n, value in enumerate(odd)]
    skus = [f"AO-{n}" for n in range(len(odd))]
    for value, variant in zip(odd, variants, strict=True):
        if value:
            assert list(Variant.objects.filter(barcode__any_of=[value, "x"])) == [variant]
    assert list(Variant.objects.filter(barcode__any_of=["NULL"])) == [variants[6]]
    assert Variant.objects.filter(sku__any_of=skus).count() == len(odd)
    assert list(Variant.objects.filter(barcode__any_of=["say"])) == []


def test_any_of_values_are_converted_by_the_field_and_only_plain_ones_become_a_literal():
    assert db.array_literal([1, 2, 3]) == "{1,2,3}"
    assert db.array_literal(['a"b', "c\\d"]) == '{"a\\"b","c\\\\d"}'
    assert db.array_literal([1, "2"]) is None
    assert db.array_literal([True, 2]) is None
    product = ProductFactory()
    assert list(Product.objects.filter(pk__any_of=[str(product.pk), product.pk])) == [product]


def test_any_of_an_empty_list_matches_nothing():
    ProductFactory()
    with CaptureQueriesContext(connection) as queries:
        assert list(Product.objects.filter(handle__any_of=[])) == []
    assert len(queries) == 1


@pytest.mark.postgres
def test_reserved_ids_are_new_distinct_and_unused():
    before = ProductFactory().pk
    first = db.reserve_ids(Product, 3)
    second = db.reserve_ids(Product, 2)
    assert len(set(first + second)) == 5
    assert min(first + second) > before
    assert db.reserve_ids(Product, 0) == []
    assert ProductFactory().pk > max(first + second)


@pytest.mark.postgres
def test_keys_of_several_tables_are_reserved_in_one_query():
    product, variant = ProductFactory().pk, VariantFactory().pk
    with CaptureQueriesContext(connection) as queries:
        products, none, variants = db.reserve_ids_of([(Product, 3), (Movement, 0), (Variant, 2)])
    assert len(queries) == 1
    assert none == []
    assert len(set(products)) == 3 and min(products) > product
    assert len(set(variants)) == 2 and min(variants) > variant
    with CaptureQueriesContext(connection) as queries:
        assert db.reserve_ids_of([(Product, 0)]) == [[]]
    assert len(queries) == 0


def _dangling_tag_link(product) -> None:
    """A row whose foreign key points nowhere: its deferred check fails."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO catalog_product_tags (product_id, tag_id) VALUES (%s, %s)",
            [product.pk, 987654321],
        )


def _in_pipeline() -> bool:
    return connection.connection.pgconn.pipeline_status != pq.PipelineStatus.OFF


def test_checks_in_background_send_two_statements_on_postgresql_and_none_elsewhere():
    with CaptureQueriesContext(connection) as queries, db.ChecksInBackground() as checks:
        checks.start()
        checks.wait()
    expected = (
        ["SET CONSTRAINTS ALL IMMEDIATE", "SET CONSTRAINTS ALL DEFERRED"]
        if connection.vendor == "postgresql"
        else []
    )
    assert [q["sql"] for q in queries.captured_queries] == expected


@pytest.mark.postgres
def test_checks_in_background_let_queries_through_and_end_in_normal_mode():
    product = ProductFactory()
    TagFactory()
    checks = db.ChecksInBackground()
    checks.start()
    assert _in_pipeline()
    assert list(Product.objects.filter(pk=product.pk).values_list("handle", flat=True)) == [
        product.handle
    ]
    checks.wait()
    assert not _in_pipeline()
    checks.wait()  # nothing pending: a no-op
    # Back to deferred: a dangling row is refused only when checked.
    with transaction.atomic():
        _dangling_tag_link(product)
        transaction.set_rollback(True)


@pytest.mark.postgres
def test_a_failed_background_check_is_an_integrity_error_at_wait():
    product = ProductFactory()
    with pytest.raises(IntegrityError, match="catalog_product_tags"), transaction.atomic():
        _dangling_tag_link(product)
        checks = db.ChecksInBackground()
        checks.start()
        checks.wait()
    assert not _in_pipeline()
    assert Product.objects.filter(pk=product.pk).exists()  # the connection goes on


@pytest.mark.postgres
def test_a_check_failing_while_the_checks_are_sent_leaves_pipeline_mode():
    # The failed check's answer arrives before the second statement is sent: the
    # driver raises it there, inside start().
    product = ProductFactory()

    def answer_first(execute, sql, params, many, context):
        if sql == "SET CONSTRAINTS ALL DEFERRED":
            time.sleep(0.3)
        return execute(sql, params, many, context)

    with pytest.raises(IntegrityError, match="catalog_product_tags"), transaction.atomic():
        _dangling_tag_link(product)
        with connection.execute_wrapper(answer_first):
            db.ChecksInBackground().start()
    assert not _in_pipeline()
    assert Product.objects.filter(pk=product.pk).exists()  # the connection goes on


@pytest.mark.postgres
def test_an_error_while_checks_run_is_not_hidden_by_them(other):
    product = ProductFactory()
    # The failing check waits for a lock another transaction holds, and fails only
    # after the block's own error (else start() may already raise it).
    with other.cursor() as cursor:
        cursor.execute("LOCK TABLE catalog_tag IN ACCESS EXCLUSIVE MODE")
    release = threading.Timer(0.5, other.rollback)
    release.start()
    with (
        pytest.raises(ValueError, match="a bad cell"),
        transaction.atomic(),
        db.ChecksInBackground() as checks,
    ):
        _dangling_tag_link(product)
        checks.start()
        raise ValueError("a bad cell")
    release.join()
    assert not _in_pipeline()
    assert Product.objects.filter(pk=product.pk).exists()


@pytest.mark.postgres
def test_copy_types_are_the_column_types_without_length_or_precision():

    assert db.copy_types(Variant, ["id", "sku", "price", "allow_backorder", "created_at"]) == [
        "bigint",
        "varchar",
        "numeric",
        "boolean",
        "timestamp with time zone",
    ]
    assert db.copy_types(Movement, ["batch", "quantity", "stock_id"]) == [
        "uuid",
        "integer",
        "bigint",
    ]


# --- COPY results read late -------------------------------------------------------------


def _copy_tags(names: list[str], first_pk: int) -> None:
    db.copy_rows(
        Tag,
        ["id", "kind", "name"],
        [(first_pk + n, "label", name) for n, name in enumerate(names)],
    )


def _unread() -> bool:
    """Whether the connection holds a result nobody has read yet (a COPY still ending)."""
    return connection.connection.pgconn.transaction_status == pq.TransactionStatus.ACTIVE


@pytest.mark.postgres
def test_a_copy_returns_before_its_result_and_the_next_statement_reads_it():
    first = db.reserve_ids(Tag, 4)[0]
    with db.LateCopyResults():
        _copy_tags(["late-a", "late-b"], first)
        assert _unread()
        # The next statement first reads the COPY's result: it sees the rows.
        assert set(Tag.objects.filter(name__startswith="late-").values_list("name", flat=True)) == {
            "late-a",
            "late-b",
        }
        assert not _unread()
        _copy_tags(["late-c"], first + 2)
        _copy_tags(["late-d"], first + 3)  # the next COPY reads the one before first
    assert not _unread()  # the end of the block reads the last one
    assert Tag.objects.filter(name__startswith="late-").count() == 4


@pytest.mark.postgres
def test_a_failed_copy_raises_at_the_next_statement_and_a_savepoint_recovers():
    tag = TagFactory()
    with db.LateCopyResults():
        with pytest.raises(IntegrityError), transaction.atomic():
            _copy_tags(["duplicate-key"], tag.pk)  # the key exists: the COPY fails…
            assert _unread()  # …but copy_rows has returned
        # The savepoint's RELEASE read the error; its rollback keeps the transaction.
        assert not Tag.objects.filter(name="duplicate-key").exists()
    assert Tag.objects.filter(pk=tag.pk).exists()


@pytest.mark.postgres
def test_a_failed_copy_raises_at_the_end_of_the_block():
    tag = TagFactory()
    with pytest.raises(IntegrityError), transaction.atomic(), db.LateCopyResults():
        _copy_tags(["duplicate-key"], tag.pk)
    assert not _unread()


@pytest.mark.postgres
def test_an_error_in_the_block_is_not_hidden_by_a_copy_still_ending():
    first = db.reserve_ids(Tag, 1)[0]
    with (
        pytest.raises(ValueError, match="a bad cell"),
        transaction.atomic(),
        db.LateCopyResults(),
    ):
        _copy_tags(["pending"], first)
        raise ValueError("a bad cell")
    assert not _unread()
    assert not Tag.objects.filter(name="pending").exists()  # rolled back


@pytest.mark.postgres
def test_background_checks_start_after_the_copy_still_ending():
    first = db.reserve_ids(Tag, 1)[0]
    with db.LateCopyResults(), db.ChecksInBackground() as checks:
        _copy_tags(["checked"], first)
        checks.start()  # reads the COPY's result before entering pipeline mode
        checks.wait()
    assert Tag.objects.filter(name="checked").exists()


def test_late_copy_results_change_nothing_elsewhere():
    with CaptureQueriesContext(connection) as queries, db.LateCopyResults() as late:
        late.settle()
        db.settle_copies()
    assert len(queries) == 0


# --- COPYs held until the connection's current work is done -----------------------------


def _tags_named(prefix: str) -> set[str]:
    return set(Tag.objects.filter(name__startswith=prefix).values_list("name", flat=True))


@pytest.mark.postgres
def test_held_copies_are_sent_at_the_end_of_the_block_after_before():
    first = db.reserve_ids(Tag, 3)[0]
    done: list[str] = []
    with db.LateCopyResults() as late:
        with late.hold(before=lambda: done.append("before")):
            _copy_tags(["held-a", "held-b"], first)
            _copy_tags(["held-c"], first + 2)
            assert not _unread()  # nothing sent yet
            assert len(late.held) == 2
            assert done == []
        assert done == ["before"]
        assert late.held == []
        assert _unread()  # the last one is still ending, as a COPY not held
        assert _tags_named("held-") == {"held-a", "held-b", "held-c"}


@pytest.mark.postgres
def test_a_statement_in_the_block_sends_the_held_copies_first():
    first = db.reserve_ids(Tag, 1)[0]
    done: list[str] = []
    with db.LateCopyResults() as late, late.hold(before=lambda: done.append("before")):
        _copy_tags(["sent-first"], first)
        assert _tags_named("sent-") == {"sent-first"}  # the statement released them
        assert done == ["before"]
        assert not late.holding
        _copy_tags(["sent-after"], first + 1000)  # after the release: an ordinary COPY
        assert _unread()
    assert done == ["before"]  # once


@pytest.mark.postgres
def test_reads_first_go_to_the_database_before_the_held_copies():
    first = db.reserve_ids(Tag, 1)[0]
    with db.LateCopyResults() as late:
        with late.hold(before=lambda: None):
            _copy_tags(["read-later"], first)
            with late.reads_first():
                assert _tags_named("read-") == set()  # not written yet
            assert late.held
        assert _tags_named("read-") == {"read-later"}


@pytest.mark.postgres
def test_an_error_in_the_block_drops_the_held_copies():
    first = db.reserve_ids(Tag, 1)[0]
    done: list[str] = []
    with db.LateCopyResults() as late:
        with (
            pytest.raises(ValueError, match="a bad cell"),
            transaction.atomic(),
            late.hold(before=lambda: done.append("before")),
        ):
            _copy_tags(["dropped"], first)
            raise ValueError("a bad cell")
        assert done == []
        assert late.held == [] and not late.holding
        assert not _unread()
    assert not Tag.objects.filter(name="dropped").exists()


@pytest.mark.postgres
def test_held_copies_with_background_checks_keep_the_rows_and_the_checks():
    product = ProductFactory()
    first = db.reserve_ids(Tag, 1)[0]
    with (
        pytest.raises(IntegrityError, match="catalog_product_tags"),
        transaction.atomic(),
        db.LateCopyResults() as late,
        db.ChecksInBackground() as checks,
    ):
        _dangling_tag_link(product)
        checks.start()
        with late.hold(before=checks.wait):  # the failed check raises at release
            _copy_tags(["never"], first)
    assert not _in_pipeline()
    assert not Tag.objects.filter(name="never").exists()


def test_copies_are_held_on_postgresql_only():
    with db.LateCopyResults() as late, late.hold(before=lambda: None):
        assert late.holding == (connection.vendor == "postgresql")
    assert not late.holding


# --- Work done while a COPY's result is awaited ------------------------------------------


@pytest.fixture
def other():
    """A second connection to the test database, whose transaction can hold a key."""
    import psycopg

    settings = connection.settings_dict
    conn = psycopg.connect(
        dbname=settings["NAME"],
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        user=settings["USER"] or None,
        password=settings["PASSWORD"] or None,
    )
    yield conn
    conn.close()


def _hold_key(other, pk: int, name: str) -> None:
    """``other`` inserts a tag named ``name``: a COPY of that name waits for its end."""
    with other.cursor() as cursor:
        cursor.execute(
            "INSERT INTO catalog_tag (id, kind, name) VALUES (%s, 'label', %s)", [pk, name]
        )


@pytest.mark.postgres
def test_work_is_done_while_a_copy_waits_and_stops_when_the_result_arrives(other):
    """The COPY waits on a key that another transaction holds: ``work`` runs until the
    other transaction ends and the COPY's result arrives."""
    first = db.reserve_ids(Tag, 1)[0]
    calls = [0]

    def work() -> bool:
        calls[0] += 1
        if calls[0] == 50:
            other.rollback()  # the key is free again: the COPY goes on
        return True

    _hold_key(other, first + 1000, "contended")
    with db.LateCopyResults(), db.while_waiting(work):
        _copy_tags(["contended"], first)  # waits for the other transaction
        assert _unread()
        db.settle_copies()
    assert calls[0] >= 50
    assert Tag.objects.filter(name="contended").count() == 1


@pytest.mark.postgres
def test_work_with_nothing_left_to_do_stops_being_called():
    first = db.reserve_ids(Tag, 1)[0]
    calls = [0]

    def work() -> bool:
        calls[0] += 1
        return False

    with db.LateCopyResults(), db.while_waiting(work):
        _copy_tags(["idle"], first)
        db.settle_copies()
    assert calls[0] <= 1
    assert Tag.objects.filter(name="idle").exists()


@pytest.mark.postgres
def test_work_that_needs_the_database_reads_the_copy_result_first(other):
    """The work done while a COPY ends may run a query (a lookup loaded on first use):
    the COPY's result is read first, then the query runs and sees the rows."""
    first = db.reserve_ids(Tag, 1)[0]
    seen: list[bool] = []
    calls = [0]

    def work() -> bool:
        calls[0] += 1
        if calls[0] == 5:
            other.rollback()
            seen.append(Tag.objects.filter(name="queried").exists())
        return True

    _hold_key(other, first + 1000, "queried")
    with db.LateCopyResults(), db.while_waiting(work):
        _copy_tags(["queried"], first)
        db.settle_copies()
        assert not _unread()
    assert seen == [True]
