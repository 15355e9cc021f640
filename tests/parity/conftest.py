"""Session fixtures for the parity tests: reference runs and our nets, each built once."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from devtools.legacy_venv import run_legacy_python
from tests.legacy_helpers import legacy_python  # noqa: F401  (session fixture)
from tests.parity.seeded_weights import seeded_images

SLIM_REFERENCE_SCRIPT = Path(__file__).with_name("slim_reference.py")
BATCH = 2
CHECKPOINT_SEED = 7
# Sizes each net is compared at: its default, then one whose odd feature maps stress SAME padding.
SLIM_SIZES = {"inception_v1": (224, 299), "inception_v2": (224, 299)}
SLIM_END_POINTS = ("Conv2d_1a_7x7", "Mixed_3c", "Mixed_4e")


@dataclass(frozen=True)
class SlimReference:
    """A checkpoint written by tf_slim itself, and tf_slim's outputs on seeded images, by size."""

    checkpoint: Path
    images: dict[int, np.ndarray]
    outputs: dict[int, dict[str, np.ndarray]]


def parity_images(size: int) -> np.ndarray:
    """The seeded batch every implementation sees at ``size``."""
    return seeded_images(BATCH, size, seed=size)


@pytest.fixture(scope="session")
def slim_reference(
    legacy_python: Path,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[[str], SlimReference]:
    """``slim_reference(net_name)``: one legacy-venv run per net that writes a seeded checkpoint
    with tf_slim and records tf_slim's features and end points at every size of SLIM_SIZES."""
    runs: dict[str, SlimReference] = {}

    def get(net_name: str) -> SlimReference:
        if net_name not in runs:
            folder = tmp_path_factory.mktemp(f"slim_{net_name}")
            checkpoint = folder / "model.ckpt"
            images = {size: parity_images(size) for size in SLIM_SIZES[net_name]}
            arguments = [net_name, "--checkpoint", str(checkpoint)]
            arguments += ["--write-seed", str(CHECKPOINT_SEED)]
            for size, batch in images.items():
                np.save(folder / f"images_{size}.npy", batch)
                arguments += [
                    "--run",
                    str(folder / f"images_{size}.npy"),
                    str(folder / f"{size}.npz"),
                ]
            for end_point in SLIM_END_POINTS:
                arguments += ["--end-point", end_point]
            run_legacy_python(SLIM_REFERENCE_SCRIPT, *arguments)
            outputs = {size: dict(np.load(folder / f"{size}.npz")) for size in images}
            runs[net_name] = SlimReference(checkpoint, images, outputs)
        return runs[net_name]

    return get


def assert_close(ours: np.ndarray, reference: np.ndarray, what: str) -> None:
    """Our output equals the reference's to 1e-4 relative.

    The absolute floor, 1e-5 of the reference's largest magnitude, covers elements near zero
    (ReLU outputs, channel means), where float32 round-off of two implementations (seen up to
    about 2e-6 of the largest magnitude) is large relative to the element itself.
    """
    reference = np.asarray(reference)
    assert ours.shape == reference.shape, f"{what}: shape {ours.shape} != {reference.shape}"
    assert np.isfinite(reference).all(), f"{what}: the reference is not finite"
    atol = 1e-5 * float(np.abs(reference).max())
    np.testing.assert_allclose(ours, reference, rtol=1e-4, atol=atol, err_msg=what)
