"""The extract pipeline: pure transformations from a permit's plan to a delivered extract."""
