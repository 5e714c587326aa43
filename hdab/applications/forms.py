"""What a submission needs: the content rules of Art. 53, 66, 67 and 69 over a form, pure.

A draft may be incomplete; a submission (and a narrowed specification) must pass
:func:`missing_fields`, which lists every problem with the dotted path of the field to fix, so the
researcher sees them all at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from hdab.applications.domain import ApplicationForm, CaseType, CohortCriterion, DataSpecification
from hdab.core.errors import FieldError

# The catalogue's variables of a dataset, or None when the catalogue has no such published dataset.
VariableLookup = Callable[[str], frozenset[str] | None]

_ACCESS_REQUIRED = {
    "title": "give the application a title",
    "use_description": "describe in detail how the data will be used (Art. 67(c))",
    "expected_benefit": "describe the expected benefit (Art. 67(c))",
    "safeguards": "describe the safeguards against misuse (Art. 67(g))",
    "tools": "describe the tools and computing resources you need (Art. 67(i))",
    "ethics": "give the ethics assessment, or say why national law requires none (Art. 67(j))",
    "legal_basis": "name the legal basis under GDPR Art. 6(1) (Art. 68(1)(c))",
}
_STATISTICS_REQUIRED = {
    "title": "give the request a title",
    "use_description": "describe the intended use (Art. 69(2)(b))",
    "statistical_content": "describe the statistical content you need (Art. 69(2)(d))",
    "safeguards": "describe the safeguards against misuse (Art. 69(2)(e))",
    "legal_basis": "name the legal basis under GDPR Art. 6(1) (Art. 69(2)(f))",
}


def missing_fields(kind: CaseType, form: ApplicationForm, variables: VariableLookup) -> list[FieldError]:
    """Every reason the form cannot be submitted yet; empty when it can."""
    errors: list[FieldError] = []
    required = _ACCESS_REQUIRED if kind is CaseType.ACCESS else _STATISTICS_REQUIRED
    for name, message in required.items():
        if getattr(form, name) is None:
            errors.append(FieldError(name, message))
    applicant = form.applicant
    if applicant.organisation_name is None:
        errors.append(FieldError("applicant.organisation_name", "name the applicant organisation"))
    if kind is CaseType.STATISTICS and applicant.professional_function is None:
        errors.append(
            FieldError("applicant.professional_function", "state your professional function (Art. 69(2)(a))")
        )
    if form.purpose is None:
        errors.append(FieldError("purpose", "choose the purpose under Art. 53(1), (a) to (f)"))
    elif form.purpose.public_sector_only and not applicant.public_sector:
        errors.append(
            FieldError(
                "purpose",
                f"purpose ({form.purpose.value}) of Art. 53(1) is open only to public-sector bodies "
                "(Art. 53(2))",
            )
        )
    if kind is CaseType.ACCESS:
        if not form.persons:
            errors.append(
                FieldError(
                    "persons", "name the persons who will access the data, principal investigator first"
                )
            )
        emails = [p.email.lower() for p in form.persons]
        if len(set(emails)) != len(emails):
            errors.append(FieldError("persons", "each person may be named only once"))
        if form.specification.pseudonymised and form.pseudonymisation_justification is None:
            errors.append(
                FieldError(
                    "pseudonymisation_justification",
                    "explain why anonymised data cannot serve your purpose (Art. 66(3), 67(e))",
                )
            )
        if form.specification.recurrence is None and form.access_period is None:
            errors.append(
                FieldError("access_period", "give the period for which you need access (Art. 67(h))")
            )
        if not form.art54_declaration:
            errors.append(
                FieldError("art54_declaration", "declare that none of the prohibited uses of Art. 54 applies")
            )
    errors.extend(
        specification_errors(kind, form.specification, variables, public_sector=applicant.public_sector)
    )
    return errors


def specification_errors(
    kind: CaseType, spec: DataSpecification, variables: VariableLookup, *, public_sector: bool
) -> list[FieldError]:
    """Problems with the data asked for: unknown datasets or variables, wrong shape for the kind."""
    errors: list[FieldError] = []
    where = "specification"
    if kind is CaseType.ACCESS and not spec.datasets:
        errors.append(FieldError(f"{where}.datasets", "choose at least one dataset and its variables"))
    if kind is CaseType.STATISTICS:
        if not spec.tables:
            errors.append(FieldError(f"{where}.tables", "describe at least one table you want"))
        if spec.pseudonymised:
            errors.append(
                FieldError(
                    f"{where}.datasets", "statistics are answered only in anonymised form (Art. 69(1))"
                )
            )
    if spec.recurrence is not None and not public_sector:
        errors.append(
            FieldError(
                f"{where}.recurrence", "recurring deliveries are for public-sector bodies (Art. 67(5))"
            )
        )
    asked = [d.dataset for d in spec.datasets]
    for repeated in sorted({d for d in asked if asked.count(d) > 1}):
        errors.append(
            FieldError(
                f"{where}.datasets", f"{repeated!r} is asked for more than once: ask for each dataset once"
            )
        )
    for i, request in enumerate(spec.datasets):
        path = f"{where}.datasets.{i}"
        known = variables(request.dataset)
        if known is None:
            errors.append(FieldError(f"{path}.dataset", f"the catalogue has no dataset {request.dataset!r}"))
            continue
        for name in dict.fromkeys((*request.variables, *request.quasi_identifiers)):
            if name not in known:
                errors.append(
                    FieldError(f"{path}.variables", f"dataset {request.dataset!r} has no variable {name!r}")
                )
        for criterion in request.cohort:
            if criterion.variable not in known:
                errors.append(
                    FieldError(
                        f"{path}.cohort",
                        f"dataset {request.dataset!r} has no variable {criterion.variable!r}",
                    )
                )
        if request.period is not None and request.period.end < request.period.start:
            errors.append(FieldError(f"{path}.period", "the period ends before it starts"))
        if request.whole_population and len(request.whole_population_reason or "") < MIN_REASON:
            errors.append(
                FieldError(
                    f"{path}.whole_population_reason",
                    "say why the study needs everyone in this dataset, not only the study population"
                    f" (at least {MIN_REASON} characters)",
                )
            )
    errors.extend(_population_errors(spec))
    for i, table in enumerate(spec.tables):
        for ref in table.dimensions:
            known = variables(ref.dataset)
            if known is None or ref.variable not in known:
                errors.append(
                    FieldError(
                        f"{where}.tables.{i}.dimensions",
                        f"the catalogue has no variable {ref.variable!r} in dataset {ref.dataset!r}",
                    )
                )
        if table.period.end < table.period.start:
            errors.append(FieldError(f"{where}.tables.{i}.period", "the period ends before it starts"))
    return errors


MIN_REASON = 20


def _population_errors(spec: DataSpecification) -> list[FieldError]:
    """The study population must be named where it is not evident (Art. 66 minimisation)."""
    where = "specification.population"
    by_name = {d.dataset: d for d in spec.datasets}
    if spec.population is not None:
        named = by_name.get(spec.population)
        if named is None:
            return [FieldError(where, f"{spec.population!r} is not among the datasets asked for")]
        if not named.cohort:
            return [
                FieldError(
                    where, f"{spec.population!r} has no criteria (code prefixes) defining a population"
                )
            ]
        return []
    defining = [d.dataset for d in spec.datasets if d.cohort]
    others = [d for d in spec.datasets if not d.cohort and not d.whole_population]
    if len(defining) > 1 and others:
        return [
            FieldError(
                where,
                f"name the dataset whose criteria define the study population ({', '.join(defining)}):"
                f" {', '.join(d.dataset for d in others)} will deliver its persons only",
            )
        ]
    return []


def _cohort_widened(
    path: str, asked: Sequence[CohortCriterion], narrowed: Sequence[CohortCriterion]
) -> list[FieldError]:
    """Every criterion asked for stays, on the same variable, each code prefix the same or longer.

    Criteria are combined with AND and a criterion's prefixes with OR: dropping a criterion, moving
    it to another variable, or a prefix no prefix asked for begins, lets more rows in.
    """
    remaining = list(narrowed)
    for criterion in asked:
        match = next(
            (
                c
                for c in remaining
                if c.variable == criterion.variable
                and all(any(p.startswith(q) for q in criterion.prefixes) for p in c.prefixes)
            ),
            None,
        )
        if match is None:
            return [
                FieldError(
                    f"{path}.cohort",
                    f"the criterion on {criterion.variable} ({', '.join(criterion.prefixes)}) may only be"
                    " narrowed: keep it, with the same or longer code prefixes",
                )
            ]
        remaining.remove(match)
    return []


def narrows(original: DataSpecification, narrowed: DataSpecification) -> list[FieldError]:
    """The caseworker may narrow what was asked for, never widen it (Art. 66 data minimisation)."""
    errors: list[FieldError] = []
    before = {d.dataset: d for d in original.datasets}
    for i, request in enumerate(narrowed.datasets):
        path = f"specification.datasets.{i}"
        asked = before.get(request.dataset)
        if asked is None:
            errors.append(FieldError(f"{path}.dataset", f"{request.dataset!r} was not asked for"))
            continue
        extra = set(request.variables) - set(asked.variables)
        if extra:
            errors.append(FieldError(f"{path}.variables", f"not asked for: {', '.join(sorted(extra))}"))
        if asked.period is not None and (
            request.period is None
            or request.period.start < asked.period.start
            or request.period.end > asked.period.end
        ):
            errors.append(FieldError(f"{path}.period", "the period may only be shortened"))
        if request.pseudonymised and not asked.pseudonymised:
            errors.append(FieldError(f"{path}.pseudonymised", "anonymised data may not become pseudonymised"))
        errors.extend(_cohort_widened(path, asked.cohort, request.cohort))
        if request.whole_population and not asked.whole_population:
            errors.append(
                FieldError(f"{path}.whole_population", "the study population may not become everyone")
            )
        if not set(asked.generalisations) <= set(request.generalisations):
            errors.append(FieldError(f"{path}.generalisations", "generalisations may be added, not removed"))
    asked_tables = {t.title: t for t in original.tables}
    for i, table in enumerate(narrowed.tables):
        if table.title not in asked_tables:
            errors.append(FieldError(f"specification.tables.{i}", f"table {table.title!r} was not asked for"))
    if narrowed.population_dataset() != original.population_dataset() and original.population_dataset():
        errors.append(FieldError("specification.population", "the study population may not change"))
    if original.recurrence != narrowed.recurrence and narrowed.recurrence is not None:
        errors.append(
            FieldError("specification.recurrence", "the recurrence may be kept or removed, not changed")
        )
    return errors
