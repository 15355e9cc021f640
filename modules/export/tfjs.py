"""TF.js deployments (`tfjs`): a graph model (`model.json` + weight shards) converted by the TF.js
converter, checked, and run in TF.js in Node, loaded by URL as a web page loads it.

The converter (tensorflowjs 4.22.0) runs in its own venv (`hubzoo.toolchains`) on the
`default`-signature SavedModel of `modules.export.default_signature`; float32 weights, in 4 MiB
shards `group1-shardNofM.bin`; the provenance goes into `model.json` as user-defined metadata
(`model.metadata.hubzoo_provenance` in TF.js). `model.json` is rewritten with sorted keys, as the
converter's key order changes from run to run, so the same record and weights give the same bytes.
"""

import base64
import json
import math
import tempfile
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from hubzoo.contract import DEFAULT_OUTPUT, DEFAULT_SIGNATURE, FORMATS, TFJS
from hubzoo.errors import HubzooError
from hubzoo.files import staged_dir
from hubzoo.toolchains import require_tfjs_converter
from modules.export import ConsumerCalls
from modules.export.default_signature import diff_default_signature, save_default_signature
from modules.export.provenance import PROVENANCE_ASSET, PROVENANCE_KEY
from modules.export.spec import ExportSpec
from modules.inspect import GraphVariant, ModuleDescription, SignatureDescription, TensorDescription

MODEL_JSON = FORMATS[TFJS].main_file
GRAPH_MODEL = "graph-model"
BYTES_PER_VALUE = {"float32": 4, "int32": 4}
"""The weight dtypes of a float32 deployment (int32: shape and axis constants)."""
FUSABLE = frozenset(
    {"BiasAdd", "FusedBatchNorm", "Relu", "Relu6", "Elu", "Sigmoid", "Prelu", "LeakyRelu"}
)
"""What TF.js 4.22's backends run fused into a convolution or matmul (`fused_ops`)."""

_CONVERT = (
    "import sys; from tensorflowjs.converters.converter import convert; convert(sys.argv[1:])"
)
_TF_DTYPES = {"DT_FLOAT": "float32", "DT_INT32": "int32", "DT_BOOL": "bool"}


def export(spec: ExportSpec, weights: Mapping[str, np.ndarray], out_dir: Path) -> Path:
    """Convert `weights` for `spec.net` into a TF.js graph model in `out_dir`; returns it."""
    converter = require_tfjs_converter()
    with tempfile.TemporaryDirectory(prefix="tfjs-export-") as work, staged_dir(out_dir) as staging:
        saved_model = save_default_signature(spec, weights, Path(work) / "saved_model")
        provenance = Path(work) / PROVENANCE_ASSET
        provenance.write_text(json.dumps(spec.provenance, sort_keys=True))
        converter.run(
            ["-c", _CONVERT, "--input_format=tf_saved_model",
             "--output_format=tfjs_graph_model", f"--signature_name={DEFAULT_SIGNATURE}",
             "--saved_model_tags=serve", f"--metadata={PROVENANCE_KEY}:{provenance}",
             str(saved_model), str(staging)],
            what="the TF.js converter",
            timeout=1800,
            env={"TF_ENABLE_ONEDNN_OPTS": "0"},  # else grappler fuses hard-swish into
            # _FusedConv2D ('_FusedHardSwish'), which no TF.js backend runs (MobileNet V3)
        )  # fmt: skip
        model_json = staging / MODEL_JSON
        model_json.write_text(json.dumps(json.loads(model_json.read_text()), sort_keys=True))
    return Path(out_dir)


def read_model_json(folder: Path) -> dict[str, Any]:
    """The parsed `model.json` of a graph model folder; HubzooError if missing or unreadable."""
    path = Path(folder) / MODEL_JSON
    if not path.is_file():
        raise HubzooError(f"{folder}: no {MODEL_JSON}, so not a TF.js graph model")
    try:
        model = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise HubzooError(f"{path}: not JSON ({error})") from None
    if not isinstance(model, dict):
        raise HubzooError(f"{path}: not a JSON object")
    return model


def describe(folder: Path) -> ModuleDescription:
    """What a TF.js graph model folder holds: its signature, weights and provenance."""
    model = read_model_json(folder)
    signature = model.get("signature") or {}
    weights = [weight for group in _manifest(model) for weight in group.get("weights", [])]
    metadata = model.get("userDefinedMetadata") or {}
    return ModuleDescription(
        path=str(folder),
        format=TFJS,
        variants=(
            GraphVariant(
                tags=(),
                signatures=(
                    SignatureDescription(
                        name=DEFAULT_SIGNATURE,
                        inputs=_tensor_infos(signature.get("inputs") or {}),
                        outputs=_tensor_infos(signature.get("outputs") or {}),
                    ),
                ),
                collection_sizes=(),
                variable_names=(),
                image_size=None,
            ),
        ),
        call=None,
        attributes=(),
        checkpoint_names=tuple(weight["name"] for weight in weights),
        num_values=sum(math.prod(weight["shape"]) for weight in weights),
        variable_bytes=sum(_shard_sizes(Path(folder), model).values()),
        provenance=metadata.get(PROVENANCE_KEY),
    )


