"""Run every benchmark and print its figures."""

from __future__ import annotations

import sys

from bench import applications, audit_chain, catalog, deliveries, engines, extract, pages, search, sparql


def main() -> int:
    benchmarks = (audit_chain, catalog, sparql, search, applications, extract, engines, deliveries, pages)
    for benchmark in benchmarks:
        benchmark.main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
