"""Entry point for the ``celery`` command itself (``celery -A hdab.worker ...``): the configured app.

``hdab worker`` and ``hdab beat`` are the usual way in; this module serves tools that expect
``-A`` (health checks, ``celery inspect``).
"""

from __future__ import annotations

from hdab import tasks  # noqa: F401  (registers every domain's tasks and periodic tasks with the app)
from hdab.core import runtime
from hdab.core.celery_app import configure_celery

app = configure_celery(runtime.settings())
