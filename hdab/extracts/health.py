"""What the extract service lacks: registry data for the datasets it can deliver."""

from __future__ import annotations

from hdab.core.notices import Finding
from hdab.core.settings import Settings
from hdab.registry.api import SOURCES, RegistryFailure, read_provenance

STAFF = frozenset({"caseworker", "admin", "data_holder"})


def findings(settings: Settings) -> list[Finding]:
    registry = settings.registry_dir or settings.data_dir / "registry"
    empty = sorted(name for name, source in SOURCES.items() if not source.has_data(registry))
    if not empty:
        try:
            provenance = read_provenance(registry) or {}
        except RegistryFailure as exc:
            return [Finding("registry", "provenance unreadable", detail=str(exc), roles=STAFF)]
        return [
            Finding("registry", "ok (synthetic test data)" if provenance.get("synthetic") is True else "ok")
        ]
    names = ", ".join(empty)
    # Synthetic data are for development and tests: production is told to load the registry only.
    synth = not settings.is_production
    return [
        Finding(
            "registry",
            "empty" if len(empty) == len(SOURCES) else f"no data for {names}",
            detail=f"no registry data for {names} in HDAB_REGISTRY_DIR: extracts of them cannot run;"
            " load the registry there" + (" or run `hdab synth` for synthetic test data" if synth else ""),
            banner={
                "nb": f"Registeret har ingen data for {names}, så uttrekk fra dem kan ikke kjøres."
                + (
                    " Last inn registeret, eller lag syntetiske testdata med «hdab synth»."
                    if synth
                    else " En driftsansvarlig må laste inn registeret."
                ),
                "en": f"The registry holds no data for {names}, so extracts of them cannot run."
                + (
                    " Load the registry, or make synthetic test data with “hdab synth”."
                    if synth
                    else " An operator must load the registry."
                ),
            },
            roles=STAFF,
        )
    ]
