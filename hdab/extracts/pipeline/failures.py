"""Why a job cannot run, in words people can act on; and exceptions made safe for the service log.

A job's stored error is read by caseworkers on the job page: it is either a :class:`JobFailure`
(a reason they can act on: "no registry data for npr-somatikk as of 2026-12-01: load the registry
or run `hdab synth`") or a sentence saying an internal error stopped it. The exception itself, with
its traceback, goes to the service log only, and only after :func:`loggable` has masked every run
of exactly eleven digits: DuckDB's messages can quote data values, and a person number
(fodselsnummer, D-number) must never reach a log.
"""

from __future__ import annotations

import re
from datetime import datetime
from types import TracebackType
from typing import Any

from hdab.core.clock import OSLO

ELEVEN_DIGITS = re.compile(r"(?<!\d)\d{11}(?!\d)")
MASK = "<11 digits>"


class JobFailure(Exception):
    """A reason the job cannot run that people can act on.

    ``reason`` is the sentence stored on the job and shown on its page (English); ``code`` and
    ``params`` name the same reason for machines (the audit entry of the failure), so that it can
    be translated later.
    """

    code = "cannot_run"

    def __init__(self, reason: str, *, code: str | None = None, **params: str) -> None:
        super().__init__(reason)
        self.reason = reason
        if code is not None:
            self.code = code
        self.params = params

    def details(self) -> dict[str, Any]:
        """The code and parameters of the reason, for the audit entry of the failure."""
        return {"reason": self.code, **self.params}


def no_registry_data(dataset: str, as_of: datetime, detail: str) -> JobFailure:
    """The registry holds nothing for ``dataset``: a fresh install, or a registry not loaded yet."""
    day = as_of.astimezone(OSLO).date().isoformat()
    return JobFailure(
        f"no registry data for {dataset} as of {day} ({detail}): load the registry or run `hdab synth`",
        code="no_registry_data",
        dataset=dataset,
        as_of=day,
    )


def mask_person_numbers(text: str) -> str:
    """``text`` with every run of exactly eleven digits replaced: none of them reaches a log."""
    return ELEVEN_DIGITS.sub(MASK, text)


class LoggedError(Exception):
    """Stands in the log for an exception whose message had to be masked."""


def _masked(exc: BaseException, depth: int = 0) -> BaseException:
    text = str(exc)
    masked = mask_person_numbers(text)
    copy: BaseException
    if masked == text:
        copy = exc  # nothing to hide: the exception as it was
    else:
        try:
            copy = type(exc)(masked)
            if str(copy) != masked:
                raise TypeError("the exception does not print its message")
        except Exception:
            copy = LoggedError(f"{type(exc).__module__}.{type(exc).__qualname__}: {masked}")
        copy.__traceback__ = exc.__traceback__
    if depth < 5:  # the chain (raise ... from ..., or an error while handling another), masked too
        cause, context = exc.__cause__, exc.__context__
        if cause is not None or context is not None:
            if copy is exc:
                copy = _copy_of(exc)
            copy.__cause__ = _masked(cause, depth + 1) if cause is not None else None
            copy.__context__ = _masked(context, depth + 1) if context is not None else None
            copy.__suppress_context__ = exc.__suppress_context__
    return copy


def _copy_of(exc: BaseException) -> BaseException:
    """A stand-in printing as ``exc`` does, so the original's chain is never changed in place."""
    try:
        copy = type(exc)(*exc.args)
        if str(copy) != str(exc):
            raise TypeError("the exception does not print its arguments")
    except Exception:
        copy = LoggedError(f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}")
    copy.__traceback__ = exc.__traceback__
    return copy


def loggable(exc: BaseException) -> tuple[type[BaseException], BaseException, TracebackType | None]:
    """``exc_info`` for the log: the exception and its traceback, with person numbers masked.

    Tracebacks print source lines, never local values, so the messages are all that need it.
    """
    safe = _masked(exc)
    return type(safe), safe, safe.__traceback__


def internal_error(job_id: str, where: str, *, rerun: bool) -> JobFailure:
    """What the job page says when something unexpected stopped the job (the log has the rest)."""
    then = "staff can run the extract again" if rerun else "an administrator can look into it"
    return JobFailure(
        f"The extract stopped with an internal error in {where}. The service log has the details "
        f"under job {job_id}; {then}.",
        code="internal_error",
        where=where,
    )
