"""The Simplified Chinese catalog is complete, keeps its placeholders and is used by the admin."""

from __future__ import annotations

import ast
import gettext
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils.translation import override

from catalog.models import ListingStatus, Product
from inventory import services as inventory

PO_FILE = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO_FILE = PO_FILE.with_suffix(".mo")

# %(name)s, %(quantity)+d, %(disposition)r … (Python's named printf-style directives).
NAMED = re.compile(r"%\([^)]*\)[#0\- +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa]")
# Any printf-style directive, positional ones included; only checked on python-format entries
# because "10% off" in a plain string is text, not a directive.
PRINTF = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa]")
# {{ name }} in templates; spaces inside the braces do not matter.
TEMPLATE_VAR = re.compile(r"\{\{\s*(.*?)\s*\}\}")


@dataclass
class Entry:
    line: int
    flags: set[str] = field(default_factory=set)
    msgctxt: str | None = None
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{PO_FILE.name}:{self.line} {self.msgid!r}"


def _po_string(text: str, line: int) -> str:
    text = text.strip()
    assert len(text) >= 2 and text[0] == text[-1] == '"', f"line {line}: not a string: {text!r}"
    return ast.literal_eval(text)


def parse_po(path: Path) -> list[Entry]:
    """A small .po reader: entries with flags, context, singular/plural ids and strings.

    Obsolete entries (``#~``) are skipped: msgfmt does not compile them.
    """
    entries: list[Entry] = []
    entry: Entry | None = None
    target: tuple[str, int] | None = None  # the field that a continuation line extends
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#~"):
            continue
        # A comment, msgctxt or msgid after a msgstr begins the next entry.
        if entry is None or (entry.msgstr and not line.startswith(('"', "msgstr"))):
            entry = Entry(line=number)
            entries.append(entry)
            target = None
        if line.startswith("#,"):
            entry.flags |= {flag.strip() for flag in line[2:].split(",") if flag.strip()}
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            assert target is not None, f"{path.name}:{number}: string outside a field"
            name, index = target
            if name == "msgstr":
                entry.msgstr[index] += _po_string(line, number)
            else:
                setattr(entry, name, getattr(entry, name) + _po_string(line, number))
        else:
            keyword, _, rest = line.partition(" ")
            plural_form = re.fullmatch(r"msgstr(?:\[(\d+)\])?", keyword)
            if plural_form:
                target = ("msgstr", int(plural_form.group(1) or 0))
                entry.msgstr[target[1]] = _po_string(rest, number)
            elif keyword in ("msgctxt", "msgid", "msgid_plural"):
                target = (keyword, 0)
                setattr(entry, keyword, _po_string(rest, number))
            else:
                raise AssertionError(f"{path.name}:{number}: unexpected line {raw!r}")
    entries = [e for e in entries if e.msgstr or e.msgid or e.msgid_plural is not None]
    for e in entries:
        assert e.msgstr, f"{path.name}:{e.line}: entry without msgstr"
    return entries


def _header(entries: list[Entry]) -> dict[str, str]:
    header = next(e for e in entries if e.msgid == "" and e.msgctxt is None)
    pairs = (line.partition(":") for line in header.msgstr[0].splitlines() if line)
    return {key.strip(): value.strip() for key, _, value in pairs}


def _placeholders(text: str, entry: Entry) -> Counter:
    pattern = PRINTF if "python-format" in entry.flags else NAMED
    found = pattern.findall(text.replace("%%", ""))  # "%%" is a literal percent sign
    found += ["{{ " + name + " }}" for name in TEMPLATE_VAR.findall(text)]
    return Counter(found)


@pytest.fixture(scope="module")
def po_entries() -> list[Entry]:
    assert PO_FILE.exists(), f"{PO_FILE} is missing: run makemessages -l zh_Hans"
    return parse_po(PO_FILE)


def test_the_parser_reads_every_entry(po_entries):
    text = PO_FILE.read_text(encoding="utf-8")
    live_msgids = len(re.findall(r"^msgid ", text, flags=re.MULTILINE))
    assert len(po_entries) == live_msgids
    assert len(po_entries) > 100


def test_header_declares_chinese_utf8_and_one_plural_form(po_entries):
    header_entry = next(e for e in po_entries if e.msgid == "")
    assert "fuzzy" not in header_entry.flags, "a fuzzy header is ignored by msgfmt"
    header = _header(po_entries)
    assert header["Language"] == "zh_Hans"
    assert "charset=UTF-8" in header["Content-Type"]
    assert header["Plural-Forms"].replace(" ", "") == "nplurals=1;plural=0;"


def completeness_problems(entries: list[Entry], nplurals: int = 1) -> list[str]:
    """Untranslated or fuzzy entries, and plural entries without exactly ``nplurals`` forms."""
    problems = []
    for entry in entries:
        if entry.msgid == "":
            continue
        if "fuzzy" in entry.flags:
            problems.append(f"{entry.label}: fuzzy")
        expected_forms = list(range(nplurals)) if entry.msgid_plural is not None else [0]
        if sorted(entry.msgstr) != expected_forms:
            problems.append(f"{entry.label}: msgstr forms {sorted(entry.msgstr)}")
        if any(not text.strip() for text in entry.msgstr.values()):
            problems.append(f"{entry.label}: untranslated")
    return problems


def placeholder_problems(entries: list[Entry]) -> list[str]:
    """Translations that drop, add or change a placeholder of their msgid."""
    problems = []
    for entry in entries:
        if entry.msgid == "":
            continue
        # zh has a single form used for every count, so it follows the plural msgid.
        source = entry.msgid if entry.msgid_plural is None else entry.msgid_plural
        expected = _placeholders(source, entry)
        for index, text in entry.msgstr.items():
            got = _placeholders(text, entry)
            if text and got != expected:
                problems.append(
                    f"{entry.label} msgstr[{index}]: expected {sorted(expected.elements())}, "
                    f"got {sorted(got.elements())}"
                )
    return problems


