"""Every text a person reads is in both catalogues: extracted with Babel, compared with the .po files.

The extraction is the one `make messages` runs (babel.cfg): ``N_()`` in Python, ``_()`` and
``ngettext()`` in templates. A message missing from a catalogue, left empty or marked fuzzy (which
the pages do not use) fails here, in either language, as do placeholders that differ from the msgid's.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from hdab.applications import labels
from hdab.core import i18n
from tests.support.backends import REPOSITORY_ROOT

PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _extracted() -> dict[str | tuple[str, ...], str]:
    """msgid (a tuple for plurals) -> where it was found."""
    with (REPOSITORY_ROOT / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
    found: dict[str | tuple[str, ...], str] = {}
    for filename, _line, message, _comments, _context in extract_from_dir(
        str(REPOSITORY_ROOT), method_map, options_map, keywords=keywords
    ):
        if isinstance(message, tuple):
            message = tuple(m for m in message if m is not None)
        if message:
            found.setdefault(message, filename)
    return found


def _catalogue(lang: str) -> Catalog:
    with i18n.catalogue_path(lang).open("rb") as handle:
        return read_po(handle, locale=lang)


def _problems(extracted: Iterable[str | tuple[str, ...]], catalogue: Catalog) -> list[str]:
    problems = []
    for msgid in extracted:
        key = msgid[0] if isinstance(msgid, tuple) else msgid
        entry: Message | None = catalogue.get(key)
        strings = entry.string if entry is not None else None
        texts = list(strings) if isinstance(strings, tuple) else [strings]
        if entry is None:
            problems.append(f"missing: {key!r}")
        elif entry.fuzzy or not all(texts):
            problems.append(f"untranslated or fuzzy: {key!r}")
        else:
            wanted = set(PLACEHOLDER.findall(key))
            for text in texts:
                if set(PLACEHOLDER.findall(str(text))) != wanted:
                    problems.append(f"placeholders differ: {key!r} -> {text!r}")
    return problems


@pytest.fixture(scope="module")
def extracted() -> dict[str | tuple[str, ...], str]:
    return _extracted()


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_every_message_of_the_code_and_templates_is_translated(
    lang: str, extracted: dict[str | tuple[str, ...], str]
) -> None:
    assert len(extracted) > 300, "extraction found too little: is babel.cfg read?"
    problems = _problems(extracted, _catalogue(lang))
    assert not problems, f"hdab/locale/{lang}: run `make messages` and translate:\n" + "\n".join(problems)


def test_the_check_notices_a_missing_an_empty_and_a_fuzzy_translation() -> None:
    catalogue = Catalog(locale="nb")
    catalogue.add("Draft", "Utkast")
    catalogue.add("Empty", "")
    catalogue.add("Unsure", "Usikker", flags=["fuzzy"])
    catalogue.add("Hello %(name)s", "Hei")
    problems = _problems(["Draft", "Empty", "Unsure", "Absent", "Hello %(name)s"], catalogue)
    assert problems == [
        "untranslated or fuzzy: 'Empty'",
        "untranslated or fuzzy: 'Unsure'",
        "missing: 'Absent'",
        "placeholders differ: 'Hello %(name)s' -> 'Hei'",
    ]


def test_templates_and_labels_are_both_extracted(extracted: dict[str | tuple[str, ...], str]) -> None:
    where = set(extracted.values())
    assert any(w.endswith(".html") for w in where) and any(w.endswith("labels.py") for w in where)
    assert extracted["Skip to the content"].endswith("base.html")
    assert ("dataset", "datasets") in extracted


def _field_error_messages(path: Path) -> list[str]:
    """The plain texts given to FieldError(...) and Rejected(...) in a module of the workflow."""
    texts = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("FieldError", "Rejected"):
            position = 1 if node.func.id == "FieldError" else 0  # type: ignore[attr-defined]
            if len(node.args) > position and isinstance(node.args[position], ast.Constant):
                texts.append(str(node.args[position].value))
        if isinstance(node, ast.Dict) and all(isinstance(v, ast.Constant) for v in node.values):
            keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
            if "title" in keys and "use_description" in keys:  # the required fields' messages
                texts += [str(v.value) for v in node.values if isinstance(v, ast.Constant)]
    return texts


def test_the_forms_and_the_workflows_messages_are_said_in_bokmal() -> None:
    package = REPOSITORY_ROOT / "hdab" / "applications"
    messages = _field_error_messages(package / "forms.py") + _field_error_messages(package / "handlers.py")
    assert len(messages) >= 30
    untranslated = [m for m in messages if not labels.error_text(m, "nb")[1]]
    assert not untranslated, f"add these to hdab/applications/labels.py ERRORS: {untranslated}"
    assert labels.error_text("give the application a title", "nb") == ("gi søknaden en tittel", True)
    said = labels.error_text("dataset 'npr-somatikk' has no variable 'x'", "nb")
    assert said == ("datasettet npr-somatikk har ingen variabel x", True)
    assert labels.error_text("something nobody wrote down", "nb") == ("something nobody wrote down", False)
    # a date in a message is said as a date in the page's language
    said = labels.error_text("the time to appeal ended on 2027-03-01 (3 weeks after the decision)", "nb")
    assert said == ("klagefristen gikk ut 1. mars 2027 (3 uker etter vedtaket)", True)


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("nb", ("1. mars 2027", "12\xa0000", "12\xa0000,00\xa0kr")), ("en", ("1 March 2027", "12,000", "NOK"))],
)
def test_dates_numbers_and_money_follow_the_language(lang: str, expected: tuple[str, str, str]) -> None:
    day, number, money = expected
    assert i18n.format_date("2027-03-01", lang) == day
    assert i18n.format_number(12000, lang) == number
    assert money in i18n.format_money("12000", "NOK", lang)
    # a time is shown as in Norway: 23:30 UTC on 28 February is 1 March in Oslo
    assert i18n.format_date("2027-02-28T23:30:00+00:00", lang) == day
