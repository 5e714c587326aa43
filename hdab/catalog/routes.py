"""Catalogue JSON API: datasets (create, read, update, withdraw, versions) and RDF import."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from hdab.catalog import repository, service
from hdab.catalog.codec import record_from_json
from hdab.catalog.models import CatalogDataset
from hdab.catalog.ownership import Writer, require
from hdab.catalog.publish import page_links
from hdab.catalog.rdf.formats import BY_KEY, BY_MEDIA_TYPE, FORMATS, RdfFormat
from hdab.catalog.rdf.safe_parse import parse_rdf
from hdab.catalog.schemas import (
    DatasetOut,
    DatasetPage,
    ImportResult,
    QualityOut,
    SearchOut,
    VersionOut,
    WithdrawnOut,
    dataset_summary,
    dataset_view,
    import_result,
    version_view,
)
from hdab.catalog.search import backend
from hdab.catalog.search.params import search_query
from hdab.core import runtime
from hdab.core.access import require_roles
from hdab.core.auth import Principal, Role
from hdab.core.errors import FieldError, InvalidInput, NotFound, ProblemError
from hdab.core.ratelimit import limited
from hdab.core.web import Paging, db_session, paging

router = APIRouter(prefix="/api", tags=["catalogue"])
editors = require_roles(Role.DATA_HOLDER, Role.ADMIN)


def writer(principal: Principal = Depends(editors)) -> Writer:
    """A data holder or admin; a data holder writes only its own organisation's datasets (403 without one)."""
    return Writer.of(principal)


def _record(data: Any, where: str = "record") -> Any:
    try:
        return record_from_json(data)
    except ValidationError as exc:
        errors = [
            FieldError(".".join([where, *(str(p) for p in e["loc"])]), e["msg"]) for e in exc.errors()[:50]
        ]
        raise InvalidInput("the dataset record is not valid; see errors", errors) from None


def _find(session: Session, identifier: str) -> CatalogDataset:
    row = session.scalars(repository.by_identifier(identifier)).one_or_none()
    if row is None:
        raise NotFound(f"no dataset with identifier {identifier!r}")
    return row


@router.get("/datasets", response_model=DatasetPage, summary="Datasets, published and withdrawn")
def list_datasets(
    response: Response,
    page: Paging = Depends(paging),
    session: Session = Depends(db_session, scope="function"),
) -> DatasetPage:
    total = session.scalar(select(func.count()).select_from(CatalogDataset)) or 0
    rows = session.scalars(
        select(CatalogDataset).order_by(CatalogDataset.identifier).offset(page.offset).limit(page.page_size)
    )
    response.headers["Link"] = page_links(
        f"{runtime.settings().base_url}/api/datasets", page.page, page.page_size, total, {}
    )
    return DatasetPage(
        items=[dataset_summary(r) for r in rows], page=page.page, page_size=page.page_size, total=total
    )


@router.get("/datasets/{identifier}", response_model=DatasetOut, summary="A dataset's current record as JSON")
def get_dataset(identifier: str, session: Session = Depends(db_session, scope="function")) -> dict[str, Any]:
    return dataset_view(_find(session, identifier))


_RECORD_EXAMPLE = {
    "record": {"identifier": "npr-example", "...": "every field of a DatasetRecord"},
    "note": "why",
}


@router.post(
    "/datasets",
    status_code=201,
    response_model=DatasetOut,
    summary="Create a dataset (data holders, admins); validated by the official shapes",
    responses={
        403: {"description": "a data holder may create only its own organisation's datasets"},
        409: {"description": "the identifier exists"},
        422: {"description": "invalid record"},
    },
)
def create_dataset(
    body: Annotated[dict[str, Any], Body(examples=[_RECORD_EXAMPLE])],
    editor: Writer = Depends(writer),
    session: Session = Depends(db_session, scope="function"),
) -> dict[str, Any]:
    record_data = body.get("record")
    if not isinstance(record_data, dict):
        raise InvalidInput("send {'record': {...}, 'note': '...'}", [FieldError("record", "required")])
    data = {"iri": "", **record_data}
    record = _record(data)
    row = service.create(session, runtime.settings(), editor, record, _note(body, "created"))
    return dataset_view(row)


def _note(body: dict[str, Any], default: str) -> str:
    note = body.get("note", default)
    if not isinstance(note, str) or len(note) > 2000:
        raise InvalidInput("note must be text of at most 2000 characters", [FieldError("note", "invalid")])
    return note or default


@router.put(
    "/datasets/{identifier}",
    response_model=DatasetOut,
    summary="Update a dataset: a new version with author, time and note",
    responses={
        403: {"description": "not your organisation's dataset, or publisher"},
        404: {},
        409: {},
        422: {},
    },
)
def update_dataset(
    identifier: str,
    body: Annotated[dict[str, Any], Body(examples=[_RECORD_EXAMPLE])],
    editor: Writer = Depends(writer),
    session: Session = Depends(db_session, scope="function"),
) -> dict[str, Any]:
    row = _find(session, identifier)
    require(editor, [(service.current_record(row), True)])  # someone else's dataset: 403 before validation
    record_data = body.get("record")
    if not isinstance(record_data, dict):
        raise InvalidInput("send {'record': {...}, 'note': '...'}", [FieldError("record", "required")])
    record = _record({"iri": row.iri, **record_data})
    row = service.update(session, runtime.settings(), editor, identifier, record, _note(body, "updated"))
    return dataset_view(row)


