"""One day of changes delivered incrementally, against a full snapshot of the same year, in one run.

On the synthetic NPR year (generated once and cached, as bench.extract does), a recurring permit's
run at 2025-07-01 06:00 UTC delivers either everything known then (snapshot) or only what the
registry learned in the day before (changes mode). Each runs the whole pipeline in a fresh process;
prints both times (medians, wall and CPU), rows, and the ratio changes / snapshot (target at most
0.05 at the full year). With the registry's parts by recorded day, a changes run reads the parts of
the days since the last run only, so its cost is a day's volume, not the year's.

    python -m bench.deliveries [--patients 2800000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.extract import DATASET, OPTOUT_KEY, cpu_seconds, in_fresh_process, registry_for

RUN_AT = datetime(2025, 7, 1, 6, tzinfo=UTC)


def _run(registry: Path, out: Path, queue: Any, changes: bool) -> None:
    from hdab.extracts.pipeline import plan as planning
    from hdab.extracts.pipeline import steps
    from hdab.extracts.pipeline.run import Keys, run_plan
    from tests.extracts.permits import permit_version

    started, cpu = time.perf_counter(), cpu_seconds()
    plan = planning.plan_for_permit(
        [permit_version("NO-HDAB-DELIVERIES", [DATASET], approved_at=datetime(2025, 1, 1, tzinfo=UTC))],
        5,
        run_at=RUN_AT,
        changed_since=RUN_AT - timedelta(days=1) if changes else None,
    )
    outcome = run_plan(
        plan,
        registry=registry,
        spe_root=out,
        delivery_id="changes" if changes else "snapshot",
        keys=Keys(steps.permit_key("bench-master-key-bench-master-key", "NO-HDAB-DELIVERIES"), OPTOUT_KEY),
        opted_out=lambda _at: frozenset(),
        optout_receipt=lambda at: {"as_of": at.isoformat()},
        dictionary={},
        principals=["bench"],
        memory_limit="1.5GB",
    )
    rows = sum(f.get("rows", 0) for f in outcome.manifest["files"])
    queue.put((time.perf_counter() - started, cpu_seconds() - cpu, rows))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=2_800_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    args, _ = parser.parse_known_args()
    registry = registry_for(args.patients, args.seed)
    wall: dict[bool, list[float]] = {False: [], True: []}
    cpu: dict[bool, list[float]] = {False: [], True: []}
    rows: dict[bool, int] = {False: 0, True: 0}
    for _ in range(args.rounds):
        for changes in (False, True):
            seconds, used, rows[changes] = in_fresh_process(_run, registry, changes)
            wall[changes].append(seconds)
            cpu[changes].append(used)
    w = {k: statistics.median(v) for k, v in wall.items()}
    c = {k: statistics.median(v) for k, v in cpu.items()}
    print(
        f"deliveries: {args.patients} patients; full snapshot {w[False]:.1f} s wall, {c[False]:.1f} s CPU "
        f"({rows[False]:,} rows); one day of changes {w[True]:.1f} s wall, {c[True]:.1f} s CPU "
        f"({rows[True]:,} rows); "
        f"changes / snapshot {w[True] / w[False]:.3f} wall, {c[True] / c[False]:.3f} CPU (target <= 0.05) "
        f"(medians of {args.rounds})"
    )


if __name__ == "__main__":
    main()
