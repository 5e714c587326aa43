"""Search parameters from a request, the same for the API and the page."""

from __future__ import annotations

from fastapi import Request

from hdab.catalog.search.backend import SORTS, SearchQuery
from hdab.catalog.search.documents import FACETS
from hdab.core.errors import FieldError, InvalidInput
from hdab.core.web import Paging, preferred_language


def search_query(request: Request, q: str, page: Paging, sort: str | None) -> SearchQuery:
    if sort is not None and sort not in SORTS:
        raise InvalidInput("unknown sort", [FieldError("query.sort", f"use one of {', '.join(SORTS)}")])
    filters = {
        facet: tuple(dict.fromkeys(v for v in request.query_params.getlist(facet) if v))
        for facet in FACETS
        if request.query_params.getlist(facet)
    }
    for facet, values in filters.items():
        if len(values) > 50 or any(len(v) > 200 for v in values):
            raise InvalidInput(
                "too many or too long facet values", [FieldError(f"query.{facet}", "at most 50 of 200")]
            )
    return SearchQuery(
        q=q,
        filters={k: v for k, v in filters.items() if v},
        page=page.page,
        page_size=page.page_size,
        sort=sort or ("relevance" if q.strip() else "identifier"),
        lang=preferred_language(request),
    )
