"""The OpenSearch backend: explicit mappings, Norwegian and English analysis from built-in parts,
per-word multi_match with boosts and fuzziness, highlighting, facets as aggregations, and an alias
that a reindex swaps atomically.

Analysis is built from parts every stock OpenSearch 2.x has (standard tokenizer, lowercase,
asciifolding, stop with _norwegian_/_english_, stemmer norwegian/english), never the built-in
``norwegian`` analyzer type or a plugin.
"""

from __future__ import annotations

import contextlib
import html
import time
from collections.abc import Sequence
from typing import Any

from opensearchpy import OpenSearch, helpers
from opensearchpy.exceptions import NotFoundError

from hdab.catalog.search.analysis import query_terms
from hdab.catalog.search.backend import FacetValue, Hit, SearchQuery, SearchResult, facet_label, hit_for
from hdab.catalog.search.documents import BOOSTS, FACETS, FIELDS, SearchDocument
from hdab.core import clock

ALIAS = "hdab-datasets"

INDEX_SETTINGS: dict[str, Any] = {
    "number_of_shards": 1,
    "analysis": {
        "filter": {
            "hdab_no_stop": {"type": "stop", "stopwords": "_norwegian_"},
            "hdab_en_stop": {"type": "stop", "stopwords": "_english_"},
            "hdab_no_stem": {"type": "stemmer", "language": "norwegian"},
            "hdab_en_stem": {"type": "stemmer", "language": "english"},
        },
        "analyzer": {
            "hdab_no": {
                "type": "custom",
                "tokenizer": "standard",
                "filter": ["lowercase", "hdab_no_stop", "asciifolding", "hdab_no_stem"],
            },
            "hdab_en": {
                "type": "custom",
                "tokenizer": "standard",
                "filter": ["lowercase", "hdab_en_stop", "asciifolding", "hdab_en_stem"],
            },
            "hdab_plain": {
                "type": "custom",
                "tokenizer": "standard",
                "filter": ["lowercase", "asciifolding"],
            },
        },
    },
}

_TEXT = {
    "type": "text",
    "analyzer": "hdab_plain",
    "fields": {"no": {"type": "text", "analyzer": "hdab_no"}, "en": {"type": "text", "analyzer": "hdab_en"}},
}
_SHOWN = tuple(f"show_{part}_{lang}" for part in ("title", "description") for lang in ("en", "nb"))
MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        **dict.fromkeys(FIELDS, _TEXT),
        **{facet: {"type": "keyword"} for facet in FACETS},
        # What a hit shows, per language, so OpenSearch can highlight it.
        **dict.fromkeys(_SHOWN, _TEXT),
        "sort_title": {"type": "keyword"},
        "document": {"type": "object", "enabled": False},
    },
}


def _source(doc: SearchDocument, lang: str = "nb") -> dict[str, Any]:
    return {
        **{name: doc.fields[name] for name in FIELDS},
        **{facet: list(doc.facets.get(facet, ())) for facet in FACETS},
        **{f"show_title_{lang}": doc.title.get(lang, doc.title["en"]) for lang in ("en", "nb")},
        **{
            f"show_description_{lang}": doc.description.get(lang, doc.description["en"])
            for lang in ("en", "nb")
        },
        "sort_title": (doc.title.get(lang) or doc.title["en"]).lower(),
        "document": doc.as_json(),
    }


def _safe_fragment(fragment: str) -> str:
    """OpenSearch returns the stored text as it is, around its tags: escape all of it, then let
    only our own <mark> tags through (pages show highlights as HTML)."""
    escaped = html.escape(fragment)
    return escaped.replace("&lt;mark&gt;", "<mark>").replace("&lt;/mark&gt;", "</mark>")


