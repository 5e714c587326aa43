"""What the running service lacks, said once for operators (``/readyz``) and for people (page banners).

A domain tells what it found through ``hdab.<domain>.health.findings(settings)``; the top layer
(``hdab.app``) hands those functions to core, which names no domain. A finding never hides a
fault: the catalogue without the official shapes or an empty registry is named in ``/readyz``
and shown to the people who can act on it, not only logged. Only what makes the service unfit
to serve (in production) turns ``/readyz`` into a 503.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from hdab.core.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Finding:
    """One component's state, and when something needs doing, what and for whom."""

    component: str
    status: str  # the value /readyz shows under "checks", e.g. "ok", "missing", "synthetic"
    detail: str = ""  # one line for the operator: what is missing and how to get it
    banner: Mapping[str, str] = field(default_factory=dict)  # the same for people, by language
    roles: frozenset[str] = frozenset()  # who is shown the banner (role names)
    blocks_production: bool = False  # in production the service is not ready without it

    @property
    def needs_action(self) -> bool:
        return bool(self.detail)


Source = Callable[[Settings], Iterable[Finding]]


def collect(settings: Settings, sources: Sequence[Source]) -> list[Finding]:
    """What ``sources`` (the domains' checks) find. A failing check is itself a finding, never an error."""
    found: list[Finding] = []
    for source in sources:
        try:
            found.extend(source(settings))
        except Exception as exc:  # a health check must not take the page or /readyz down
            log.warning("health check %s failed: %s", source.__module__, type(exc).__name__)
            found.append(Finding(source.__module__.split(".")[1], f"unknown ({type(exc).__name__})"))
    return found


def banners(findings: Iterable[Finding], roles: Iterable[str], language: str) -> list[str]:
    """The banner texts for a person holding ``roles``, in ``language`` (English when not translated)."""
    held = {str(role) for role in roles}
    return [
        f.banner.get(language) or f.banner.get("en") or f.detail
        for f in findings
        if f.needs_action and f.roles & held
    ]
