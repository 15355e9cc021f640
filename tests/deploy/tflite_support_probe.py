"""Run in the TF Lite Support venv (tflite-support 0.4.4): read a TF Lite model's metadata with
MetadataDisplayer and run it with the Task Library on one image; print what was found as JSON.

Usage: tflite_support_probe.py MODEL IMAGE.npy {classifier,embedder,none} OUT.json
(IMAGE.npy: uint8 [height, width, 3]; packed files are written beside OUT.json; a model without
metadata gives {"refused": MetadataDisplayer's message}).
"""

import json
import sys
from pathlib import Path

import numpy as np
from tensorflow_lite_support.metadata.cc.python import _pywrap_metadata_version
from tflite_support import metadata
from tflite_support.task import core, processor, vision


def main(model: str, image_path: str, task: str, out: str) -> None:
    found: dict = {}
    try:
        displayer = metadata.MetadataDisplayer.with_model_file(model)
    except ValueError as refused:  # a model without TF Lite Metadata
        Path(out).write_text(json.dumps({"refused": str(refused)}))
        return
    found["metadata"] = json.loads(displayer.get_metadata_json())
    found["packed_files"] = displayer.get_packed_associated_file_list()
    for name in found["packed_files"]:
        (Path(out).parent / name).write_bytes(displayer.get_associated_file_buffer(name))
    buffer = displayer.get_metadata_buffer()
    found["minimum_parser_version"] = _pywrap_metadata_version.GetMinimumMetadataParserVersion(
        bytes(buffer)
    )
    pixels = np.load(image_path)  # kept alive: TensorImage does not own the array's memory
    image = vision.TensorImage.create_from_array(pixels)
    base = core.BaseOptions(file_name=model)
    if task == "classifier":
        options = vision.ImageClassifierOptions(
            base_options=base, classification_options=processor.ClassificationOptions(max_results=5)
        )
        result = vision.ImageClassifier.create_from_options(options).classify(image)
        found["categories"] = [
            {"index": c.index, "score": c.score, "name": c.category_name}
            for c in result.classifications[0].categories
        ]
    elif task == "embedder":
        options = vision.ImageEmbedderOptions(base_options=base)
        result = vision.ImageEmbedder.create_from_options(options).embed(image)
        found["embedding"] = [float(v) for v in result.embeddings[0].feature_vector.value]
    Path(out).write_text(json.dumps(found))


if __name__ == "__main__":
    main(*sys.argv[1:])
