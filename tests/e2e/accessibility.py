"""What the browser journey checks on every page it visits: axe-core, reflow at 320 px, screenshots.

axe-core (shipped by ``axe-playwright-python``) runs inside the page as served, **with its
Content-Security-Policy on**: Playwright evaluates it through the DevTools protocol, which the
policy does not govern, so the page's own rules (no inline script or style) stay as they are. Each
page is seen in both languages and at 1280 and 320 CSS pixels wide (WCAG 1.4.10: no sideways
scrolling at 320 px); a screenshot of each is kept in ``test-artifacts/`` (git-ignored).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

LANGUAGES = ("nb", "en")
WIDTHS = (1280, 320)
HEIGHT = 900
LANGUAGE_COOKIE = "hdab_lang"


@dataclass
class Finding:
    page: str
    lang: str
    width: int
    rule: str
    impact: str
    targets: list[str]
    help: str


@dataclass
class Inspector:
    """Visits pages and remembers what axe and the reflow check found on each."""

    context: Any
    page: Any
    site: str
    artifacts: Path
    findings: list[Finding] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # page name -> violations found on it
    step: int = 0

    def __post_init__(self) -> None:
        from axe_playwright_python.sync_playwright import Axe

        self.axe = Axe()
        self.artifacts.mkdir(parents=True, exist_ok=True)

    def _set_language(self, lang: str) -> None:
        self.context.add_cookies([{"name": LANGUAGE_COOKIE, "value": lang, "url": self.site}])

    def inspect(self, name: str, *, both_languages: bool = True) -> None:
        """Check the page now shown: in both languages (reloading it) unless it answers a POST."""
        self.step += 1
        label = f"{self.step:02d}-{name}"
        self.counts[label] = 0
        shown = self.page.evaluate("document.documentElement.lang")
        languages = LANGUAGES if both_languages else (shown,)
        for lang in languages:
            if both_languages:
                self._set_language(lang)
                self._reload()
            assert self.page.evaluate("document.documentElement.lang") == lang, (label, lang)
            for width in WIDTHS:
                self.page.set_viewport_size({"width": width, "height": HEIGHT})
                self._axe(label, lang, width)
                self._reflow(label, lang, width)
                self.page.screenshot(path=str(self.artifacts / f"{label}-{lang}-{width}.png"), full_page=True)
        self.page.set_viewport_size({"width": WIDTHS[0], "height": HEIGHT})
        if both_languages:
            self._set_language(LANGUAGES[0])
            self._reload()

    def _reload(self) -> None:
        """Load the page again in the language the cookie now says (a ?lang= in its address would win)."""
        parts = urlsplit(self.page.url)
        query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "lang"])
        address = urlunsplit(parts._replace(query=query))
        if address == self.page.url:
            self.page.reload()
        else:
            self.page.goto(address)
        self.page.wait_for_load_state()

    def _axe(self, label: str, lang: str, width: int) -> None:
        results = self.axe.run(self.page)
        for violation in results.response["violations"]:
            self.counts[label] += 1
            self.findings.append(
                Finding(
                    label,
                    lang,
                    width,
                    violation["id"],
                    str(violation.get("impact")),
                    [
                        ", ".join(n["target"]) if isinstance(n["target"], list) else str(n["target"])
                        for n in violation["nodes"]
                    ][:5],
                    violation["help"],
                )
            )

    def _reflow(self, label: str, lang: str, width: int) -> None:
        if width > 320:
            return
        wide = self.page.evaluate("document.documentElement.scrollWidth")
        if wide > width:
            culprits = self.page.evaluate(
                """(limit) => Array.from(document.querySelectorAll('body *'))
                    .filter(e => e.getBoundingClientRect().right > limit + 1)
                    .filter(e => !e.closest('.table-scroll'))
                    .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : ''))""",
                width,
            )
            self.counts[label] += 1
            self.findings.append(
                Finding(
                    label,
                    lang,
                    width,
                    "reflow",
                    "serious",
                    culprits,
                    f"the page is {wide} px wide at {width} px",
                )
            )

    def report(self) -> str:
        """Write ``accessibility.json`` beside the screenshots; the text of every finding."""
        (self.artifacts / "accessibility.json").write_text(
            json.dumps(
                {"pages": self.counts, "findings": [f.__dict__ for f in self.findings]},
                indent=2,
                ensure_ascii=False,
            ),
            encoding="utf-8",
        )
        return "\n".join(
            f"{f.page} [{f.lang}, {f.width}px] {f.rule} ({f.impact}): {f.help} -> {f.targets}"
            for f in self.findings
        )


def safe_name(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
