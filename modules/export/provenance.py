"""Where an exported module comes from, written into it as an asset."""

import json
from pathlib import Path

from modules.export.spec import ExportSpec

PROVENANCE_ASSET = "hubzoo_provenance.json"
PROVENANCE_KEY = PROVENANCE_ASSET.removesuffix(".json")
"""The provenance's name where a deployment keeps it as a metadata entry (TF.js, TF Lite)."""


def write_provenance(module_dir: Path, spec: ExportSpec) -> None:
    """Record where the module comes from (and whether its weights are synthetic) as an asset."""
    assets = module_dir / "assets"
    assets.mkdir(exist_ok=True)
    text = json.dumps(spec.provenance, indent=2, sort_keys=True) + "\n"
    (assets / PROVENANCE_ASSET).write_text(text)
