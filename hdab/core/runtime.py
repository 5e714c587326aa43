"""The process's runtime: its settings and database, configured once at start-up (or by a test)."""

from __future__ import annotations

import threading

from hdab.core.celery_app import configure_celery
from hdab.core.db import Database
from hdab.core.settings import Settings, get_settings

_lock = threading.Lock()
_settings: Settings | None = None
_database: Database | None = None


def configure(settings: Settings) -> None:
    """Install ``settings`` for this process and drop the database built from earlier ones."""
    global _settings, _database
    with _lock:
        if _database is not None:
            _database.dispose()
        _settings = settings
        _database = None
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    # Work enqueued by this process goes where these settings say: the broker, or in-process.
    configure_celery(settings)


def settings() -> Settings:
    global _settings
    with _lock:
        if _settings is None:
            _settings = get_settings()
        return _settings


def database() -> Database:
    global _database
    current = settings()
    with _lock:
        if _database is None:
            if current.uses_sqlite:
                current.data_dir.mkdir(parents=True, exist_ok=True)
            _database = Database(current.database_url)
        return _database
