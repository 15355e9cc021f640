"""Facts about published artifacts, read from the store's manifests when the site is built."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from hubzoo.manifest import SYNTHETIC, Manifest
from hubzoo.store import open_store
from hubzoo.units import format_bytes

STORE_VARIABLE = "HUBZOO_STORE"
"""Environment variable naming the store (fsspec URL or path); default: the repo's `store/`."""


@dataclass(frozen=True)
class Artifact:
    """One published archive and what its smoke test measured."""

    handle: str
    sha256: str
    bytes: int
    format: str
    published_at: str
    checkpoint_sha256: str  # digest of the source checkpoint, or "synthetic"
    tool_version: str
    tensorflow_version: str
    smoke_passed: bool | None  # None: no smoke report
    smoke_device: str
    smoke_tensorflow_version: str
    latency_ms_p50: dict[int, float] = field(default_factory=dict)  # batch size -> ms
    images_per_second: float | None = None

    @property
    def synthetic(self) -> bool:
        """True when the weights came from a synthetic checkpoint, not trained ones."""
        return self.checkpoint_sha256 == SYNTHETIC

    @property
    def size_text(self) -> str:
        """The archive's exact size, and in a larger unit when there is one: "193 bytes",
        "20,875,191 bytes (19.9 MB)"."""
        exact = f"{self.bytes:,} bytes"
        return exact if self.bytes < 1024 else f"{exact} ({format_bytes(self.bytes)})"

    @property
    def smallest_batch_latency(self) -> tuple[int, float] | None:
        """(batch size, p50 ms) for the smallest batch measured, if any."""
        return min(self.latency_ms_p50.items()) if self.latency_ms_p50 else None

    def to_json(self) -> dict[str, Any]:
        """The facts as catalog.json lists them."""
        return {
            "sha256": self.sha256,
            "bytes": self.bytes,
            "format": self.format,
            "published_at": self.published_at,
            "synthetic_checkpoint": self.synthetic,
            "checkpoint_sha256": self.checkpoint_sha256,
            "tensorflow_version": self.tensorflow_version,
            "smoke_passed": self.smoke_passed,
            "smoke_device": self.smoke_device,
            "smoke_tensorflow_version": self.smoke_tensorflow_version,
            "latency_ms_p50": {str(batch): ms for batch, ms in self.latency_ms_p50.items()},
            "images_per_second": self.images_per_second,
        }


def artifact_from_manifest(manifest: Manifest) -> Artifact:
    """An Artifact from a store manifest; missing optional smoke facts become empty values."""
    smoke = manifest.build.smoke
    latency = {int(batch): float(ms) for batch, ms in (smoke.get("latency_ms_p50") or {}).items()}
    rate = smoke.get("images_per_second")
    return Artifact(
        handle=manifest.handle,
        sha256=manifest.sha256,
        bytes=manifest.bytes,
        format=manifest.build.format,
        published_at=manifest.published_at,
        checkpoint_sha256=manifest.build.checkpoint_sha256,
        tool_version=manifest.build.hubzoo_version,
        tensorflow_version=manifest.build.tensorflow_version,
        smoke_passed=smoke.get("passed") if smoke else None,
        smoke_device=smoke.get("device_note") or smoke.get("device", ""),
        smoke_tensorflow_version=smoke.get("tensorflow_version", ""),
        latency_ms_p50=dict(sorted(latency.items())),
        images_per_second=float(rate) if rate else None,
    )


def load_artifacts(location: str | None = None) -> dict[str, Artifact]:
    """Published artifacts by handle, from the store at `location`, else $HUBZOO_STORE, else the
    repository's `store/` folder (no artifacts while that does not exist). A store that was
    named and is missing or unreachable is a StoreError; no store is ever created."""
    named = location or os.environ.get(STORE_VARIABLE) or None
    manifests = open_store(named, read_only=True).list_manifests()
    return {manifest.handle: artifact_from_manifest(manifest) for manifest in manifests}
