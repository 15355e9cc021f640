"""Write a module into a temporary sibling folder and move it into place only when complete."""

import json
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hubzoo.errors import HubzooError
from modules.export.spec import ExportSpec

PROVENANCE_ASSET = "hubzoo_provenance.json"


@contextmanager
def staged_module_dir(out_dir: Path) -> Iterator[Path]:
    """Yield an empty folder beside `out_dir`; on success it becomes `out_dir`, else it is removed.

    Refuses (HubzooError) when `out_dir` exists and is not an empty folder.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise HubzooError(f"{out_dir} already exists and is not empty; refusing to overwrite it")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
    staging.chmod(0o755)
    try:
        yield staging
        if out_dir.exists():
            out_dir.rmdir()
        staging.rename(out_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging)


def write_provenance(module_dir: Path, spec: ExportSpec) -> None:
    """Record where the module comes from (and whether its weights are synthetic) as an asset."""
    assets = module_dir / "assets"
    assets.mkdir(exist_ok=True)
    text = json.dumps(spec.provenance, indent=2, sort_keys=True) + "\n"
    (assets / PROVENANCE_ASSET).write_text(text)
