"""Render every page of the registry and build the site from it; print pages/s and ratios.

Rendering: the registry's docs/ pages (every module in its docs era, every deployment) and its
tfhub.dev pages, against a baseline measured in the same run, Python-Markdown converting the
same page texts to HTML without any template: the ratio says how rendering compares with the
cheapest thing a site does with each page.

Site build: `mkdocs build --strict` with our hooks (registry and store read at build time,
Families menu, browse indexes, family pages, comparison table, catalog.json, the site's facts on
each model and deployment page) against a baseline without hooks: the same docs plus the same
generated pages, menu and facts written out as static files beforehand. Both run in a fresh
interpreter; the ratio is what the hooks cost. The site's size on disk is printed too.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import markdown
import yaml

from hubzoo.paths import DOCS_DIR, REGISTRY_DIR, REPO_ROOT
from hubzoo.registry import load_registry
from hubzoo.render import PAGES_FOLDER, render_pages
from hubzoo.site.catalog import build_catalog
from hubzoo.site.families import FAMILIES_INDEX
from hubzoo.site.pages import (
    families_nav,
    generated_files,
    with_deployment_extras,
    with_module_extras,
)
from hubzoo.tfhub_dev import tfhub_dev_files

HAND_WRITTEN = ("index.md", "common_signatures", "fine_tuning.md", "javascripts", "stylesheets")


def write_docs(docs: Path, files: dict[str, str]) -> None:
    """The hand-written docs plus `files` (path relative to the docs root -> text)."""
    for name in HAND_WRITTEN:
        source = DOCS_DIR / name
        if source.is_dir():
            shutil.copytree(source, docs / name)
        else:
            docs.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, docs / name)
    for path, text in files.items():
        (docs / path).parent.mkdir(parents=True, exist_ok=True)
        (docs / path).write_text(text)


def write_config(path: Path, config: dict) -> None:
    """An mkdocs.yml; relative folders in it are read from `path`'s folder."""
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:8.1f} pages/s ({seconds:.2f} s)"


def mkdocs_build(config: Path, site: Path, env: dict[str, str]) -> float:
    """Seconds for `mkdocs build --strict` of `config` in a fresh interpreter."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-f", str(config), "-d", str(site)],
        check=True,
        env=env,
    )  # fmt: skip
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--registry", type=Path, default=REGISTRY_DIR)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="docs-bench-") as scratch:
        root = Path(scratch)
        started = time.perf_counter()
        registry = load_registry(args.registry)
        load_seconds = time.perf_counter() - started
        count = len(registry.modules) + len(registry.deployments)
        print(f"{len(registry.modules)} modules, {len(registry.deployments)} deployments "
              f"(loaded and validated in {load_seconds:.2f} s)")  # fmt: skip

        started = time.perf_counter()
        pages = render_pages(registry)
        tfhub_pages = tfhub_dev_files(registry, args.registry)
        render_seconds = time.perf_counter() - started
        rendered = len(pages) + len(tfhub_pages)
        started = time.perf_counter()
        for text in [*pages.values(), *tfhub_pages.values()]:
            markdown.markdown(text, extensions=["tables"])
        markdown_seconds = time.perf_counter() - started
        print(f"render (templates):            {rate(rendered, render_seconds)}")
        print(f"baseline (markdown -> HTML):   {rate(rendered, markdown_seconds)}")
        print(f"render speed / baseline speed: {markdown_seconds / render_seconds:8.2f}x")

        hooks = REPO_ROOT / "hubzoo" / "site" / "hooks.py"
        config = yaml.safe_load((REPO_ROOT / "mkdocs.yml").read_text())
        config["theme"]["custom_dir"] = str(REPO_ROOT / config["theme"]["custom_dir"])
        write_docs(root / "docs", pages)
        write_config(root / "site.yml", {**config, "hooks": [str(hooks)]})
        entries = build_catalog(registry, {}, config["extra"]["zoo_url"])
        generated = generated_files(entries)
        with_extras = dict(pages)
        for entry in entries:
            with_extras[entry.page] = with_module_extras(pages[entry.page], entry)
            for item in entry.deployments:
                with_extras[item.page] = with_deployment_extras(pages[item.page], item, entry)
        write_docs(root / "baseline-docs", {**with_extras, **generated})
        nav = [
            {title: families_nav(entries)} if target == FAMILIES_INDEX else {title: target}
            for item in config["nav"]
            for title, target in item.items()
        ]
        baseline = {key: value for key, value in config.items() if key != "hooks"}
        write_config(root / "baseline.yml", {**baseline, "docs_dir": "baseline-docs", "nav": nav})
        (root / "empty-store").mkdir()
        env = {
            **os.environ,
            "HUBZOO_REGISTRY": str(args.registry.resolve()),
            "HUBZOO_STORE": str(root / "empty-store"),
            "NO_MKDOCS_2_WARNING": "1",
        }
        site_pages = len(list((root / "baseline-docs").rglob("*.md")))
        ours = mkdocs_build(root / "site.yml", root / "site", env)
        plain = mkdocs_build(root / "baseline.yml", root / "baseline-site", env)
        print(f"site build (with hooks):       {rate(site_pages, ours)}")
        print(f"baseline (static, no hooks):   {rate(site_pages, plain)}")
        print(f"site speed / baseline speed:   {plain / ours:8.2f}x")
        size = sum(path.stat().st_size for path in (root / "site").rglob("*") if path.is_file())
        print(f"site size:                     {size / 1e6:8.1f} MB")
        built = len(list((root / "site" / PAGES_FOLDER).rglob("index.html")))
        assert built == count, f"{built} model pages built, expected {count}"
    return 0


if __name__ == "__main__":
    sys.exit(main())
