"""An export says where it comes from, and whether its weights are synthetic."""

import json

from modules.export.provenance import PROVENANCE_ASSET, write_provenance
from tests.export.conftest import SMALL_HANDLE, SPECS


def test_provenance_says_synthetic(tmp_path):
    write_provenance(tmp_path, SPECS[SMALL_HANDLE])
    provenance = json.loads((tmp_path / "assets" / PROVENANCE_ASSET).read_text())
    assert provenance == {"handle": SMALL_HANDLE, "net": "inception_v1", "synthetic": True}
