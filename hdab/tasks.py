"""Every Celery task of the service, named once: core's and each domain's, and their periodic tasks.

Importing a domain's ``tasks`` module registers its tasks with core's Celery app, so the outbox can
enqueue them by name; importing this module does that for all of them and adds each domain's
``BEAT_SCHEDULE`` to the schedule. The web app (``hdab.app``), the CLI (``hdab.cli``, which runs
the worker and beat) and ``celery -A hdab.worker`` import it.
"""

from __future__ import annotations

from hdab.applications import tasks as applications_tasks
from hdab.catalog import tasks as catalog_tasks
from hdab.core import tasks as core_tasks
from hdab.core.celery_app import add_periodic_tasks
from hdab.extracts import tasks as extracts_tasks
from hdab.reception import tasks as reception_tasks

MODULES = (core_tasks, catalog_tasks, applications_tasks, extracts_tasks, reception_tasks)

for _domain in (catalog_tasks, applications_tasks, extracts_tasks, reception_tasks):
    add_periodic_tasks(_domain.BEAT_SCHEDULE)
