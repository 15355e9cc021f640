"""The registry as the rest of hubzoo sees it: validated records plus shared facts."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from hubzoo.errors import HubzooError
from hubzoo.paths import REGISTRY_DIR
from hubzoo.record import Record
from hubzoo.shared import SharedData
from hubzoo.validate import validate

MAX_PROBLEMS_SHOWN = 20


@dataclass(frozen=True)
class Registry:
    """Every valid record by handle, and the shared data they refer to."""

    records: dict[str, Record]
    shared: SharedData

    def find(self, query: str) -> Record:
        """The record whose handle is `query` or ends with `/query`; an error names candidates."""
        query = query.strip().strip("/")
        if query in self.records:
            return self.records[query]
        matches = [h for h in self.records if h.endswith("/" + query)]
        if len(matches) == 1:
            return self.records[matches[0]]
        if matches:
            listing = "\n  ".join(sorted(matches))
            raise HubzooError(f"'{query}' is ambiguous; it matches:\n  {listing}")
        close = difflib.get_close_matches(query, list(self.records), n=3, cutoff=0.5)
        close += [h for h in self.records if query.split("/")[0] in h and h not in close][:3]
        hint = ("; did you mean:\n  " + "\n  ".join(close)) if close else ""
        raise HubzooError(f"no module '{query}' in the registry{hint}")


def load_registry(registry_dir: Path = REGISTRY_DIR) -> Registry:
    """Load and validate the whole registry; any problem is a HubzooError listing them."""
    result = validate(registry_dir)
    if result.problems:
        shown = "\n".join(str(p) for p in result.problems[:MAX_PROBLEMS_SHOWN])
        more = len(result.problems) - MAX_PROBLEMS_SHOWN
        tail = f"\n... and {more} more (run scripts/validate.py)" if more > 0 else ""
        raise HubzooError(f"the registry has problems:\n{shown}{tail}")
    assert result.shared is not None, "validate always loads the shared data"
    return Registry(records={r.handle: r for r in result.records}, shared=result.shared)
