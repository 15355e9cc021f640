"""Bugs the downstream sweep found, each pinned by its smallest record."""

import pytest

from hubzoo.progress import Progress
from modules.inspect import describe_module
from pipeline.publish import PublishOptions, publish


@pytest.mark.slow
def test_export_check_discounts_a_tf2_checkpoint_object_graph(tmp_path):
    """The smallest saved_model_2 feature vector: its checkpoint's object graph (a string
    tensor) is ~2% of its weights' bytes, which the export check took for a weight stored
    twice (`variables: ... more than 4.04 bytes per value`)."""
    options = PublishOptions(
        "mobilenet_v1_025_128/feature_vector/4", synthetic=True, dry_run=True, build_site=False
    )
    summary = publish(options, Progress(quiet=True))
    assert summary.smoke_passed and summary.sha256


def test_many_small_variables_pass_the_bytes_per_value_check(tmp_path):
    """A TF2 SavedModel whose object graph outweighs its values: only the values count."""
    import numpy as np
    import tensorflow as tf

    from modules.inspect import MAX_BYTES_PER_VALUE

    module = tf.Module()
    module.parts = [tf.Variable(np.full(4, i, np.float32), name=f"v{i}") for i in range(200)]
    tf.saved_model.save(module, str(tmp_path / "module"))
    data_bytes = sum(f.stat().st_size for f in tmp_path.glob("module/variables/variables.data-*"))
    desc = describe_module(tmp_path / "module")
    assert desc.num_values == 800 and data_bytes > 2 * 4 * desc.num_values
    assert desc.variable_bytes <= MAX_BYTES_PER_VALUE * desc.num_values
