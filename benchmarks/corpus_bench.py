"""Render the tfhub.dev corpus from the registry's records and compare it byte for byte.

Prints `N/784 identical` for the corpus's model pages, the publisher page's status, the seeds'
(each in its record's docs era), and the time to load, validate and render everything. On a
difference it prints how many files differ and the first unified diff, and exits 1.
"""

import argparse
import difflib
import hashlib
import sys
import time
from pathlib import Path

from devtools.seeds import SEED_PAGES, SEEDS_DIR
from hubzoo.paths import REGISTRY_DIR, REPO_ROOT
from hubzoo.registry import load_registry
from hubzoo.render import page_path, render_pages
from hubzoo.tfhub_dev import tfhub_dev_files

CORPUS = REPO_ROOT / "tests" / "data" / "tfhub_dev_corpus"


def manifest(corpus: Path) -> list[tuple[str, str]]:
    """(path, kind) of every corpus file, each checked against its sha256 in MANIFEST.tsv."""
    rows = []
    for line in (corpus / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        path, sha256, kind, _ = line.split("\t")
        if hashlib.sha256((corpus / path).read_bytes()).hexdigest() != sha256:
            raise SystemExit(f"{path}: its sha256 is not the manifest's; the corpus changed")
        rows.append((path, kind))
    return rows


def first_diff(name: str, expected: str, got: str | None) -> str:
    if got is None:
        return f"{name}: no record renders it\n"
    lines = difflib.unified_diff(
        expected.splitlines(keepends=True), got.splitlines(keepends=True),
        f"expected/{name}", f"rendered/{name}",
    )  # fmt: skip
    return "".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--registry", type=Path, default=REGISTRY_DIR)
    args = parser.parse_args()
    started = time.perf_counter()
    registry = load_registry(args.registry)
    rendered = tfhub_dev_files(registry, args.registry)
    docs = render_pages(registry)
    elapsed = time.perf_counter() - started

    differing = []
    model_pages = identical = 0
    for path, kind in manifest(args.corpus):
        expected = (args.corpus / path).read_text(encoding="utf-8")
        same = rendered.get(path) == expected
        if kind == "Publisher":
            print(f"publisher page {path}: {'identical' if same else 'DIFFERS'}")
        else:
            model_pages += 1
            identical += same
        if not same:
            differing.append(first_diff(path, expected, rendered.get(path)))
    print(f"{identical}/{model_pages} identical")
    for seed, handle in SEED_PAGES.items():
        expected = (SEEDS_DIR / seed).read_text(encoding="utf-8")
        got = docs.get(page_path(handle))
        era = registry.modules[handle].docs_era
        print(
            f"seed {seed} ({handle}, docs era {era}): {'identical' if got == expected else 'DIFFERS'}"
        )
        if got != expected:
            differing.append(first_diff(f"seeds/{seed}", expected, got))
    print(
        f"loaded, validated and rendered {len(rendered) + len(docs)} files "
        f"(tfhub.dev tree and docs/) in {elapsed:.2f} s"
    )
    if differing:
        print(f"{len(differing)} file(s) differ; the first:")
        print(differing[0], end="")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
