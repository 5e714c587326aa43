"""Why the registry cannot be read, in words people can act on (stored on a job, shown on its page)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hdab.core.clock import OSLO


class RegistryFailure(Exception):
    """A reason a reading of the registry cannot be made that people can act on.

    ``reason`` is the sentence shown to people (English); ``code`` and ``params`` name the same
    reason for machines (an audit entry), so that it can be translated later.
    """

    code = "registry_unreadable"

    def __init__(self, reason: str, *, code: str | None = None, **params: str) -> None:
        super().__init__(reason)
        self.reason = reason
        if code is not None:
            self.code = code
        self.params = params

    def details(self) -> dict[str, Any]:
        """The code and parameters of the reason, for an audit entry."""
        return {"reason": self.code, **self.params}


def no_registry_data(dataset: str, as_of: datetime, detail: str) -> RegistryFailure:
    """The registry holds nothing for ``dataset``: a fresh install, or a registry not loaded yet."""
    day = as_of.astimezone(OSLO).date().isoformat()
    return RegistryFailure(
        f"no registry data for {dataset} as of {day} ({detail}): load the registry or run `hdab synth`",
        code="no_registry_data",
        dataset=dataset,
        as_of=day,
    )
