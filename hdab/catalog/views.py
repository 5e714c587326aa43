"""Public catalogue endpoints: /catalog for harvesters, /datasets pages that also dereference as RDF."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from hdab.catalog import repository, service
from hdab.catalog.codec import record_from_json
from hdab.catalog.labels import datatype_label, label, quality_label
from hdab.catalog.models import DatasetStatus
from hdab.catalog.publish import catalog_page_graph
from hdab.catalog.rdf.formats import (
    BY_KEY,
    BY_MEDIA_TYPE,
    FORMATS,
    HTML,
    TURTLE,
    negotiate,
    serialize,
    turtle_fragment,
    turtle_header,
)
from hdab.catalog.rdf.profiles import new_graph
from hdab.catalog.schemas import schema_org
from hdab.catalog.search import backend
from hdab.catalog.search.params import search_query
from hdab.core import clock, runtime
from hdab.core.errors import FieldError, InvalidInput, NotFound, ProblemError
from hdab.core.templating import templates
from hdab.core.web import Paging, cache_headers, db_session, not_modified, paging, preferred_language

router = APIRouter(tags=["catalogue"])

FORMAT_HELP = "ttl, jsonld, rdf or nt (overrides Accept)"


def _format_param(format: str | None) -> str | None:
    if format is None:
        return None
    fmt = BY_KEY.get(format)
    if fmt is None:
        raise InvalidInput(
            "unknown format", [FieldError("query.format", f"use one of {', '.join(f.key for f in FORMATS)}")]
        )
    return fmt.media_type


def _modified_since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            "modified_since is not an ISO 8601 date or date-time",
            [FieldError("query.modified_since", "for example 2026-11-01 or 2026-11-01T12:00:00Z")],
        ) from None
    try:
        return clock.in_utc(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC))
    except clock.OutOfRange as exc:
        raise InvalidInput(
            "modified_since is out of range", [FieldError("query.modified_since", str(exc))]
        ) from None


def _etag(*parts: object) -> str:
    return 'W/"' + hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:32] + '"'


@router.get(
    "/catalog",
    summary="The catalogue as DCAT-AP / HealthDCAT-AP RDF, paged for harvesters",
    responses={200: {"content": {f.media_type: {} for f in FORMATS}}, 304: {"description": "not modified"}},
)
def catalog(
    request: Request,
    page: Paging = Depends(paging),
    format: str | None = Query(None, description=FORMAT_HELP),
    modified_since: str | None = Query(None, description="only records changed after this ISO 8601 time"),
    session: Session = Depends(db_session, scope="function"),
) -> Response:
    media = _format_param(format) or negotiate(request.headers.get("accept"), False, TURTLE.media_type)
    since = _modified_since(modified_since)
    total = session.scalar(repository.count_published(since)) or 0
    last_change = session.scalar(repository.last_change())
    rows = list(session.scalars(repository.published(since).offset(page.offset).limit(page.page_size)))
    etag = _etag(
        "catalog", media, page, modified_since, total, [(r.identifier, r.version) for r in rows], last_change
    )
    headers = cache_headers(etag, last_change)
    if not_modified(request, etag, last_change):
        return Response(status_code=304, headers=headers)
    extra = {"modified_since": modified_since} if modified_since else {}
    if format:
        extra["format"] = format
    turtle = media == TURTLE.media_type
    graph = catalog_page_graph(
        runtime.settings(),
        rows,
        page=page.page,
        page_size=page.page_size,
        total=total,
        modified=last_change.date() if last_change else None,
        extra_query=extra,
        with_datasets=not turtle,
    )
    if turtle:
        # Each record's Turtle was made when it was saved; a page only joins them.
        body = turtle_header() + turtle_fragment(graph) + "".join(row.turtle for row in rows)
        return Response(body.encode("utf-8"), media_type=media, headers=headers)
    return Response(serialize(graph, BY_MEDIA_TYPE[media]), media_type=media, headers=headers)


@router.get("/datasets", response_class=HTMLResponse, summary="The human catalogue, searchable")
def datasets_page(
    request: Request,
    q: str = Query("", max_length=500),
    page: Paging = Depends(paging),
    sort: str | None = Query(None),
) -> Response:
    query = search_query(request, q, Paging(page.page, min(page.page_size, 50)), sort)
    result = backend().search(query)
    lang = query.lang
    base = [(k, v) for k, v in request.query_params.multi_items() if k not in ("page", "partial")]

    def toggle(facet: str, value: str) -> str:
        pair = (facet, value)
        items = [p for p in base if p != pair] if pair in base else [*base, pair]
        return "?" + urlencode(items)

    context = {
        "q": q,
        "result": result,
        "query": query,
        "lang": lang,
        "label": label,
        "toggle": toggle,
        "selected": query.filters,
        "next_page": "?" + urlencode([*base, ("page", query.page + 1)])
        if query.page * query.page_size < result.total
        else None,
    }
    name = "catalog/_results.html" if request.query_params.get("partial") == "1" else "catalog/datasets.html"
    return templates.TemplateResponse(request, name, context)


def _dataset_graph_bytes(ntriples: str, media: str) -> bytes:
    graph = new_graph()
    graph.parse(data=ntriples, format="nt")
    return serialize(graph, BY_MEDIA_TYPE[media])


@router.get(
    "/datasets/{identifier}",
    summary="A dataset: an HTML page for browsers, RDF by content negotiation or ?format=",
    responses={200: {"content": {HTML: {}, **{f.media_type: {} for f in FORMATS}}}, 404: {}, 410: {}},
)
def dataset(
    identifier: str,
    request: Request,
    format: str | None = Query(None, description=FORMAT_HELP),
    session: Session = Depends(db_session, scope="function"),
) -> Response:
    row = session.scalars(repository.by_identifier(identifier)).one_or_none()
    if row is None:
        raise NotFound(f"no dataset with identifier {identifier!r}")
    if row.status is DatasetStatus.WITHDRAWN:
        raise ProblemError(f"dataset {identifier!r} has been withdrawn", 410, "withdrawn")
    media = _format_param(format) or negotiate(request.headers.get("accept"), True, HTML)
    lang = preferred_language(request)
    etag = _etag("dataset", identifier, row.version, media, lang if media == HTML else "")
    headers = cache_headers(etag, row.updated_at)
    if not_modified(request, etag, row.updated_at):
        return Response(status_code=304, headers=headers)
    if media != HTML:
        return Response(_dataset_graph_bytes(row.ntriples, media), media_type=media, headers=headers)
    record = record_from_json(row.record)
    quality = service.quality(session, runtime.settings(), identifier)
    return templates.TemplateResponse(
        request,
        "catalog/dataset.html",
        {
            "record": record,
            "lang": lang,
            "label": label,
            "datatype_label": datatype_label,
            "quality_label": quality_label,
            "formats": FORMATS,
            "schema_org": json.dumps(schema_org(record, lang), ensure_ascii=False).replace("</", "<\\/"),
            "version": row.version,
            "quality": quality,
        },
        headers=headers,
    )


@router.get("/catalog/datasets/{identifier}", include_in_schema=False)
def dataset_alias(identifier: str) -> Response:
    return RedirectResponse(f"/datasets/{identifier}", status_code=301)


VOCABULARY = Path(__file__).parent / "rdf" / "hdab.ttl"


@router.get(
    "/ns",
    summary="The hdab vocabulary (Turtle): disclosure roles and default generalisations of variables",
    response_class=Response,
    responses={200: {"content": {"text/turtle": {}}}},
)
def vocabulary() -> Response:
    return Response(
        VOCABULARY.read_bytes(),
        media_type="text/turtle; charset=utf-8",
        headers={"Cache-Control": "public, max-age=86400"},
    )
