"""The language of applications and permits: statuses, purposes, the data specification, the forms.

Everything here is frozen data without I/O. The forms are pydantic models so that the edge
validates a body against the same definitions the handlers read; on a draft every field may be
missing, and :func:`hdab.applications.forms.missing_fields` says what a submission still needs.
"""

from __future__ import annotations

import enum
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class CaseType(enum.StrEnum):
    ACCESS = "access"  # a data permit, Art. 67
    STATISTICS = "statistics"  # a health data request answered in anonymised statistical form, Art. 69


class Status(enum.StrEnum):
    """Every status a case or its permit can have: the TEHDAS2 vocabulary and what it lacks.

    TEHDAS2 (D6.4): DRAFT, SUBMITTED, PRE_SCREENING, AWAITING_ADDITIONAL_INFORMATION, PROCESSING,
    DECISION_ISSUED (with a positive or negative :class:`Decision`), WITHDRAWN, APPEALED,
    APPEAL_APPROVED, APPEAL_REJECTED and the permit statuses GRANTED, AMENDMENT_REQUESTED, AMENDED,
    RENEWAL_REQUESTED, RENEWED, EXPIRED, REVOKED.

    Ours: CLOSED_INCOMPLETE (not completed within 4 weeks of a completeness request, Art. 68(4):
    no permit), AWAITING_FEE_ACCEPTANCE (the applicant is told the estimated fee and may withdraw
    before the decision, Art. 62(5)) and ANSWERED (a statistics request whose tables were delivered,
    Art. 69).
    """

    DRAFT = "DRAFT"
    SUBMITTED = "SUBMITTED"
    PRE_SCREENING = "PRE_SCREENING"
    AWAITING_ADDITIONAL_INFORMATION = "AWAITING_ADDITIONAL_INFORMATION"
    PROCESSING = "PROCESSING"
    AWAITING_FEE_ACCEPTANCE = "AWAITING_FEE_ACCEPTANCE"
    DECISION_ISSUED = "DECISION_ISSUED"
    CLOSED_INCOMPLETE = "CLOSED_INCOMPLETE"
    WITHDRAWN = "WITHDRAWN"
    ANSWERED = "ANSWERED"
    APPEALED = "APPEALED"
    APPEAL_APPROVED = "APPEAL_APPROVED"
    APPEAL_REJECTED = "APPEAL_REJECTED"
    # the permit's own life, once a positive decision has issued it
    GRANTED = "GRANTED"
    AMENDMENT_REQUESTED = "AMENDMENT_REQUESTED"
    AMENDED = "AMENDED"
    RENEWAL_REQUESTED = "RENEWAL_REQUESTED"
    RENEWED = "RENEWED"
    EXPIRED = "EXPIRED"
    REVOKED = "REVOKED"


PERMIT_STATUSES = frozenset(
    {
        Status.GRANTED,
        Status.AMENDMENT_REQUESTED,
        Status.AMENDED,
        Status.RENEWAL_REQUESTED,
        Status.RENEWED,
        Status.EXPIRED,
        Status.REVOKED,
    }
)
OPEN_PERMIT_STATUSES = PERMIT_STATUSES - {Status.EXPIRED, Status.REVOKED}


class Decision(enum.StrEnum):
    POSITIVE = "POSITIVE"
    NEGATIVE = "NEGATIVE"


class Purpose(enum.StrEnum):
    """The permitted purposes of Art. 53(1), by their letter."""

    PUBLIC_HEALTH = "a"
    POLICY = "b"
    OFFICIAL_STATISTICS = "c"
    EDUCATION = "d"
    RESEARCH = "e"
    IMPROVING_CARE = "f"

    @property
    def public_sector_only(self) -> bool:
        """Art. 53(2): purposes (a)-(c) only for public-sector bodies."""
        return self in PUBLIC_SECTOR_PURPOSES


PUBLIC_SECTOR_PURPOSES = frozenset({Purpose.PUBLIC_HEALTH, Purpose.POLICY, Purpose.OFFICIAL_STATISTICS})


class Generalisation(enum.StrEnum):
    BIRTH_DATE_TO_YEAR = "birth_date_to_year"
    MUNICIPALITY_TO_COUNTY = "municipality_to_county"
    DATES_TO_MONTH = "dates_to_month"


class Schedule(enum.StrEnum):
    YEARLY = "yearly"
    TERTIAL = "tertial"
    MONTHLY = "monthly"
    WEEKLY = "weekly"
    DAILY = "daily"


class DeliveryMode(enum.StrEnum):
    SNAPSHOT = "snapshot"  # the full extract every time
    CHANGES = "changes"  # rows recorded since the previous delivery's as-of time


class Measure(enum.StrEnum):
    PERSONS = "persons"
    RECORDS = "records"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Period(_Frozen):
    """Norwegian days, both included; within the years a registry can hold (1900 to 2199)."""

    start: Annotated[date, Field(ge=date(1900, 1, 1), le=date(2199, 12, 31))]
    end: Annotated[date, Field(ge=date(1900, 1, 1), le=date(2199, 12, 31))]


