"""Session fixtures: the reference layouts, synthetic checkpoints written once, nets loaded once."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.nets.helpers import SEED

# slim_checkpoint_layouts.json is a copy of /work/shared/reference/slim_checkpoint_layouts.json;
# every slim_*layouts*.json file here has its form ({"about": ..., "nets": {name: layout}}), each
# read off TF-Slim's reference code.
LAYOUT_FILES = sorted((Path(__file__).parent / "data").glob("slim_*layouts*.json"))


def layout_section(section: str) -> dict:
    """One top-level section merged over every layout file that has it: "nets", or a family's
    "variants" (key -> {"net", "hyperparameters"} for layouts of non-default hyperparameters),
    "heads" (key -> the classifier's variables) and "regularized" (key -> weight-decayed names)."""
    merged: dict = {}
    for path in LAYOUT_FILES:
        entries = json.loads(path.read_text()).get(section, {})
        assert not merged.keys() & entries.keys(), (
            f"{path.name} repeats {merged.keys() & entries.keys()}"
        )
        merged.update(entries)
    return merged


@pytest.fixture(scope="session")
def reference_layouts() -> dict:
    """The TF-Slim layouts read off the reference implementations, by net (or variant) name."""
    layouts: dict = {}
    for path in LAYOUT_FILES:
        nets = json.loads(path.read_text())["nets"]
        assert not layouts.keys() & nets.keys(), (
            f"{path.name} repeats {layouts.keys() & nets.keys()}"
        )
        layouts.update(nets)
    return layouts


@pytest.fixture(scope="session")
def synthetic_checkpoint(tmp_path_factory) -> Callable[[str], Path]:
    """`synthetic_checkpoint(net)` -> prefix of that net's synthetic checkpoint (seed 7), written once."""
    from modules.checkpoints.synthetic import write_synthetic_checkpoint

    root = tmp_path_factory.mktemp("synthetic")
    written: dict[str, Path] = {}

    def get(net_name: str) -> Path:
        if net_name not in written:
            prefix = root / net_name / "model.ckpt"
            written[net_name] = write_synthetic_checkpoint(net_name, prefix, SEED)
        return written[net_name]

    return get


@pytest.fixture(scope="session")
def loaded_net(synthetic_checkpoint) -> Callable[..., object]:
    """`loaded_net(net, num_classes=None)` -> an eager net with the synthetic weights, built once."""
    from modules.checkpoints.reading import read_checkpoint
    from modules.nets import create_net

    built: dict[tuple[str, int | None], object] = {}

    def get(net_name: str, num_classes: int | None = None):
        key = (net_name, num_classes)
        if key not in built:
            net = create_net(net_name, num_classes)
            net.assign(read_checkpoint(synthetic_checkpoint(net_name), net.layout()).values)
            built[key] = net
        return built[key]

    return get
