"""Extract jobs' request and response models, and the presenter the JSON API and the job page share."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from hdab.extracts.deliveries import service as deliveries
from hdab.extracts.jobs import service
from hdab.extracts.jobs.models import ExtractJob
from hdab.extracts.pipeline.failures import mask_person_numbers


class RerunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    permit_id: str = Field(min_length=1, max_length=64)


class Review(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["release", "reject"]
    note: str = Field(min_length=1, max_length=5000)


class ExtractJobRef(BaseModel):
    id: str
    status: str


class ExtractJobDelivery(BaseModel):
    id: str
    manifest_sha256: str | None
    registry_provenance: dict[str, Any] | None  # copied from the registry; synthetic data say so


class ExtractStepView(BaseModel):
    attempt: int
    dataset: str
    name: str
    rows_in: int
    rows_out: int
    seconds: float
    details: dict[str, Any]


class ExtractJobView(BaseModel):
    id: str
    kind: str
    status: str
    permit_id: str | None
    permit_version: int | None
    application_id: str | None
    plan: dict[str, Any] | None
    held_reason: str | None
    review: dict[str, Any] | None
    error: str | None
    created_at: str
    updated_at: str
    delivery: ExtractJobDelivery | None
    steps: list[ExtractStepView]


def job_view(session: Session, job: ExtractJob) -> dict[str, Any]:
    """A job as the API answers it and the job page shows it."""
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "permit_id": job.permit_id,
        "permit_version": job.permit_version,
        "application_id": job.application_id,
        "plan": job.plan,
        "held_reason": job.held_reason,
        "review": job.review,
        # masked here too: jobs that failed before errors became sentences stored the raw message
        "error": mask_person_numbers(job.error) if job.error is not None else None,
        "created_at": job.created_at.isoformat(),
        "updated_at": job.updated_at.isoformat(),
        "delivery": {
            "id": job.delivery_id,
            "manifest_sha256": job.manifest_sha256,
            "registry_provenance": deliveries.registry_provenance(job.delivery_path),
        }
        if job.delivery_id
        else None,
        "steps": [
            {
                "attempt": s.attempt,
                "dataset": s.dataset,
                "name": s.name,
                "rows_in": s.rows_in,
                "rows_out": s.rows_out,
                "seconds": s.seconds,
                "details": s.details,
            }
            for s in service.job_steps(session, job.id)
        ],
    }
