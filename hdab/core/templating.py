"""The Jinja2 environment of every page: templates/ holds one folder per domain plus the base layout.

Every page is rendered in the request's language (:func:`hdab.core.web.preferred_language`): a
context processor puts ``lang`` (and the path the language switch comes back to) into every
template, and the i18n extension's ``_()``/``{% trans %}`` read the catalogue of that ``lang``
from the template's own context, so one shared environment serves both languages at once.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context

from hdab.core import i18n
from hdab.core.csrf import csrf_input
from hdab.core.web import preferred_language

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"


def _page_context(request: Request) -> dict[str, Any]:
    lang = preferred_language(request)
    # where the language switch brings the person back to: this page, without a ?lang= of its own
    query = [(k, v) for k, v in request.query_params.multi_items() if k not in ("lang", "partial")]
    here = request.url.path + (f"?{urlencode(query)}" if query else "")
    return {
        "lang": lang,
        "other_lang": "en" if lang == "nb" else "nb",
        "switch_next": here,
    }


templates = Jinja2Templates(directory=str(TEMPLATE_DIR), context_processors=[_page_context])
env = templates.env
env.add_extension("jinja2.ext.i18n")
env.add_extension("jinja2.ext.do")
env.globals["csrf_input"] = csrf_input


@pass_context
def _gettext(context: Context, message: str) -> str:
    return i18n.translate(str(context.get("lang") or i18n.DEFAULT), message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return i18n.ntranslate(str(context.get("lang") or i18n.DEFAULT), singular, plural, n)


env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]


@pass_context
def _date(context: Context, value: date | datetime | str | None, format: str = "long") -> str:
    return i18n.format_date(value, str(context.get("lang")), format)


@pass_context
def _datetime(context: Context, value: datetime | str | None) -> str:
    return i18n.format_datetime(value, str(context.get("lang")))


@pass_context
def _number(context: Context, value: int | float | Decimal | None) -> str:
    return i18n.format_number(value, str(context.get("lang")))


@pass_context
def _money(context: Context, amount: Any, currency: str | None = None) -> str:
    return i18n.format_money(amount, currency, str(context.get("lang")))


@pass_context
def _translate(context: Context, message: str) -> str:
    """A message marked elsewhere with ``N_()`` (a label table), translated here."""
    return i18n.translate(str(context.get("lang") or i18n.DEFAULT), message)


env.filters.update(date=_date, datetime=_datetime, number=_number, money=_money, translate=_translate)

# the roles' names, for the pages that show them (the development sign-in)
ROLE_NAMES = {
    "applicant": i18n.N_("Applicant"),
    "caseworker": i18n.N_("Caseworker"),
    "decision_maker": i18n.N_("Decision maker"),
    "data_holder": i18n.N_("Data holder"),
    "admin": i18n.N_("Administrator"),
    "citizen": i18n.N_("Citizen"),
    "recipient": i18n.N_("Data recipient"),
    "submitter": i18n.N_("Reporting system"),
}
env.globals["role_names"] = ROLE_NAMES
