"""hubzoo: the registry, pages, site, packaging, store and publish pipeline of the zoo."""

__version__ = "0.2.0"
