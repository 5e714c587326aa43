"""Extract jobs: one per permit version (or statistics request), run step by step, reviewed when held."""
