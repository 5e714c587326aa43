"""One synthetic NPR year through the whole extract pipeline, against DuckDB's plain copy of the same data.

Generates (once, cached under the temp folder) a synthetic year at the seed's volume (default 2.8
million patients: about 15.5 million episode rows), then per round, each in a fresh process so
peak memory is its own:

- pipeline: plan -> minimise (as of the approval) -> opt-out filter (1 % of persons opted out)
  -> pseudonymise -> generalise -> disclosure check -> Parquet, manifest and data dictionary;
- baseline: the same permitted rows and columns copied from the source Parquet to Parquet by
  DuckDB, nothing else.

Prints rows per second, the ratio pipeline / baseline (target at most 1.5) and peak memory
(target under 2 GB), medians over the rounds.

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
    from hdab.registry import synth

    root = Path(tempfile.gettempdir()) / f"hdab-bench-registry-{patients}-{seed}"
    if not (root / "npr-somatikk" / "2025.parquet").exists():
        started = time.perf_counter()
        synth.generate(root, patients, 2025, seed)
        print(f"extract: generated {patients} patients in {time.perf_counter() - started:.0f} s -> {root}")
    return root


OPTOUT_KEY = b"bench-optout-key-bench-optout-key"


def opted_out_hashes(registry: Path) -> frozenset[str]:
    """Every hundredth person opted out before the approval (computed outside the measured process)."""
    from hdab.extracts.pipeline import steps

    people = pq.read_table(registry / "npr-somatikk" / "2025.parquet", columns=["fodselsnummer"])
    persons = sorted(people["fodselsnummer"].unique().to_pylist())
    return frozenset(steps.hmac_python(OPTOUT_KEY, p) for p in persons[::100])


def _pipeline(registry: Path, out: Path, queue: Any, opted_out: frozenset[str], memory_limit: str) -> None:
    from hdab.extracts.pipeline import plan as planning
    from hdab.extracts.pipeline import steps
    from hdab.extracts.pipeline.run import Keys, run_plan
    from tests.extracts.permits import permit_version

    started = time.perf_counter()
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
    seconds = time.perf_counter() - started
    rows = sum(f.get("rows", 0) for f in outcome.manifest["files"])
    queue.put((seconds, rows, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, outcome.steps))


def _baseline(registry: Path, out: Path, queue: Any, _opted_out: frozenset[str], memory_limit: str) -> None:
    started = time.perf_counter()
    con = duckdb.connect(config={"memory_limit": memory_limit, "temp_directory": str(out)})
    columns = ", ".join(f'"{c}"' for c in VARIABLES)
    source = str(registry / "npr-somatikk" / "*.parquet")
    con.execute(
        f"""COPY (SELECT {columns} FROM read_parquet('{source}')
        WHERE innskrivningstidspunkt >= DATE '2025-01-01' AND innskrivningstidspunkt < DATE '2026-01-01')
        TO '{out / "copy.parquet"}' (FORMAT parquet, COMPRESSION zstd)"""
    )
    seconds = time.perf_counter() - started
    rows = con.execute(f"SELECT count(*) FROM read_parquet('{out / 'copy.parquet'}')").fetchone()
    queue.put(
        (seconds, int(rows[0]) if rows else 0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, [])
    )


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
    pipeline, baseline, memory = [], [], []
    rows = copied = 0
    last_steps: list[StepRecord] = []
    for _ in range(args.rounds):
        seconds, copied, _peak, _ = in_fresh_process(_baseline, registry, opted_out, args.memory_limit)
        baseline.append(seconds)
        seconds, rows, peak, last_steps = in_fresh_process(_pipeline, registry, opted_out, args.memory_limit)
        pipeline.append(seconds)
        memory.append(peak)
    p, b = statistics.median(pipeline), statistics.median(baseline)
    print(
        f"extract: {args.patients} patients, {rows:,} rows delivered ({copied:,} copied by the baseline); "
        f"pipeline {p:.1f} s ({rows / p:,.0f} rows/s), plain copy {b:.1f} s ({copied / b:,.0f} rows/s), "
        f"ratio {p / b:.2f} (target <= 1.5); peak memory {statistics.median(memory) / 2**30:.2f} GB "
        f"(target < 2 GB); medians of {args.rounds} rounds"
    )
    print("extract: steps of the last round: " + ", ".join(f"{s.step} {s.seconds:.1f} s" for s in last_steps))


if __name__ == "__main__":
    main()
