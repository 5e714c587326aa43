"""What the two languages cost a page: rendering with the bokmål catalogue against the same templates
with gettext as the identity (no catalogue), and compiling a catalogue from its .po on first use.

Baseline and candidate share one process and are interleaved round by round, so the ratio holds on
any machine.

    python -m bench.pages      # or: make bench
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from jinja2 import Environment, select_autoescape

from hdab.core import i18n
from hdab.core.templating import env as site_env

RENDERS_PER_ROUND = 300
ROUNDS = 7
PAGE = "core/error.html"  # the layout (header, menu, footer) and a page of its own: about 30 texts
CONTEXT: dict[str, Any] = {
    "other_lang": "en",
    "switch_next": "/",
    "status": 404,
    "title": "Not Found",
    "detail_text": "no application 1",
    "detail_lang": "en",
    "errors": [],
    "principal": None,
    "request": None,
}


def _identity_env() -> Environment:
    """The site's templates and filters, with gettext that returns the msgid (no catalogue)."""
    plain = Environment(
        loader=site_env.loader,
        autoescape=select_autoescape(),  # as the site's (Starlette's Jinja2Templates)
        extensions=["jinja2.ext.i18n", "jinja2.ext.do"],
    )
    plain.filters.update(site_env.filters)
    plain.globals.update({k: v for k, v in site_env.globals.items() if k not in ("gettext", "ngettext", "_")})
    plain.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    return plain


def _timed(render: Callable[[], str]) -> float:
    start = time.perf_counter()
    for _ in range(RENDERS_PER_ROUND):
        render()
    return (time.perf_counter() - start) / RENDERS_PER_ROUND


def main() -> None:
    translated = site_env.get_template(PAGE)
    plain = _identity_env().get_template(PAGE)
    assert "Fant ikke siden" in translated.render(lang="nb", **CONTEXT)
    assert "Page not found" in plain.render(lang="nb", **CONTEXT)
    base, cand = [], []
    for _ in range(ROUNDS):
        base.append(_timed(lambda: plain.render(lang="nb", **CONTEXT)))
        cand.append(_timed(lambda: translated.render(lang="nb", **CONTEXT)))
    compile_times = []
    for _ in range(ROUNDS):
        i18n.translations.cache_clear()
        start = time.perf_counter()
        i18n.translations("nb")
        compile_times.append(time.perf_counter() - start)
    b, c = statistics.median(base), statistics.median(cand)
    print(f"pages: render {PAGE} with gettext as identity   median {b * 1e6:8.1f} µs")
    print(f"pages: render {PAGE} in bokmål (catalogue)      median {c * 1e6:8.1f} µs   ratio {c / b:.2f}")
    compiled = statistics.median(compile_times) * 1e3
    print(f"pages: compile the bokmål catalogue from its .po median {compiled:8.1f} ms")


if __name__ == "__main__":
    main()
