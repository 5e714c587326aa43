"""What other domains may ask of the registry: its source tables, "as known at T" reads, provenance.

Extracts read through it; the coming reception of providers' reports will append through it.
"""

from __future__ import annotations

from hdab.registry.failures import RegistryFailure, no_registry_data
from hdab.registry.provenance import PROVENANCE, read_provenance, registry_files
from hdab.registry.sources import (
    BOOKKEEPING,
    DIRECT_IDENTIFIERS,
    KNOWN_AT_FROM,
    KNOWN_AT_WHERE,
    SOURCES,
    Source,
    known_at,
    load_sources,
)
from hdab.registry.synth import SynthResult, generate

__all__ = [
    "BOOKKEEPING",
    "DIRECT_IDENTIFIERS",
    "KNOWN_AT_FROM",
    "KNOWN_AT_WHERE",
    "PROVENANCE",
    "SOURCES",
    "RegistryFailure",
    "Source",
    "SynthResult",
    "generate",
    "known_at",
    "load_sources",
    "no_registry_data",
    "read_provenance",
    "registry_files",
]
