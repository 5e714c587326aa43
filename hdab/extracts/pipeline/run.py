"""Run a plan step by step and deliver it into the secure analysis room, atomically.

A job is a fixed sequence of steps: for each dataset minimise, optout_filter, pseudonymise,
generalise, disclosure_check, write; then one deliver. Each step can run on its own (one Celery
task each): it reads the artifacts of the steps before it from the job's work folder
``{work_root}/{delivery_id}`` (outside the room: minimised rows still hold identifiers), leaves
its own, and reports counts, timings and the digests of its input and output. A run that
resumes starts at the first step not finished. The work folder is 0700, its files 0600, its
Parquet artifacts encrypted under the job's work key (``Keys.work``, see ``workfiles``), and
DuckDB spills into its ``.spill`` folder; it goes when the job delivers (or ends any other way:
the runner and the service remove it).

The delivery is written under ``.incoming-{delivery_id}`` and renamed to ``{delivery_id}`` only
when every file and the manifest are complete, so a half delivery is never visible; once the
manifest is in place, deliver does nothing more (exactly once). The manifest copies the
registry's ``PROVENANCE.json``, so a delivery made from synthetic data says so wherever it goes.
"""

from __future__ import annotations

import abc
import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import duckdb

from hdab.core.files import sha256_file
from hdab.extracts.pipeline import steps, workfiles
from hdab.extracts.pipeline.plan import ExtractPlan, TablePlan
from hdab.registry.api import read_provenance

# (dataset, variable) -> (title, datatype) from the catalogue, for the data dictionary
Dictionary = Mapping[tuple[str, str], tuple[str, str]]
OptOuts = Callable[[datetime], frozenset[str]]


@dataclass(frozen=True)
class Keys:
    """Key material for one run; held in memory only, never written or logged."""

    pseudonym: bytes = field(repr=False)
    optout: bytes = field(repr=False)
    # encrypts the job's work files: workfiles.job_key(master, job id), the same in every worker;
    # None only for run_plan, which runs every step in one process and makes a key for the run
    work: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class StepRef:
    index: int
    dataset: str  # "" for deliver
    name: str


def sequence(plan: ExtractPlan) -> list[StepRef]:
    """The job's steps in order: every table step for each table, then deliver."""
    refs = [StepRef(0, t.dataset, step.name) for t in plan.tables for step in TABLE_STEP_KINDS]
    refs.append(StepRef(0, "", "deliver"))
    return [StepRef(i, r.dataset, r.name) for i, r in enumerate(refs)]


@dataclass
class Context:
    plan: ExtractPlan
    registry: Path
    spe_root: Path
    delivery_id: str
    keys: Keys
    opted_out: OptOuts
    optout_receipt: Callable[[datetime], dict[str, Any]]
    dictionary: Dictionary
    principals: list[str]
    memory_limit: str = "1GB"  # the step's process, all of it: see duckdb_memory_limit
    max_suppressed_share: float = steps.MAX_SUPPRESSED_SHARE
    work_root: Path | None = None  # never inside the room: the artifacts still hold identifiers
    number: int = 1  # this delivery's number in the permit's series
    predecessor: str | None = None  # the delivery before it, named in the manifest

    @property
    def permit_dir(self) -> Path:
        return self.spe_root / self.plan.permit_id

    @property
    def work(self) -> Path:
        root = self.work_root or self.spe_root.with_name(self.spe_root.name + "-work")
        return root / self.delivery_id

    @property
    def spill(self) -> Path:
        """DuckDB's temp_directory: the job's own, private, removed with the work folder."""
        return self.work / workfiles.SPILL

    def work_folder(self, dataset: str) -> workfiles.WorkFolder:
        if self.keys.work is None:
            raise ValueError("the job has no work-file key")
        return workfiles.WorkFolder(self.work / dataset, self.keys.work)

    @property
    def incoming(self) -> Path:
        return self.permit_dir / f".incoming-{self.delivery_id}"

    @property
    def final(self) -> Path:
        return self.permit_dir / self.delivery_id


