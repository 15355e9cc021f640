"""Start TensorFlow the way a command-line tool should: without its start-up chatter.

Importing TensorFlow prints absl, oneDNN and CUDA lines to the process's stderr (file descriptor
2, from C++), and on a machine without a GPU an E-level "failed call to cuInit" line, before any
Python logging can be configured. `start_tensorflow` imports it and lets it look for devices with
descriptor 2 pointed at a temporary file, then puts stderr back and prints only what it caught
that is not known start-up noise (`--debug` in the commands shows everything). Later C++ logging
is limited to errors by TF_CPP_MIN_LOG_LEVEL, and TensorFlow's Python loggers to errors.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import tempfile
import warnings
from types import ModuleType

STARTUP_NOISE = re.compile(
    r"All log messages before absl::InitializeLog"
    r"|oneDNN custom operations are on"
    r"|cudart_stub\.cc|cuda_executor\.cc|cuda_platform\.cc|cuda_dnn\.cc|cuda_fft\.cc|cuda_blas\.cc"
    r"|failed call to cuInit|Could not find cuda drivers|Unable to register cu(DNN|FFT|BLAS)"
    r"|cpu_feature_guard\.cc|This TensorFlow binary is optimized"
    r"|^To enable the following instructions"
    r"|computation placer already registered|TF-TRT Warning"
)
"""Lines TensorFlow prints while it starts, none of which asks anything of the user."""
PKG_RESOURCES_WARNING = "pkg_resources is deprecated as an API"
"""tensorflow_hub 0.16 imports pkg_resources, which warns about itself on every import."""


def start_tensorflow(verbose: bool = False) -> ModuleType:
    """Import TensorFlow and let it discover its devices, quietly unless `verbose`; returns it."""
    warnings.filterwarnings("ignore", message=PKG_RESOURCES_WARNING, category=UserWarning)
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    if verbose:
        import tensorflow as tf

        tf.config.list_physical_devices()
        return tf
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with tempfile.TemporaryFile(mode="w+b") as caught:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(caught.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
        caught.seek(0)
        kept = worth_showing(caught.read().decode(errors="replace"))
    if kept:
        print("\n".join(kept), file=sys.stderr)
    for name in ("tensorflow", "absl", "h5py"):
        logging.getLogger(name).setLevel(logging.ERROR)
    return tf


def worth_showing(startup_output: str) -> list[str]:
    """The lines of what TensorFlow printed while starting that are not known start-up noise."""
    return [
        line
        for line in startup_output.splitlines()
        if line.strip() and not STARTUP_NOISE.search(line)
    ]
