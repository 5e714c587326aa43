"""Message types as data: each type and version is a JSON Schema, an example, a mapping to a registry table.

``messagetypes/types.json`` lists them: the type's name and version, the catalogue dataset (the
registry's source table) it feeds, the JSON pointer of the unit's own record id, which kinds of
submitter may send it by default, and for each registry column the pointer it is read from (``*``
steps into every element of an array; ``join`` joins the values found). A new message type, or a
new version beside an old one, is a new entry and two files; no code changes.

Pure: no database, HTTP or Celery.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cached_property
from importlib import resources
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator, FormatChecker

PACKAGE = "hdab.reception"
FOLDER = "messagetypes"
COLUMN_TYPES = frozenset({"string", "int32", "float64", "timestamp", "date"})
DELETIONS = "slettet"  # the key of an item listing deleted ids


@dataclass(frozen=True)
class Column:
    name: str
    pointer: str
    type: str
    join: str | None = None


@dataclass(frozen=True)
class SchemaProblem:
    """One place where a payload does not follow its schema: a JSON pointer and what is wrong there."""

    location: str
    message: str


@dataclass(frozen=True)
class Item:
    """One element of a payload: a record (its local id and registry columns) or a deletion of ids."""

    local_id: str
    values: Mapping[str, Any] | None  # None: a tombstone


@dataclass(frozen=True)
class MessageType:
    name: str
    version: str
    title: str
    dataset: str
    schema: Mapping[str, Any]
    example: list[Any]
    local_id: str
    senders: tuple[str, ...]
    columns: tuple[Column, ...]

    @property
    def key(self) -> tuple[str, str]:
        return (self.name, self.version)

    @cached_property
    def validator(self) -> Draft202012Validator:
        return Draft202012Validator(dict(self.schema), format_checker=FormatChecker())

    @cached_property
    def fast_validator(self) -> Any:
        return jsonschema_rs.Draft202012Validator(dict(self.schema), validate_formats=True)

    def problems(self, payload: Any, limit: int = 50) -> list[SchemaProblem]:
        """Where ``payload`` breaks the schema (at most ``limit`` places), deepest first; empty when valid.

        A valid payload is known so by the compiled validator (jsonschema-rs: a hundred times faster,
        the common case); only an invalid one is walked again to name each place."""
        if self.fast_validator.is_valid(payload):
            return []
        found: list[SchemaProblem] = []
        for error in sorted(self.validator.iter_errors(payload), key=lambda e: list(e.absolute_path)):
            found.append(SchemaProblem(_pointer(error.absolute_path), _message(error)))
            if len(found) >= limit:
                break
        # the two validators disagree only on a corner of a format: refuse, never let it through
        return found or [SchemaProblem("", "does not follow the schema")]

    def items(self, payload: list[Any]) -> Iterator[Item]:
        """The payload's records and deletions, in order; the payload must be valid."""
        for element in payload:
            if DELETIONS in element:
                for local_id in element[DELETIONS]:
                    yield Item(str(local_id), None)
                continue
            yield Item(str(resolve(element, self.local_id)[0]), self.row(element))

    def row(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """A valid record as the registry's columns (Python values: str, int, float, datetime, date, None)."""
        return {column.name: _value(column, resolve(record, column.pointer)) for column in self.columns}


def resolve(document: Any, pointer: str) -> list[Any]:
    """The values at a JSON pointer (RFC 6901) where ``*`` steps into every element of an array."""
    current = [document]
    for raw in pointer.split("/")[1:]:
        step = raw.replace("~1", "/").replace("~0", "~")
        following: list[Any] = []
        for value in current:
            if step == "*" and isinstance(value, list):
                following.extend(value)
            elif isinstance(value, dict) and step in value:
                following.append(value[step])
        current = following
    return [v for v in current if v is not None]


def _value(column: Column, found: list[Any]) -> Any:
    if not found:
        return None
    if column.join is not None:
        return column.join.join(str(v) for v in found)
    value = found[0]
    if column.type == "timestamp":
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)
    if column.type == "date":
        return date.fromisoformat(str(value))
    if column.type == "int32":
        return int(value)
    if column.type == "float64":
        return float(value)
    return str(value)


def _pointer(path: Any) -> str:
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in path) if path else ""


def _message(error: Any) -> str:
    # the value that failed can hold a person number: say what is wrong, never echo the value
    validator = error.validator
    if validator == "required":
        missing = [str(p) for p in error.validator_value if p not in (error.instance or {})]
        return f"required properties {missing} are not present"
    if validator == "additionalProperties":
        return "has properties the schema does not allow"
    if validator == "oneOf":
        return "is neither a record nor a deletion list of this message type"
    if validator in ("pattern", "format"):
        return f"does not have the required form ({validator})"
    if validator == "enum":
        return f"is not one of {error.validator_value}"
    if validator == "type":
        return f"is not of type {error.validator_value}"
    return f"fails {validator}"


def _load_json(name: str) -> Any:
    return json.loads(resources.files(PACKAGE).joinpath(FOLDER, name).read_text(encoding="utf-8"))


def type_from(entry: Mapping[str, Any]) -> MessageType:
    columns = []
    for name, spec in entry["columns"].items():
        if spec["type"] not in COLUMN_TYPES:
            raise ValueError(
                f"{entry['type']} {entry['version']}: column {name} has unknown type {spec['type']}"
            )
        columns.append(Column(name, spec["from"], spec["type"], spec.get("join")))
    schema = _load_json(entry["schema"])
    Draft202012Validator.check_schema(schema)
    return MessageType(
        name=entry["type"],
        version=str(entry["version"]),
        title=entry["title"],
        dataset=entry["dataset"],
        schema=schema,
        example=_load_json(entry["example"]),
        local_id=entry["local_id"],
        senders=tuple(entry["senders"]),
        columns=tuple(columns),
    )


def load_types(entries: list[Mapping[str, Any]]) -> dict[tuple[str, str], MessageType]:
    found: dict[tuple[str, str], MessageType] = {}
    for entry in entries:
        message_type = type_from(entry)
        if message_type.key in found:
            raise ValueError(f"the message types name {message_type.name} {message_type.version} twice")
        found[message_type.key] = message_type
    return found


MESSAGE_TYPES: Mapping[tuple[str, str], MessageType] = load_types(_load_json("types.json"))


def message_type(name: str, version: str) -> MessageType | None:
    return MESSAGE_TYPES.get((name, version))
