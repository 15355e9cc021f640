"""Import shim for the legacy client venv, installed there as ``sitecustomize.py``.

TensorFlow 2.14 builds tf_slim's batch norm from ``keras.legacy_tf_layers.normalization``, but
Keras 2.14 moved that package to ``keras.src.legacy_tf_layers``. This finder answers imports of the
old names with the modules at the new ones, lazily: nothing is imported until someone asks for the
old name, so starting Python in the venv stays as fast as without the shim.
"""

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys

OLD_PACKAGE = "keras.legacy_tf_layers"
NEW_PACKAGE = "keras.src.legacy_tf_layers"


class _AliasLoader(importlib.abc.Loader):
    """Loads a module by importing the module it is an alias of."""

    def __init__(self, target_name):
        self.target_name = target_name
        self.target_spec = None

    def create_module(self, spec):
        target = importlib.import_module(self.target_name)
        self.target_spec = target.__spec__
        return target

    def exec_module(self, module):
        # The import system put the alias spec on the shared module object; give it its own back.
        module.__spec__ = self.target_spec


class KerasLegacyLayersAlias(importlib.abc.MetaPathFinder):
    """Finds ``keras.legacy_tf_layers[.x]`` as ``keras.src.legacy_tf_layers[.x]``."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != OLD_PACKAGE and not fullname.startswith(OLD_PACKAGE + "."):
            return None
        target_name = NEW_PACKAGE + fullname[len(OLD_PACKAGE) :]
        target_spec = importlib.util.find_spec(target_name)
        if target_spec is None:
            return None
        return importlib.machinery.ModuleSpec(
            fullname,
            _AliasLoader(target_name),
            is_package=target_spec.submodule_search_locations is not None,
        )


sys.meta_path.insert(0, KerasLegacyLayersAlias())
