"""hubzoo: the registry, pages, site, packaging, store and publish pipeline of the zoo."""
