"""Pages of the workflow: cart, the application form by section, the case page, inbox, permits, register.

Pages call the same service as the API and show its errors inline; they work without JavaScript.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from hdab.applications import forms, handlers, labels, register, repository, service
from hdab.applications.auth import principal_with_bindings
from hdab.applications.domain import ASSESSMENT_CRITERIA, ApplicationForm, CaseType, Purpose
from hdab.applications.models import Application, Notification, Permit
from hdab.applications.schemas import case_view, summary
from hdab.catalog import api as catalog
from hdab.core import clock
from hdab.core.access import optional_principal
from hdab.core.auth import Principal, Role
from hdab.core.errors import FieldError, Forbidden, NotFound, ProblemError
from hdab.core.templating import templates
from hdab.core.web import MAX_PAGE, Paging, db_session, preferred_language

router = APIRouter(include_in_schema=False)
SECTIONS = ("applicant", "purpose", "data", "conditions", "submit")
SECTION_FIELDS = {
    "applicant": ("applicant", "persons"),
    "purpose": (
        "title",
        "purpose",
        "use_description",
        "expected_benefit",
        "statistical_content",
        "legal_basis",
    ),
    "data": ("specification", "pseudonymisation_justification"),
    "conditions": ("safeguards", "own_datasets", "access_period", "tools", "ethics", "optout_exception"),
    "submit": ("art54_declaration",),
}


def _page(
    request: Request, template: str, principal: Principal | None, status_code: int = 200, **context: Any
) -> Response:
    return templates.TemplateResponse(
        request,
        template,
        {
            "principal": principal,
            "labels": labels,
            "purposes": list(Purpose),
            **context,
        },
        status_code=status_code,
    )


def _input_name(field: str) -> str:
    """The form input a field error belongs to (``specification.datasets.0.period`` -> ``d0_start``)."""
    parts = field.split(".")
    head, rest = parts[0], parts[1:]
    if head == "applicant" and rest:
        return rest[0]
    if head == "specification":
        if len(rest) >= 2 and rest[0] in ("datasets", "tables") and rest[1].isdigit():
            prefix = ("d" if rest[0] == "datasets" else "t") + rest[1]
            inner = rest[2] if len(rest) > 2 else "variables"
            names = {
                "period": "start",
                "cohort": "prefixes",
                "quasi_identifiers": "quasi",
                "dataset": "variables",
                "dimensions": "dimensions",
            }
            return f"{prefix}_{names.get(inner, inner)}"
        if rest and rest[0] == "population":
            return "population"
        if rest and rest[0] == "recurrence":
            return rest[1] if len(rest) > 1 and rest[1] == "recipient_organisation" else "schedule"
        return "datasets"
    if head == "access_period":
        return "access_start"
    if head == "criteria" and rest:
        return f"criteria_{rest[0]}_met"
    return head or "form"


def _section_of(field: str) -> str:
    head = field.split(".")[0]
    return next((s for s, names in SECTION_FIELDS.items() if head in names), "submit")


def _errors_view(
    errors: list[FieldError], lang: str, *, here: str | None = None, case_id: str | None = None, key: str = ""
) -> tuple[list[dict[str, str]], dict[str, list[dict[str, str]]]]:
    """The error summary (each message with a link to its field) and the messages by input name.

    ``here``: the form section shown (errors of other sections link to theirs); ``key``: a prefix
    of the inputs' ids where one page has several forms (the case page's commands)."""
    summary: list[dict[str, str]] = []
    by_name: dict[str, list[dict[str, str]]] = {}
    for error in errors:
        text, known = labels.error_text(error.message, lang)
        entry = {"text": text, "lang": lang if known else "en"}
        if not error.field:
            summary.append({**entry, "href": ""})
            continue
        name = key + _input_name(error.field)
        section = _section_of(error.field)
        if case_id is not None and here is not None and section != here:
            href = f"/applications/{case_id}/edit/{section}#f-{name}"
        else:
            href = f"#f-{name}"
            by_name.setdefault(name, []).append(entry)
        summary.append({**entry, "href": href})
    return summary, by_name


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# --- lists ---------------------------------------------------------------------------------------


@router.get("/applications", response_class=HTMLResponse)
def my_applications(
    request: Request,
    principal: Principal = Depends(principal_with_bindings),
    session: Session = Depends(db_session, scope="function"),
) -> Response:
    rows = session.scalars(
        repository.visible_to(principal).order_by(Application.updated_at.desc()).limit(200)
    )
    notes = session.scalars(
        select(Notification)
        .where(Notification.subject == principal.actor)
        .order_by(Notification.id.desc())
        .limit(20)
    ).all()
    return _page(
        request, "applications/list.html", principal, items=[summary(r) for r in rows], notifications=notes
    )


@router.get("/inbox", response_class=HTMLResponse)
def inbox_page(
    request: Request,
    principal: Principal = Depends(principal_with_bindings),
    session: Session = Depends(db_session, scope="function"),
) -> Response:
    if not principal.has_role(Role.CASEWORKER, Role.DECISION_MAKER, Role.ADMIN):
        raise ProblemError("the inbox is for the access body's staff", 403, "forbidden")
    rows = session.scalars(repository.inbox().limit(500))
    return _page(request, "applications/inbox.html", principal, items=[summary(r) for r in rows])


@router.get("/register", response_class=HTMLResponse)
def register_page(
    request: Request,
    session: Session = Depends(db_session, scope="function"),
    principal: Principal | None = Depends(optional_principal),
    dataset: str | None = Query(None, max_length=128),
    purpose: str | None = Query(None, pattern="^[a-f]?$"),
    q: str | None = Query(None, max_length=200),
    page: int = Query(1, ge=1, le=MAX_PAGE),
) -> Response:
    listing = register.listing(
        session, Paging(page, 50), dataset=dataset or None, purpose=purpose or None, text=q or None
    )
    return _page(
        request,
        "applications/register.html",
        principal,
        listing=listing,
        filters={"dataset": dataset or "", "purpose": purpose or "", "q": q or ""},
    )


# --- cart and new drafts -------------------------------------------------------------------------


@router.get("/applications/new", response_class=HTMLResponse)
def new_page(
    request: Request,
    principal: Principal = Depends(principal_with_bindings),
    type: CaseType = Query(CaseType.ACCESS),
    dataset: str | None = Query(None, max_length=128),
) -> Response:
    return _page(request, "applications/new.html", principal, kind=type.value, dataset=dataset or "")


@router.post("/applications")
async def create_page(
    request: Request,
    principal: Principal = Depends(principal_with_bindings),
    session: Session = Depends(db_session, scope="function"),
) -> Response:
    data = await request.form()
    kind = CaseType(str(data.get("type", "access"))) if data.get("type") in ("access", "statistics") else None
    if kind is None:
        raise ProblemError("choose access or statistics", 422, "invalid-input")
    form = ApplicationForm()
    dataset = str(data.get("dataset") or "")
    if dataset:
        form = _with_dataset(session, form, kind, dataset, [])
    loaded = service.create(session, principal, kind, form)
    return _see_other(f"/applications/{loaded.row.id}/edit/{'data' if dataset else 'applicant'}")


def _with_dataset(
    session: Session, form: ApplicationForm, kind: CaseType, dataset: str, variables: list[str]
) -> ApplicationForm:
    found = catalog.dataset(session, dataset)
    if found is None:
        raise NotFound(f"the catalogue has no dataset {dataset!r}")
    spec = form.specification.model_dump(mode="json", exclude_none=True)
    requests = {d["dataset"]: d for d in spec.get("datasets", [])}
    entry = requests.get(dataset, {"dataset": dataset, "variables": []})
    entry["variables"] = list(dict.fromkeys([*entry["variables"], *variables])) or [
        v.name for v in found.variables[:1]
    ]
    requests[dataset] = entry
    spec["datasets"] = list(requests.values())
    if kind is CaseType.STATISTICS:
        spec["datasets"] = []
        tables = {t["title"]: t for t in spec.get("tables", [])}
        dims = [{"dataset": dataset, "variable": v} for v in entry["variables"]]
        tables[dataset] = {
            "title": dataset,
            "dimensions": dims,
            "measure": "persons",
            "period": {"start": "2020-01-01", "end": "2024-12-31"},
        }
        spec["tables"] = list(tables.values())
    return form.model_copy(update={"specification": type(form.specification).model_validate(spec)})


@router.post("/applications/cart")
async def add_to_cart(
    request: Request,
    principal: Principal = Depends(principal_with_bindings),
    session: Session = Depends(db_session, scope="function"),
) -> Response:
    """Add a dataset and chosen variables to the caller's newest access draft (a new one if none)."""
    data = await request.form()
    dataset = str(data.get("dataset") or "")
    variables = [str(v) for v in data.getlist("variables")]
    service.begin_command(session)
    row = session.scalars(
        select(Application)
        .where(
            Application.owner == principal.actor, Application.status == "DRAFT", Application.kind == "access"
        )
        .order_by(Application.updated_at.desc())
        .limit(1)
    ).first()
    if row is None:
        loaded = service.create(session, principal, CaseType.ACCESS, ApplicationForm())
        row = loaded.row
    state = service.load(session, row.id).state
    form = _with_dataset(session, state.form, CaseType.ACCESS, dataset, variables)
    service.execute(session, principal, row.id, "update-draft", form)
    return _see_other(f"/applications/{row.id}/edit/data")


