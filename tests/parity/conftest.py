"""Session fixtures for the parity tests: reference runs and our nets, each built once."""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from devtools.legacy_venv import run_legacy_python
from tests.legacy_helpers import legacy_python  # noqa: F401  (session fixture)
from tests.parity.seeded_weights import seeded_images

SLIM_REFERENCE_SCRIPT = Path(__file__).with_name("slim_reference.py")
BATCH = 2
CHECKPOINT_SEED = 7
# Sizes each net is compared at: its default, then one whose feature maps stress the padding (odd
# sizes make SAME padding asymmetric; even ones make resnets' conv2d_same differ from SAME).
SLIM_SIZES = {
    "inception_v1": (224, 299),
    "inception_v2": (224, 299),
    "inception_v3": (299, 224),
    **{f"resnet_v{v}_{depth}": (224, 241) for v in (1, 2) for depth in (50, 101, 152)},
}
# Sizes at which tf_slim 1.1.0 cannot build the net's classifier (inception_v1/v2's fixed 7x7
# average pool leaves a 4x4 grid at 299, which its squeeze rejects): there the reference builds
# the feature extractor alone and no logits are compared.
HEADLESS = frozenset({("inception_v1", 299), ("inception_v2", 299)})
# What a normal run compares (one size per net, both for the cheap inception_v1/v2; none of the
# 152-layer resnets); everything in SLIM_SIZES runs with `-m sweep`.
NORMAL_RUN = frozenset(
    {
        ("inception_v1", 224),
        ("inception_v1", 299),
        ("inception_v2", 224),
        ("inception_v2", 299),
        ("inception_v3", 299),
        ("resnet_v1_50", 241),
        ("resnet_v1_101", 224),
        ("resnet_v2_50", 241),
        ("resnet_v2_101", 224),
    }
)
# Nets and sizes also compared with batch norm in training mode (batch statistics), and whether
# a normal run does (else only `-m sweep`).
TRAINING_RUNS = {
    ("resnet_v2_50", 224): True,
    ("resnet_v1_50", 224): False,
    ("inception_v3", 299): False,
}
# Largest relative error (in assert_close's terms) per compared (net, size, mode), for the summary.
LARGEST_ERRORS: dict[tuple[str, int, str], tuple[float, str]] = {}
"""(net, size, reference) -> (the largest `relative_error` seen, the end point it was seen at)."""


@dataclass
class SlimReference:
    """A checkpoint written by tf_slim itself, and tf_slim's outputs on seeded images, by size
    and batch norm mode (training or not): every end point tf_slim returns under its own name,
    plus ``features``."""

    checkpoint: Path
    images: dict[int, np.ndarray] = field(default_factory=dict)
    outputs: dict[tuple[int, bool], dict[str, np.ndarray]] = field(default_factory=dict)


def parity_images(size: int) -> np.ndarray:
    """The seeded batch every implementation sees at ``size``."""
    return seeded_images(BATCH, size, seed=size)


@pytest.fixture(scope="session")
def slim_reference(
    legacy_python: Path,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[..., SlimReference]:
    """``slim_reference(net_name, size=None, training=False)``: the net's seeded tf_slim
    checkpoint, written once (by the first call, in the legacy venv), and tf_slim's outputs at
    ``size`` with batch norm in training mode or not, each run once (a test that is done with them
    may pop them). One legacy-venv process per call with work."""
    references: dict[str, SlimReference] = {}

    def get(net_name: str, size: int | None = None, training: bool = False) -> SlimReference:
        folder = tmp_path_factory.getbasetemp() / f"slim_{net_name}"
        reference = references.get(net_name)
        arguments = [net_name, "--checkpoint", str(folder / "model.ckpt")]
        if reference is None:
            folder.mkdir(exist_ok=True)
            reference = SlimReference(folder / "model.ckpt")
            arguments += ["--write-seed", str(CHECKPOINT_SEED)]
        elif size is None or (size, training) in reference.outputs:
            return reference
        if size is not None:
            reference.images[size] = parity_images(size)
            np.save(folder / f"images_{size}.npy", reference.images[size])
            out = folder / f"{size}{'_training' if training else ''}.npz"
            arguments += ["--run", str(folder / f"images_{size}.npy"), str(out)]
            if (net_name, size) in HEADLESS:
                arguments.append("--features-only")
            if training:
                arguments.append("--training")
        run_legacy_python(SLIM_REFERENCE_SCRIPT, *arguments, timeout=1200)
        references[net_name] = reference
        if size is not None:
            reference.outputs[size, training] = dict(np.load(out))
        return reference

    return get


def relative_error(ours: np.ndarray, reference: np.ndarray, largest: float | None = None) -> float:
    """The largest error relative to the reference in `assert_close`'s terms: |ours - reference|
    over |reference| + atol / rtol; `assert_close` passes when it is at most 1e-4. `largest` is
    the reference's largest magnitude when `reference` is a sample of a larger tensor."""
    reference = np.asarray(reference, np.float64)
    floor = 0.1 * (float(np.abs(reference).max()) if largest is None else largest)
    return float(np.max(np.abs(ours - reference) / (np.abs(reference) + floor)))


def pytest_terminal_summary(terminalreporter) -> None:
    """Lists the largest relative error of each compared net, size and reference (tf_slim's
    inference or training mode, Keras, tf_slim's golden data)."""
    if not LARGEST_ERRORS:
        return
    terminalreporter.section("largest relative error against the reference")
    for (net_name, size, mode), (error, where) in sorted(LARGEST_ERRORS.items()):
        terminalreporter.line(f"{net_name:16s} {size:4d} {mode:9s}: {error:.2e} ({where})")


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