def diff(desc: ModuleDescription, spec: ExportSpec) -> list[str]:
    """How a TF.js graph model departs from `spec`: its files, weights manifest and signature."""
    folder = Path(desc.path)
    model = read_model_json(folder)
    problems = []
    if model.get("format") != GRAPH_MODEL:
        problems.append(f"{MODEL_JSON}: format {model.get('format')!r}, expected '{GRAPH_MODEL}'")
    problems += _diff_weights(folder, model)
    problems += _diff_fused_ops(model)
    for variant in desc.variants:
        problems += diff_default_signature(TFJS, variant.signatures, spec)
    return problems


def load_calls(module_dir: Path, spec: ExportSpec) -> ConsumerCalls:
    """At inference, `default` run by TF.js in Node on the model loaded by URL from a loopback
    server (both end when the calls are dropped); a deployment has no training path."""
    from modules.tfjs_node import FolderServer, NodeGraphModel

    server = FolderServer(module_dir, spec.handle)
    try:
        model = NodeGraphModel(server.url)
    except BaseException:
        server.close()
        raise

    def call(images: tf.Tensor) -> dict[str, tf.Tensor]:
        output, _ = model.predict(np.asarray(images))
        return {DEFAULT_OUTPUT: tf.constant(output)}

    weakref.finalize(call, _close, model, server)
    return ConsumerCalls({DEFAULT_SIGNATURE: call})


def _close(model: Any, server: Any) -> None:
    model.close()
    server.close()


def _manifest(model: dict[str, Any]) -> list[dict[str, Any]]:
    manifest = model.get("weightsManifest")
    return manifest if isinstance(manifest, list) else []


def _shard_sizes(folder: Path, model: dict[str, Any]) -> dict[str, int]:
    """Bytes of each shard the manifest names and the folder holds."""
    paths = [path for group in _manifest(model) for path in group.get("paths", [])]
    return {path: (folder / path).stat().st_size for path in paths if (folder / path).is_file()}


def _diff_weights(folder: Path, model: dict[str, Any]) -> list[str]:
    """Every shard present, each group's shards exactly as long as its weights, float32 weights
    (int32 for constants), and no file beside model.json and the shards."""
    manifest = _manifest(model)
    if not manifest:
        return [f"{MODEL_JSON}: no weightsManifest"]
    problems = []
    sizes = _shard_sizes(folder, model)
    named = {MODEL_JSON} | {path for group in manifest for path in group.get("paths", [])}
    problems += [
        f"shard {path}: missing"
        for group in manifest
        for path in group["paths"]
        if path not in sizes
    ]
    for index, group in enumerate(manifest):
        expected = 0
        for weight in group.get("weights", []):
            dtype = weight.get("dtype")
            if dtype not in BYTES_PER_VALUE or "quantization" in weight:
                problems.append(f"weight {weight.get('name')}: {dtype}, not a float32 deployment")
                continue
            expected += BYTES_PER_VALUE[dtype] * math.prod(weight["shape"])
        found = sum(sizes.get(path, 0) for path in group.get("paths", []))
        if found != expected:
            problems.append(
                f"weights group {index}: shards hold {found:,} bytes, the manifest's weights "
                f"{expected:,}"
            )
    problems += [
        f"file {path.name}: not named by {MODEL_JSON}"
        for path in sorted(folder.iterdir())
        if path.name not in named
    ]
    return problems


def _diff_fused_ops(model: dict[str, Any]) -> list[str]:
    """Nodes whose fused operations TF.js cannot run."""
    problems = []
    for node in (model.get("modelTopology") or {}).get("node", []):
        encoded = node.get("attr", {}).get("fused_ops", {}).get("list", {}).get("s", [])
        unknown = [op for op in map(_decoded, encoded) if op not in FUSABLE]
        if unknown:
            problems.append(
                f"node {node['name']}: fuses {', '.join(unknown)}, which TF.js cannot run"
            )
    return problems


def _decoded(base64_text: str) -> str:
    return base64.b64decode(base64_text).decode(errors="replace")


def _tensor_infos(infos: dict[str, Any]) -> tuple[TensorDescription, ...]:
    return tuple(
        TensorDescription(
            name=key,
            dtype=_TF_DTYPES.get(infos[key].get("dtype"), str(infos[key].get("dtype"))),
            shape=_shape(infos[key].get("tensorShape") or {}),
        )
        for key in sorted(infos)
    )


def _shape(tensor_shape: dict[str, Any]) -> tuple[int | None, ...] | None:
    if tensor_shape.get("unknownRank"):
        return None
    sizes = (int(dim.get("size", -1)) for dim in tensor_shape.get("dim", []))
    return tuple(None if size < 0 else size for size in sizes)
