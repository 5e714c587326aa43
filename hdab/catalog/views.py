"""Public catalogue endpoints: /catalog for harvesters, /datasets pages that also dereference as RDF."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from rdflib import Graph
from rdflib.namespace import DCTERMS
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from hdab.catalog import repository, service, sparql, sparql_worker
from hdab.catalog.codec import record_from_json
from hdab.catalog.labels import datatype_label, label, quality_label
from hdab.catalog.models import CatalogDataset, DatasetStatus
from hdab.catalog.publish import (
    additions,
    catalog_iri,
    catalog_page_graph,
    catalog_page_turtle,
    catalog_record,
    catalogue_graph,
    dataset_document,
    page_links,
    write_access_service,
    write_catalog_record,
    write_permit_licence,
)
from hdab.catalog.rdf.dcat_ap_no import to_dcat_ap_no
from hdab.catalog.rdf.formats import (
    BY_KEY,
    BY_MEDIA_TYPE,
    FORMATS,
    HTML,
    RDF_MEDIA_TYPES,
    TURTLE,
    negotiate,
    serialize,
)
from hdab.catalog.rdf.profiles import new_graph
from hdab.catalog.rdf.profiles.dcat_ap3 import write_agent
from hdab.catalog.schemas import schema_org
from hdab.catalog.search import backend
from hdab.catalog.search.params import search_query
from hdab.catalog.seed import hdab_agent
from hdab.core import clock, runtime
from hdab.core.errors import FieldError, InvalidInput, NotFound, ProblemError
from hdab.core.httpsemantics import READ_ONLY
from hdab.core.settings import Settings
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


# Harvesters may keep an RDF answer five minutes and then revalidate it (ETag, Last-Modified); a
# page for people is revalidated every time, so an edit shows at once.
RDF_CACHE = "public, max-age=300"
HTML_CACHE = "no-cache"

# The public read-only paths other sites' pages may read (hdab.app installs the CORS middleware).
PUBLIC_PATHS = (
    "/catalog",
    "/catalog/",
    "/datasets",
    "/datasets/",
    "/agents/",
    "/services/",
    "/licences/",
    "/ns",
)
CORS_PATHS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(PUBLIC_PATHS, READ_ONLY),
    "/api/datasets": READ_ONLY,
    "/api/datasets/": READ_ONLY,
    "/sparql": (*READ_ONLY, "POST"),
}
CORS_EXPOSED = ("ETag", "Last-Modified", "Link", "Location", "Content-Location")


def _choose(request: Request, format: str | None, offers: tuple[str, ...], default: str) -> str:
    """The media type to answer with: ?format= first, else the Accept header; 406 when none is acceptable."""
    chosen = _format_param(format)
    if chosen is not None:
        return chosen
    media = negotiate(request.headers.get("accept"), offers, default)
    if media is None:
        raise ProblemError(
            "none of the media types the Accept header allows is available here; available: "
            + ", ".join(offers),
            406,
            "not-acceptable",
            [FieldError("header.accept", "accept one of " + ", ".join(offers))],
            headers={"Vary": "Accept"},
        )
    return media


def _rdf_response(graph: Graph, media: str, headers: dict[str, str]) -> Response:
    return Response(serialize(graph, BY_MEDIA_TYPE[media]), media_type=media, headers=headers)


@router.get(
    "/catalog",
    summary="The catalogue as DCAT-AP / HealthDCAT-AP RDF, paged for harvesters",
    description="Content negotiation: Turtle by default, the other RDF types by Accept or ?format=; a "
    "browser (Accept preferring text/html) is sent to the dataset list (303); an Accept that allows "
    "none of them gets 406. `Link` names the first, last, next and previous pages. With "
    "`modified_since`, datasets withdrawn since then appear as their dcat:CatalogRecord with "
    "adms:status Withdrawn, so an incremental harvest can remove them.",
    responses={
        200: {"content": {f.media_type: {} for f in FORMATS}},
        303: {"description": "a browser: to /datasets"},
        304: {"description": "not modified"},
        406: {"description": "no acceptable type"},
    },
)
def catalog(
    request: Request,
    page: Paging = Depends(paging),
    format: str | None = Query(None, description=FORMAT_HELP),
    modified_since: str | None = Query(None, description="only records changed after this ISO 8601 time"),
    profile: str = Query(
        "dcat-ap", description="dcat-ap (DCAT-AP 3 with HealthDCAT-AP) or dcat-ap-no (DCAT-AP-NO 2)"
    ),
    session: Session = Depends(db_session, scope="function"),
) -> Response:
    norwegian = _profile(profile)
    media = _choose(request, format, (*RDF_MEDIA_TYPES, HTML), TURTLE.media_type)
    if media == HTML:
        return RedirectResponse("/datasets", status_code=303, headers={"Vary": "Accept"})
    since = _modified_since(modified_since)
    if since is None:
        total = session.scalar(repository.count_published()) or 0
        query = repository.published()
    else:
        total = session.scalar(repository.count_changed_since(since)) or 0
        query = repository.changed_since(since)
    last_change = session.scalar(repository.last_change())
    rows = list(session.scalars(query.offset(page.offset).limit(page.page_size)))
    etag = _etag(
        "catalog",
        media,
        page,
        modified_since,
        total,
        [(r.identifier, r.version) for r in rows],
        last_change,
        runtime.settings().base_url,
        profile,
    )
    extra = {"modified_since": modified_since} if modified_since else {}
    if format:
        extra["format"] = format
    if norwegian:
        extra["profile"] = profile
    settings = runtime.settings()
    headers = cache_headers(etag, last_change) | {
        "Cache-Control": RDF_CACHE,
        "Link": page_links(catalog_iri(settings.base_url), page.page, page.page_size, total, extra),
    }
    if not_modified(request, etag, last_change):
        return Response(status_code=304, headers=headers)
    turtle = media == TURTLE.media_type
    graph = catalog_page_graph(
        settings,
        rows,
        page=page.page,
        page_size=page.page_size,
        total=total,
        modified=last_change.date() if last_change else None,
        extra_query=extra,
        with_datasets=not turtle or norwegian,
    )
    if norwegian:
        return _rdf_response(to_dcat_ap_no(graph), media, headers)
    if turtle:
        # Each record's Turtle was made when it was saved; a page only joins them.
        body = catalog_page_turtle(settings, rows, graph)
        return Response(body.encode("utf-8"), media_type=media, headers=headers)
    return _rdf_response(graph, media, headers)


PROFILES = ("dcat-ap", "dcat-ap-no")


def _profile(profile: str) -> bool:
    """Whether ``profile`` asks for DCAT-AP-NO; 422 for an unknown one."""
    if profile not in PROFILES:
        raise InvalidInput("unknown profile", [FieldError("query.profile", "use dcat-ap or dcat-ap-no")])
    return profile == "dcat-ap-no"


_documents: dict[str, bytes] = {}


@router.get(
    "/catalog/dcat-ap-no",
    summary="The whole catalogue as one DCAT-AP-NO 2 document, for data.norge.no (no paging)",
    description="data.norge.no's harvester reads one document per source and follows no paging: every "
    "published dataset is here. Conditional GET (ETag, Last-Modified) saves it the transfer when "
    "nothing changed.",
    responses={
        200: {"content": {f.media_type: {} for f in FORMATS}},
        304: {"description": "not modified"},
        406: {"description": "no acceptable type"},
    },
)
def catalog_dcat_ap_no(
    request: Request,
    format: str | None = Query(None, description=FORMAT_HELP),
    session: Session = Depends(db_session, scope="function"),
) -> Response:
    media = _choose(request, format, RDF_MEDIA_TYPES, TURTLE.media_type)
    settings = runtime.settings()
    last_change = session.scalar(repository.last_change())
    rows = list(session.scalars(repository.published()))
    etag = _etag(
        "dcat-ap-no", media, [(r.identifier, r.version) for r in rows], last_change, settings.base_url
    )
    headers = cache_headers(etag, last_change) | {"Cache-Control": RDF_CACHE}
    if not_modified(request, etag, last_change):
        return Response(status_code=304, headers=headers)
    body = _documents.get(etag)
    if body is None:
        graph = catalog_page_graph(
            settings,
            rows,
            page=1,
            page_size=max(1, len(rows)),
            total=len(rows),
            modified=last_change.date() if last_change else None,
            extra_query={},
        )
        body = serialize(to_dcat_ap_no(graph), BY_MEDIA_TYPE[media])
        if len(_documents) >= 2 * len(FORMATS):  # the current document in each format, and the last
            _documents.clear()
        _documents[etag] = body
    return Response(body, media_type=media, headers=headers)


# --- SPARQL (issue 18, item 7) ------------------------------------------------------------------------

SPARQL_FORM_TYPES = ("application/x-www-form-urlencoded",)
SPARQL_DESCRIPTION = (
    "@prefix sd: <http://www.w3.org/ns/sparql-service-description#> .\n"
    "@prefix dct: <http://purl.org/dc/terms/> .\n"
    "<{endpoint}> a sd:Service ;\n"
    "    sd:endpoint <{endpoint}> ;\n"
    "    sd:supportedLanguage sd:SPARQL11Query ;\n"
    "    sd:resultFormat <http://www.w3.org/ns/formats/SPARQL_Results_JSON>,\n"
    "        <http://www.w3.org/ns/formats/SPARQL_Results_CSV>, <http://www.w3.org/ns/formats/Turtle>,\n"
    "        <http://www.w3.org/ns/formats/N-Triples> ;\n"
    '    sd:defaultDataset [ a sd:Dataset ; dct:description "The public catalogue: {catalog}"@en ] ;\n'
    '    dct:description "Read-only SPARQL 1.1 over the public catalogue graph; at most {rows} results,'
    ' {seconds:g} s per query."@en .\n'
)


def _sparql_graph_source(settings: Settings) -> tuple[str, Callable[[], str]]:
    """(stamp, maker of N-Triples) of the public catalogue graph as it is now."""
    with runtime.database().session(write=False) as session:
        rows = list(session.scalars(repository.published()))
        last_change = session.scalar(repository.last_change())
        # the rows' state is read now; the graph is made only if the worker lacks it
        snapshot = [(r.identifier, r.version, r.updated_at) for r in rows]
        for row in rows:
            session.expunge(row)
    stamp = sparql.stamp_of([settings.base_url, snapshot, last_change])

    def make() -> str:
        graph = catalogue_graph(settings, rows, last_change.date() if last_change else None)
        return graph.serialize(format="nt")

    return stamp, make


def _run_sparql(text: str, accept: str | None) -> Response:
    try:
        form = sparql.check_query(text)
    except sparql.QueryRefused as exc:
        raise InvalidInput(str(exc), [FieldError("query", str(exc))]) from None
    offers = sparql.result_types(form)
    aliases = {"application/json": sparql_worker.JSON, "text/plain": sparql_worker.NTRIPLES}
    media = negotiate(accept, (*offers, *(a for a in aliases if aliases[a] in offers)), offers[0])
    if media is None:
        raise ProblemError(
            f"a {form} query answers in " + ", ".join(offers),
            406,
            "not-acceptable",
            [FieldError("header.accept", "accept one of " + ", ".join(offers))],
        )
    settings = runtime.settings()
    stamp, make = _sparql_graph_source(settings)
    try:
        answer = sparql.endpoint.query(text, aliases.get(media, media), stamp, make)
    except sparql.QueryRefused as exc:
        raise InvalidInput("the query cannot run: " + str(exc), [FieldError("query", str(exc))]) from None
    except sparql.QueryTimeout as exc:
        raise ProblemError(str(exc), 503, "query-timeout") from None
    except sparql.Busy:
        raise ProblemError(
            "other queries kept the SPARQL worker busy; try again", 503, "busy", headers={"Retry-After": "5"}
        ) from None
    headers = {"Cache-Control": "no-store", "Vary": "Accept"}
    if answer.truncated:
        headers["X-SPARQL-MaxRows"] = str(sparql.MAX_ROWS)
    return Response(answer.body, media_type=answer.media_type, headers=headers)


@router.api_route(
    "/sparql",
    methods=["GET", "POST"],
    summary="Read-only SPARQL 1.1 over the public catalogue graph (SPARQL 1.1 Protocol)",
    description="`query` as a URL parameter (GET), a form field (POST "
    "application/x-www-form-urlencoded) or the body (POST application/sparql-query). SELECT answers "
    "in SPARQL JSON or CSV, ASK in JSON, CONSTRUCT and DESCRIBE in Turtle or N-Triples (by Accept). "
    f"At most {sparql.MAX_ROWS} results (`X-SPARQL-MaxRows` when cut), {sparql.TIMEOUT_SECONDS:g} s per "
    "query (503 after). No update, no SERVICE. Without a query: the service description (Turtle).",
    responses={
        200: {"content": {m: {} for m in (*sparql.SELECT_TYPES, *sparql.GRAPH_TYPES)}},
        400: {"description": "an update, or a dataset other than the catalogue"},
        406: {},
        415: {},
        422: {"description": "the query does not parse, or is refused (SERVICE, too long)"},
        503: {"description": "the query ran too long and was stopped, or the endpoint is busy"},
    },
)
async def sparql_endpoint(request: Request) -> Response:
    params = request.query_params
    text: str | None = params.get("query")
    form_fields: dict[str, str] = {}
    if request.method == "POST":
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        body = await request.body()
        if len(body) > sparql.MAX_QUERY_CHARS * 4:
            raise ProblemError("the request is too large for a query", 413, "too-large")
        if content_type == "application/sparql-update":
            raise ProblemError("this endpoint is read-only: it runs no update", 400, "read-only")
        if content_type == "application/sparql-query":
            text = body.decode("utf-8", errors="replace")
        elif content_type in SPARQL_FORM_TYPES:
            form_fields = dict(parse_qsl(body.decode("utf-8", errors="replace")))
            text = form_fields.get("query", text)
        else:
            raise ProblemError(
                "send the query as application/sparql-query or application/x-www-form-urlencoded",
                415,
                "unsupported-media-type",
            )
    if "update" in params or "update" in form_fields:
        raise ProblemError("this endpoint is read-only: it runs no update", 400, "read-only")
    if any(k in params or k in form_fields for k in ("default-graph-uri", "named-graph-uri")):
        raise ProblemError("only the catalogue graph can be queried: no graph parameters", 400, "bad-request")
    if text is None:
        settings = runtime.settings()
        description = SPARQL_DESCRIPTION.format(
            endpoint=f"{settings.base_url}/sparql",
            catalog=catalog_iri(settings.base_url),
            rows=sparql.MAX_ROWS,
            seconds=sparql.TIMEOUT_SECONDS,
        )
        return Response(description.encode(), media_type="text/turtle", headers={"Cache-Control": RDF_CACHE})
    return await run_in_threadpool(_run_sparql, text, request.headers.get("accept"))


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


def _published_row(session: Session, identifier: str) -> CatalogDataset:
    row = session.scalars(repository.by_identifier(identifier)).one_or_none()
    if row is None:
        raise NotFound(f"no dataset with identifier {identifier!r}")
    if row.status is DatasetStatus.WITHDRAWN:
        raise ProblemError(f"dataset {identifier!r} has been withdrawn", 410, "withdrawn")
    return row


@router.get(
    "/datasets/{identifier}",
    summary="A dataset: an HTML page for browsers, RDF by content negotiation or ?format=",
    responses={
        200: {"content": {HTML: {}, **{f.media_type: {} for f in FORMATS}}},
        404: {},
        406: {"description": "no acceptable type"},
        410: {},
    },
)
def dataset(
    identifier: str,
    request: Request,
    format: str | None = Query(None, description=FORMAT_HELP),
    session: Session = Depends(db_session, scope="function"),
) -> Response:
    row = _published_row(session, identifier)
    media = _choose(request, format, (HTML, *RDF_MEDIA_TYPES), HTML)
    lang = preferred_language(request)
    etag = _etag("dataset", identifier, row.version, media, lang if media == HTML else "", row.iri)
    headers = cache_headers(etag, row.updated_at) | {
        "Cache-Control": HTML_CACHE if media == HTML else RDF_CACHE
    }
    if not_modified(request, etag, row.updated_at):
        return Response(status_code=304, headers=headers)
    if media != HTML:
        return _rdf_response(dataset_document(runtime.settings(), row), media, headers)
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


# --- every other IRI the catalogue mints dereferences: RDF, or a 303 to the page people read --------


def _resource(
    request: Request, format: str | None, graph: Graph, page: str, etag_parts: tuple[object, ...]
) -> Response:
    media = _choose(request, format, (*RDF_MEDIA_TYPES, HTML), TURTLE.media_type)
    if media == HTML:
        return RedirectResponse(page, status_code=303, headers={"Vary": "Accept"})
    etag = _etag("resource", media, runtime.settings().base_url, *etag_parts)
    headers = {"ETag": etag, "Vary": "Accept", "Cache-Control": RDF_CACHE}
    if not_modified(request, etag, None):
        return Response(status_code=304, headers=headers)
    return _rdf_response(graph, media, headers)


RESOURCE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {f.media_type: {} for f in FORMATS}},
    303: {"description": "a browser: to the page that shows it"},
    404: {},
    406: {"description": "no acceptable type"},
}


@router.get(
    "/datasets/{identifier}/distributions/{name}",
    summary="A distribution of a dataset: the dataset's RDF, which describes it (or its page)",
    responses={**RESOURCE_RESPONSES, 410: {}},
)
def distribution(
    identifier: str,
    name: str,
    request: Request,
    format: str | None = Query(None, description=FORMAT_HELP),
    session: Session = Depends(db_session, scope="function"),
) -> Response:
    row = _published_row(session, identifier)
    iri = f"{row.iri}/distributions/{name}"
    if not any(d.get("iri") == iri for d in row.record.get("distributions", [])):
        raise NotFound(f"dataset {identifier!r} has no distribution {name!r}")
    graph = dataset_document(runtime.settings(), row)
    return _resource(request, format, graph, f"/datasets/{identifier}", ("distribution", iri, row.version))


@router.get(
    "/catalog/records/{identifier}",
    summary="The catalogue record of a dataset: issued, modified and status (withdrawn ones too)",
    responses=RESOURCE_RESPONSES,
)
def catalog_record_view(
    identifier: str,
    request: Request,
    format: str | None = Query(None, description=FORMAT_HELP),
    session: Session = Depends(db_session, scope="function"),
) -> Response:
    row = session.scalars(repository.by_identifier(identifier)).one_or_none()
    if row is None:
        raise NotFound(f"no dataset with identifier {identifier!r}")
    graph = new_graph()
    write_catalog_record(graph, catalog_record(runtime.settings().base_url, row))
    return _resource(request, format, graph, f"/datasets/{identifier}", ("record", identifier, row.version))


@router.get(
    "/agents/{name}",
    summary="An agent the catalogue names (its HDAB): foaf:Agent",
    responses=RESOURCE_RESPONSES,
)
def agent(name: str, request: Request, format: str | None = Query(None, description=FORMAT_HELP)) -> Response:
    base = runtime.settings().base_url
    hdab = hdab_agent(base)
    if f"{base}/agents/{name}" != hdab.iri:
        raise NotFound(f"no agent {name!r}")
    graph = new_graph()
    write_agent(graph, hdab)
    return _resource(request, format, graph, "/", ("agent", name))


@router.get(
    "/services/access",
    summary='The "apply for access" data service of this HDAB (dcat:DataService)',
    responses=RESOURCE_RESPONSES,
)
def access_service(
    request: Request,
    format: str | None = Query(None, description=FORMAT_HELP),
    session: Session = Depends(db_session, scope="function"),
) -> Response:
    base = runtime.settings().base_url
    rows = list(session.scalars(repository.published()))
    served = [r.iri for r in rows if additions.of(base, r)[2]]
    graph = new_graph()
    write_access_service(graph, base, served)
    stamp = [(r.identifier, r.version) for r in rows]
    return _resource(request, format, graph, "/applications/new", ("service", stamp))


@router.get(
    "/licences/ehds-permit",
    summary="The licence of non-public distributions: access under an EHDS data permit",
    responses={**RESOURCE_RESPONSES, 200: {"content": {HTML: {}, **{f.media_type: {} for f in FORMATS}}}},
)
def permit_licence(request: Request, format: str | None = Query(None, description=FORMAT_HELP)) -> Response:
    base = runtime.settings().base_url
    graph = new_graph()
    node = write_permit_licence(graph, base)
    media = _choose(request, format, (*RDF_MEDIA_TYPES, HTML), TURTLE.media_type)
    if media != HTML:
        return _resource(request, format or BY_MEDIA_TYPE[media].key, graph, "/", ("licence",))
    lang = preferred_language(request)
    title = next(
        (str(o) for o in graph.objects(node, DCTERMS.title) if getattr(o, "language", "") == lang), ""
    )
    text = next(
        (str(o) for o in graph.objects(node, DCTERMS.description) if getattr(o, "language", "") == lang), ""
    )
    page = (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head><body><main><h1>{escape(title)}</h1><p>{escape(text)}</p></main></body></html>"
    )
    return HTMLResponse(page, headers={"Cache-Control": RDF_CACHE, "Vary": "Accept, Accept-Language"})


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
