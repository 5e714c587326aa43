"""The query DSL the OpenSearch backend sends: shapes a real cluster answers cheaply.

Every request body sent while the app answers a spread of searches (words, typos, wildcard and
regex characters typed by a person, facets, sorts, pages) is recorded and checked: no wildcard,
regexp, script or query-string queries anywhere; the words as (fuzzy, prefix-anchored) match
queries; facets only as filters (post_filter, aggregation filters), never scored; facet counts as
filter + terms aggregations on keyword fields.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hdab.catalog.search import backend
from hdab.catalog.search.documents import FACETS
from hdab.catalog.search.opensearch import MAPPINGS, OpenSearchBackend

FORBIDDEN = {
    "wildcard",
    "regexp",
    "script",
    "script_score",
    "script_fields",
    "function_score",
    "query_string",
    "simple_query_string",
    "prefix",
    "fuzzy",  # typos only through match's bounded fuzziness, never an open fuzzy query
    "more_like_this",
}
KEYWORD_FIELDS = {name for name, spec in MAPPINGS["properties"].items() if spec.get("type") == "keyword"}

SEARCHES: list[dict[str, Any]] = [
    {"q": "somatikk"},
    {"q": "rusbehandlng"},  # a typo
    {"q": "psykisk helsevern", "sort": "title"},
    {"q": "hjerte*"},
    {"q": "/sykehus.*/"},
    {"q": 'a?b* OR title:x~2 AND "ventetid"'},
    {"q": "hovedtilstand", "coding_system": "ICD-10", "page": 2, "page_size": 2},
    {"q": "", "health_category": ["HRAD", "EHR"], "theme": "HEAL"},
    {"q": "mental health", "lang": "en", "sort": "identifier"},
]


def _keys(value: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield path, key, inner
            yield from _keys(inner, f"{path}.{key}")
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item, f"{path}[]")


@pytest.fixture
def recorded(search_client: TestClient, search_settings: object) -> list[dict[str, Any]]:
    if not getattr(search_settings, "search_url", ""):
        pytest.skip("the query DSL is the OpenSearch backend's")
    search_client.get("/api/search")  # makes the backend
    opensearch = backend()
    assert isinstance(opensearch, OpenSearchBackend)
    bodies: list[dict[str, Any]] = []
    real = opensearch.client.search

    def recording(*args: Any, **kwargs: Any) -> Any:
        bodies.append(kwargs["body"])
        return real(*args, **kwargs)

    opensearch.client.search = recording  # type: ignore[method-assign]
    opensearch._publisher_labels.clear()  # the publisher label lookups are searches too
    for params in SEARCHES:
        response = search_client.get(
            "/api/search",
            params={k: v for k, v in params.items() if k != "lang"},
            headers={"Accept-Language": params.get("lang", "nb")},
        )
        assert response.status_code == 200, (params, response.text)
    assert len(bodies) >= len(SEARCHES)
    return bodies


def test_no_wildcard_regexp_script_or_query_string_anywhere(recorded: list[dict[str, Any]]) -> None:
    for body in recorded:
        used = {key for _path, key, _value in _keys(body)}
        assert not used & FORBIDDEN, (used & FORBIDDEN, body)


def test_words_are_bounded_match_queries(recorded: list[dict[str, Any]]) -> None:
    searches = [b for b in recorded if "aggs" in b]
    assert len(searches) == len(SEARCHES)
    words = 0
    for body in searches:
        must = body["query"]["bool"]["must"]
        for clause in must:
            assert set(clause) <= {"multi_match", "match_all"}, clause
            if "multi_match" in clause:
                words += 1
                match = clause["multi_match"]
                assert set(match) <= {"query", "fields", "fuzziness", "prefix_length"}, match
                assert " " not in match["query"] and match["query"] == match["query"].strip()
                assert match["fuzziness"] == "AUTO:5,100" and match["prefix_length"] >= 1
        assert body["size"] <= 100 and body["from"] + body["size"] <= 10_000
    assert words >= len(SEARCHES)


def test_facets_are_filters_and_aggregations_never_scored(recorded: list[dict[str, Any]]) -> None:
    searches = [b for b in recorded if "aggs" in b]
    filtered = 0
    for body in searches:
        for path, key, _value in _keys(body["query"]):
            assert key not in FACETS, (path, key)  # a facet never takes part in the score
        for clause in body["post_filter"]["bool"]["filter"]:
            ((kind, spec),) = clause.items()
            assert kind == "terms" and set(spec) <= KEYWORD_FIELDS & set(FACETS), clause
            filtered += 1
        assert set(body["aggs"]) == set(FACETS)
        for facet, aggregation in body["aggs"].items():
            assert set(aggregation) == {"filter", "aggs"}
            for clause in aggregation["filter"]["bool"]["filter"]:
                ((kind, spec),) = clause.items()
                assert kind == "terms" and set(spec) <= set(FACETS) - {facet}, clause
            terms = aggregation["aggs"]["values"]["terms"]
            assert terms["field"] == facet and facet in KEYWORD_FIELDS and terms["size"] <= 1000
    assert filtered == 3  # the facets the searches above select: the filters were looked at


def test_lookups_besides_searches_are_term_queries(recorded: list[dict[str, Any]]) -> None:
    lookups = [b for b in recorded if "aggs" not in b]
    for body in lookups:
        ((kind, spec),) = body["query"].items()
        assert kind == "term" and set(spec) <= KEYWORD_FIELDS, body