def test_every_entry_is_translated_and_not_fuzzy(po_entries):
    problems = completeness_problems(po_entries)
    assert not problems, "\n".join(problems)


def test_translations_keep_every_placeholder(po_entries):
    problems = placeholder_problems(po_entries)
    assert not problems, "\n".join(problems)


def test_the_checks_catch_bad_entries(tmp_path):
    bad = tmp_path / "django.po"
    bad.write_text(
        """msgid ""
msgstr ""
"Language: zh_Hans\\n"

#, fuzzy, python-format
msgid "Give a reason for this %(operation)s."
msgstr "请填写本次%(operation)s的原因。"

msgid ""
"A transfer needs "
"two different warehouses."
msgstr ""

#, python-format
msgid "On hand changed by %(quantity)+d on %(count)s stock rows."
msgstr "已将 %(count)s 条库存记录的在库数量调整 %(quantity)s。"

#, python-format
msgid "This applies to %(counter)s selected item."
msgid_plural "This applies to %(counter)s selected {{ name }}."
msgstr[0] "此操作将应用于所选的 %(counter)s 个。"
msgstr[1] ""

#~ msgid "Obsolete"
#~ msgstr ""
""",
        encoding="utf-8",
    )
    entries = parse_po(bad)
    assert [e.msgid for e in entries][2] == "A transfer needs two different warehouses."
    assert completeness_problems(entries) == [
        f"{PO_FILE.name}:5 'Give a reason for this %(operation)s.': fuzzy",
        f"{PO_FILE.name}:9 'A transfer needs two different warehouses.': untranslated",
        f"{PO_FILE.name}:18 'This applies to %(counter)s selected item.': msgstr forms [0, 1]",
        f"{PO_FILE.name}:18 'This applies to %(counter)s selected item.': untranslated",
    ]
    dropped = placeholder_problems(entries)
    assert len(dropped) == 2
    assert "'%(quantity)+d'" in dropped[0] and "'%(quantity)s'" in dropped[0]
    assert "{{ name }}" in dropped[1]


def test_placeholder_check_catches_a_dropped_or_renamed_placeholder():
    entry = Entry(line=1, flags={"python-format"})
    source = "On hand changed by %(quantity)+d on %(count)s stock rows ({{ name }})."
    assert _placeholders(source, entry) == _placeholders("%(count)s %(quantity)+d {{name}}", entry)
    assert _placeholders(source, entry) != _placeholders("%(count)s %(quantity)s {{ name }}", entry)
    assert _placeholders(source, entry) != _placeholders("%(count)s {{ name }}", entry)
    assert _placeholders(source, entry) != _placeholders("%(total)s %(quantity)+d {{ x }}", entry)


def test_the_compiled_catalog_matches_the_po_file(po_entries):
    assert MO_FILE.exists(), f"{MO_FILE} is missing: run compilemessages -l zh_Hans"
    with MO_FILE.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = []
    for entry in po_entries:
        if entry.msgid == "" or "fuzzy" in entry.flags:
            continue
        if entry.msgid_plural is None and entry.msgctxt is None:
            got = compiled.gettext(entry.msgid)
        elif entry.msgid_plural is None:
            got = compiled.pgettext(entry.msgctxt, entry.msgid)
        elif entry.msgctxt is None:
            got = compiled.ngettext(entry.msgid, entry.msgid_plural, 2)
        else:
            got = compiled.npgettext(entry.msgctxt, entry.msgid, entry.msgid_plural, 2)
        if got != entry.msgstr[0]:
            stale.append(entry.label)
    assert not stale, "django.mo is stale, run compilemessages:\n" + "\n".join(stale)


def test_our_strings_come_out_in_chinese():
    with override("zh-hans"):
        assert str(ListingStatus.DELISTED.label) == "已下架"
        assert str(ListingStatus.ON_SALE.label) == "在售"
        assert str(ListingStatus.SOLD_OUT.label) == "售罄"
        assert str(Product._meta.verbose_name) == "商品"
        assert str(Product._meta.verbose_name_plural) == "商品"
        line = inventory.INSUFFICIENT_LINE % {
            "sku": "SHIRT-M",
            "warehouse": "MAIN",
            "requested": 3,
            "available": 1,
        }
        message = str(inventory.INSUFFICIENT_STOCK % {"lines": line})
    assert message.startswith("库存不足：")
    assert "SHIRT-M" in message and "MAIN" in message
    assert "3" in message and "1" in message
    assert "Insufficient" not in message and "requested" not in message
    with override("en"):
        assert str(ListingStatus.DELISTED.label) == "Delisted"


@pytest.mark.django_db
def test_the_admin_speaks_chinese_after_switching_language(admin_client):
    response = admin_client.post(
        reverse("set_language"), {"language": "zh-hans", "next": reverse("admin:index")}
    )
    assert response.status_code == 302
    response = admin_client.get(reverse("admin:catalog_product_changelist"))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'lang="zh-hans"' in page
    # our own strings
    assert "选择 商品 来修改" in page  # Django's "Select %(name)s to change" with our model name
    assert "Stockroom 商家后台" in page
    assert "上架状态" in page  # the listing status column / filter
    # Django's own admin strings
    assert "首页" in page
    assert "注销" in page
    assert "Select product to change" not in page

    admin_client.post(reverse("set_language"), {"language": "en"})
    page = admin_client.get(reverse("admin:catalog_product_changelist")).content.decode()
    assert "Select product to change" in page
    assert "选择 商品 来修改" not in page