class OpenSearchBackend:
    name = "opensearch"

    def __init__(self, url: str, client: OpenSearch | None = None) -> None:
        self.client = client or OpenSearch(hosts=[url], timeout=10)
        # Publisher names by organisation number, learnt from indexed documents (one lookup each).
        self._publisher_labels: dict[str, dict[str, dict[str, dict[str, str]]]] = {}
        # Once the alias is known to exist, searches stop asking (a round trip each); a search
        # that finds it gone makes it again. Writes always check (a write to a missing alias
        # would create an index with guessed mappings).
        self._alias_ready = False

    # --- index management -----------------------------------------------------------------------

    def _new_index(self) -> str:
        name = f"{ALIAS}-{clock.now().strftime('%Y%m%d%H%M%S%f')}"
        self.client.indices.create(index=name, body={"settings": INDEX_SETTINGS, "mappings": MAPPINGS})
        return name

    def _ensure_alias(self) -> None:
        if not self.client.indices.exists_alias(name=ALIAS):
            name = self._new_index()
            self.client.indices.update_aliases(body={"actions": [{"add": {"index": name, "alias": ALIAS}}]})
        self._alias_ready = True

    def index(self, documents: Sequence[SearchDocument]) -> None:
        self._ensure_alias()
        self._publisher_labels.clear()
        for doc in documents:
            self.client.index(index=ALIAS, id=doc.identifier, body=_source(doc), refresh=True)

    def remove(self, identifier: str) -> None:
        self._ensure_alias()
        with contextlib.suppress(NotFoundError):
            self.client.delete(index=ALIAS, id=identifier, refresh=True)

    def rebuild(self, documents: Sequence[SearchDocument]) -> None:
        """Build a new index, then swap the alias in one step: search never answers from an empty index."""
        self._publisher_labels.clear()
        name = self._new_index()
        helpers.bulk(
            self.client,
            ({"_index": name, "_id": d.identifier, "_source": _source(d)} for d in documents),
            chunk_size=500,
            request_timeout=120,
        )
        self.client.indices.refresh(index=name)
        old = (
            list(self.client.indices.get_alias(name=ALIAS))
            if self.client.indices.exists_alias(name=ALIAS)
            else []
        )
        actions: list[dict[str, Any]] = [{"remove": {"index": o, "alias": ALIAS}} for o in old]
        actions.append({"add": {"index": name, "alias": ALIAS}})
        self.client.indices.update_aliases(body={"actions": actions})
        for o in old:
            self.client.indices.delete(index=o)

    # --- searching ----------------------------------------------------------------------------------

    def search(self, query: SearchQuery) -> SearchResult:
        started = time.perf_counter()
        if not self._alias_ready:
            self._ensure_alias()
        lang = "nb" if query.lang == "nb" else "en"
        terms = query_terms(query.q)
        fields = [f"{name}.{sub}^{BOOSTS[name]}" for name in FIELDS for sub in ("no", "en")]
        fields += [f"{name}^{BOOSTS[name]}" for name in FIELDS]
        must: list[dict[str, Any]] = [
            # Each word must match in some field (AND over words), typos forgiven from five letters.
            {
                "multi_match": {
                    "query": t.word,
                    "fields": fields,
                    "fuzziness": "AUTO:5,100",
                    "prefix_length": 1,
                }
            }
            for t in terms
        ]
        facet_filters = {f: {"terms": {f: list(v)}} for f, v in query.filters.items()}
        aggregations = {
            facet: {
                "filter": {"bool": {"filter": [q for other, q in facet_filters.items() if other != facet]}},
                "aggs": {"values": {"terms": {"field": facet, "size": 1000}}},
            }
            for facet in FACETS
        }
        if query.sort == "title":
            sort: list[Any] = [{"sort_title": "asc"}, {"_id": "asc"}]
        elif query.sort == "identifier" or not terms:
            sort = [{"_id": "asc"}]
        else:
            sort = ["_score", {"_id": "asc"}]
        body = {
            "query": {"bool": {"must": must or [{"match_all": {}}]}},
            "post_filter": {"bool": {"filter": list(facet_filters.values())}},
            "aggs": aggregations,
            "sort": sort,
            "from": (query.page - 1) * query.page_size,
            "size": query.page_size,
            "track_total_hits": True,
            "highlight": {
                "pre_tags": ["<mark>"],
                "post_tags": ["</mark>"],
                "number_of_fragments": 0,
                "require_field_match": False,
                "highlight_query": {"bool": {"should": must or [{"match_none": {}}]}},
                "fields": {f"show_{part}_{lang}*": {} for part in ("title", "description")},
            },
        }
        try:
            response = self.client.search(index=ALIAS, body=body)
        except NotFoundError:  # the index went away under us (deleted by hand): make it again
            self._alias_ready = False
            self._ensure_alias()
            response = self.client.search(index=ALIAS, body=body)
        items: list[Hit] = []
        labels_seen: dict[str, dict[str, dict[str, str]]] = {}
        for raw in response["hits"]["hits"]:
            doc = SearchDocument.from_json(raw["_source"]["document"])
            labels_seen.update(doc.facet_labels)
            hit = hit_for(doc, terms, query.lang, float(raw.get("_score") or 0.0))
            marks = dict(hit.highlight)
            for part in ("title", "description"):
                fragments = [
                    f
                    for key, fs in raw.get("highlight", {}).items()
                    if key.startswith(f"show_{part}_{lang}")
                    for f in fs
                ]
                if fragments:
                    marks[part] = _safe_fragment(fragments[0])
            items.append(
                Hit(hit.identifier, hit.title, hit.description, marks, hit.matched_variables, hit.score)
            )
        facets: dict[str, list[FacetValue]] = {}
        for facet in FACETS:
            buckets = response["aggregations"][facet]["values"]["buckets"]
            facets[facet] = sorted(
                (
                    FacetValue(b["key"], self._label(facet, b["key"], query.lang), b["doc_count"])
                    for b in buckets
                ),
                key=lambda v: (-v.count, v.value),
            )
        return SearchResult(
            total=int(response["hits"]["total"]["value"]),
            items=items,
            facets=facets,
            took_ms=round((time.perf_counter() - started) * 1000, 2),
        )

    def _label(self, facet: str, value: str, lang: str) -> str:
        if facet != "publisher":
            return facet_label({}, facet, value, lang)
        if value in self._publisher_labels:
            return facet_label(self._publisher_labels[value], facet, value, lang)
        found = self.client.search(
            index=ALIAS,
            body={"size": 1, "query": {"term": {"publisher": value}}, "_source": ["document.facet_labels"]},
        )
        hits = found["hits"]["hits"]
        labels = hits[0]["_source"]["document"]["facet_labels"] if hits else {}
        self._publisher_labels[value] = labels
        return facet_label(labels, facet, value, lang)
