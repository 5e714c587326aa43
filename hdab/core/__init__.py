"""The shared kernel: settings, clock, database, errors, auth, audit, outbox, Celery, web app, CLI."""