# --- the form, section by section ----------------------------------------------------------------


def _section_errors(errors: list[FieldError], section: str) -> list[FieldError]:
    prefixes = SECTION_FIELDS[section]
    return [e for e in errors if e.field.split(".")[0] in prefixes]


@router.get("/applications/{case_id}/edit/{section}", response_class=HTMLResponse)
def edit_page(
    case_id: str,
    section: str,
    request: Request,
    principal: Principal = Depends(principal_with_bindings),
    session: Session = Depends(db_session, scope="function"),
) -> Response:
    return _edit(request, session, principal, case_id, section, [])


class FormValues:
    """What a form shows: what the person just typed when it came back with errors, else what is saved."""

    def __init__(self, posted: Any | None) -> None:
        self.posted = posted

    def get(self, name: str, stored: Any) -> Any:
        if self.posted is None:
            return stored
        return self.posted.get(name, "")

    def checked(self, name: str, stored: bool) -> bool:
        return stored if self.posted is None else self.posted.get(name) == "on"

    def chosen(self, name: str, stored: Any) -> set[str]:
        if self.posted is None:
            return {str(v) for v in stored or ()}
        return {str(v) for v in self.posted.getlist(name)}


def _edit(
    request: Request,
    session: Session,
    principal: Principal,
    case_id: str,
    section: str,
    errors: list[FieldError],
    status_code: int = 200,
    posted: Any | None = None,
) -> Response:
    if section not in SECTIONS:
        raise NotFound(f"no section {section!r}")
    loaded = service.visible(session, principal, case_id)
    if handlers.CaseRole.APPLICANT not in service.case_roles(principal, loaded):
        raise Forbidden(f"only the applicant's team edits the application; see /applications/{case_id}")
    state = loaded.state
    lang = preferred_language(request)
    missing = forms.missing_fields(state.kind, state.form, catalog.variable_lookup(session))
    datasets = {d.dataset: catalog.dataset(session, d.dataset) for d in state.form.specification.datasets}
    for table in state.form.specification.tables:
        for ref in table.dimensions:
            datasets.setdefault(ref.dataset, catalog.dataset(session, ref.dataset))
    summary, field_errors = _errors_view(errors, lang, here=section, case_id=case_id)
    # what is still to do, section by section (the task list), and on the last page with links
    open_sections = {_section_of(e.field) for e in missing}
    todo, _ = _errors_view(missing, lang, here="", case_id=case_id)
    return _page(
        request,
        "applications/edit.html",
        principal,
        case=state,
        section=section,
        sections=SECTIONS,
        summary=summary,
        field_errors=field_errors,
        open_sections=open_sections,
        todo=todo,
        missing=missing,
        values=FormValues(posted),
        catalogue=datasets,
        status_code=status_code,
    )


