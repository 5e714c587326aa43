"""Logging set-up: one format for server, workers and CLI."""

from __future__ import annotations

import logging

from hdab.core.settings import Settings

_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def configure_logging(settings: Settings) -> None:
    root = logging.getLogger()
    if not any(getattr(h, "_hdab", False) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(_FORMAT))
        handler._hdab = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    # authlib logs PKCE verifiers and assertions at DEBUG: never let secrets reach a log
    logging.getLogger("authlib").setLevel(max(logging.INFO, root.level))
