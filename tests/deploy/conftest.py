"""Deployments of zoo modules, each exported once per session, and their parents' outputs.

A case is a parent module (its ExportSpec and its format) whose TF.js and TF Lite deployments the
tests build from a synthetic checkpoint. The normal run takes one net per family; the `sweep`
marker takes every net `modules.nets` builds, as a 1001-class classifier at its default size.
"""

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from hubzoo.contract import CLASSIFICATION, DEFAULT_OUTPUT, DEFAULT_SIGNATURE, HUB, SAVED_MODEL_2
from hubzoo.registry import Registry, load_registry
from modules.export.spec import ExportSpec
from pipeline.publish import export_spec
from tests.export.legacy_client_check import hubzoo_test_images

PARITY = 1e-4
"""Largest error allowed, relative to the largest magnitude of the TensorFlow module's output."""


@dataclass(frozen=True)
class Case:
    """A parent module: what its record says, and the format it is published in."""

    spec: ExportSpec
    parent_format: str

    def __hash__(self) -> int:  # the spec's hyperparameters are a dict
        return hash((self.spec.handle, self.parent_format))

    @property
    def id(self) -> str:
        return self.spec.handle.removeprefix("google/imagenet/")


@cache
def registry() -> Registry:
    return load_registry()


def record_case(handle: str) -> Case:
    record = registry().modules[handle]
    return Case(export_spec(record, synthetic=True), record.format)


def classifier_case(net: str, name: str, version: int) -> Case:
    """A 1001-class classifier of `net` at its default size, as the corpus's TF-Slim pages have
    it (versions 1-3 are TF1 Hub modules, 4 and 5 TF2 SavedModels)."""
    from modules.checkpoints.synthetic import NUM_CLASSES
    from modules.nets import net_definition

    size = net_definition(net).default_image_size
    spec = ExportSpec(
        handle=f"google/imagenet/{name}/classification/{version}",
        net=net,
        task=CLASSIFICATION,
        num_outputs=NUM_CLASSES,
        image_size=(size, size),
        variable_size=False,
        signatures=(DEFAULT_SIGNATURE, "image_classification"),
        batch_norm_momentum=None,
        input_mapping=registry().input_mapping_of(net),
        synthetic=True,
    )
    return Case(spec, HUB if version <= 3 else SAVED_MODEL_2)


NORMAL_CASES = (
    record_case("google/imagenet/inception_v1/feature_vector/1"),
    classifier_case("mobilenet_v2", "mobilenet_v2_100_224", 3),
    classifier_case("mobilenet_v3_small", "mobilenet_v3_small_100_224", 5),
)
"""One net per family: Inception (a TF1 Hub parent, from its record) and MobileNet, plus the
MobileNet V3 the corpus's Lite pages convert (its hard-swish is what TF.js runs least well)."""


def sweep_cases() -> tuple[Case, ...]:
    """Every record of the registry, and every net as a classifier, beyond the normal run's."""
    from modules.nets import net_names

    buildable = (
        handle
        for handle, record in sorted(registry().modules.items())
        if record.network is not None and not record.quantized
    )
    records = tuple(record_case(handle) for handle in buildable)
    cases = records + tuple(classifier_case(net, net, 5) for net in net_names())
    return tuple(case for case in cases if case not in NORMAL_CASES)


CASES = [pytest.param(case, id=case.id) for case in NORMAL_CASES]
"""The normal run's cases, one per family, as pytest parameters."""
SWEEP = [pytest.param(case, id=case.id, marks=pytest.mark.sweep) for case in sweep_cases()]
"""Every net as a case, under the sweep marker."""
MOBILENET = NORMAL_CASES[1]


class Deployments:
    """Exports each (case, format) on first use, under one session folder, and runs parents."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def weights(self, spec: ExportSpec) -> dict[str, np.ndarray]:
        return self._weights(spec.net, tuple(sorted(spec.hyperparameters.items())))

    @cache  # noqa: B019 - one instance per session
    def _weights(self, net: str, hyperparameters: tuple) -> dict[str, np.ndarray]:
        from modules.checkpoints.synthetic import synthetic_values

        return synthetic_values(net, seed=0, **dict(hyperparameters))

    @cache  # noqa: B019
    def path(self, case: Case, artifact_format: str) -> Path:
        from modules.export import format_implementation

        out_dir = self._root / artifact_format / case.spec.handle
        return format_implementation(artifact_format).export(
            case.spec, self.weights(case.spec), out_dir
        )

    @cache  # noqa: B019
    def parent_output(self, case: Case) -> np.ndarray:
        """What the parent module, exported in its format and loaded by tensorflow_hub, computes
        on `images_for(case)` through its `default` signature."""
        import tensorflow_hub as hub

        module = hub.load(str(self.path(case, case.parent_format)))
        images = images_for(case)
        return module.signatures[DEFAULT_SIGNATURE](images=images)[DEFAULT_OUTPUT].numpy()


def images_for(case: Case) -> np.ndarray:
    """The fixed batch of two images at the module's expected size."""
    return hubzoo_test_images(*case.spec.image_size)


def free_as_minus_one(shape: tuple[int | None, ...]) -> list[int]:
    """A shape as the runtimes report it: -1 for a free dimension."""
    return [-1 if size is None else size for size in shape]


def relative_error(found: np.ndarray, expected: np.ndarray) -> float:
    """The largest difference, relative to the largest magnitude of `expected`."""
    return float(np.max(np.abs(found - expected)) / np.max(np.abs(expected)))


@pytest.fixture(scope="session")
def deployments(tmp_path_factory) -> Deployments:
    return Deployments(tmp_path_factory.mktemp("deployments"))