def _lines(value: Any) -> list[str]:
    return [line.strip() for line in str(value or "").splitlines() if line.strip()]


def _text(data: Any, name: str) -> str | None:
    value = str(data.get(name) or "").strip()
    return value or None


def _section_changes(section: str, data: Any, form: ApplicationForm, kind: CaseType) -> dict[str, Any]:
    if section == "applicant":
        persons = []
        for line in _lines(data.get("persons")):
            email, _, name = line.partition(",")
            persons.append({"email": email.strip(), "name": name.strip() or email.strip()})
        return {
            "applicant": {
                k: v
                for k, v in {
                    "organisation": _text(data, "organisation"),
                    "organisation_name": _text(data, "organisation_name"),
                    "public_sector": data.get("public_sector") == "on",
                    "professional_function": _text(data, "professional_function"),
                    "contact_name": _text(data, "contact_name"),
                }.items()
                if v is not None
            },
            "persons": persons,
        }
    if section == "purpose":
        return {name: _text(data, name) for name in SECTION_FIELDS["purpose"]}
    if section == "data":
        spec = form.specification.model_dump(mode="json", exclude_none=True)
        remove = _text(data, "remove")
        kept = []
        for i, request in enumerate(spec.get("datasets", [])):
            if remove == request["dataset"]:
                continue
            start, end = _text(data, f"d{i}_start"), _text(data, f"d{i}_end")
            prefixes = [p.strip() for p in str(data.get(f"d{i}_prefixes") or "").replace(";", ",").split(",")]
            cohort_variable = _text(data, f"d{i}_cohort_variable")
            kept.append(
                {
                    "dataset": request["dataset"],
                    "variables": [str(v) for v in data.getlist(f"d{i}_variables")],
                    "period": {"start": start, "end": end} if start and end else None,
                    "cohort": [{"variable": cohort_variable, "prefixes": [p for p in prefixes if p]}]
                    if cohort_variable and any(prefixes)
                    else [],
                    "generalisations": [str(g) for g in data.getlist(f"d{i}_generalisations")],
                    "quasi_identifiers": [str(q) for q in data.getlist(f"d{i}_quasi")],
                    "pseudonymised": data.get(f"d{i}_pseudonymised") == "on",
                    "whole_population": data.get(f"d{i}_whole_population") == "on",
                    "whole_population_reason": _text(data, f"d{i}_whole_population_reason"),
                }
            )
        spec["datasets"] = kept
        spec["population"] = _text(data, "population")
        tables = []
        for i, table in enumerate(spec.get("tables", [])):
            if remove == table["title"]:
                continue
            start, end = _text(data, f"t{i}_start"), _text(data, f"t{i}_end")
            dims = [
                {"dataset": ref.split("/")[0], "variable": ref.split("/")[-1]}
                for ref in (str(v) for v in data.getlist(f"t{i}_dimensions"))
            ]
            tables.append(
                {
                    "title": table["title"],
                    "dimensions": dims,
                    "measure": _text(data, f"t{i}_measure") or "persons",
                    "period": {"start": start, "end": end} if start and end else table["period"],
                }
            )
        spec["tables"] = tables
        schedule = _text(data, "schedule")
        spec["recurrence"] = (
            {
                "schedule": schedule,
                "mode": _text(data, "mode") or "snapshot",
                "recipient_organisation": _text(data, "recipient_organisation"),
            }
            if schedule
            else None
        )
        return {
            "specification": spec,
            "pseudonymisation_justification": _text(data, "pseudonymisation_justification"),
        }
    if section == "conditions":
        changes: dict[str, Any] = {
            name: _text(data, name)
            for name in ("safeguards", "own_datasets", "tools", "ethics", "optout_exception")
        }
        start, end = _text(data, "access_start"), _text(data, "access_end")
        changes["access_period"] = {"start": start, "end": end} if start and end else None
        return changes
    return {"art54_declaration": data.get("art54_declaration") == "on"}


