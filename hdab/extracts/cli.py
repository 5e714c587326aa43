"""``hdab extract``: run a permit's extract here, and prepare a development registry for `hdab run`."""

from __future__ import annotations

import time

import click

from hdab.core import clock, runtime
from hdab.core.settings import Environment

# As in catalog/cli.py: each command imports the rest of what it needs when it runs (the runner
# loads DuckDB and pyarrow, the API modules FastAPI), so that `hdab --help` starts without them.
extract_group = click.Group("extract", help="Extracts from permits into the secure analysis room.")


@extract_group.command("run")
@click.option("--permit", "permit_id", required=True, help="the permit whose current version to extract")
def run_extract(permit_id: str) -> None:
    """Run a new extract of a permit here and now, with a progress bar."""
    from hdab.core.errors import ProblemError
    from hdab.extracts.jobs import runner, service
    from hdab.extracts.jobs.models import ExtractJob

    database = runtime.database()
    try:
        with database.session() as session:
            job_id = service.rerun(session, None, permit_id).id
    except ProblemError as exc:
        raise click.ClickException(exc.detail) from None
    with database.session() as session:
        from hdab.applications import api as applications

        tables = len(applications.permit_version(session, permit_id).specification.datasets)
    from hdab.extracts.pipeline.run import TABLE_STEP_KINDS

    with click.progressbar(length=tables * len(TABLE_STEP_KINDS) + 1, label=f"extract {job_id}") as bar:
        status = runner.run_job(database, job_id, progress=lambda _step: bar.update(1))
    with database.session() as session:
        ended = session.get(ExtractJob, job_id)
        assert ended is not None
        click.echo(f"{status}: {ended.delivery_path or ended.held_reason or ended.error or ''}")
    if status != "delivered":
        raise SystemExit(1)


# `hdab run` on a new data folder in dev: a small synthetic registry, so that a first permit delivers.
DEV_PATIENTS = 20_000
DEV_SEED = 1


@extract_group.command("prepare", hidden=True)
def prepare() -> None:
    """What `hdab run` does for extracts: in dev, a synthetic registry when the registry folder is new."""
    from hdab.registry import api as registry

    settings = runtime.settings()
    target = settings.registry_dir
    assert target is not None
    if settings.env is not Environment.DEV or target.exists() or target.is_symlink():
        return  # never in production or test; never over a registry someone put there
    year = clock.now().year - 1
    started = time.perf_counter()
    try:
        result = registry.generate(target, DEV_PATIENTS, year, DEV_SEED)
    except OSError as exc:  # best effort, like the shapes: the service starts without it
        click.echo(
            f"hdab: warning: could not write a synthetic registry into {target}"
            f" ({type(exc).__name__}: {exc.strerror or exc}); extracts will say the registry is empty",
            err=True,
        )
        return
    click.echo(
        f"wrote a synthetic registry for development into {target}: {result.patients} persons in {year},"
        f" {result.npr_rows} NPR and {result.kpr_rows} KPR rows, seed {DEV_SEED}"
        f" ({time.perf_counter() - started:.1f} s; not real patients)",
        err=True,
    )


groups = [extract_group]
