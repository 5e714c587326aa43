"""The registries' source tables: their layout, "as known at T" reads, provenance, synthetic data."""
