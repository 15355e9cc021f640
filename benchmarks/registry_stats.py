"""Count what the registry holds, and how much free text sits in its record files.

Free text is a string value with a space or a line break in it (prose), as opposed to ids,
handles, URLs, numbers and patterns of names. Records should hold facts, not prose: prose lives
in the shared files (texts, papers, changelog notes) and wording in the templates.
"""

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hubzoo.paths import REGISTRY_DIR, TEMPLATES_DIR
from hubzoo.registry import load_registry
from hubzoo.validate import find_record_files
from hubzoo.yamlnodes import load_plain


def strings(data: Any) -> Iterator[str]:
    """Every string value in `data` (not mapping keys)."""
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for value in data.values():
            yield from strings(value)
    elif isinstance(data, list):
        for value in data:
            yield from strings(value)


def free_text_bytes(data: Any) -> int:
    """Bytes (UTF-8) of the free text in `data`."""
    return sum(len(s.encode()) for s in strings(data) if " " in s or "\n" in s)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--registry", type=Path, default=REGISTRY_DIR)
    args = parser.parse_args()
    registry = load_registry(args.registry)
    families = registry.families.values()
    print(
        f"families {len(registry.families)}, variants {sum(len(f.variants) for f in families)}, "
        f"lines {sum(len(f.lines) for f in families)}, releases "
        f"{sum(len(line.releases) for f in families for line in f.lines.values())}"
    )
    print(f"module records {len(registry.modules)}, deployment records {len(registry.deployments)}")
    templates = [
        *(TEMPLATES_DIR / "module").glob("*.j2"),
        *(TEMPLATES_DIR / "deployment").glob("*.j2"),
        TEMPLATES_DIR / "publisher.md.j2",
    ]
    print(
        f"page eras: {len(registry.eras.module)} module, {len(registry.eras.deployment)} "
        f"deployment; page templates {len(templates)}"
    )
    paths = find_record_files(args.registry)
    data = [load_plain(path, str(path)) for path in paths]
    print(
        f"record files: {len(paths)}, {sum(p.stat().st_size for p in paths):,} bytes, "
        f"free text {sum(free_text_bytes(d) for d in data)} bytes"
    )
    shared = sorted(args.registry.glob("*.yaml")) + sorted(args.registry.glob("*/*.yaml"))
    for path in shared:
        if path.parent.name in ("tags", "schema"):
            continue
        text = free_text_bytes(load_plain(path, str(path)))
        print(
            f"  {path.relative_to(args.registry)}: {path.stat().st_size:,} bytes, free text {text}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
