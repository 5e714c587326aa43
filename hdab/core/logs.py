"""Logging set-up: one format for server, workers and CLI; no secrets in what is logged."""

from __future__ import annotations

import logging

from hdab.core.settings import Settings

_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


class QueryRedactor(logging.Filter):
    """Drop query strings from access-log lines: sign-in callbacks carry codes and state in them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) >= 3 and isinstance(record.args[2], str):
            path = record.args[2]
            if "?" in path:
                record.args = (*record.args[:2], path.split("?", 1)[0] + "?…", *record.args[3:])
        return True


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
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, QueryRedactor) for f in access.filters):
        access.addFilter(QueryRedactor())
