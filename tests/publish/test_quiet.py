"""Commands that start TensorFlow print none of its start-up logging unless --debug is given."""

import re
import subprocess
import sys

import pytest

from hubzoo.paths import REPO_ROOT
from modules.runtime import worth_showing

TENSORFLOW_LOG_LINE = re.compile(
    r"^[IWEF]\d{4} |absl::|oneDNN|cuda|cuInit|cpu_feature_guard|tensorflow/|pkg_resources",
    re.MULTILINE,
)

STARTUP_OUTPUT = """\
WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
I0000 00:00:1795479226.119347    3164 port.cc:153] oneDNN custom operations are on. You may see
I0000 00:00:1795479226.119936    3164 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.
E0000 00:00:1795479226.229618    3164 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)
I0000 00:00:1795479224.900097    3164 cpu_feature_guard.cc:227] This TensorFlow binary is optimized to use available CPU instructions in performance-critical operations.
To enable the following instructions: AVX2 AVX512F AVX512_VNNI AVX512_BF16 AVX_VNNI FMA, in other operations, rebuild TensorFlow with the appropriate compiler flags.
E0000 00:00:1795479226.229700    3164 some_kernel.cc:12] an error nobody has seen before
"""


def test_known_startup_noise_is_dropped_and_anything_else_kept():
    assert worth_showing(STARTUP_OUTPUT) == [
        "E0000 00:00:1795479226.229700    3164 some_kernel.cc:12] an error nobody has seen before"
    ]


def _publish(*extra: str) -> subprocess.CompletedProcess:
    command = [sys.executable, str(REPO_ROOT / "scripts" / "publish.py")]
    arguments = ["inception_v1/feature_vector/1", "--synthetic", "--dry-run", "--no-site", *extra]
    return subprocess.run(
        command + arguments, capture_output=True, text=True, timeout=600, cwd=REPO_ROOT
    )


@pytest.mark.slow
def test_publish_prints_no_tensorflow_log_line():
    done = _publish()
    assert done.returncode == 0, done.stderr
    assert "smoke test: passed" in done.stdout
    assert TENSORFLOW_LOG_LINE.findall(done.stdout + done.stderr) == []


@pytest.mark.slow
def test_debug_shows_tensorflow_start_up_logging():
    done = _publish("--debug")
    assert done.returncode == 0, done.stderr
    assert TENSORFLOW_LOG_LINE.search(done.stderr)