class CohortCriterion(_Frozen):
    """Rows whose ``variable`` starts with one of the code ``prefixes`` (ICD-10, ICPC-2, ...)."""

    variable: Short
    prefixes: tuple[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9.]{1,10}$")], ...] = Field(
        min_length=1
    )


class DatasetRequest(_Frozen):
    """What one catalogue dataset contributes: its variables (column names), rows and treatment."""

    dataset: Short  # the catalogue identifier, e.g. npr-somatikk
    variables: tuple[Short, ...] = Field(min_length=1)
    period: Period | None = None
    cohort: tuple[CohortCriterion, ...] = ()
    generalisations: tuple[Generalisation, ...] = ()
    quasi_identifiers: tuple[Short, ...] = ()
    pseudonymised: bool = False  # Art. 66: anonymised by default
    # Art. 66: a dataset beside the one defining the study population delivers that population's
    # persons only, unless the application asks for everyone and says why
    whole_population: bool = False
    whole_population_reason: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None
    ) = None


class Recurrence(_Frozen):
    """Recurring access for a public body (Art. 67(5)): how often, what, and to whom."""

    schedule: Schedule
    mode: DeliveryMode = DeliveryMode.SNAPSHOT
    recipient_organisation: Annotated[str, StringConstraints(pattern=r"^[0-9]{9}$")]
    day: int = Field(default=1, ge=1, le=31, description="day of the period the delivery runs")
    time: Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")] = "06:00"


class DimensionRef(_Frozen):
    dataset: Short
    variable: Short


class StatisticsTable(_Frozen):
    """One table of a statistics answer: counts over catalogue variables in a period."""

    title: Short
    dimensions: tuple[DimensionRef, ...] = Field(min_length=1)
    measure: Measure = Measure.PERSONS
    period: Period


class DataSpecification(_Frozen):
    """What the extract service makes, exactly: proposed by the applicant, narrowed by the caseworker."""

    datasets: tuple[DatasetRequest, ...] = ()
    tables: tuple[StatisticsTable, ...] = ()  # statistics requests only
    format: Literal["parquet", "csv"] = "parquet"
    recurrence: Recurrence | None = None
    # the dataset whose cohort criteria (and period) define the study population; when only one
    # dataset has criteria, that one (see ``population_dataset``)
    population: Short | None = None

    def population_dataset(self) -> str | None:
        """The dataset that defines the study population, named or the only one with criteria."""
        if self.population is not None:
            return self.population
        defining = [d.dataset for d in self.datasets if d.cohort]
        return defining[0] if len(defining) == 1 else None

    @property
    def pseudonymised(self) -> bool:
        return any(d.pseudonymised for d in self.datasets)

    def dataset_identifiers(self) -> tuple[str, ...]:
        seen = [d.dataset for d in self.datasets] + [x.dataset for t in self.tables for x in t.dimensions]
        return tuple(dict.fromkeys(seen))


class Person(_Frozen):
    """Someone who will have access (Art. 67(a)); the first is the principal investigator."""

    email: EmailStr
    name: Short
    affiliation: Short | None = None


class Applicant(_Frozen):
    organisation: Annotated[str, StringConstraints(pattern=r"^[0-9]{9}$")] | None = None
    organisation_name: Short | None = None
    public_sector: bool = False
    contact_name: Short | None = None
    professional_function: Short | None = None  # Art. 69(2)(a)


class ApplicationForm(_Frozen):
    """The content of an application (Art. 67 (a)-(k)) or a statistics request (Art. 69(2) (a)-(g)).

    One model for both kinds; which fields a submission needs depends on the kind
    (:func:`hdab.applications.forms.missing_fields`).
    """

    title: Short | None = None
    applicant: Applicant = Applicant()
    persons: tuple[Person, ...] = ()  # (a)
    purpose: Purpose | None = None  # (b)
    use_description: Text | None = None  # (c) and 69(2)(b)
    expected_benefit: Text | None = None  # (c)
    specification: DataSpecification = DataSpecification()  # (d); 69(2)(c)
    pseudonymisation_justification: Text | None = None  # (e)
    own_datasets: Text | None = None  # (f)
    safeguards: Text | None = None  # (g); 69(2)(e)
    access_period: Period | None = None  # (h); for public bodies with the recurrence
    tools: Text | None = None  # (i)
    ethics: Text | None = None  # (j)
    optout_exception: Text | None = None  # (k); 69(2)(g)
    legal_basis: Text | None = None  # GDPR Art. 6(1) basis, 68(1)(c) and 69(2)(f)
    statistical_content: Text | None = None  # 69(2)(d)
    art54_declaration: bool = False  # none of the prohibited uses of Art. 54 applies


class Criterion(_Frozen):
    met: bool
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)] = ""


ASSESSMENT_CRITERIA = ("a", "b", "c", "d", "e", "f", "g", "h")  # Art. 68(1)
MAX_PERMIT_YEARS = 10  # Art. 68(12)
