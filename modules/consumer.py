"""Load a published module by URL the verified way: `hubzoo.consumer.fetch_module` downloads it,
checks it against its manifest and caches it; `tensorflow_hub.load` loads the folder."""

from pathlib import Path
from typing import Any

from hubzoo.consumer import FetchLimits, fetch_module


def load(
    url: str, cache_dir: Path | None = None, limits: FetchLimits | None = None, **options: Any
) -> Any:
    """`tensorflow_hub.load` of the verified, cached module at `url` (`options` go to it)."""
    folder = fetch_module(url, cache_dir, limits)
    import tensorflow_hub as hub

    return hub.load(str(folder), **options)
