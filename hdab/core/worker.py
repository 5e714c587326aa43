"""Entry point for the ``celery`` command itself (``celery -A hdab.core.worker ...``): the configured app.

``hdab worker`` and ``hdab beat`` are the usual way in; this module serves tools that expect
``-A`` (health checks, ``celery inspect``).
"""

from __future__ import annotations

from hdab.core import runtime
from hdab.core.celery_app import configure_celery

app = configure_celery(runtime.settings())
