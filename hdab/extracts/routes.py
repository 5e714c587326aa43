"""Extracts JSON API, gathered from its sub-domains: the opt-out registry, extract jobs, deliveries.

The order of the routers is the order of the routes in the OpenAPI document; every route keeps the
"opt-out" tag it has always had beside its own.
"""

from __future__ import annotations

from fastapi import APIRouter

from hdab.extracts.deliveries.routes import router as deliveries
from hdab.extracts.jobs.routes import router as jobs
from hdab.extracts.optouts.routes import router as optouts

router = APIRouter(tags=["opt-out"])
for part in (optouts, jobs, deliveries):
    router.include_router(part)
