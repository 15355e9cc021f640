"""Smoke-test a published module as a consumer gets it: loaded by tensorflow_hub from a folder
(a deployment: by its own runtime, e.g. TF.js in Node or LiteRT).

Every signature the artifact serves is called with batches of 1 and 8 at the expected size (and
at a non-default size when the input size is variable); the outputs must have the record's
names, dtypes and shapes, be finite, and be the same for the same input twice; the training graph
(or `training=True`) must run, where the format has one. The report says on which device, with
which TensorFlow, how fast.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import tensorflow as tf
import tensorflow_hub as hub

from hubzoo.contract import DEFAULT_OUTPUT, FORMATS, SMOKE_DEVICES
from hubzoo.errors import HubzooError
from modules.export import SignatureCall, format_implementation
from modules.export.spec import ExportSpec

BATCH_SIZES = (1, 8)
OTHER_SIZE_STEP = 32


@dataclass
class SmokeReport:
    """What the smoke test saw; kept as JSON beside the artifact and shown on the site."""

    passed: bool
    device: str
    device_note: str
    tensorflow_version: str
    tensorflow_hub_version: str
    format: str
    checks: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    latency_ms_p50: dict[str, float] = field(default_factory=dict)
    images_per_second: float = 0.0

    def to_json(self) -> dict:
        """The report as a JSON-ready dict."""
        return asdict(self)


def pick_device(choice: str) -> tuple[str, str]:
    """TensorFlow device name and a note for `choice` in auto|gpu|cpu."""
    if choice not in SMOKE_DEVICES:
        raise HubzooError(f"--device must be one of {', '.join(SMOKE_DEVICES)}, not {choice!r}")
    gpus = tf.config.list_logical_devices("GPU")
    if choice == "gpu" and not gpus:
        raise HubzooError("--device gpu: TensorFlow sees no GPU on this machine; use auto or cpu")
    if choice in ("auto", "gpu") and gpus:
        return gpus[0].name, f"GPU {gpus[0].name}"
    note = "CPU (no GPU visible; auto fell back to the CPU)" if choice == "auto" else "CPU"
    return "/device:CPU:0", note


def deployment_device(choice: str, runtime: str) -> tuple[str, str]:
    """Where a deployment runs: on the CPU, in its runtime, whatever TensorFlow sees."""
    if choice not in SMOKE_DEVICES:
        raise HubzooError(f"--device must be one of {', '.join(SMOKE_DEVICES)}, not {choice!r}")
    if choice == "gpu":
        raise HubzooError(f"--device gpu: this deployment runs on the CPU in {runtime}")
    return "/device:CPU:0", f"CPU, in {runtime}"


def smoke_test(
    module_dir: Path, spec: ExportSpec, module_format: str, device: str = "auto"
) -> SmokeReport:
    """Run every smoke check on the module unpacked at `module_dir`."""
    facts = FORMATS[module_format]
    if facts.deployment:
        device_name, note = deployment_device(device, facts.runtime)
    else:
        device_name, note = pick_device(device)
    report = SmokeReport(
        passed=False,
        device=device_name,
        device_note=note,
        tensorflow_version=tf.__version__,
        tensorflow_hub_version=hub.__version__,
        format=module_format,
    )
    implementation = format_implementation(module_format)
    with tf.device(device_name):
        warm_seconds: dict[int, list[float]] = {batch: [] for batch in BATCH_SIZES}
        calls = implementation.load_calls(module_dir, spec)
        for name, call in calls.inference.items():
            _check_signature(name, call, spec, report, warm_seconds)
        for name, call in calls.training().items():
            _check_training(name, call, spec, report)
        if all(warm_seconds.values()):
            _summarize_latency(warm_seconds, report)
    report.passed = not report.failures
    return report


def _images(batch: int, size: tuple[int, int], seed: int) -> tf.Tensor:
    rng = np.random.default_rng(seed)
    return tf.constant(rng.random((batch, *size, 3), dtype=np.float32))


def _sizes(spec: ExportSpec) -> list[tuple[int, int]]:
    sizes = [spec.image_size]
    if spec.variable_size:
        sizes.append((spec.image_size[0] + OTHER_SIZE_STEP, spec.image_size[1] + OTHER_SIZE_STEP))
    return sizes


def _check_signature(
    name: str,
    call: SignatureCall,
    spec: ExportSpec,
    report: SmokeReport,
    warm_seconds: dict[int, list[float]],
) -> None:
    """Batches 1 and 8 at every size, each run twice; the second run's time is kept."""
    for size in _sizes(spec):
        for batch in BATCH_SIZES:
            where = f"signature {name}, batch {batch}, {size[0]}x{size[1]}"
            try:
                images = _images(batch, size, seed=batch)
                first = call(images)
                started = time.perf_counter()
                second = call(images)
                if DEFAULT_OUTPUT in second:
                    second[DEFAULT_OUTPUT].numpy()
                elapsed = time.perf_counter() - started
            except Exception as error:
                report.failures.append(f"{where}: failed to run: {error}")
                continue
            output = first.get(DEFAULT_OUTPUT)
            if output is None:
                report.failures.append(
                    f"{where}: no '{DEFAULT_OUTPUT}' output (found {sorted(first)})"
                )
                continue
            expected = (batch, spec.signature_width(name))
            if output.dtype != tf.float32 or tuple(output.shape) != expected:
                report.failures.append(
                    f"{where}: default is {output.dtype.name}{list(output.shape)}, "
                    f"expected float32{list(expected)}"
                )
            elif not np.all(np.isfinite(output.numpy())):
                report.failures.append(f"{where}: default has non-finite values")
            elif not np.array_equal(output.numpy(), second[DEFAULT_OUTPUT].numpy()):
                report.failures.append(f"{where}: the same input gave different outputs")
            else:
                report.checks.append(
                    f"{where}: default float32{list(expected)}, finite, repeatable"
                )
                if size == spec.image_size:
                    warm_seconds[batch].append(elapsed)


def _check_training(name: str, call: SignatureCall, spec: ExportSpec, report: SmokeReport) -> None:
    where = f"training path, signature {name}"
    try:
        output = call(_images(2, spec.image_size, seed=7))[DEFAULT_OUTPUT]
    except Exception as error:
        report.failures.append(f"{where}: failed to run: {error}")
        return
    expected = (2, spec.signature_width(name))
    if tuple(output.shape) != expected or not np.all(np.isfinite(output.numpy())):
        report.failures.append(f"{where}: bad output {output.dtype.name}{list(output.shape)}")
    else:
        report.checks.append(f"{where}: runs, finite")


def _summarize_latency(warm_seconds: dict[int, list[float]], report: SmokeReport) -> None:
    """p50 latency per batch size over the warm (second) calls at the expected size."""
    for batch, times in sorted(warm_seconds.items()):
        report.latency_ms_p50[str(batch)] = round(statistics.median(times) * 1000, 2)
    largest = max(warm_seconds)
    report.images_per_second = round(largest / (report.latency_ms_p50[str(largest)] / 1000), 2)
