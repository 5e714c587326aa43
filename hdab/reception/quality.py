"""A dataset's quality figures from reception's own records, as DQV measurements (W3C Data Quality Vocab).

In the spirit of the EHDS data quality and utility label (Art. 78): timeliness (extraction to
receipt, and receipt to the registry), completeness (the share of reporting days the units' series
cover) and validity (the share of messages accepted). A resource of its own, computed when asked,
``dqv:computedOn`` the catalogue's dataset: it never re-versions the dataset's record.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hdab.core import clock
from hdab.reception.models import Message, Rejection, Stream, Watermark
from hdab.reception.types import MESSAGE_TYPES

DQV = "http://www.w3.org/ns/dqv#"
LDQD = "http://www.w3.org/2016/05/ldqd#"
METRICS = {
    "extraction-to-receipt-hours": ("timeliness", "Mean hours from the EPJ's extraction date to receipt"),
    "receipt-to-registry-minutes": ("timeliness", "Minutes since the registry last had everything received"),
    "reporting-day-coverage": ("completeness", "Share of reporting days the units' series cover (no gaps)"),
    "accepted-message-share": ("syntacticValidity", "Share of messages accepted (valid) of all sent"),
}


def figures(session: Session, dataset: str) -> dict[str, float | None]:
    types = sorted({t.name for t in MESSAGE_TYPES.values() if t.dataset == dataset})
    messages = session.execute(
        select(func.count(), func.min(Message.received_at)).where(Message.dataset == dataset)
    ).one()
    accepted = int(messages[0] or 0)
    streams = session.scalars(select(Stream).where(Stream.message_type.in_(types))).all()
    lag = sum(s.lag_seconds for s in streams)
    counted = sum(s.messages for s in streams)
    missing = sum(s.missing_days for s in streams)
    refused = int(
        session.scalar(select(func.count()).select_from(Rejection).where(Rejection.message_type.in_(types)))
        or 0
    )
    mark = session.get(Watermark, dataset)
    now = clock.now()
    return {
        "extraction-to-receipt-hours": round(lag / counted / 3600, 2) if counted else None,
        "receipt-to-registry-minutes": round((now - mark.through).total_seconds() / 60, 1) if mark else None,
        "reporting-day-coverage": round(counted / (counted + missing), 4) if counted else None,
        "accepted-message-share": round(accepted / (accepted + refused), 4) if accepted + refused else None,
    }


def measurements(
    dataset_iri: str, own_iri: str, values: dict[str, float | None], at: datetime
) -> dict[str, Any]:
    """The figures as JSON-LD: one dqv:QualityMeasurement a metric, computed on the dataset."""
    graph: list[dict[str, Any]] = []
    for name, (dimension, definition) in METRICS.items():
        metric = f"{own_iri}#metric-{name}"
        graph.append(
            {
                "@id": metric,
                "@type": "dqv:Metric",
                "skos:definition": definition,
                "dqv:inDimension": {"@id": f"{LDQD}{dimension}"},
                "dqv:expectedDataType": {"@id": "http://www.w3.org/2001/XMLSchema#double"},
            }
        )
        if values[name] is None:
            continue
        graph.append(
            {
                "@id": f"{own_iri}#{name}",
                "@type": "dqv:QualityMeasurement",
                "dqv:computedOn": {"@id": dataset_iri},
                "dqv:isMeasurementOf": {"@id": metric},
                "dqv:value": {"@value": values[name], "@type": "http://www.w3.org/2001/XMLSchema#double"},
                "prov:generatedAtTime": {
                    "@value": at.isoformat(),
                    "@type": "http://www.w3.org/2001/XMLSchema#dateTime",
                },
            }
        )
    return {
        "@context": {
            "dqv": DQV,
            "skos": "http://www.w3.org/2004/02/skos/core#",
            "prov": "http://www.w3.org/ns/prov#",
        },
        "@id": own_iri,
        "@graph": graph,
    }
