"""Who may write which dataset: a data holder only its own organisation's records.

A dataset belongs to the organisation its publisher (``dct:publisher``, a ``foaf:Agent``) names by its
Enhetsregisteret IRI, ``https://data.brreg.no/enhetsregisteret/api/enheter/<9 digits>``. A data holder
writes (creates, updates, imports, withdraws) a dataset only when that number is the organisation in
its token (``org``), both for the record as stored and for the record it sends; admins and the
system (the ``hdab`` command, the seed) write every publisher's records.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hdab.catalog.domain import Agent, DatasetRecord
from hdab.catalog.rdf.namespaces import BRREG
from hdab.core import audit
from hdab.core.auth import Principal, Role
from hdab.core.errors import FieldError, Forbidden, ProblemError

_ORGANISATION_IRI = re.compile(re.escape(BRREG) + r"([0-9]{9})")

NO_ORGANISATION = (
    "a data holder writes only its own organisation's datasets, and your token names no organisation"
    " (claim org): sign in with your organisation, or ask an admin"
)


@dataclass(frozen=True)
class Writer:
    """Who writes the catalogue: the audit log's actor and whose records they may write.

    ``organisation`` is the one publisher a data holder may write; ``every_publisher`` lets admins
    and the system write all. Neither (a holder without an organisation) writes nothing.
    """

    actor: str
    organisation: str | None = None
    every_publisher: bool = False

    @classmethod
    def system(cls, actor: str = audit.SYSTEM_ACTOR) -> Writer:
        return cls(actor, every_publisher=True)

    @classmethod
    def of(cls, principal: Principal) -> Writer:
        """The writer a caller is; a data holder whose token names no organisation is refused (403)."""
        if principal.has_role(Role.ADMIN):
            return cls(principal.actor, principal.organisation, every_publisher=True)
        if principal.organisation is None:
            raise Forbidden(NO_ORGANISATION)
        return cls(principal.actor, principal.organisation)


def publisher_organisation(agent: Agent) -> str | None:
    """The organisation number in an agent's Enhetsregisteret IRI; None when its IRI is not one."""
    found = _ORGANISATION_IRI.fullmatch(agent.iri)
    return found.group(1) if found else None


def _owned_by(agent: Agent, organisation: str) -> bool:
    # The IRI decides; a dct:identifier naming another number makes the publisher someone else's too.
    return publisher_organisation(agent) == organisation and agent.organisation_number in (None, organisation)


def _who(agent: Agent) -> str:
    number = publisher_organisation(agent)
    if number is None:
        return f"{agent.iri}, which is not an organisation in Enhetsregisteret ({BRREG}<number>)"
    if agent.organisation_number not in (None, number):
        return f"organisation {number} (its dct:identifier says {agent.organisation_number})"
    return f"organisation {number}"


def refusal(writer: Writer, record: DatasetRecord, *, stored: bool) -> FieldError | None:
    """Why ``writer`` may not write ``record`` (as stored, or as sent), or None when it may."""
    if writer.every_publisher:
        return None
    if writer.organisation is None:
        return FieldError("publisher", NO_ORGANISATION)
    if _owned_by(record.publisher, writer.organisation):
        return None
    verb = "is" if stored else "would be"
    return FieldError(
        f"{record.identifier} publisher",
        f"dataset {record.identifier!r} {verb} published by {_who(record.publisher)},"
        f" not by your organisation {writer.organisation}",
    )


def require(writer: Writer, checks: list[tuple[DatasetRecord, bool]]) -> None:
    """Refuse (403, naming every dataset that is not the writer's) unless ``writer`` may write them all.

    ``checks`` pairs each record with whether it is the stored one (True) or the one sent (False).
    """
    refusals = [r for record, stored in checks if (r := refusal(writer, record, stored=stored))]
    if not refusals:
        return
    if writer.organisation is None:
        raise Forbidden(NO_ORGANISATION)
    what = (
        refusals[0].message
        if len(refusals) == 1
        else f"{len(refusals)} datasets are not published by your organisation {writer.organisation}"
    )
    detail = f"{what}: a data holder writes only its own organisation's datasets, so nothing was stored"
    raise ProblemError(detail, 403, "forbidden", errors=refusals)