@router.post("/applications/{case_id}/edit/{section}")
async def save_section(
    case_id: str,
    section: str,
    request: Request,
    principal: Principal = Depends(principal_with_bindings),
    session: Session = Depends(db_session, scope="function"),
) -> Response:
    if section not in SECTIONS:
        raise NotFound(f"no section {section!r}")
    data = await request.form()
    service.begin_command(session)
    loaded = service.visible(session, principal, case_id)
    changes = _section_changes(section, data, loaded.state.form, loaded.state.kind)
    try:
        with service.all_or_nothing(session):
            service.update_draft(session, principal, case_id, changes)
    except ProblemError as exc:
        errors = exc.errors or [FieldError("", exc.detail)]
        return _edit(request, session, principal, case_id, section, errors, 422, posted=data)
    if section == "submit" and data.get("action") == "submit":
        try:
            with service.all_or_nothing(session):
                service.execute(session, principal, case_id, "submit", handlers.Empty())
        except ProblemError as exc:
            # the declaration is saved (the edge commits it); the submission is not
            return _edit(
                request, session, principal, case_id, section, exc.errors or [FieldError("", exc.detail)], 422
            )
        return _see_other(f"/applications/{case_id}")
    following = SECTIONS[min(SECTIONS.index(section) + 1, len(SECTIONS) - 1)]
    return _see_other(f"/applications/{case_id}/edit/{following}")


# --- the case page and its actions ---------------------------------------------------------------


