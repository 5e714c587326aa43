"""Run every benchmark and print its figures."""

from __future__ import annotations

import sys

from bench import audit_chain, catalog, search


def main() -> int:
    for benchmark in (audit_chain, catalog, search):
        benchmark.main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
