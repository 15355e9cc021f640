"""Checkpoints: where they come from (`sources`), reading them by name (`reading`), and seeded
synthetic ones in the TF-Slim layout (`synthetic`).

Import the submodules directly: `sources` is standard-library only, while `reading` and
`synthetic` import TensorFlow, so this package imports nothing eagerly.
"""
