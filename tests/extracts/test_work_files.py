"""No identifier rests outside the room longer than a step needs (issue 14, item 4).

A job's work files are private (folders 0700, files 0600) and its Parquet artifacts encrypted under
a key derived from the master secret and the job's id, stored nowhere; DuckDB spills into the job's
own folder; and all of it goes when the job ends: delivered, rejected at review, cancelled by a
revocation, failed. The sweeper removes what a killed process left, never a running job's files.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
from cryptography.exceptions import InvalidTag
from fastapi.testclient import TestClient

from hdab.core import clock, runtime
from hdab.core.auth import Role
from hdab.core.celery_app import celery_app
from hdab.extracts.jobs import service, workspace
from hdab.extracts.jobs.models import ExtractJob
from hdab.extracts.pipeline import plan as planning
from hdab.extracts.pipeline import statistics, steps, workfiles
from hdab.extracts.pipeline.failures import JobFailure
from hdab.extracts.pipeline.run import Context, Keys, StepRecord, run_plan, run_step, sequence
from tests.applications.factories import People, statistics_form
from tests.applications.walk import settle, to_approved_statistics
from tests.extracts.apps import audit_entries, jobs, permit_with
from tests.extracts.permits import permit_version
from tests.extracts.test_jobs import PSEUDONYMISED, RISKY, registry  # noqa: F401 - shared fixtures

MASTER = "work-file-master-key-work-file-master-key"
OPTOUT_KEY = b"work-file-optout-key-work-file-optout"
PERMIT = "NO-HDAB-2026-WORK"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def persons_in(source: Path) -> list[str]:
    table = pq.read_table(source / "npr-somatikk", partitioning=None, columns=["fodselsnummer"])
    return [str(p) for p in table["fodselsnummer"].unique().to_pylist()]


def assert_private_and_sealed(work: Path, persons: list[str]) -> None:
    """Folders 0700, files 0600, and no source person number in any file's bytes."""
    assert mode(work) == 0o700
    for path in work.rglob("*"):
        if path.is_dir():
            assert mode(path) == 0o700, path
        else:
            assert mode(path) == 0o600, path
            data = path.read_bytes()
            assert not [p for p in persons if p.encode() in data], path


def context(source: Path, root: Path, job_id: str, *, key: bytes | None = None) -> Context:
    """The context a worker builds for a step of job ``job_id`` (its own keys, derived again)."""
    plan = planning.plan_for_permit([permit_version(PERMIT, [PSEUDONYMISED])], 5)
    return Context(
        plan=plan,
        registry=source,
        spe_root=root / "spe",
        delivery_id=job_id,
        keys=Keys(
            steps.permit_key(MASTER, PERMIT),
            OPTOUT_KEY,
            key if key is not None else workfiles.job_key(MASTER, job_id),
        ),
        opted_out=lambda _at: frozenset(),
        optout_receipt=lambda at: {"as_of": at.isoformat()},
        dictionary={},
        principals=["kari@idp"],
        work_root=root / "extract-work",
    )


def run_steps(ctx: Context, names: list[str], previous: StepRecord | None = None) -> StepRecord:
    for ref in sequence(ctx.plan):
        if ref.name in names:
            previous = run_step(ctx, ref, previous)
    assert previous is not None
    return previous