@dataclass
class Outcome:
    delivery: Path | None
    manifest: dict[str, Any]
    held: str | None = None
    steps: list[StepRecord] = field(default_factory=list)


def _digest(*paths: Path, extra: Any = None) -> str:
    digest = hashlib.sha256(json.dumps(extra, sort_keys=True, default=str).encode())
    for path in paths:
        if path.exists():
            digest.update(sha256_file(path).encode())
    return digest.hexdigest()


# DuckDB's buffer pool gets this share of a step's memory limit; the rest is for what it does not
# count (the write step's sort and Parquet writer held up to 0.4 GB beyond a 1.5 GB pool at 2.8
# million patients), the interpreter (0.2 GB) and the Arrow batches of the person artifacts.
DUCKDB_SHARE = 0.7
_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]i?B)?\s*", re.IGNORECASE)
_UNITS = {"": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}  # fmt: skip


def duckdb_memory_limit(limit: str) -> str:
    """DuckDB's ``memory_limit`` for a step whose whole process is to stay within ``limit``.

    The limit is met by design, not by luck: every row the pipeline handles is inside DuckDB
    (reads, joins, the sort, the written file), where the buffer pool spills to the job's private
    folder at its limit; outside it there are only the interpreter and the person artifacts,
    streamed in batches of ``workfiles.BATCH_ROWS`` rows. DuckDB's own operators hold some memory
    outside the pool, so the pool gets ``DUCKDB_SHARE`` of the limit and the rest is left for them.
    """
    found = _SIZE.fullmatch(limit)
    if found is None:
        raise ValueError(f"not a memory size: {limit!r}")
    size = float(found.group(1)) * _UNITS[(found.group(2) or "").lower()]
    return f"{int(size * DUCKDB_SHARE) // 2**20}MiB"


