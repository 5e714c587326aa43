"""The domains of hdab, named once; the composition root finds each domain's parts by convention.

Core never imports a domain statically (import-linter holds the direction extracts -> applications
-> catalog -> core, and extracts -> registry -> core). The app factory, the migration environment
and the Celery app ask this module for the domains' modules that exist: ``models`` (tables),
``routes`` and ``views`` (each exposing ``router``) and ``tasks``.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

DOMAINS = ("registry", "catalog", "applications", "extracts")


def module_names(part: str) -> list[str]:
    """The existing modules ``hdab.<domain>.<part>``, core first."""
    names = []
    for package in ("core", *DOMAINS):
        name = f"hdab.{package}.{part}"
        if importlib.util.find_spec(name) is not None:
            names.append(name)
    return names


def import_all(part: str) -> list[ModuleType]:
    return [importlib.import_module(name) for name in module_names(part)]


def load_models() -> None:
    """Import every table so that ``Base.metadata`` is complete."""
    import_all("models")
