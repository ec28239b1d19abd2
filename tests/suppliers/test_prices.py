"""Supplier price lists (F-20): MOQ, pack size, lead time, quantity breaks, one preferred
supplier per SKU — through the service and through the admin."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from suppliers import services
from suppliers.exceptions import InvalidPriceList
from suppliers.models import SupplierPrice, SupplierPriceBreak
from suppliers.selectors import price_list
from suppliers.services import PriceBreak

from ..factories import SupplierFactory, supplier_price

pytestmark = pytest.mark.django_db


def refused(call, state) -> str:
    before = state()
    with pytest.raises(InvalidPriceList) as caught:
        call()
    assert state() == before
    return caught.value.message


def test_an_entry_is_created_then_updated(acme, skus):
    shirt = skus["shirt"]
    first = supplier_price(acme, shirt, "8.00", supplier_sku="AC-SH-M", moq=12, pack_size=6)
    again = supplier_price(
        acme, shirt, "7.50", moq=24, pack_size=6, breaks=[PriceBreak(100, Decimal("7.00"))]
    )
    assert again.pk == first.pk
    row = SupplierPrice.objects.get()
    assert (row.unit_cost, row.moq, row.pack_size, row.supplier_sku) == (
        Decimal("7.50"),
        24,
        6,
        "",
    )
    info = price_list(supplier=acme, variant_ids=[shirt.pk])[shirt.pk]
    assert info.lead_time_days == 7  # the supplier's, none on the entry
    assert (info.cost_for(99), info.cost_for(100), info.cost_for(500)) == (
        Decimal("7.50"),
        Decimal("7.00"),
        Decimal("7.00"),
    )
    assert row.history.count() == 2


def test_breaks_none_keeps_them_an_empty_list_removes_them(acme, skus):
    shirt = skus["shirt"]
    supplier_price(
        acme, shirt, "8.00", breaks=[PriceBreak(50, Decimal("7")), PriceBreak(10, "7.5")]
    )
    assert list(SupplierPriceBreak.objects.values_list("min_quantity", "unit_cost")) == [
        (10, Decimal("7.50")),
        (50, Decimal("7.00")),
    ]
    supplier_price(acme, shirt, "8.10")
    assert SupplierPriceBreak.objects.count() == 2
    supplier_price(acme, shirt, "8.10", breaks=[])
    assert SupplierPriceBreak.objects.count() == 0


def test_making_a_supplier_preferred_takes_the_flag_from_the_other(acme, other_supplier, skus):
    mug = skus["mug"]
    supplier_price(other_supplier, mug, "4.80", is_preferred=True)
    supplier_price(acme, mug, "5.00", is_preferred=True)
    assert dict(SupplierPrice.objects.values_list("supplier__code", "is_preferred")) == {
        "ACME": True,
        "OTHER": False,
    }
    other = SupplierPrice.objects.get(supplier=other_supplier)
    assert other.history.first().history_change_reason == "preferred supplier changed"


def test_the_database_allows_one_preferred_supplier_per_sku(acme, other_supplier, skus):
    supplier_price(acme, skus["mug"], "5.00", is_preferred=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        SupplierPrice.objects.create(
            supplier=other_supplier, variant=skus["mug"], unit_cost=1, is_preferred=True
        )


def test_the_database_refuses_moq_zero(acme, skus):
    with pytest.raises(IntegrityError), transaction.atomic():
        SupplierPrice.objects.create(supplier=acme, variant=skus["mug"], unit_cost=1, moq=0)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"moq": 0}, services.PRICE_MOQ),
        ({"moq": -5}, services.PRICE_MOQ),
        ({"pack_size": 0}, services.PRICE_PACK),
        ({"unit_cost": "-0.01"}, services.PRICE_COST),
        ({"unit_cost": "abc"}, services.PRICE_COST),
        ({"lead_time_days": -1}, services.PRICE_LEAD_TIME),
        ({"breaks": [PriceBreak(1, Decimal("1"))]}, services.PRICE_BREAK_QUANTITY),
        (
            {"breaks": [PriceBreak(10, Decimal("1")), PriceBreak(10, Decimal("2"))]},
            services.PRICE_BREAK_DUPLICATE,
        ),
        ({"breaks": [PriceBreak(10, Decimal("-1"))]}, services.PRICE_BREAK_COST),
    ],
)
def test_bad_price_list_entries_are_refused(acme, skus, state, options, expected):
    supplier_price(acme, skus["shirt"], "8.00")  # an existing entry must stay as it was
    options = {"unit_cost": "8.00", **options}
    message = refused(
        lambda: services.supplier_price_set(
            supplier=acme, variant=skus["shirt"], actor=None, **options
        ),
        state,
    )
    first_break = options.get("breaks", [PriceBreak(1, 0)])[0].min_quantity
    assert message == expected % {"quantity": first_break}


def test_moq_zero_has_a_clear_message(acme, skus, state):
    message = refused(lambda: supplier_price(acme, skus["mug"], "5.00", moq=0), state)
    assert message == "The minimum order quantity must be at least 1."


def test_an_inactive_supplier_cannot_be_preferred(skus, state):
    gone = SupplierFactory(code="GONE", is_active=False)
    message = refused(lambda: supplier_price(gone, skus["mug"], "5", is_preferred=True), state)
    assert message == services.PRICE_PREFERRED_INACTIVE % {"supplier": gone}


# --- admin -----------------------------------------------------------------------------------


def price_form(supplier, variant, **fields):
    data = {
        "supplier": supplier.pk,
        "variant": variant.pk,
        "supplier_sku": "",
        "unit_cost": "8.00",
        "moq": 1,
        "pack_size": 1,
        "lead_time_days": "",
        "breaks-TOTAL_FORMS": 0,
        "breaks-INITIAL_FORMS": 0,
        "breaks-MIN_NUM_FORMS": 0,
        "breaks-MAX_NUM_FORMS": 1000,
    }
    data.update(fields)
    return data


def test_admin_adds_an_entry_with_breaks_through_the_service(admin_client, acme, skus):
    data = price_form(
        acme,
        skus["cap"],
        is_preferred="on",
        unit_cost="3.00",
        moq=10,
        pack_size=5,
        **{
            "breaks-TOTAL_FORMS": 1,
            "breaks-0-min_quantity": 100,
            "breaks-0-unit_cost": "2.50",
        },
    )
    response = admin_client.post(reverse("admin:suppliers_supplierprice_add"), data, follow=True)
    assert response.status_code == 200
    row = SupplierPrice.objects.get()
    assert (row.unit_cost, row.moq, row.pack_size, row.is_preferred) == (
        Decimal("3.00"),
        10,
        5,
        True,
    )
    assert list(row.breaks.values_list("min_quantity", "unit_cost")) == [(100, Decimal("2.50"))]
    assert row.history.get().history_user.username == "admin"


def test_admin_refuses_moq_zero_and_saves_nothing(admin_client, acme, skus, state):
    before = state()
    response = admin_client.post(
        reverse("admin:suppliers_supplierprice_add"), price_form(acme, skus["cap"], moq=0)
    )
    assert response.status_code == 200  # the form again, with the message
    assert "The minimum order quantity must be at least 1." in response.content.decode()
    assert state() == before


def test_admin_refuses_a_break_at_one_unit(admin_client, acme, skus, state):
    before = state()
    data = price_form(
        acme,
        skus["cap"],
        **{"breaks-TOTAL_FORMS": 1, "breaks-0-min_quantity": 1, "breaks-0-unit_cost": "2"},
    )
    response = admin_client.post(reverse("admin:suppliers_supplierprice_add"), data)
    assert "A quantity price break starts at 2 units or more; got 1." in response.content.decode()
    assert state() == before


def test_admin_moves_the_preferred_flag(admin_client, acme, other_supplier, skus):
    supplier_price(other_supplier, skus["mug"], "4.80", is_preferred=True)
    response = admin_client.post(
        reverse("admin:suppliers_supplierprice_add"),
        price_form(acme, skus["mug"], is_preferred="on"),
        follow=True,
    )
    assert response.status_code == 200
    assert dict(SupplierPrice.objects.values_list("supplier__code", "is_preferred")) == {
        "ACME": True,
        "OTHER": False,
    }
