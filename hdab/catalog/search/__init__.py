"""Catalogue search: one interface, an embedded backend on the database and an OpenSearch backend."""

from __future__ import annotations

import threading

from hdab.catalog.search.backend import SearchBackend
from hdab.catalog.search.embedded import EmbeddedBackend
from hdab.catalog.search.opensearch import OpenSearchBackend
from hdab.core import runtime

_backends: dict[tuple[str, str], SearchBackend] = {}
_lock = threading.Lock()


def backend() -> SearchBackend:
    """The backend the settings choose: OpenSearch when HDAB_SEARCH_URL is set, else the database."""
    settings = runtime.settings()
    key = (settings.search_url, settings.database_url)
    with _lock:
        if key not in _backends:
            if settings.search_url:
                _backends[key] = OpenSearchBackend(settings.search_url)
            else:
                _backends[key] = EmbeddedBackend(runtime.database(), settings.search_cache_size)
        return _backends[key]


def reset() -> None:
    """Forget the backends (tests switch databases)."""
    with _lock:
        _backends.clear()
