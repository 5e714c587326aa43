"""The two languages of the pages: gettext catalogues read with Babel, and Norwegian formats.

Messages are written in English in the code and templates (the msgid); ``hdab/locale/<lang>/
LC_MESSAGES/messages.po`` translates them, Norwegian Bokmål (``nb``, the default) and English
(``en``, whose msgstr is the English wording people read, so copy edits need no code change).

The ``.po`` files are the only form kept: they are compiled in memory when a language is first
used (a few milliseconds), so no generated ``.mo`` can fall out of step with its ``.po`` and the
wheel needs no build step (both ``.po`` files ship as package data). ``tests/core/test_i18n.py``
extracts every message with Babel and fails when either catalogue lacks one.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date as _format_date
from babel.dates import format_datetime as _format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal
from babel.support import Translations

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
LANGUAGES = ("nb", "en")
DEFAULT = "nb"
DOMAIN = "messages"
OSLO = ZoneInfo("Europe/Oslo")  # dates and times are shown as in Norway


def N_(message: str) -> str:
    """Mark a string for extraction where it is defined; it is translated where it is shown."""
    return message


def language(value: str | None) -> str:
    """``nb`` or ``en``: anything else is the default, Norwegian Bokmål."""
    return value if value in LANGUAGES else DEFAULT


def catalogue_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@lru_cache(maxsize=len(LANGUAGES))
def translations(lang: str) -> Translations:
    """The language's catalogue, compiled from its .po file on first use."""
    with catalogue_path(language(lang)).open("rb") as handle:
        catalog = read_po(handle, locale=language(lang), domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def translate(lang: str, message: str) -> str:
    """``message`` (an English msgid) in ``lang``; an unknown message is shown as written."""
    return translations(language(lang)).gettext(message)


def ntranslate(lang: str, singular: str, plural: str, n: int) -> str:
    return translations(language(lang)).ngettext(singular, plural, n)


def locale(lang: str) -> Locale:
    return Locale.parse("nb_NO" if language(lang) == "nb" else "en_GB")


def format_date(value: date | datetime | str | None, lang: str, format: str = "long") -> str:
    """``1. mars 2027`` in Bokmål, ``1 March 2027`` in English; an ISO string is read first."""
    if value is None or value == "":
        return ""
    parsed: date
    if isinstance(value, str):
        try:
            parsed = (
                datetime.fromisoformat(value.replace("Z", "+00:00"))
                if "T" in value
                else date.fromisoformat(value)
            )
        except ValueError:
            return value
    else:
        parsed = value
    if isinstance(parsed, datetime):
        parsed = parsed.date() if parsed.tzinfo is None else parsed.astimezone(OSLO).date()
    return _format_date(parsed, format=format, locale=locale(lang))


def format_datetime(value: datetime | str | None, lang: str) -> str:
    """Date and time of day in Norway (``1. mars 2027 kl. 14:05``)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    else:
        moment = value
    day = format_date(moment, lang)
    moment = moment if moment.tzinfo is None else moment.astimezone(OSLO)
    clock = _format_datetime(moment, "HH:mm", locale=locale(lang))
    return translate(lang, N_("%(day)s at %(time)s")) % {"day": day, "time": clock}


def format_number(value: int | float | Decimal | None, lang: str) -> str:
    """``12 000`` in Bokmål (a no-break space between thousands), ``12,000`` in English."""
    if value is None:
        return ""
    return format_decimal(value, locale=locale(lang))


def format_money(amount: int | float | Decimal | str | None, currency: str | None, lang: str) -> str:
    """``kr 12 000,00`` in Bokmål, ``NOK 12,000.00`` in English."""
    if amount is None or amount == "":
        return ""
    return format_currency(Decimal(str(amount)), currency or "NOK", locale=locale(lang))
