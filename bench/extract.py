"""One synthetic NPR year through the whole extract pipeline, against DuckDB's plain copy of the same data.

Generates (once, cached under the temp folder) a synthetic year at the seed's volume (default 2.8
million patients: about 15.5 million episode rows), then per round, each in a fresh process so
peak memory is its own:

- pipeline: plan -> minimise (as of the approval) -> opt-out filter (1 % of persons opted out)
  -> pseudonymise -> generalise -> disclosure check -> Parquet, manifest and data dictionary;
- baseline: DuckDB in a fresh process reading the same source files and writing the permitted
  columns plus the identifier of the rows (``record_id``) in the period to Parquet, with the same
  compression (zstd), threads (DuckDB's default: one per core) and memory limit; nothing else.

Prints CPU time (user + system, every thread of the process, measured around the work only, not
the interpreter's start) and wall time of both, the ratios pipeline / baseline (target for CPU at
most 1.5) and the pipeline's peak memory (target under 2 GB), medians over the rounds.

    python -m bench.extract [--patients 2800000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow.parquet as pq

if TYPE_CHECKING:  # the pipeline itself loads in the measured process only
    from hdab.extracts.pipeline.run import StepRecord

VARIABLES = ["hovedtilstand", "bitilstand", "kjonn", "fodselsar", "kommunenummer", "innskrivningstidspunkt",
             "utskrivningstidspunkt", "omsorgsniva", "drg"]  # fmt: skip
DATASET = {
    "dataset": "npr-somatikk",
    "variables": VARIABLES,
    "period": {"start": "2025-01-01", "end": "2025-12-31"},
    "pseudonymised": True,
}


def registry_for(patients: int, seed: int) -> Path:
    """The synthetic year, generated once per size, seed and layout (the registry's parts by day)."""
    from hdab.registry import synth

    root = Path(tempfile.gettempdir()) / f"hdab-bench-registry-days-{patients}-{seed}"
    if not (root / "PROVENANCE.json").exists():
        started = time.perf_counter()
        synth.generate(root, patients, 2025, seed)
        print(f"extract: generated {patients} patients in {time.perf_counter() - started:.0f} s -> {root}")
    return root


def source_files(registry: Path, dataset: str = "npr-somatikk") -> list[str]:
    """Every data file of a dataset: its parts by day and any loose file."""
    return sorted(str(p) for p in (registry / dataset).rglob("*.parquet"))


def cpu_seconds() -> float:
    """CPU time of this process so far, every thread (DuckDB's and Arrow's too), user and system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


OPTOUT_KEY = b"bench-optout-key-bench-optout-key"


def opted_out_hashes(registry: Path) -> frozenset[str]:
    """Every hundredth person opted out before the approval (computed outside the measured process)."""
    from hdab.extracts.pipeline import steps

    people = pq.read_table(source_files(registry), columns=["fodselsnummer"])
    persons = sorted(people["fodselsnummer"].unique().to_pylist())
    return frozenset(steps.hmac_python(OPTOUT_KEY, p) for p in persons[::100])


def _pipeline(registry: Path, out: Path, queue: Any, opted_out: frozenset[str], memory_limit: str) -> None:
    from hdab.extracts.pipeline import plan as planning
    from hdab.extracts.pipeline import steps
    from hdab.extracts.pipeline.run import Keys, run_plan
    from tests.extracts.permits import permit_version

    started, cpu = time.perf_counter(), cpu_seconds()
    plan = planning.plan_for_permit([permit_version("NO-HDAB-BENCH", [DATASET])], 5)
    outcome = run_plan(
        plan,
        registry=registry,
        spe_root=out,
        delivery_id="bench",
        keys=Keys(steps.permit_key("bench-master-key-bench-master-key", "NO-HDAB-BENCH"), OPTOUT_KEY),
        opted_out=lambda _at: opted_out,
        optout_receipt=lambda at: {"as_of": at.isoformat()},
        dictionary={},
        principals=["bench"],
        memory_limit=memory_limit,
    )
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    rows = sum(f.get("rows", 0) for f in outcome.manifest["files"])
    queue.put((seconds, cpu, rows, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, outcome.steps))


def _baseline(registry: Path, out: Path, queue: Any, _opted_out: frozenset[str], memory_limit: str) -> None:
    started, cpu = time.perf_counter(), cpu_seconds()
    con = duckdb.connect(config={"memory_limit": memory_limit, "temp_directory": str(out)})
    con.execute("SET enable_progress_bar = false")  # as the pipeline's connections
    columns = ", ".join(f'"{c}"' for c in ["record_id", *VARIABLES])
    con.execute(
        f"""COPY (SELECT {columns} FROM read_parquet($files, hive_partitioning = false)
        WHERE innskrivningstidspunkt >= DATE '2025-01-01' AND innskrivningstidspunkt < DATE '2026-01-01')
        TO '{out / "copy.parquet"}' (FORMAT parquet, COMPRESSION zstd)""",
        {"files": source_files(registry)},
    )
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    rows = con.execute(f"SELECT count(*) FROM read_parquet('{out / 'copy.parquet'}')").fetchone()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    queue.put((seconds, cpu, int(rows[0]) if rows else 0, peak, []))


def in_fresh_process(target: Any, registry: Path, *args: Any) -> Any:
    """Run ``target(registry, out, queue, *args)`` in a new process (its peak memory its own) and
    return what it put on the queue; ``out`` is a temporary folder removed afterwards."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    with tempfile.TemporaryDirectory() as out:
        process = context.Process(target=target, args=(registry, Path(out), queue, *args))
        process.start()
        result = queue.get()
        process.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=2_800_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--memory-limit", default="1.5GB", help="DuckDB's memory limit, for both sides")
    args, _ = parser.parse_known_args()
    registry = registry_for(args.patients, args.seed)
    opted_out = opted_out_hashes(registry)
    wall: dict[str, list[float]] = {"pipeline": [], "baseline": []}
    cpu: dict[str, list[float]] = {"pipeline": [], "baseline": []}
    memory: list[int] = []
    rows = copied = 0
    last_steps: list[StepRecord] = []
    for _ in range(args.rounds):
        seconds, used, copied, _peak, _ = in_fresh_process(_baseline, registry, opted_out, args.memory_limit)
        wall["baseline"].append(seconds)
        cpu["baseline"].append(used)
        seconds, used, rows, peak, last_steps = in_fresh_process(
            _pipeline, registry, opted_out, args.memory_limit
        )
        wall["pipeline"].append(seconds)
        cpu["pipeline"].append(used)
        memory.append(peak)
    w = {k: statistics.median(v) for k, v in wall.items()}
    c = {k: statistics.median(v) for k, v in cpu.items()}
    print(
        f"extract: {args.patients} patients, {rows:,} rows delivered ({copied:,} copied by the baseline); "
        f"CPU pipeline {c['pipeline']:.1f} s, baseline {c['baseline']:.1f} s, "
        f"ratio {c['pipeline'] / c['baseline']:.2f} (target <= 1.5); "
        f"wall pipeline {w['pipeline']:.1f} s ({rows / w['pipeline']:,.0f} rows/s), "
        f"baseline {w['baseline']:.1f} s, "
        f"ratio {w['pipeline'] / w['baseline']:.2f}; peak memory {statistics.median(memory) / 2**30:.2f} GB "
        f"(target < 2 GB, DuckDB limit {args.memory_limit}); medians of {args.rounds} rounds"
    )
    print("extract: steps of the last round: " + ", ".join(f"{s.step} {s.seconds:.1f} s" for s in last_steps))


if __name__ == "__main__":
    main()
