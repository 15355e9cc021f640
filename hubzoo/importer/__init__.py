"""Importing tfhub.dev model pages into the registry, for anyone migrating an existing zoo.

hubzoo.importer.pages    what a tfhub.dev page states (facts, prose, layout), or why it cannot
hubzoo.importer.factor   where each fact is written once (layers, patterns, defaults)
hubzoo.importer.names    family and variant of a module name; ids of shared values
hubzoo.importer.build    pages -> the registry files an import writes
hubzoo.importer.writing  the YAML writer
hubzoo.importer.run      write into a copy, lock new versions, verify, put in place
"""
