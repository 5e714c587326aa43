"""Why the registry cannot be read, in words people can act on (stored on a job, shown on its page)."""

from __future__ import annotations

from datetime import datetime

from hdab.core.clock import OSLO
from hdab.core.errors import ActionableFailure


class RegistryFailure(ActionableFailure):
    """A reason a reading of the registry cannot be made that people can act on."""

    code = "registry_unreadable"


def no_registry_data(dataset: str, as_of: datetime, detail: str) -> RegistryFailure:
    """The registry holds nothing for ``dataset``: a fresh install, or a registry not loaded yet."""
    day = as_of.astimezone(OSLO).date().isoformat()
    return RegistryFailure(
        f"no registry data for {dataset} as of {day} ({detail}): load the registry or run `hdab synth`",
        code="no_registry_data",
        dataset=dataset,
        as_of=day,
    )
