"""Reading an uploaded sheet safely: csv (UTF-8, or an encoding the user names) or xlsx.

Every refusal is a ``SheetError`` with a message for the person who uploaded
the file; nothing has been written when it is raised. An xlsx workbook is
checked before it is parsed: its declared uncompressed size and the row count
its first sheet declares must be within the limits (a small zip can unpack to
gigabytes). openpyxl parses through defusedxml (installed as a dependency).
Blank rows are skipped wherever they are (a sheet saved with a million empty
rows at the end stays cheap) and counted for the report.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from backoffice.errors import DomainError

from .base import Row

T = TypeVar("T")

EMPTY_FILE = _("The file is empty.")
NO_ROWS = _("The file has a header but no rows.")
UNKNOWN_FORMAT = _("Only .csv and .xlsx files can be imported; got %(name)s.")
TOO_BIG = _("The file is %(size)s; files up to %(limit)s can be imported.")
NOT_UTF8 = _(
    "The file is not UTF-8 text (a byte 0x%(byte)s at position %(position)s cannot be read). "
    "Save it as “CSV UTF-8”, or choose its encoding (for example GBK) on the upload form."
)
WRONG_ENCODING = _("The file cannot be read as %(encoding)s text: %(error)s.")
NOT_XLSX = _(
    "%(name)s is not an Excel workbook (.xlsx): it cannot be opened as one. "
    "Save it again from the spreadsheet program, or export it as .csv."
)
XLSX_TOO_LARGE = _(
    "The workbook unpacks to %(size)s; workbooks up to %(limit)s unpacked can be imported."
)
TOO_MANY_ROWS = _("The sheet has %(rows)s rows; up to %(limit)s rows can be imported at once.")
DUPLICATE_COLUMN = _("Column “%(column)s” appears twice in the header.")
BLANK_COLUMN = _("Column %(position)s has no name in the header.")
BINARY_CSV = _("%(name)s is not a text file: it holds binary data.")

ENCODINGS = [
    ("auto", _("UTF-8 (with or without BOM)")),
    ("gbk", _("GBK / GB18030 (Simplified Chinese)")),
    ("big5", _("Big5 (Traditional Chinese)")),
    ("shift_jis", _("Shift JIS (Japanese)")),
    ("cp1252", _("Windows-1252 (Western European)")),
]


class SheetError(DomainError):
    """The file as a whole cannot be imported."""


@dataclass
class Table:
    name: str
    format: str  # "csv" or "xlsx"
    header: list[str]
    rows: Iterator[Row]
    blank_rows: list[int] = field(default_factory=lambda: [0])  # filled while rows are read

    @property
    def blank_row_count(self) -> int:
        return self.blank_rows[0]


def _limit(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def sheet_format(name: str) -> str:
    lowered = (name or "").lower()
    if lowered.endswith(".csv") or lowered.endswith(".txt"):
        return "csv"
    if lowered.endswith(".xlsx"):
        return "xlsx"
    raise SheetError(UNKNOWN_FORMAT % {"name": name})


def read_table(data: bytes, name: str, *, encoding: str = "auto") -> Table:
    """The header and a lazy iterator of non-blank rows of ``data`` (the file's bytes)."""
    limit = _limit("IMPORT_MAX_UPLOAD_BYTES", 20 * 1024 * 1024)
    if len(data) > limit:
        raise SheetError(
            TOO_BIG % {"size": filesizeformat(len(data)), "limit": filesizeformat(limit)}
        )
    fmt = sheet_format(name)
    if not data.strip():
        raise SheetError(EMPTY_FILE)
    records = _csv_records(data, name, encoding) if fmt == "csv" else _xlsx_records(data, name)
    table = Table(name=name, format=fmt, header=[], rows=iter(()))
    blank = table.blank_rows
    header: list[str] | None = None
    header_line = 0
    for number, values in records:
        if not any(values):
            blank[0] += 1
            continue
        header, header_line = values, number
        break
    if header is None:
        raise SheetError(EMPTY_FILE)
    while header and not header[-1]:
        header.pop()
    seen: set[str] = set()
    for position, column in enumerate(header, start=1):
        if not column:
            raise SheetError(BLANK_COLUMN % {"position": position})
        if column in seen:
            raise SheetError(DUPLICATE_COLUMN % {"column": column})
        seen.add(column)
    table.header = header
    max_rows = _limit("IMPORT_MAX_ROWS", 200_000)

    def rows() -> Iterator[Row]:
        count = 0
        width = len(header)
        for number, values in records:
            if not any(values):
                blank[0] += 1
                continue
            count += 1
            if count > max_rows:
                raise SheetError(
                    TOO_MANY_ROWS % {"rows": f"> {max_rows:,}", "limit": f"{max_rows:,}"}
                )
            if len(values) < width:
                values = values + [""] * (width - len(values))
            yield Row(number, dict(zip(header, values, strict=False)))

    table.rows = rows()
    del header_line
    return table


def _decode(data: bytes, name: str, encoding: str) -> str:
    if b"\x00" in data[:8192]:
        raise SheetError(BINARY_CSV % {"name": name})
    if encoding in ("", "auto"):
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise SheetError(
                NOT_UTF8 % {"byte": f"{data[error.start]:02x}", "position": error.start}
            ) from None
    if encoding == "gbk":
        encoding = "gb18030"  # a superset of GBK: a GBK file always reads
    try:
        codecs.lookup(encoding)
        return data.decode(encoding)
    except (LookupError, UnicodeDecodeError) as error:
        raise SheetError(WRONG_ENCODING % {"encoding": encoding, "error": error}) from None


def _csv_records(data: bytes, name: str, encoding: str) -> Iterator[tuple[int, list[str]]]:
    text = _decode(data, name, encoding)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        # The record's number, as a spreadsheet program numbers its rows: a cell with a line
        # break inside spans two lines of the file but is one row (reader.line_num counts lines).
        for number, values in enumerate(reader, start=1):
            yield number, [v.strip() for v in values]
    except csv.Error as error:
        raise SheetError(
            _("Line %(line)s cannot be read as CSV: %(error)s.")
            % {"line": reader.line_num, "error": error}
        ) from None


_DIMENSION = re.compile(rb'<(?:\w+:)?dimension ref="[A-Z]+\d+(?::[A-Z]+(\d+))?"')


def _xlsx_records(data: bytes, name: str) -> Iterator[tuple[int, list[str]]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise SheetError(NOT_XLSX % {"name": name}) from None
    unpacked = sum(info.file_size for info in infos)
    limit = _limit("IMPORT_XLSX_MAX_UNPACKED_BYTES", 200 * 1024 * 1024)
    if unpacked > limit:
        raise SheetError(
            XLSX_TOO_LARGE % {"size": filesizeformat(unpacked), "limit": filesizeformat(limit)}
        )
    sheets = sorted(
        info.filename
        for info in infos
        if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", info.filename)
    )
    if "[Content_Types].xml" not in {info.filename for info in infos} or not sheets:
        raise SheetError(NOT_XLSX % {"name": name})
    with archive.open(sheets[0]) as sheet:
        head = sheet.read(4096)
    match = _DIMENSION.search(head)
    max_rows = _limit("IMPORT_MAX_ROWS", 200_000)
    if match and match.group(1) and int(match.group(1)) > max_rows + 1:
        raise SheetError(
            TOO_MANY_ROWS % {"rows": f"{int(match.group(1)) - 1:,}", "limit": f"{max_rows:,}"}
        )
    return _xlsx_rows(data, name)


def _xlsx_rows(data: bytes, name: str) -> Iterator[tuple[int, list[str]]]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds for a broken file
        raise SheetError(NOT_XLSX % {"name": name}) from None
    try:
        sheet = workbook.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, [_cell_text(value) for value in values]
    finally:
        workbook.close()


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        text = value.isoformat()
        return text[:-9] if text.endswith("T00:00:00") else text
    return str(value).strip()


class ReadAhead(Iterator[T]):
    """An iterator that can be read ahead of its consumer, a slice at a time.

    ``fill()`` takes up to ``step`` more items from ``source`` into a buffer (until
    the ``size`` of the items held reaches ``limit``) and returns False when it had
    nothing to do (buffer full, source done, or called from inside ``source``). It
    is the work an importer gives ``backoffice.db.while_waiting``: the next rows of
    a sheet are read and checked while the database writes the rows before them.
    Iterating gives the items in order, buffered ones first. An error raised by
    ``source`` while reading ahead is raised where the consumer reaches it, as
    without read-ahead.
    """

    def __init__(
        self,
        source: Iterator[T],
        *,
        limit: int,
        size: Callable[[T], int] = lambda item: 1,
        step: int = 8,
    ) -> None:
        self._source = source
        self._buffer: deque[T] = deque()
        self._held = 0
        self._limit = limit
        self._size = size
        self._step = step
        self._error: BaseException | None = None
        self._done = False
        self._busy = False

    def __next__(self) -> T:
        if self._buffer:
            item = self._buffer.popleft()
            self._held -= self._size(item)
            return item
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        if self._done:
            raise StopIteration
        self._busy = True
        try:
            return next(self._source)
        except StopIteration:
            self._done = True
            raise
        finally:
            self._busy = False

    def fill(self) -> bool:
        if self._busy or self._done or self._error is not None:
            return False
        if self._held >= self._limit:
            return False
        self._busy = True
        try:
            for _ in range(self._step):
                item = next(self._source)
                self._buffer.append(item)
                self._held += self._size(item)
        except StopIteration:
            self._done = True
        except Exception as error:  # raised in order, by __next__
            self._error = error
        finally:
            self._busy = False
        return True
