"""The publish pipeline: the layer above the registry (`hubzoo`) and the TensorFlow side
(`modules`) that joins them, record -> checkpoint -> export -> check -> package -> smoke test ->
store -> site."""