def _connect(ctx: Context, temp: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(
        config={"memory_limit": duckdb_memory_limit(ctx.memory_limit), "temp_directory": str(temp)}
    )
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET enable_progress_bar = false")
    if ctx.plan.plan_version >= 2:  # a month or a year of a date-time is a Norwegian one, on any worker
        con.execute("SET TimeZone = 'Europe/Oslo'")
    return con


def _json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(_dumps(data), encoding="utf-8")
    tmp.replace(path)


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def _work_json(path: Path, data: Any) -> None:
    workfiles.write_text(path, _dumps(data))


def start(ctx: Context) -> None:
    """Begin a run from its first step: clear what an earlier, unfinished run left behind."""
    shutil.rmtree(ctx.incoming, ignore_errors=True)
    workfiles.remove(ctx.work)


@dataclass(frozen=True)
class StepRecord:
    """What one step did: its counts, time and digests, whether it held the job, and its details."""

    index: int
    dataset: str  # "" for deliver
    step: str
    rows_in: int
    rows_out: int
    seconds: float
    input_digest: str | None
    output_digest: str | None
    held: str | None  # a disclosure risk the step could not resolve: a caseworker decides
    details: Mapping[str, Any] = field(default_factory=dict)  # what the job page shows beside the counts
    delivery: str | None = None  # deliver: the folder in the room

    def stored_details(self) -> dict[str, Any]:
        """The details as the step's row keeps them (deliver names its folder there)."""
        return {**self.details, **({"delivery": self.delivery} if self.delivery is not None else {})}


class Before(Protocol):
    """The step before, as the next one reads it: its dataset, the rows it left and their digest."""

    @property
    def dataset(self) -> str: ...

    @property
    def rows_out(self) -> int: ...

    @property
    def output_digest(self) -> str | None: ...


@dataclass(frozen=True)
class Previous:
    """The step before, read back from its record (another worker ran it)."""

    dataset: str
    rows_out: int
    output_digest: str | None


class Step(Protocol):
    """One kind of step: a name the job's sequence uses, and how to run it."""

    @property
    def name(self) -> str: ...

    def run(self, ctx: Context, ref: StepRef, previous: Before | None) -> StepRecord: ...


@dataclass(frozen=True)
class TableWork:
    """What a step over one table works with: its table, work folder, connection, the rows before."""

    ctx: Context
    ref: StepRef
    table: TablePlan
    files: workfiles.WorkFolder
    con: duckdb.DuckDBPyConnection
    rows_before: int

    @property
    def folder(self) -> Path:
        return self.files.path


@dataclass(frozen=True)
class Done:
    """What a table step produced; ``input_digest`` None: its input is the step before's output."""

    result: steps.StepResult
    output_digest: str
    input_digest: str | None = None


class TableStep(abc.ABC):
    """A step over one table: it reads the artifacts before it and leaves its own, in the work folder."""

    name: str

    def run(self, ctx: Context, ref: StepRef, previous: Before | None) -> StepRecord:
        started = time.perf_counter()
        table = next(t for t in ctx.plan.tables if t.dataset == ref.dataset)
        files = ctx.work_folder(ref.dataset)
        ctx.work.parent.mkdir(mode=workfiles.FOLDER_MODE, parents=True, exist_ok=True)
        # what a killed step spilled (DuckDB's temporary files are not encrypted) goes before the next
        workfiles.remove(ctx.spill)
        for folder in (ctx.work, files.path, ctx.spill):  # nobody else may even look in
            workfiles.private_folder(folder)
        ctx.incoming.mkdir(parents=True, exist_ok=True)
        same = previous is not None and previous.dataset == ref.dataset
        rows_before = previous.rows_out if previous is not None and same else 0
        input_digest = previous.output_digest if previous is not None and same else None
        con = _connect(ctx, ctx.spill)
        try:
            done = self.work(TableWork(ctx, ref, table, files, con, rows_before))
        finally:
            con.close()
        return StepRecord(
            index=ref.index,
            dataset=ref.dataset,
            step=ref.name,
            rows_in=done.result.rows_in,
            rows_out=done.result.rows_out,
            seconds=round(time.perf_counter() - started, 3),
            input_digest=done.input_digest if done.input_digest is not None else input_digest,
            output_digest=done.output_digest,
            held=done.result.held,
            details={k: v for k, v in done.result.details.items() if k != "select"},
        )

    @abc.abstractmethod
    def work(self, w: TableWork) -> Done: ...


class Minimise(TableStep):
    name = "minimise"

    def work(self, w: TableWork) -> Done:
        result = steps.minimise(w.con, w.table, w.ctx.registry, w.files)
        # what the source was: the files read, their sizes and times (hashing gigabytes would cost more)
        source = _digest(w.files.path / steps.SOURCE_FILES)
        return Done(result, _digest(w.files.artifact("persons")), input_digest=source)


class OptoutFilter(TableStep):
    name = "optout_filter"

    def work(self, w: TableWork) -> Done:
        by = w.table.optouts_by
        result = steps.optout_filter(w.con, w.files, w.ctx.opted_out(by), w.ctx.keys.optout)
        receipt = {
            "dataset": w.ref.dataset,
            "as_of": by.isoformat(),
            "persons_removed": result.details["persons_removed"],
            "rows_removed": result.details["rows_removed"],
            "registry": w.ctx.optout_receipt(by),
        }
        _work_json(w.folder / "receipt.json", receipt)
        return Done(result, _digest(w.files.artifact("removed")))


class Pseudonymise(TableStep):
    name = "pseudonymise"

    def work(self, w: TableWork) -> Done:
        result = steps.pseudonymise(w.con, w.table, w.files, w.ctx.keys.pseudonym, w.rows_before)
        return Done(result, _digest(w.files.artifact("pseudonyms")))


class Generalise(TableStep):
    name = "generalise"

    def work(self, w: TableWork) -> Done:
        result = steps.generalise(w.table, w.rows_before)
        return Done(result, _digest(extra=result.details))


class DisclosureCheck(TableStep):
    name = "disclosure_check"

    def work(self, w: TableWork) -> Done:
        table, plan = w.table, w.ctx.plan
        result = steps.disclosure_check(
            w.con, table, w.ctx.registry, w.files, w.rows_before, plan.min_k, w.ctx.max_suppressed_share,
            plan.min_l,
        )  # fmt: skip
        _work_json(
            w.folder / "disclosure.json",
            {
                "dataset": w.ref.dataset,
                "quasi_identifiers": list(table.quasi_identifiers),
                "k": result.details.get("k"),
                "suppressed_rows": result.details.get("suppressed", 0),
                **(
                    {"sensitive": list(table.sensitive), "l": result.details.get("l")}
                    if table.sensitive
                    else {}
                ),
            },
        )
        return Done(result, _digest(w.files.artifact("suppressed"), extra=result.details))


class Write(TableStep):
    name = "write"

    def work(self, w: TableWork) -> Done:
        path = w.ctx.incoming / f"{w.ref.dataset}.parquet"
        result = steps.write_parquet(w.con, w.table, w.ctx.registry, w.files, path, w.rows_before)
        described = w.con.execute("SELECT * FROM read_parquet($p) LIMIT 0", {"p": str(path)}).description
        output = sha256_file(path)
        _work_json(
            w.folder / "written.json",
            {"name": path.name, "dataset": w.ref.dataset, "sha256": output, "bytes": path.stat().st_size,
             "rows": result.rows_out, "columns": [d[0] for d in described]},
        )  # fmt: skip
        return Done(result, output)


class Deliver:
    """The last step: the data dictionary, the principals and the manifest, then the rename into the room."""

    name = "deliver"

    def run(self, ctx: Context, ref: StepRef, previous: Before | None) -> StepRecord:
        started = time.perf_counter()
        manifest = _deliver(ctx)
        rows = sum(f.get("rows", 0) for f in manifest["files"])
        return StepRecord(
            index=ref.index,
            dataset="",
            step=self.name,
            rows_in=rows,
            rows_out=rows,
            seconds=round(time.perf_counter() - started, 3),
            input_digest=None,
            output_digest=sha256_file(ctx.final / "manifest.json"),
            held=None,
            delivery=str(ctx.final),
        )


# The step registry: every step a job's sequence names, in the order a table goes through them.
TABLE_STEP_KINDS: tuple[TableStep, ...] = (
    Minimise(),
    OptoutFilter(),
    Pseudonymise(),
    Generalise(),
    DisclosureCheck(),
    Write(),
)
_KINDS: tuple[Step, ...] = (*TABLE_STEP_KINDS, Deliver())
STEPS: Mapping[str, Step] = {step.name: step for step in _KINDS}


def run_step(ctx: Context, ref: StepRef, previous: Before | None) -> StepRecord:
    """Run one step of the sequence; returns its record (counts, seconds, digests, details, held)."""
    return STEPS[ref.name].run(ctx, ref, previous)


def _deliver(ctx: Context) -> dict[str, Any]:
    """Deliver once: write and rename the delivery (or find it delivered); returns its manifest."""
    manifest: dict[str, Any]
    if (ctx.final / "manifest.json").exists():  # delivered already: exactly once
        manifest = json.loads((ctx.final / "manifest.json").read_text(encoding="utf-8"))
    else:
        plan = ctx.plan
        files = [json.loads((ctx.work / t.dataset / "written.json").read_text()) for t in plan.tables]
        receipts = [json.loads((ctx.work / t.dataset / "receipt.json").read_text()) for t in plan.tables]
        disclosure = [json.loads((ctx.work / t.dataset / "disclosure.json").read_text()) for t in plan.tables]
        _json(ctx.incoming / "datadictionary.csvw.json", data_dictionary(plan, files, ctx.dictionary))
        _json(ctx.incoming / "principals.json", {"permit_id": plan.permit_id, "principals": ctx.principals})
        for name in ("datadictionary.csvw.json", "principals.json"):
            path = ctx.incoming / name
            files.append({"name": name, "sha256": sha256_file(path), "bytes": path.stat().st_size})
        manifest = {
            "permit_id": plan.permit_id,
            "permit_version": plan.version,
            "delivery_id": ctx.delivery_id,
            "delivery_number": ctx.number,
            "predecessor": ctx.predecessor,
            "plan": plan.to_json(),
            "as_of": {t.dataset: t.as_of.isoformat() for t in plan.tables},
            "changed_since": {t.dataset: t.changed_since.isoformat() for t in plan.tables if t.changed_since},
            "optout_receipt": receipts,
            "disclosure": disclosure,
            # where the registry's data came from (synthetic ones say so); None: it does not say
            "registry_provenance": read_provenance(ctx.registry),
            "files": files,
        }
        _json(ctx.incoming / "manifest.json", manifest)
        os.replace(ctx.incoming, ctx.final)  # the delivery appears whole, or not at all
    workfiles.remove(ctx.work)  # delivered: nothing of the job stays outside the room
    shutil.rmtree(ctx.incoming, ignore_errors=True)
    return manifest


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
    on_step: Callable[[StepRecord], None] | None = None,
    work_root: Path | None = None,
) -> Outcome:
    """Run every step in this process, in order (tests and the benchmark).

    Without a work key in ``keys``, the work files are encrypted under a key made for this run: it
    lives in this process only, as long as the run.
    """
    if keys.work is None:
        keys = replace(keys, work=secrets.token_bytes(32))
    ctx = Context(
        plan, registry, spe_root, delivery_id, keys, opted_out, optout_receipt, dictionary, principals,
        memory_limit, max_suppressed_share, work_root,
    )  # fmt: skip
    ctx.permit_dir.mkdir(parents=True, exist_ok=True)
    if (ctx.final / "manifest.json").exists():
        start(ctx)
        _remove_default_work_root(ctx, work_root)
        return Outcome(ctx.final, json.loads((ctx.final / "manifest.json").read_text(encoding="utf-8")))
    start(ctx)
    outcome = Outcome(None, {})
    previous: StepRecord | None = None
    try:
        for ref in sequence(plan):
            record = run_step(ctx, ref, previous)
            outcome.steps.append(record)
            if on_step is not None:
                on_step(record)
            if record.held:
                outcome.held = f"{ref.dataset}: {record.held}"
                return outcome
            previous = record
        outcome.delivery = ctx.final
        outcome.manifest = json.loads((ctx.final / "manifest.json").read_text(encoding="utf-8"))
        return outcome
    finally:
        if outcome.delivery is None:
            start(ctx)  # a held or failed run leaves nothing behind
        _remove_default_work_root(ctx, work_root)