def test_work_files_are_private_and_cannot_be_read_without_the_jobs_key(
    registry: Path,  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    ctx = context(registry, tmp_path, "job-a")
    run_steps(ctx, ["minimise", "optout_filter", "pseudonymise"])
    work = ctx.work / "npr-somatikk"
    names = sorted(p.name for p in work.iterdir())
    assert names == [
        "persons.parquet",
        "pseudonyms.parquet",
        "receipt.json",
        "removed.parquet",
        "source.json",
    ]
    minimised = work / "persons.parquet"
    # with the job's key the rows are there, person numbers and all ...
    assert ctx.keys.work is not None
    rows = workfiles.dataset(minimised, ctx.keys.work).to_table(columns=["_person"])
    held = set(rows["_person"].to_pylist())
    assert held and held <= set(persons_in(registry))
    # ... on disk not one of them, and nothing reads the file without that key
    assert_private_and_sealed(ctx.work, sorted(held))
    assert mode(ctx.spill) == 0o700 and ctx.spill.parent == ctx.work
    with pytest.raises(duckdb.Error, match="encrypted"):
        duckdb.connect().execute("SELECT * FROM read_parquet($p)", {"p": str(minimised)}).fetchall()
    with pytest.raises(OSError, match="encrypted"):
        pq.read_table(minimised)
    with pytest.raises((InvalidTag, OSError)):
        workfiles.dataset(minimised, workfiles.job_key(MASTER, "job-b")).to_table()


def test_the_work_key_is_derived_per_job_so_any_worker_runs_any_step(
    registry: Path,  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    key = workfiles.job_key(MASTER, "job-a")
    assert len(key) == 32 and key == workfiles.job_key(MASTER, "job-a")  # the same in every worker
    assert key != workfiles.job_key(MASTER, "job-b")  # another job, another key
    assert key != workfiles.job_key(MASTER + "x", "job-a")
    assert key != steps.permit_key(MASTER, "job-a")  # its own salt: not a pseudonym key
    keys = Keys(b"p" * 32, b"o" * 32, key)
    assert key.hex() not in repr(keys) and repr(key) not in repr(keys)
    # one worker runs the first step; another, deriving the key itself, runs the next ones
    first = run_steps(context(registry, tmp_path, "job-a"), ["minimise"])
    last = run_steps(context(registry, tmp_path, "job-a"), ["optout_filter", "pseudonymise"], first)
    assert last.rows_out == first.rows_out > 0
    # a worker holding another job's key reads nothing of this job's files
    with pytest.raises((InvalidTag, OSError)):
        stranger = context(registry, tmp_path, "job-a", key=workfiles.job_key(MASTER, "job-b"))
        run_steps(stranger, ["optout_filter"], first)


def test_duckdb_spills_into_the_jobs_own_folder_which_goes_with_the_work_files(
    registry: Path,  # noqa: F811 - the fixture
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from hdab.extracts.pipeline import run

    spills: list[str] = []
    connect = run._connect

    def spying(ctx: Context, temp: Path) -> duckdb.DuckDBPyConnection:
        con = connect(ctx, temp)
        spills.append(con.execute("SELECT current_setting('temp_directory')").fetchall()[0][0])
        return con

    monkeypatch.setattr(run, "_connect", spying)
    first, second = context(registry, tmp_path, "job-a"), context(registry, tmp_path, "job-b")
    run_steps(first, ["minimise"])
    run_steps(second, ["minimise"])
    assert spills == [str(first.spill), str(second.spill)]
    assert first.spill == tmp_path / "extract-work" / "job-a" / ".spill" and mode(first.spill) == 0o700
    # a whole run leaves neither work files nor spill folder behind
    plan = planning.plan_for_permit([permit_version(PERMIT, [PSEUDONYMISED])], 5)
    outcome = run_plan(
        plan,
        registry=registry,
        spe_root=tmp_path / "spe",
        delivery_id="job-c",
        keys=Keys(steps.permit_key(MASTER, PERMIT), OPTOUT_KEY),
        opted_out=lambda _at: frozenset(),
        optout_receipt=lambda at: {"as_of": at.isoformat()},
        dictionary={},
        principals=["kari@idp"],
        work_root=tmp_path / "extract-work",
    )
    assert outcome.delivery is not None and spills[-1] == str(tmp_path / "extract-work" / "job-c" / ".spill")
    assert not (tmp_path / "extract-work" / "job-c").exists()


def test_a_job_rejected_at_review_leaves_no_minimised_rows_behind(
    app: tuple[TestClient, People],
    registry: Path,  # noqa: F811 - the fixture
) -> None:
    client, people = app
    permit_id = permit_with(client, people, RISKY)["permit_id"]
    [job] = jobs()
    assert job.status == "held"
    # held for a caseworker: the files stay (a release needs them), private and encrypted
    work = workspace.work_folder(job.id)
    minimised = work / "npr-somatikk" / "persons.parquet"
    assert minimised.is_file() and mode(workspace.work_root()) == 0o700
    assert_private_and_sealed(work, persons_in(registry))
    other = people.headers("saksbehandler-2", Role.CASEWORKER)
    rejected = client.post(
        f"/api/extracts/{job.id}/review",
        json={"decision": "reject", "note": "too much suppressed"},
        headers=other,
    )
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert not work.exists()
    assert not list((workspace.spe_root() / permit_id).glob(".incoming-*"))


def test_a_held_job_cancelled_by_revocation_leaves_nothing(
    app: tuple[TestClient, People],
) -> None:
    client, people = app
    permit_id = permit_with(client, people, RISKY)["permit_id"]
    [job] = jobs()
    assert job.status == "held" and workspace.work_folder(job.id).is_dir()
    revoked = client.post(
        f"/api/permits/{permit_id}/revoke", json={"reasons": "breach"}, headers=people.decision_maker
    )
    assert revoked.status_code == 200
    [job] = jobs()
    assert job.status == "cancelled"
    assert not workspace.work_folder(job.id).exists()
    assert not list((workspace.spe_root() / permit_id).glob(".incoming-*"))


def test_a_delivered_job_and_a_failed_one_leave_nothing(
    app: tuple[TestClient, People],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, people = app
    permit_id = permit_with(client, people, PSEUDONYMISED)["permit_id"]
    [delivered] = jobs()
    assert delivered.status == "delivered" and not workspace.work_folder(delivered.id).exists()
    seen: list[bool] = []

    def failing(*_args: Any) -> steps.StepResult:
        seen.append(any(p.name == "persons.parquet" for p in workspace.work_root().rglob("*.parquet")))
        raise RuntimeError("the disk went away")

    monkeypatch.setattr(steps, "pseudonymise", failing)
    assert (
        client.post("/api/extracts", json={"permit_id": permit_id}, headers=people.caseworker).status_code
        == 201
    )
    settle()  # the re-run answers at once; its steps run in the background
    failed = jobs()[-1]
    assert failed.status == "failed" and seen == [True]  # it had identifiers in its folder
    assert not workspace.work_folder(failed.id).exists()
    assert not list((workspace.spe_root() / permit_id).glob(".incoming-*"))
    assert [p.name for p in workspace.work_root().iterdir()] == []


def test_a_job_revoked_while_its_step_runs_loses_its_files_when_the_step_ends(
    app: tuple[TestClient, People],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, people = app
    during: list[bool] = []
    optout_filter = steps.optout_filter

    def revoked_meanwhile(*args: Any) -> steps.StepResult:
        result = optout_filter(*args)
        [job] = jobs()
        with runtime.database().session() as session:  # the revocation, from another process
            assert service.cancel_jobs(session, str(job.permit_id), "the permit was revoked") == 1
        during.append(workspace.work_folder(job.id).is_dir())  # the step still needs them
        return result

    monkeypatch.setattr(steps, "optout_filter", revoked_meanwhile)
    permit_with(client, people, PSEUDONYMISED)
    [job] = jobs()
    assert job.status == "cancelled" and during == [True]
    assert not workspace.work_folder(job.id).exists()


def test_a_statistics_job_spills_into_its_own_folder_and_leaves_nothing(
    app: tuple[TestClient, People],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, people = app
    spills: list[tuple[str, int]] = []
    count_table = statistics.count_table

    def spying(con: duckdb.DuckDBPyConnection, *args: Any) -> Any:
        folder = con.execute("SELECT current_setting('temp_directory')").fetchall()[0][0]
        spills.append((folder, mode(Path(folder))))
        return count_table(con, *args)

    monkeypatch.setattr(statistics, "count_table", spying)
    form = statistics_form()
    form["specification"]["tables"][0]["period"] = {"start": "2025-01-01", "end": "2025-12-31"}
    to_approved_statistics(client, people, form)
    [job] = jobs()
    assert job.kind == "statistics" and job.status == "delivered", job.error
    assert spills == [(str(workspace.work_folder(job.id) / ".spill"), 0o700)]
    assert not workspace.work_folder(job.id).exists()


def _files(folder: Path, *names: str, age: timedelta = timedelta(0)) -> Path:
    """A folder with files in it, last changed ``age`` ago by the service's clock."""
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"PAR1 rows PAR1")
    at = (clock.now() - age).timestamp()
    for path in [*folder.rglob("*"), folder]:
        os.utime(path, (at, at))
    return folder


def test_the_sweeper_removes_what_ended_or_vanished_jobs_left_and_never_a_running_jobs_files(
    app: tuple[TestClient, People],
) -> None:
    client, people = app
    old = timedelta(hours=2)
    permit_id = permit_with(client, people, PSEUDONYMISED)["permit_id"]
    permit_with(client, people, RISKY)
    delivered, held = jobs()
    assert (delivered.status, held.status) == ("delivered", "held")
    with runtime.database().session() as session:  # a job whose step runs on a worker right now
        running = service.rerun(session, None, permit_id)
        running.status, running.step_claimed, running.updated_at = "running", True, clock.now() - old
        running_id = running.id
    root, room = workspace.work_root(), workspace.spe_root() / permit_id
    minimised = "npr-somatikk/minimised.parquet"
    # what a killed process left: files of a job that has ended since, and of jobs nobody knows
    ended = _files(root / delivered.id, minimised, age=old)
    ended_incoming = _files(room / f".incoming-{delivered.id}", "npr-somatikk.parquet", age=old)
    orphan_id, young_id, stray_id = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    orphan = _files(root / orphan_id, minimised, age=old)
    young = _files(root / young_id, minimised)  # its job may not be visible yet
    stray_incoming = _files(room / f".incoming-{stray_id}", "npr-somatikk.parquet", age=old)
    empty = root / "left-over"
    (empty / "npr-somatikk" / ".spill").mkdir(parents=True)
    # a running job's files stay, however old, and so do a held job's
    running_work = _files(root / running_id, minimised, age=old)
    running_incoming = _files(room / f".incoming-{running_id}", "npr-somatikk.parquet", age=old)
    held_work = workspace.work_folder(held.id)
    assert held_work.is_dir()

    assert celery_app.tasks["extracts.sweep_work"].apply().get() == 5
    for gone in (ended, ended_incoming, orphan, stray_incoming, empty):
        assert not gone.exists(), gone
    for kept in (young, running_work, running_incoming, held_work):
        assert kept.is_dir(), kept
    [entry] = [e for e in audit_entries("extract-work") if e.action == "extract.work_swept"]
    assert entry.actor == "system"
    assert entry.details["ended_jobs_work"] == [delivered.id]
    assert entry.details["ended_jobs_incoming"] == [delivered.id]
    assert sorted(entry.details["orphan_jobs"]) == sorted([orphan_id, stray_id])
    assert entry.details["empty"] == 1 and entry.details["removed"] == 5
    # nothing more to do: nothing removed, nothing audited
    assert celery_app.tasks["extracts.sweep_work"].apply().get() == 0
    assert len([e for e in audit_entries("extract-work") if e.action == "extract.work_swept"]) == 1
    # revoked while its step runs: the worker's step still has the files, the runner removes them
    with runtime.database().session() as session:
        row = session.get(ExtractJob, running_id)
        assert row is not None
        row.status, row.updated_at = "cancelled", clock.now()
    assert celery_app.tasks["extracts.sweep_work"].apply().get() == 0 and running_work.is_dir()
    # ... unless that worker died: then they go once the grace has passed
    clock.advance(service.SWEEP_GRACE + timedelta(minutes=1))
    assert celery_app.tasks["extracts.sweep_work"].apply().get() == 3  # and the young orphan by now
    assert not running_work.exists() and not running_incoming.exists() and not young.exists()


def test_the_sweeper_runs_hourly_on_beat_and_in_the_embedded_scheduler() -> None:
    entry = celery_app.conf.beat_schedule["extracts-sweep-work"]
    assert entry["task"] == "extracts.sweep_work" and entry["schedule"] == timedelta(hours=1)
    assert "extracts.sweep_work" in celery_app.tasks


def test_a_step_after_minimise_refuses_registry_files_that_changed_since_it_read_them(
    registry: Path,  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    """The rows are read again from the files minimise chose (never copied): a replaced one stops the job."""
    source = tmp_path / "registry"
    shutil.copytree(registry, source)
    ctx = context(source, tmp_path, "job-c")
    run_steps(ctx, ["minimise", "optout_filter", "pseudonymise"])
    frozen = json.loads((ctx.work / "npr-somatikk" / steps.SOURCE_FILES).read_text())
    assert frozen["files"] and all("recorded_date=" in name for name, _, _ in frozen["files"])
    part = source / max(frozen["files"], key=lambda f: f[1])[0]
    pq.write_table(pq.read_table(part).slice(0, 1), part)  # "corrected" in place, against the contract
    with pytest.raises(JobFailure, match="changed or went away after this job's minimise step"):
        run_steps(ctx, ["write"])
    assert not list(ctx.incoming.glob("*.parquet"))
