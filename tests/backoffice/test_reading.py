"""Reading uploaded sheets: what is refused before a row is parsed, and how."""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest

from backoffice.spreadsheets.base import Importer
from backoffice.spreadsheets.reading import ReadAhead, SheetError, read_table
from backoffice.spreadsheets.runner import run_import


def workbook(rows) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


class Collect(Importer):
    kind = "test-collect"
    required_columns = ("sku", "qty")

    def run(self, rows, *, report, progress):
        for row in rows:
            report.add(row.number, "create", row.cells["sku"], row.cells["qty"])


def test_an_xlsx_is_read_with_numbers_as_text():
    table = read_table(workbook([["sku", "qty"], ["A-1", 3], ["B-2", 4.0]]), "s.xlsx")
    assert table.header == ["sku", "qty"]
    assert [(r.number, r.cells) for r in table.rows] == [
        (2, {"sku": "A-1", "qty": "3"}),
        (3, {"sku": "B-2", "qty": "4"}),
    ]


def test_a_formula_in_an_xlsx_cell_is_refused_and_nothing_runs(db):
    data = workbook([["sku", "qty"], ["A-1", 3], ["B-2", "=SUM(B2:B2)"]])
    report = run_import(Collect, read_table(data, "s.xlsx"), actor=None, dry_run=False)
    assert [(e.row, e.column) for e in report.errors] == [(3, "qty")]
    assert "are formulas and are not imported" in report.errors[0].message


def test_an_xlsx_that_unpacks_beyond_the_limit_is_refused_before_parsing(settings):
    settings.IMPORT_XLSX_MAX_UNPACKED_BYTES = 1024 * 1024
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", "<worksheet>" + " " * 20_000_000)
    data = buffer.getvalue()
    assert len(data) < 100_000  # a small upload…
    with pytest.raises(SheetError, match=r"unpacks to 19\.1\s?MB; workbooks up to 1\.0\s?MB"):
        read_table(data, "bomb.xlsx")


def test_an_xlsx_declaring_more_rows_than_the_limit_is_refused_before_parsing(settings):
    settings.IMPORT_MAX_ROWS = 100
    data = workbook([["sku", "qty"]] + [[f"S{n}", n] for n in range(150)])
    with pytest.raises(SheetError, match="The sheet has 150 rows; up to 100 rows"):
        read_table(data, "long.xlsx")


def test_a_csv_with_more_rows_than_the_limit_is_refused_while_reading(db, settings):
    settings.IMPORT_MAX_ROWS = 10
    data = ("sku,qty\n" + "".join(f"S{n},{n}\n" for n in range(11))).encode()
    report = run_import(Collect, read_table(data, "long.csv"), actor=None, dry_run=False)
    assert not report.ok
    assert "up to 10 rows can be imported" in report.errors[-1].message


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("notes.pdf", b"%PDF-1.4", "Only .csv and .xlsx files can be imported"),
        ("s.csv", b"sku,sku\nA,B\n", "Column “sku” appears twice"),
        ("s.csv", b"sku,,qty\nA,B,C\n", "Column 2 has no name"),
        ("s.csv", b"\n\n,,\n", "The file is empty."),
        ("s.xlsx", b"PK\x03\x04 not really a zip", "is not an Excel workbook"),
    ],
)
def test_bad_files_are_refused_with_a_message(name, data, message):
    with pytest.raises(SheetError, match=message):
        read_table(data, name)


def test_a_csv_in_a_chosen_encoding_is_read():
    data = "sku,qty\n红色-1,2\n".encode("gbk")
    with pytest.raises(SheetError, match="not UTF-8"):
        read_table(data, "s.csv")
    rows = list(read_table(data, "s.csv", encoding="gbk").rows)
    assert rows[0].cells == {"sku": "红色-1", "qty": "2"}


# --- Reading ahead (while the database writes the rows before) ----------------------------


def test_read_ahead_gives_every_item_in_order_whatever_was_read_ahead():
    items = ReadAhead(iter(range(20)), limit=100, step=3)
    assert next(items) == 0
    assert items.fill() and items.fill()  # 1..6 are buffered
    assert [next(items) for _ in range(3)] == [1, 2, 3]
    assert items.fill()
    assert list(items) == list(range(4, 20))
    assert not items.fill()  # the source is done


def test_read_ahead_stops_at_its_limit_counted_by_size():
    read: list[int] = []

    def source():
        for n in range(100):
            read.append(n)
            yield n

    items = ReadAhead(source(), limit=10, size=lambda n: 5, step=8)
    assert items.fill()  # 8 items of size 5 taken at once: over the limit now
    assert read == list(range(8))
    assert not items.fill()  # held 40 >= 10: nothing more is read
    assert [next(items) for _ in range(7)] == list(range(7))  # held 5
    assert items.fill()
    assert len(read) == 16
    assert list(items) == list(range(7, 100))


def test_an_error_read_ahead_is_raised_where_the_consumer_reaches_it():
    def source():
        yield 1
        yield 2
        raise ValueError("row 3 is broken")

    items = ReadAhead(source(), limit=100, step=8)
    assert items.fill()  # the error is kept, not raised here
    assert not items.fill()
    assert next(items) == 1
    assert next(items) == 2
    with pytest.raises(ValueError, match="row 3 is broken"):
        next(items)


def test_read_ahead_does_nothing_when_called_from_inside_its_source():
    filled: list[bool] = []

    def source():
        for n in range(5):
            filled.append(items.fill())  # the source itself asks: refused
            yield n

    items = ReadAhead(source(), limit=100, step=2)
    assert list(items) == [0, 1, 2, 3, 4]
    assert filled == [False] * 5


def test_an_empty_source_read_ahead():
    items = ReadAhead(iter(()), limit=10)
    assert items.fill()  # it looked: the end is known now
    assert not items.fill()
    assert list(items) == []
