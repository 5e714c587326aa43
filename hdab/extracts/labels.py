"""Plain words for the extract pages: a job's status and kind, and the pipeline's steps.

English msgids marked with ``N_()``; the pages translate them with the request's catalogue.
"""

from __future__ import annotations

from hdab.applications import api as applications
from hdab.core.i18n import N_

JOB_STATUSES: dict[str, str] = {
    "queued": N_("Waiting to run"),
    "running": N_("Running"),
    "held": N_("Held for review: a disclosure risk"),
    "delivered": N_("Delivered"),
    "rejected": N_("Rejected after review"),
    "failed": N_("Failed"),
    "unsupported": N_("Not supported"),
    "cancelled": N_("Cancelled: the permit was revoked"),
}
JOB_KINDS: dict[str, str] = {
    "permit": N_("Extract for the permit"),
    "rerun": N_("Run again"),
    "recurring": N_("Recurring delivery"),
    "statistics": N_("Statistics tables"),
}
STEPS: dict[str, str] = {
    "minimise": N_("Keep only the variables and persons asked for"),
    "optout_filter": N_("Remove persons who have opted out"),
    "pseudonymise": N_("Replace identifiers with pseudonyms"),
    "generalise": N_("Make values coarser"),
    "disclosure_check": N_("Check the risk of identifying anyone"),
    "write": N_("Write the files"),
    "deliver": N_("Deliver to the secure processing environment"),
}
REVIEW: dict[str, str] = {
    "release": N_("Release the extract"),
    "reject": N_("Reject the extract"),
}
# a recurring permit's schedule and mode: the permit's words, from the applications domain
SCHEDULES = applications.SCHEDULES
MODES = applications.MODES
