"""``hdab synth``: write a synthetic NPR and KPR-KUHR year into the registry folder."""

from __future__ import annotations

import time
from pathlib import Path

import click

from hdab.core import runtime


@click.command("synth", help="Write a synthetic NPR and KPR-KUHR year (Parquet) into HDAB_REGISTRY_DIR.")
@click.option("--patients", type=click.IntRange(1, 10_000_000), default=10_000, show_default=True)
@click.option("--year", type=click.IntRange(2008, 2100), default=2025, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True, help="the same seed gives the same files")
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), default=None, help="default HDAB_REGISTRY_DIR"
)
def synth_command(patients: int, year: int, seed: int, out: Path | None) -> None:
    from hdab.extracts import synth

    settings = runtime.settings()
    if out is None and settings.is_production:
        raise click.UsageError(
            "refusing to write synthetic data into the production registry (HDAB_REGISTRY_DIR); "
            "give --out DIR for a folder of its own"
        )
    target = out or settings.registry_dir
    assert target is not None
    started = time.perf_counter()
    result = synth.generate(target, patients, year, seed)
    click.echo(
        f"{result.patients} patients: {result.npr_rows} NPR rows, {result.kpr_rows} KPR rows "
        f"in {time.perf_counter() - started:.1f} s -> {', '.join(str(f) for f in result.files)}; "
        f"marked synthetic in {result.provenance}"
    )


extract_group = click.Group("extract", help="Extracts from permits into the secure analysis room.")


@extract_group.command("run")
@click.option("--permit", "permit_id", required=True, help="the permit whose current version to extract")
def run_extract(permit_id: str) -> None:
    """Run a new extract of a permit here and now, with a progress bar."""
    from hdab.core.errors import ProblemError
    from hdab.extracts import runner, service
    from hdab.extracts.models import ExtractJob

    database = runtime.database()
    try:
        with database.session() as session:
            job_id = service.rerun(session, None, permit_id).id
    except ProblemError as exc:
        raise click.ClickException(exc.detail) from None
    with database.session() as session:
        from hdab.applications import api as applications

        tables = len(applications.permit_version(session, permit_id).specification.datasets)
    from hdab.extracts.pipeline.run import TABLE_STEPS

    with click.progressbar(length=tables * len(TABLE_STEPS) + 1, label=f"extract {job_id}") as bar:
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
    from hdab.core import clock
    from hdab.core.settings import Environment
    from hdab.extracts import synth

    settings = runtime.settings()
    target = settings.registry_dir
    assert target is not None
    if settings.env is not Environment.DEV or target.exists() or target.is_symlink():
        return  # never in production or test; never over a registry someone put there
    year = clock.now().year - 1
    started = time.perf_counter()
    try:
        result = synth.generate(target, DEV_PATIENTS, year, DEV_SEED)
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


groups = [synth_command, extract_group]
