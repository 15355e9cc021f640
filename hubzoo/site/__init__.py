"""The docs site: generated files kept in step with the registry, and mkdocs build-time additions."""
