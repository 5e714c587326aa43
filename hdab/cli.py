"""The ``hdab`` command: one CLI for serving, migrating, workers, development tokens and the audit log.

Every command reads the same settings as the server. In production, every command refuses to run
with unsafe settings (one line on stderr, exit status 2). The top layer: each domain's command
groups are imported by name, and every Celery task (``hdab.tasks``) for the worker and beat.
"""

from __future__ import annotations

import re
import sys
from datetime import timedelta
from typing import Any

import click
import uvicorn

from hdab.catalog import cli as catalog_cli
from hdab.core import audit as audit_log
from hdab.core import migrate, runtime
from hdab.core.auth import Role
from hdab.core.celery_app import celery_app
from hdab.core.devidp import DevIdentityProvider
from hdab.core.identifiers import InvalidIdentifier
from hdab.core.logs import configure_logging
from hdab.core.settings import ConfigurationError, Settings, load_settings
from hdab.extracts import cli as extracts_cli
from hdab.reception import cli as reception_cli
from hdab.registry import cli as registry_cli

EXIT_CONFIG = 2


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"hdab: {message}", err=True)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hdab")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """hdab: the Health Data Access Body service for NPR and KPR."""
    try:
        settings = load_settings()
        settings.ensure_startable()
    except ConfigurationError as exc:
        _fail(str(exc), EXIT_CONFIG)
    # Also points Celery at these settings: commands enqueue work as the server does.
    runtime.configure(settings)
    # Every command registers every domain's tasks (the outbox enqueues them by name; `hdab worker`
    # and `hdab beat` run them). Here, not at the top: it loads every domain (rdflib, DuckDB, ...),
    # which `hdab --help` does not need, and start-up would take four times as long.
    from hdab import tasks  # noqa: F401

    ctx.obj = settings


# --- server -------------------------------------------------------------------------------------


@cli.command()
@click.option("--host", default=None, help="listen address (default HDAB_HOST)")
@click.option("--port", default=None, type=click.IntRange(1, 65535), help="port (default HDAB_PORT)")
@click.option("--reload", is_flag=True, help="restart on code changes (development)")
@click.option(
    "--workers",
    default=1,
    type=click.IntRange(1, 64),
    help="server processes (more than one needs HDAB_BROKER_URL: Celery beat then runs the schedule)",
)
@click.pass_obj
def serve(
    settings: Settings,
    host: str | None = None,
    port: int | None = None,
    reload: bool = False,
    workers: int = 1,
) -> None:
    """Serve the web app and the API."""
    # Not at the top: the web app imports authlib, which prints a deprecation warning (httpx2) on
    # stderr when imported; every other command's output stays as it was.
    from hdab.app import create_app

    host = host or settings.host
    port = port or settings.port
    if workers > 1:
        if not settings.broker_url:
            _fail("--workers above 1 needs HDAB_BROKER_URL: each process would run the schedule itself", 2)
        click.echo(f"hdab serving on http://{host}:{port} with {workers} processes", err=True)
        uvicorn.run(
            "hdab.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="info",
            proxy_headers=True,
        )
        return
    if reload:
        uvicorn.run(
            "hdab.app:create_app",
            factory=True,
            host=host,
            port=port,
            reload=True,
            log_level="info",
        )
        return
    app = create_app(settings, run_scheduler=True)
    click.echo(f"hdab serving on http://{host}:{port} ({_backends(settings)})", err=True)
    uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=True)


@cli.command()
@click.pass_context
def run(ctx: click.Context) -> None:
    """Migrate, prepare each domain (shapes and seed; a synthetic registry in dev), serve (`make run`)."""
    ctx.invoke(db_upgrade, revision="head")
    for name in ("catalog", "extract"):
        group = cli.commands.get(name)
        prepare = group.commands.get("prepare") if isinstance(group, click.Group) else None
        if prepare is not None:
            ctx.invoke(prepare)
    ctx.invoke(serve)


def _backends(settings: Settings) -> str:
    db = "SQLite" if settings.uses_sqlite else "PostgreSQL"
    broker = "Redis broker" if settings.broker_url else "in-process tasks"
    search = "OpenSearch" if settings.search_url else "database search"
    return f"env={settings.env}, {db}, {broker}, {search}"


# --- database -----------------------------------------------------------------------------------


@cli.group()
def db() -> None:
    """Database migrations."""


@db.command("upgrade")
@click.argument("revision", default="head")
@click.pass_obj
def db_upgrade(settings: Settings, revision: str) -> None:
    """Migrate the database to REVISION (default: the latest)."""
    if settings.uses_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.database_url, revision)
    click.echo(f"database at {revision}", err=True)


@db.command("downgrade")
@click.argument("revision")
@click.pass_obj
def db_downgrade(settings: Settings, revision: str) -> None:
    """Migrate the database back to REVISION."""
    migrate.downgrade(settings.database_url, revision)


@db.command("revision")
@click.option("-m", "--message", required=True, help="what the migration changes")
@click.pass_obj
def db_revision(settings: Settings, message: str) -> None:
    """Write a new migration by comparing the models with the migrated database."""
    from hdab import models  # every table; not at the top, for the same reason as the tasks

    migrate.revision(settings.database_url, message, models.metadata)


# --- workers ------------------------------------------------------------------------------------


def _celery_main(settings: Settings, argv: list[str]) -> None:
    if not settings.broker_url:
        _fail("HDAB_BROKER_URL is not set: without a broker, tasks run inside the server", 2)
    configure_logging(settings)
    celery_app.start(argv=argv)  # configured for these settings by runtime.configure()


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.pass_context
def worker(ctx: click.Context) -> None:
    """Start a Celery worker (extra options go to `celery worker`)."""
    _celery_main(ctx.obj, ["worker", *ctx.args])


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.pass_context
def beat(ctx: click.Context) -> None:
    """Start the Celery beat scheduler (extra options go to `celery beat`)."""
    settings: Settings = ctx.obj
    schedule_file = settings.data_dir / "celerybeat-schedule"
    _celery_main(settings, ["beat", f"--schedule={schedule_file}", *ctx.args])


# --- development identity -----------------------------------------------------------------------


@cli.group()
def dev() -> None:
    """Development helpers (dev and test environments only)."""


@dev.command("token")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice(
        [
            "applicant",
            "caseworker",
            "decision_maker",
            "data_holder",
            "admin",
            "citizen",
            "recipient",
        ]
    ),
    help="a role of the principal (repeat for several)",
)
@click.option("--sub", "subject", required=True, help="the principal's subject")
@click.option("--org", "organisation", default=None, help="9-digit organisation number")
@click.option("--pid", "national_id", default=None, help="national identifier (citizens)")
@click.option("--hours", default=8.0, type=click.FloatRange(min=0.01, max=24 * 30), help="lifetime")
@click.pass_obj
def dev_token(
    settings: Settings,
    roles: tuple[str, ...],
    subject: str,
    organisation: str | None,
    national_id: str | None,
    hours: float,
) -> None:
    """Print a bearer token of the development identity provider."""
    if not settings.dev_idp_enabled:
        _fail("the development identity provider is disabled (HDAB_DEV_IDP=false or production)", 2)
    try:
        token = DevIdentityProvider(settings).issue(
            subject, [Role(r) for r in roles], organisation, national_id, timedelta(hours=hours)
        )
    except (InvalidIdentifier, ValueError) as exc:
        _fail(f"invalid argument: {exc}", 2)
    click.echo(token)


# --- audit --------------------------------------------------------------------------------------


@cli.group()
def audit() -> None:
    """The MAC-chained audit log and its checkpoints."""


@audit.command("verify")
def audit_verify() -> None:
    """Verify the chain against itself and its checkpoints; exit 0 when intact, 1 otherwise."""
    with runtime.database().session() as session:
        result = audit_log.verify(session)
    if not result.ok:
        _fail(f"audit chain broken: {result.problem}", 1)
    click.echo(
        f"audit chain intact: {result.entries_checked} entries, {result.checkpoints_checked} checkpoints"
    )


@audit.command("checkpoint")
def audit_checkpoint() -> None:
    """Verify the chain, then append its signed head to HDAB_AUDIT_CHECKPOINT_FILE (1: not intact)."""
    try:
        with runtime.database().session() as session:
            made = audit_log.checkpoint(session)
    except audit_log.ChainBroken as exc:
        _fail(f"audit chain broken, not checkpointed: {exc.result.problem}", 1)
    except OSError as exc:
        _fail(f"cannot write the audit checkpoint: {exc}", 1)
    click.echo(f"audit checkpoint: entry {made.seq} at {made.at}")


# --- configuration ------------------------------------------------------------------------------


@cli.command("config")
@click.pass_obj
def show_config(settings: Settings) -> None:
    """Show the effective settings (secrets masked)."""
    for name, value in sorted(masked_settings(settings).items()):
        click.echo(f"HDAB_{name.upper()}={value}")


SECRET_SETTINGS = frozenset(
    {"secret_key", "pseudonym_master_key", "optout_hash_key", "audit_mac_key", "client_secret"}
)
_URL_PASSWORD = re.compile(r"(?<=://)([^:/@]*):[^@/]+@")


def masked_settings(settings: Settings) -> dict[str, Any]:
    """The settings with every secret masked: keys, client secrets, passwords inside URLs."""

    def mask(name: str, value: Any) -> Any:
        if name in SECRET_SETTINGS and value:
            return "********"
        if isinstance(value, dict):
            return {k: mask(k, v) for k, v in value.items()}
        if isinstance(value, list):
            return [mask(name, v) for v in value]
        if isinstance(value, str):
            return _URL_PASSWORD.sub(r"\1:********@", value)
        return value

    dumped: dict[str, Any] = settings.model_dump(mode="json")
    return {name: mask(name, value) for name, value in dumped.items()}


# Each domain's commands become ``hdab <group> ...``.
for _command in (*catalog_cli.groups, *extracts_cli.groups, *registry_cli.groups, *reception_cli.groups):
    cli.add_command(_command)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
