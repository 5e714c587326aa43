"""The OpenSearch index: stock parts only, and a reindex that never leaves search empty."""

from __future__ import annotations

import threading

from fastapi.testclient import TestClient

from hdab.catalog.search import backend, sync
from hdab.catalog.search.opensearch import INDEX_SETTINGS, MAPPINGS
from hdab.core import runtime
from hdab.core.settings import Settings

# What every OpenSearch 2.x has without plugins (analysis-common is part of the distribution).
STOCK_TOKENIZERS = {"standard"}
STOCK_FILTERS = {"lowercase", "asciifolding", "stop", "stemmer"}
STOCK_STEMMERS = {"norwegian", "english", "light_english", "light_norwegian", "minimal_norwegian"}
STOCK_STOPWORDS = {"_norwegian_", "_english_"}
STOCK_FIELD_TYPES = {"text", "keyword", "object"}


def test_index_settings_and_mappings_use_only_stock_opensearch_parts() -> None:
    analysis = INDEX_SETTINGS["analysis"]
    for name, analyzer in analysis["analyzer"].items():
        assert analyzer["type"] == "custom", name  # never the built-in "norwegian" analyzer type
        assert analyzer["tokenizer"] in STOCK_TOKENIZERS
        for filter_name in analyzer["filter"]:
            definition = analysis["filter"].get(filter_name, {"type": filter_name})
            assert definition["type"] in STOCK_FILTERS, filter_name
            if definition["type"] == "stemmer":
                assert definition["language"] in STOCK_STEMMERS
                assert (
                    definition["language"] != "light_norwegian"
                )  # the test server lacks it; we use it nowhere
            if definition["type"] == "stop":
                assert definition["stopwords"] in STOCK_STOPWORDS

    def field_types(properties: dict[str, object]) -> set[str]:
        types: set[str] = set()
        for spec in properties.values():
            assert isinstance(spec, dict)
            types.add(spec["type"])
            types |= field_types(spec.get("fields", {}))
        return types

    assert field_types(MAPPINGS["properties"]) <= STOCK_FIELD_TYPES
    assert MAPPINGS["dynamic"] == "strict"


def test_reindex_swaps_the_alias_without_an_empty_moment(
    search_client: TestClient, search_settings: Settings
) -> None:
    if not search_settings.search_url:
        import pytest

        pytest.skip("aliases are OpenSearch's")
    totals: list[int] = []
    done = threading.Event()

    def rebuild_three_times() -> None:
        try:
            for _ in range(3):
                sync.rebuild(runtime.database())
        finally:
            done.set()

    worker = threading.Thread(target=rebuild_three_times)
    worker.start()
    while not done.is_set():
        totals.append(search_client.get("/api/search").json()["total"])
    worker.join()
    totals.append(search_client.get("/api/search").json()["total"])
    assert totals and set(totals) == {8}
    client = backend().client  # type: ignore[attr-defined]
    assert len(client.indices.get_alias(name="hdab-datasets")) == 1  # old indexes deleted
