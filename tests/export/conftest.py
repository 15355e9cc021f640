"""Session-wide exports of every zoo module in both formats, built once and shared by the tests."""

from functools import cache
from pathlib import Path

import numpy as np
import pytest

from hubzoo.contract import HUB, SAVED_MODEL_2  # noqa: F401  (the formats the tests name)
from hubzoo.registry import load_registry
from pipeline.publish import export_spec
from tests.export.legacy_client_check import hubzoo_test_images

SPECS = {
    handle: export_spec(record, synthetic=True)
    for handle, record in sorted(load_registry().records.items())
}
"""The exporter's view of every record in the registry."""
HANDLES = tuple(SPECS)
SMALL_HANDLE = "google/imagenet/inception_v1/feature_vector/1"


class Exports:
    """Exports each (handle, format) on first use, under one session folder."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def weights(self, handle: str) -> dict[str, np.ndarray]:
        """A synthetic TF-Slim checkpoint's values for the module's net (heads and all)."""
        return self._checkpoint_values(SPECS[handle].net)

    @cache  # noqa: B019 - one instance per session
    def _checkpoint_values(self, net: str) -> dict[str, np.ndarray]:
        from modules.checkpoints.synthetic import synthetic_values

        return synthetic_values(net, seed=0)

    @cache  # noqa: B019
    def path(self, handle: str, module_format: str) -> Path:
        from modules.export import format_implementation

        out_dir = self._root / module_format / handle
        return format_implementation(module_format).export(
            SPECS[handle], self.weights(handle), out_dir
        )

    def reference_output(self, handle: str) -> np.ndarray:
        """The in-process net's output (features or logits) on `images_for(handle)`."""
        return self._reference(handle)[0]

    def signature_output_keys(self, handle: str) -> set[str]:
        """`default` plus the net's end points under their TF-Slim names."""
        return {"default", *self._reference(handle)[1]}

    @cache  # noqa: B019
    def _reference(self, handle: str) -> tuple[np.ndarray, tuple[str, ...]]:
        from modules.nets import create_net
        from modules.preprocessing import apply_input_mapping

        spec = SPECS[handle]
        net = create_net(spec.net, num_classes=spec.num_classes)
        net.assign(self.weights(handle))
        output, end_points = net(apply_input_mapping(images_for(handle), spec.input_mapping))
        return output.numpy(), tuple(net.definition.end_point_name(name) for name in end_points)


def images_for(handle: str) -> np.ndarray:
    """The legacy harness's fixed image batch at the module's expected size."""
    return hubzoo_test_images(*SPECS[handle].image_size)


@pytest.fixture(scope="session")
def exports(tmp_path_factory) -> Exports:
    return Exports(tmp_path_factory.mktemp("exports"))
