"""Benchmarks: `make bench` (python -m bench). Each prints medians and a ratio to a baseline run alongside."""