FIELD_KINDS = {
    "message": "textarea",
    "reason": "textarea",
    "reasons": "textarea",
    "risks": "textarea",
    "conditions": "lines",
    "amount": "number",
    "currency": "text",
    "valid_until": "date",
    "environment": "text",
    "upheld": "checkbox",
    "criteria": "criteria",
}


def command_fields(name: str) -> list[tuple[str, str, bool]]:
    """The inputs a command's form shows: (field, kind, required)."""
    model: type[BaseModel] = handlers.PAYLOADS[name]
    return [
        (field, FIELD_KINDS[field], info.is_required())
        for field, info in model.model_fields.items()
        if field in FIELD_KINDS
    ]


def _payload_from_form(name: str, data: Any) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for field, kind, _required in command_fields(name):
        if kind == "criteria":
            body["criteria"] = {
                k: {
                    "met": data.get(f"criteria_{k}_met") == "on",
                    "note": str(data.get(f"criteria_{k}_note") or ""),
                }
                for k in "abcdefgh"
            }
        elif kind == "lines":
            body[field] = _lines(data.get(field))
        elif kind == "checkbox":
            body[field] = data.get(field) == "on"
        elif _text(data, field) is not None:
            body[field] = _text(data, field)
    return body


@router.get("/applications/{case_id}", response_class=HTMLResponse)
def case_page(
    case_id: str,
    request: Request,
    principal: Principal = Depends(principal_with_bindings),
    session: Session = Depends(db_session, scope="function"),
) -> Response:
    return _case(request, session, principal, case_id, [], None)


def _case(
    request: Request,
    session: Session,
    principal: Principal,
    case_id: str,
    errors: list[FieldError],
    failed: str | None,
    status_code: int = 200,
    posted: Any | None = None,
) -> Response:
    loaded = service.visible(session, principal, case_id)
    # only the commands this person may run on the case now (the same rule the API applies)
    view = case_view(loaded, service.allowed(principal, loaded))
    actions = [(name, command_fields(name)) for name in view["allowed_commands"] if name != "update-draft"]
    lang = preferred_language(request)
    summary, field_errors = _errors_view(errors, lang, key=f"{failed}-" if failed else "")
    spec = loaded.state.specification
    datasets = {d.dataset: catalog.dataset(session, d.dataset) for d in spec.datasets}
    for table in spec.tables:
        for ref in table.dimensions:
            datasets.setdefault(ref.dataset, catalog.dataset(session, ref.dataset))
    return _page(
        request,
        "applications/case.html",
        principal,
        case=view,
        state=loaded.state,
        form=loaded.state.form,
        spec=spec,
        catalogue=datasets,
        may_edit=handlers.CaseRole.APPLICANT in service.case_roles(principal, loaded),
        actions=actions,
        summary=summary,
        field_errors=field_errors,
        failed=failed,
        values=FormValues(posted),
        criteria=ASSESSMENT_CRITERIA,
        now=clock.now(),
        status_code=status_code,
    )


@router.post("/applications/{case_id}/do/{command}")
async def do_command(
    case_id: str,
    command: str,
    request: Request,
    principal: Principal = Depends(principal_with_bindings),
    session: Session = Depends(db_session, scope="function"),
) -> Response:
    if command not in handlers.PAYLOADS or command in ("update-draft", "expire", "close-incomplete"):
        raise NotFound(f"there is no command {command!r}")
    data = await request.form()
    service.begin_command(session)
    try:
        with service.all_or_nothing(session):
            payload = service.parse_payload(command, _payload_from_form(command, data))
            service.execute(session, principal, case_id, command, payload)
    except ProblemError as exc:
        if exc.status in (401, 404):
            raise
        errors = exc.errors or [FieldError("", exc.detail)]
        return _case(request, session, principal, case_id, errors, command, exc.status, posted=data)
    return _see_other(f"/applications/{case_id}#timeline")


@router.get("/permits/{permit_id}", response_class=HTMLResponse)
def permit_page(
    permit_id: str,
    request: Request,
    principal: Principal = Depends(principal_with_bindings),
    session: Session = Depends(db_session, scope="function"),
) -> Response:
    service.case_of_permit(session, principal, permit_id)
    permit = session.get(Permit, permit_id)
    versions = service.permit_versions(session, permit_id)
    return _page(
        request,
        "applications/permit.html",
        principal,
        permit=permit,
        versions=versions,
        jws_url=f"/api/permits/{quote(permit_id)}/jws",
    )
