"""Tooling for the project's own tests and benchmarks (not part of the product): the legacy
tensorflow_hub 0.15 client venv, the downstream sweep, the seed pages and their modules."""
