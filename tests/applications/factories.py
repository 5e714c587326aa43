"""Plain functions that build what the applications tests need: forms, principals, headers."""

from __future__ import annotations

from datetime import date
from typing import Any

from hdab.core.auth import Role
from hdab.core.devidp import DevIdentityProvider
from hdab.core.settings import Settings

UIO = "974757486"  # Universitetet i Oslo
FHI = "983744516"


def access_form(**overrides: Any) -> dict[str, Any]:
    """A complete Art. 67 application for two variables of NPR somatic care, anonymised."""
    form: dict[str, Any] = {
        "title": "Hip fractures and waiting times",
        "applicant": {
            "organisation": UIO,
            "organisation_name": "Universitetet i Oslo",
            "public_sector": True,
        },
        "persons": [
            {"email": "pi@uio.no", "name": "Kari Nordmann"},
            {"email": "analyst@uio.no", "name": "Ola Nordmann"},
        ],
        "purpose": "e",
        "use_description": "Survival after hip fracture by waiting time.",
        "expected_benefit": "Better triage of hip fracture patients.",
        "specification": {
            "datasets": [
                {
                    "dataset": "npr-somatikk",
                    "variables": ["hovedtilstand", "fodselsar", "kjonn"],
                    "period": {"start": "2020-01-01", "end": "2024-12-31"},
                    "cohort": [{"variable": "hovedtilstand", "prefixes": ["S72"]}],
                    "generalisations": ["municipality_to_county"],
                    "quasi_identifiers": ["fodselsar", "kjonn"],
                }
            ]
        },
        "safeguards": "Analysis only in the secure environment.",
        "access_period": {"start": "2027-01-01", "end": "2029-12-31"},
        "tools": "R and Python",
        "ethics": "REK 2026/12345",
        "legal_basis": "GDPR Art. 6(1)(e)",
        "art54_declaration": True,
    }
    form.update(overrides)
    return form


def statistics_form(**overrides: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "title": "Hip fractures by county",
        "applicant": {
            "organisation": UIO,
            "organisation_name": "Universitetet i Oslo",
            "professional_function": "Epidemiologist",
        },
        "purpose": "e",
        "use_description": "Counts of hip fractures by sex and birth year.",
        "statistical_content": "Persons with S72 by sex and birth year, 2020-2024.",
        "specification": {
            "tables": [
                {
                    "title": "hip fractures",
                    "dimensions": [
                        {"dataset": "npr-somatikk", "variable": "kjonn"},
                        {"dataset": "npr-somatikk", "variable": "fodselsar"},
                    ],
                    "measure": "persons",
                    "period": {"start": "2020-01-01", "end": "2024-12-31"},
                }
            ]
        },
        "safeguards": "Published only in aggregate.",
        "legal_basis": "GDPR Art. 6(1)(e)",
    }
    form.update(overrides)
    return form


ALL_MET = {k: {"met": True, "note": "ok"} for k in "abcdefgh"}


def valid_until(years: int = 3) -> str:
    return date(2030 + years - 3, 12, 31).isoformat()


class People:
    """Bearer headers for everyone the workflow needs."""

    def __init__(self, settings: Settings) -> None:
        self.idp = DevIdentityProvider(settings)

    def headers(
        self, subject: str, *roles: Role, email: str | None = None, org: str | None = None
    ) -> dict[str, str]:
        token = self.idp.issue(subject, list(roles), organisation=org, email=email)
        return {"Authorization": f"Bearer {token}"}

    @property
    def applicant(self) -> dict[str, str]:
        return self.headers("researcher", Role.APPLICANT, email="researcher@uio.no")

    @property
    def pi(self) -> dict[str, str]:
        return self.headers("kari", Role.APPLICANT, email="pi@uio.no")

    @property
    def stranger(self) -> dict[str, str]:
        return self.headers("other-researcher", Role.APPLICANT, email="someone@ntnu.no")

    @property
    def caseworker(self) -> dict[str, str]:
        return self.headers("saksbehandler", Role.CASEWORKER, email="sb@hdab.no")

    @property
    def decision_maker(self) -> dict[str, str]:
        return self.headers("leder", Role.DECISION_MAKER, email="leder@hdab.no")

    @property
    def both(self) -> dict[str, str]:
        """One person holding both HDAB roles: may assess or decide a case, never both."""
        return self.headers("begge", Role.CASEWORKER, Role.DECISION_MAKER)
