"""What other domains may ask of the registry: its source tables, "as known at T" reads, provenance.

Extracts read through it; the reception of providers' reports appends through it (``append``: one
new part per day the registry learned the rows; the contract is in ``registry/append.py``).
"""

from __future__ import annotations

from hdab.registry.append import append, newest_schema, remove_parts
from hdab.registry.failures import RegistryFailure, no_registry_data
from hdab.registry.provenance import PROVENANCE, read_provenance, registry_files
from hdab.registry.sources import (
    BOOKKEEPING,
    DIRECT_IDENTIFIERS,
    KNOWN_AT_FROM,
    KNOWN_AT_WHERE,
    PARTITION,
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
    "PARTITION",
    "PROVENANCE",
    "SOURCES",
    "RegistryFailure",
    "Source",
    "SynthResult",
    "append",
    "generate",
    "known_at",
    "load_sources",
    "newest_schema",
    "no_registry_data",
    "read_provenance",
    "registry_files",
    "remove_parts",
]
