"""Records to and from JSON (storage and the JSON API), through pydantic's view of the dataclasses."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from typing import Any

from pydantic import TypeAdapter

from hdab.catalog.domain import DatasetRecord

_adapter: TypeAdapter[DatasetRecord] = TypeAdapter(DatasetRecord)


def record_to_json(record: DatasetRecord) -> dict[str, Any]:
    data = _adapter.dump_python(record, mode="json")
    assert isinstance(data, dict)
    return data


def record_from_json(data: Any) -> DatasetRecord:
    """Build a record from JSON; raises pydantic.ValidationError naming each bad field."""
    return _adapter.validate_python(data)


def content_hash(record: DatasetRecord) -> str:
    """What the record says, without the fields the catalogue derives from its versions."""
    derived_free = replace(record, issued=None, modified=None, version=None)
    text = json.dumps(record_to_json(derived_free), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()
