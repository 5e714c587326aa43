"""Run a plan end to end and deliver it into the secure analysis room, atomically.

The delivery is written under ``{spe_root}/{permit_id}/.incoming-{delivery_id}`` and renamed to
``{spe_root}/{permit_id}/{delivery_id}`` only when every file and the manifest are complete, so a
half delivery is never visible. The manifest lists every file with its SHA-256, rows and columns,
the permit id and version, the plan, the as-of times, the opt-out receipt and the k reached.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from hdab.extracts.pipeline import steps
from hdab.extracts.pipeline.plan import ExtractPlan, TablePlan

# (dataset, variable) -> (title, datatype) from the catalogue, for the data dictionary
Dictionary = Mapping[tuple[str, str], tuple[str, str]]
OptOuts = Callable[[datetime], frozenset[str]]


@dataclass(frozen=True)
class Keys:
    """Key material for one run; held in memory only, never written or logged."""

    pseudonym: bytes = field(repr=False)
    optout: bytes = field(repr=False)


@dataclass
class Outcome:
    delivery: Path | None
    manifest: dict[str, Any]
    held: str | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _connect(memory_limit: str, temp: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(config={"memory_limit": memory_limit, "temp_directory": str(temp)})
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET enable_progress_bar = false")
    return con


def run_plan(
    plan: ExtractPlan,
    *,
    registry: Path,
    spe_root: Path,
    delivery_id: str,
    keys: Keys,
    opted_out: OptOuts,
    optout_receipt: Callable[[datetime], dict[str, Any]],
    dictionary: Dictionary,
    principals: list[str],
    memory_limit: str = "1GB",
    max_suppressed_share: float = steps.MAX_SUPPRESSED_SHARE,
    on_step: Callable[[dict[str, Any]], None] | None = None,
) -> Outcome:
    permit_dir = spe_root / plan.permit_id
    permit_dir.mkdir(parents=True, exist_ok=True)
    final = permit_dir / delivery_id
    incoming = permit_dir / f".incoming-{delivery_id}"
    work = permit_dir / f".work-{delivery_id}"
    for leftover in (incoming, work):  # what a killed run left half-written
        shutil.rmtree(leftover, ignore_errors=True)
    if (final / "manifest.json").exists():  # delivered already: exactly once
        return Outcome(final, json.loads((final / "manifest.json").read_text(encoding="utf-8")))
    work.mkdir()
    incoming.mkdir()
    outcome = Outcome(None, {})
    files: list[dict[str, Any]] = []
    receipts: list[dict[str, Any]] = []
    disclosure: list[dict[str, Any]] = []
    try:
        con = _connect(memory_limit, work)
        for table in plan.tables:

            def record(name: str, result: steps.StepResult, started: float, table: TablePlan = table) -> None:
                step = {
                    "dataset": table.dataset,
                    "step": name,
                    "rows_in": result.rows_in,
                    "rows_out": result.rows_out,
                    "seconds": round(time.perf_counter() - started, 3),
                    **result.details,
                }
                outcome.steps.append(step)
                if on_step is not None:
                    on_step(step)

            prefix = table.dataset.replace("-", "_")
            started = time.perf_counter()
            record("minimise", steps.minimise(con, table, registry, f"{prefix}_1"), started)
            started = time.perf_counter()
            removed = steps.optout_filter(
                con, f"{prefix}_1", f"{prefix}_2", opted_out(table.as_of), keys.optout
            )
            record("optout_filter", removed, started)
            receipts.append(
                {
                    "dataset": table.dataset,
                    "as_of": table.as_of.isoformat(),
                    "persons_removed": removed.details["persons_removed"],
                    "rows_removed": removed.rows_in - removed.rows_out,
                    "registry": optout_receipt(table.as_of),
                }
            )
            started = time.perf_counter()
            pseudonymised = steps.pseudonymise(
                con, table, f"{prefix}_2", f"{prefix}_3", keys.pseudonym, removed.rows_out, f"{prefix}_1"
            )
            record("pseudonymise", pseudonymised, started)
            started = time.perf_counter()
            generalised = steps.generalise(con, table, f"{prefix}_3", f"{prefix}_4", pseudonymised.rows_out)
            record("generalise", generalised, started)
            started = time.perf_counter()
            checked, verdict = steps.disclosure_check(
                con,
                table,
                f"{prefix}_4",
                f"{prefix}_5",
                generalised.rows_out,
                plan.min_k,
                max_suppressed_share,
            )
            record("disclosure_check", checked, started)
            disclosure.append(
                {
                    "dataset": table.dataset,
                    "quasi_identifiers": list(table.quasi_identifiers),
                    "k": verdict.k,
                    "suppressed_rows": verdict.suppressed,
                }
            )
            if verdict.held:
                outcome.held = f"{table.dataset}: {verdict.reason}"
                return outcome
            started = time.perf_counter()
            path = incoming / f"{table.dataset}.parquet"
            record("write", steps.write_parquet(con, f"{prefix}_5", path, checked.rows_out), started)
            columns = [
                d[0]
                for d in con.execute(f'SELECT * EXCLUDE (record_id) FROM "{prefix}_5" LIMIT 0').description
            ]
            files.append(
                {
                    "name": path.name,
                    "dataset": table.dataset,
                    "sha256": sha256_file(path),
                    "bytes": path.stat().st_size,
                    "rows": checked.rows_out,
                    "columns": columns,
                }
            )
        con.close()
        dictionary_doc = data_dictionary(plan, files, dictionary)
        _write_json(incoming / "datadictionary.csvw.json", dictionary_doc)
        _write_json(incoming / "principals.json", {"permit_id": plan.permit_id, "principals": principals})
        for name in ("datadictionary.csvw.json", "principals.json"):
            files.append(
                {
                    "name": name,
                    "sha256": sha256_file(incoming / name),
                    "bytes": (incoming / name).stat().st_size,
                }
            )
        manifest = {
            "permit_id": plan.permit_id,
            "permit_version": plan.version,
            "delivery_id": delivery_id,
            "plan": plan.to_json(),
            "as_of": {t.dataset: t.as_of.isoformat() for t in plan.tables},
            "optout_receipt": receipts,
            "disclosure": disclosure,
            "files": files,
        }
        _write_json(incoming / "manifest.json", manifest)
        os.replace(incoming, final)  # the delivery appears whole, or not at all
        outcome.delivery, outcome.manifest = final, manifest
        return outcome
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(incoming, ignore_errors=True)


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")


CSVW_TYPES = {
    "string": "string",
    "integer": "integer",
    "decimal": "decimal",
    "date": "date",
    "dateTime": "dateTime",
}


def data_dictionary(plan: ExtractPlan, files: list[dict[str, Any]], dictionary: Dictionary) -> dict[str, Any]:
    """A CSVW table group describing each delivered file in the catalogue's terms."""
    tables = []
    for entry in files:
        dataset = entry["dataset"]
        columns = []
        for name in entry["columns"]:
            if name == steps.PSEUDONYM_COLUMN:
                columns.append(
                    {
                        "name": name,
                        "titles": "Pseudonym (per permit)",
                        "datatype": "string",
                        "dc:description": "Keyed pseudonym of the person, stable within the permit",
                    }
                )
                continue
            title, datatype = dictionary.get((dataset, name), (name, "string"))
            columns.append({"name": name, "titles": title, "datatype": CSVW_TYPES.get(datatype, "string")})
        tables.append({"url": entry["name"], "dc:source": dataset, "tableSchema": {"columns": columns}})
    return {
        "@context": ["http://www.w3.org/ns/csvw", {"dc": "http://purl.org/dc/terms/"}],
        "dc:title": f"Extract for permit {plan.permit_id} version {plan.version}",
        "tables": tables,
    }
