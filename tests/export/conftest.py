"""Session-wide exports of a fixed set of zoo modules in both formats, built once and shared by
the tests."""

from functools import cache
from pathlib import Path

import numpy as np
import pytest

from devtools.seeds import seeds_and_classifiers
from hubzoo.contract import HUB, SAVED_MODEL_2  # noqa: F401  (the formats the tests name)
from hubzoo.registry import load_registry
from pipeline.publish import export_spec
from tests.export.legacy_client_check import hubzoo_test_images

_REGISTRY = load_registry()
HANDLES = seeds_and_classifiers(_REGISTRY)
"""The modules the export tests build: the seed pages' modules and their classifiers (the
registry holds hundreds; building each would take hours)."""
SPECS = {handle: export_spec(_REGISTRY.modules[handle], synthetic=True) for handle in HANDLES}
"""The exporter's view of each of those records."""
SMALL_HANDLE = "google/imagenet/inception_v1/feature_vector/1"


class Exports:
    """Exports each (handle, format) on first use, under one session folder."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def weights(self, handle: str) -> dict[str, np.ndarray]:
        """A synthetic TF-Slim checkpoint's values for the module's net (heads and all)."""
        spec = SPECS[handle]
        return self._checkpoint_values(spec.net, tuple(sorted(spec.hyperparameters.items())))

    @cache  # noqa: B019 - one instance per session
    def _checkpoint_values(
        self, net: str, hyperparameters: tuple[tuple[str, object], ...]
    ) -> dict[str, np.ndarray]:
        from modules.checkpoints.synthetic import synthetic_values

        return synthetic_values(net, seed=0, **dict(hyperparameters))

    @cache  # noqa: B019
    def path(self, handle: str, module_format: str) -> Path:
        from modules.export import format_implementation

        out_dir = self._root / module_format / handle
        return format_implementation(module_format).export(
            SPECS[handle], self.weights(handle), out_dir
        )

    def reference_output(self, handle: str, signature: str = "default") -> np.ndarray:
        """The in-process net's output on `images_for(handle)` for `signature`: the task's
        (features or logits), or a classifier's features for its feature vector signatures."""
        output, features, _ = self._reference(handle)
        return features if signature in SPECS[handle].feature_signatures else output

    def signature_output_keys(self, handle: str) -> set[str]:
        """`default` plus the net's end points under their TF-Slim names."""
        return {"default", *self._reference(handle)[2]}

    @cache  # noqa: B019
    def _reference(self, handle: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
        from modules.nets import create_net
        from modules.preprocessing import apply_input_mapping

        spec = SPECS[handle]
        net = create_net(spec.net, num_classes=spec.num_classes, **spec.hyperparameters)
        net.assign(self.weights(handle))
        inputs = apply_input_mapping(images_for(handle), spec.input_mapping)
        output, features, end_points = net.call_with_features(inputs)
        return (
            output.numpy(),
            features.numpy(),
            tuple(net.definition.end_point_name(name) for name in end_points),
        )


def images_for(handle: str) -> np.ndarray:
    """The legacy harness's fixed image batch at the module's expected size."""
    return hubzoo_test_images(*SPECS[handle].image_size)


@pytest.fixture(scope="session")
def exports(tmp_path_factory) -> Exports:
    return Exports(tmp_path_factory.mktemp("exports"))
