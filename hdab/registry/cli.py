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
    from hdab.registry import synth  # numpy and pyarrow load only when it runs: `hdab` starts fast

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
        f"in {time.perf_counter() - started:.1f} s -> {len(result.files)} parts under {target}; "
        f"marked synthetic in {result.provenance}"
    )


groups = [synth_command]
