"""What goes inside a module: networks, checkpoints, export, inspection and smoke tests.

Everything here may import TensorFlow; nothing in `hubzoo` that runs on the fast paths
(validation, page rendering) imports from here.
"""