@router.delete(
    "/datasets/{identifier}",
    response_model=WithdrawnOut,
    summary="Withdraw a dataset: it leaves /catalog; its versions stay",
    responses={
        403: {"description": "not your organisation's dataset"},
        404: {},
        409: {"description": "withdrawn already"},
    },
)
def withdraw_dataset(
    identifier: str,
    note: str = Query("withdrawn", max_length=2000),
    editor: Writer = Depends(writer),
    session: Session = Depends(db_session, scope="function"),
) -> dict[str, Any]:
    row = service.withdraw(session, editor, identifier, note)
    return {"status": row.status.value, "version": row.version}


@router.get("/datasets/{identifier}/versions", response_model=list[VersionOut], summary="Every version")
def dataset_versions(
    identifier: str, session: Session = Depends(db_session, scope="function")
) -> list[VersionOut]:
    return [version_view(v) for v in service.versions(session, identifier)]


@router.post(
    "/catalog/import",
    dependencies=[Depends(limited("import-catalog", "rate_limit_import"))],
    response_model=ImportResult,
    summary="Import DCAT-AP / HealthDCAT-AP RDF: all datasets or none",
    responses={
        403: {"description": "a dataset in it is not your organisation's: nothing stored"},
        413: {"description": "too large"},
        415: {"description": "unknown format"},
        422: {"description": "unparsable RDF or shape violations, each with focus node and path"},
    },
)
async def import_catalog(
    request: Request,
    format: str | None = Query(None, description="ttl, jsonld, rdf or nt (else Content-Type)"),
    editor: Writer = Depends(writer),
    session: Session = Depends(db_session, scope="function"),
) -> ImportResult:
    settings = runtime.settings()
    if format is not None:
        fmt = BY_KEY.get(format)
    else:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        fmt = BY_MEDIA_TYPE.get(content_type)
    if fmt is None:
        raise ProblemError(
            "send RDF as " + ", ".join(f.media_type for f in FORMATS) + " (Content-Type) or say ?format=",
            415,
            "unsupported-media-type",
        )
    declared = request.headers.get("content-length")
    if declared and declared.isascii() and declared.isdigit() and int(declared) > settings.import_max_bytes:
        raise ProblemError(
            f"the upload is {declared} bytes; at most {settings.import_max_bytes} are accepted",
            413,
            "too-large",
        )
    data = bytearray()
    async for chunk in request.stream():
        data.extend(chunk)
        if len(data) > settings.import_max_bytes:
            raise ProblemError(f"the upload exceeds {settings.import_max_bytes} bytes", 413, "too-large")
    # Parsing and validating a large upload takes seconds of CPU: in a worker thread, so that the
    # event loop goes on answering every other request meanwhile.
    return await run_in_threadpool(import_upload, session, editor, bytes(data), fmt)


def import_upload(session: Session, editor: Writer, data: bytes, fmt: RdfFormat) -> ImportResult:
    settings = runtime.settings()
    graph = parse_rdf(data, fmt, max_bytes=settings.import_max_bytes, max_triples=settings.import_max_triples)
    return import_result(service.import_graph(session, settings, editor, graph, "imported"))


@router.get(
    "/datasets/{identifier}/quality",
    response_model=QualityOut,
    summary="The data.europa.eu MQA score per dimension and indicator, with the catalogue's average",
    responses={404: {}},
)
def dataset_quality(
    identifier: str, session: Session = Depends(db_session, scope="function")
) -> dict[str, object]:
    return service.quality(session, runtime.settings(), identifier)


@router.get(
    "/search",
    response_model=SearchOut,
    summary="Search the catalogue: full text over datasets and variables, with facets",
    description="Facet filters are query parameters named as the facets in the response "
    "(theme, health_category, publisher, access_rights, coding_system, keyword, language, temporal, "
    "has_variable); repeating one means OR. Labels follow ?lang= or Accept-Language.",
)
def search(
    request: Request,
    q: str = Query("", max_length=500, description="words to find; empty lists every dataset"),
    page: Paging = Depends(paging),
    sort: str | None = Query(None, description="relevance (default with q), title or identifier"),
) -> Response:
    query = search_query(request, q, page, sort)
    result = backend().search(query)
    # the query as asked (facet filters and all), paged: so a client follows Link as it would with /catalog
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in ("page", "page_size")]
    link = page_links(
        f"{runtime.settings().base_url}/api/search", query.page, query.page_size, result.total, kept
    )
    # Built as plain JSON (the shape SearchOut documents): validating hundreds of facet values per
    # request through pydantic cost more than the search itself.
    return JSONResponse(
        {
            "total": result.total,
            "items": [
                {
                    "identifier": h.identifier,
                    "title": h.title,
                    "description": h.description,
                    "highlight": h.highlight,
                    "matched_variables": h.matched_variables,
                }
                for h in result.items
            ],
            "facets": {
                k: [{"value": v.value, "label": v.label, "count": v.count} for v in vs]
                for k, vs in result.facets.items()
            },
            "took_ms": result.took_ms,
        },
        headers={"Link": link},
    )
