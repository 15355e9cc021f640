"""The registry as the rest of hubzoo sees it: validated, resolved records and shared facts."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from hubzoo.eras import Eras
from hubzoo.errors import HubzooError
from hubzoo.family import Family
from hubzoo.paths import REGISTRY_DIR
from hubzoo.preprocessing import InputMapping
from hubzoo.record import Deployment, ModuleRecord
from hubzoo.shared import Shared
from hubzoo.validate import validate

MAX_PROBLEMS_SHOWN = 20


@dataclass(frozen=True)
class Registry:
    """Every valid module and deployment by handle, their families and the shared facts."""

    modules: dict[str, ModuleRecord]
    deployments: dict[str, Deployment]
    families: dict[str, Family]
    shared: Shared
    eras: Eras

    def find(self, query: str) -> ModuleRecord:
        """The module whose handle is `query` or ends with `/query`; an error names candidates."""
        query = query.strip().strip("/")
        if query in self.modules:
            return self.modules[query]
        matches = [h for h in self.modules if h.endswith("/" + query)]
        if len(matches) == 1:
            return self.modules[matches[0]]
        if matches:
            listing = "\n  ".join(sorted(matches)[:MAX_PROBLEMS_SHOWN])
            more = len(matches) - MAX_PROBLEMS_SHOWN
            tail = f"\n  ... and {more} more" if more > 0 else ""
            raise HubzooError(f"'{query}' is ambiguous; it matches:\n  {listing}{tail}")
        close = difflib.get_close_matches(query, list(self.modules), n=3, cutoff=0.5)
        close += [h for h in self.modules if query.split("/")[0] in h and h not in close][:3]
        hint = ("; did you mean:\n  " + "\n  ".join(close)) if close else ""
        raise HubzooError(f"no module '{query}' in the registry{hint}")

    def input_mapping_of(self, network: str) -> InputMapping:
        """The input mapping the records of `network` name (Inception's when none does)."""
        for record in self.modules.values():
            if record.network == network:
                return record.preprocessing
        return self.shared.input_mappings["inception"]

    def deployments_of(self, handle: str) -> list[Deployment]:
        """The deployments of the module `handle`, by handle."""
        return [d for _, d in sorted(self.deployments.items()) if d.parent == handle]


def load_registry(registry_dir: Path = REGISTRY_DIR, check_lock: bool = True) -> Registry:
    """Load and validate the whole registry; any problem is a HubzooError listing them.
    Without `check_lock`, records are not compared with the lock (to rewrite it)."""
    result = validate(registry_dir, check_lock=check_lock)
    if result.problems:
        shown = "\n".join(str(p) for p in result.problems[:MAX_PROBLEMS_SHOWN])
        more = len(result.problems) - MAX_PROBLEMS_SHOWN
        tail = f"\n... and {more} more (run scripts/validate.py)" if more > 0 else ""
        raise HubzooError(f"the registry has problems:\n{shown}{tail}")
    assert result.shared is not None and result.eras is not None, "validate loads them"
    return Registry(
        modules=result.modules,
        deployments=result.deployments,
        families=result.families,
        shared=result.shared,
        eras=result.eras,
    )
