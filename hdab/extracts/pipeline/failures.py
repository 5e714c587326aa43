"""Why a job cannot run, in words people can act on; and exceptions made safe for the service log.

A job's stored error is read by caseworkers on the job page: it is either a :class:`JobFailure` or
the registry's ``RegistryFailure`` (a reason they can act on: "no registry data for npr-somatikk as
of 2026-12-01: load the registry or run `hdab synth`") or a sentence saying an internal error
stopped it. The exception itself, with its traceback, goes to the service log only, and only as
text in which :func:`loggable` has masked every run of exactly eleven digits: DuckDB's messages can
quote data values, and a person number (fodselsnummer, D-number) must never reach a log. Pages and
the API mask a stored error the same way when they show it (:func:`mask_person_numbers`): jobs that
failed before the stored error became a sentence kept the exception's own message.
"""

from __future__ import annotations

import re
import traceback

from hdab.core.errors import ActionableFailure

ELEVEN_DIGITS = re.compile(r"[0-9]{11,}")  # a longer run can hold a person number too
MASK = "<11 digits>"


class JobFailure(ActionableFailure):
    """A reason the job cannot run that people can act on (stored on the job, shown on its page)."""

    code = "cannot_run"


def mask_person_numbers(text: str) -> str:
    """``text`` with every run of eleven or more digits replaced: no person number reaches a log."""
    return ELEVEN_DIGITS.sub(MASK, text)


def loggable(exc: BaseException) -> str:
    """The exception as the log gets it: text, with every run of exactly eleven digits masked.

    The whole exception is formatted first, as the ``logging`` module would: its traceback, every
    exception of its chain however deep (``raise ... from ...`` and errors while handling another),
    the notes added to any of them (``add_note``) and the sub-exceptions of exception groups. Only
    then is the text masked, so nothing that prints can slip past: there is no exception object
    left for a handler to render again unmasked. Tracebacks print source lines, never local values.
    """
    return mask_person_numbers("".join(traceback.format_exception(exc)).rstrip("\n"))


def internal_error(job_id: str, where: str, *, rerun: bool) -> JobFailure:
    """What the job page says when something unexpected stopped the job (the log has the rest)."""
    then = "staff can run the extract again" if rerun else "an administrator can look into it"
    return JobFailure(
        f"The extract stopped with an internal error in {where}. The service log has the details "
        f"under job {job_id}; {then}.",
        code="internal_error",
        where=where,
    )