def _remove_default_work_root(ctx: Context, work_root: Path | None) -> None:
    """The ``<spe_root>-work`` folder a run without ``work_root`` made goes too, once nothing is in it.

    (The service's runs use ``{HDAB_DATA_DIR}/extract-work``, which stays: its sweeper removes what
    a killed job left in it, empty folders included.)
    """
    if work_root is None:
        with contextlib.suppress(OSError):  # another run's folder is still in it
            ctx.work.parent.rmdir()


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
    tables_by_dataset = {t.dataset: t for t in plan.tables}
    anonymised = any(not t.pseudonymised for t in plan.tables)
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
            column: dict[str, Any] = {
                "name": name,
                "titles": title,
                "datatype": CSVW_TYPES.get(datatype, "string"),
            }
            table = tables_by_dataset.get(dataset)
            if table is not None and not table.pseudonymised:
                # an anonymised file says what disclosure control did to each column
                if name in table.quasi_identifiers:
                    column["hdab:disclosureRole"] = "hdab:QuasiIdentifier"
                elif name in table.sensitive:
                    column["hdab:disclosureRole"] = "hdab:Sensitive"
                kind = steps.coarsening(table).get(name)
                if kind is not None:
                    column["datatype"] = "string"  # a date generalised to its month is text
                    column["hdab:anonymisedAs"] = f"hdab:To{kind.capitalize()}"
            columns.append(column)
        tables.append({"url": entry["name"], "dc:source": dataset, "tableSchema": {"columns": columns}})
    context: dict[str, str] = {"dc": "http://purl.org/dc/terms/"}
    if anonymised:
        context["hdab"] = "https://w3id.org/hdab/ns#"
    return {
        "@context": ["http://www.w3.org/ns/csvw", context],
        "dc:title": f"Extract for permit {plan.permit_id} version {plan.version}",
        "tables": tables,
    }
