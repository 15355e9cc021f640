"""The manifest of a published module version: what the store keeps beside its archive.

`BuildFacts` are what the publisher knows before the store sees the archive; the store adds what
it measures itself (handle, sha256, bytes, publication time) and writes the whole `Manifest` as
`HANDLE.json`, last, so a version exists exactly when its manifest does. The JSON is flat:

    handle, sha256, bytes, published_at          added by the store
    format, record_digest, checkpoint_sha256,    from the publisher
    hubzoo_version, tensorflow_version, smoke

`Manifest.from_json` is the one parser of that JSON, wherever it comes from (the store, a server,
a consumer's download): every field is checked for its form before anything uses it.
"""

from __future__ import annotations

import builtins
import json
import re
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from typing import Any

from hubzoo.contract import FORMATS
from hubzoo.errors import HubzooError

SYNTHETIC = "synthetic"
"""`checkpoint_sha256` of an artifact built from a synthetic checkpoint, not trained weights."""

PUBLISHED_AT_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
"""How `published_at` is written: UTC to the second, e.g. 2026-11-24T10:00:00Z."""

_SHA256 = re.compile(r"[0-9a-f]{64}")
_PUBLISHED_AT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


@dataclass(frozen=True)
class BuildFacts:
    """How an artifact was built, as its publisher states it."""

    format: str  # a key of hubzoo.contract.FORMATS
    record_digest: str  # the record's digest: sha256 of its resolved facts (hubzoo.lock)
    checkpoint_sha256: str  # sha256 of the checkpoint source, or SYNTHETIC
    hubzoo_version: str  # the tool that built it
    tensorflow_version: str  # the TensorFlow that exported it
    smoke: dict[str, Any]  # the smoke test's report (modules.smoke.SmokeReport.to_json())

    @property
    def synthetic(self) -> bool:
        """True when the weights came from a synthetic checkpoint, not trained ones."""
        return self.checkpoint_sha256 == SYNTHETIC

    def check(self, where: str) -> None:
        """Raise HubzooError unless every fact has its form."""
        if self.format not in FORMATS:
            raise HubzooError(f"{where}: format {self.format!r} is not one of {', '.join(FORMATS)}")
        if not self.synthetic and not _is_sha256(self.checkpoint_sha256):
            raise HubzooError(
                f"{where}: checkpoint_sha256 must be a sha256 hex digest or "
                f"'{SYNTHETIC}', not {self.checkpoint_sha256!r}"
            )
        for name in ("record_digest", "hubzoo_version", "tensorflow_version"):
            if not isinstance(getattr(self, name), str):
                raise HubzooError(f"{where}: {name} must be a string")
        if not isinstance(self.smoke, dict):
            raise HubzooError(f"{where}: smoke must be a mapping (the smoke report)")


@dataclass(frozen=True)
class Manifest:
    """A published version: its build facts and what the store measured of its archive."""

    handle: str
    sha256: str  # of the archive's bytes
    bytes: int  # the archive's size
    published_at: str  # UTC, PUBLISHED_AT_FORMAT, e.g. 2026-11-24T10:00:00Z
    build: BuildFacts

    @property
    def synthetic(self) -> bool:
        """True when the weights came from a synthetic checkpoint, not trained ones."""
        return self.build.synthetic

    @property
    def published_time(self) -> datetime:
        """`published_at` as an aware UTC datetime."""
        return datetime.strptime(self.published_at, PUBLISHED_AT_FORMAT).replace(tzinfo=UTC)

    def to_json(self) -> dict[str, Any]:
        """The flat JSON object the store writes."""
        facts = {key: value for key, value in asdict(self).items() if key != "build"}
        return {**facts, **asdict(self.build)}

    def dumps(self) -> builtins.bytes:
        """The manifest file's bytes (sorted keys, indented, a final newline)."""
        return (json.dumps(self.to_json(), sort_keys=True, indent=2) + "\n").encode()

    @classmethod
    def from_json(cls, data: object, where: str) -> Manifest:
        """The manifest in `data` (a parsed JSON object); HubzooError naming `where` if any key is
        missing or has the wrong form."""
        if not isinstance(data, dict):
            raise HubzooError(f"manifest {where} is not a JSON object")
        build_keys = [field.name for field in fields(BuildFacts)]
        required = ("handle", "sha256", "bytes", "published_at", *build_keys)
        missing = [key for key in required if key not in data]
        if missing:
            raise HubzooError(f"manifest {where} lacks {', '.join(missing)}")
        build = BuildFacts(**{key: data[key] for key in build_keys})
        build.check(f"manifest {where}")
        manifest = cls(
            handle=data["handle"],
            sha256=data["sha256"],
            bytes=data["bytes"],
            published_at=data["published_at"],
            build=build,
        )
        if not isinstance(manifest.handle, str) or not manifest.handle.isprintable():
            raise HubzooError(f"manifest {where}: handle must be a string of printable characters")
        if not _is_sha256(manifest.sha256):
            raise HubzooError(f"manifest {where}: sha256 is not a sha256 hex digest")
        if type(manifest.bytes) is not int or manifest.bytes < 0:
            raise HubzooError(f"manifest {where}: bytes must be a non-negative integer")
        if not _is_published_at(manifest.published_at):
            raise HubzooError(
                f"manifest {where}: published_at must be a UTC time like 2026-11-24T10:00:00Z"
            )
        return manifest

    @classmethod
    def loads(cls, raw: builtins.bytes, where: str) -> Manifest:
        """The manifest in the file bytes `raw`."""
        try:
            data = json.loads(raw)
        except ValueError as error:
            raise HubzooError(f"manifest {where} is not valid JSON: {error}") from None
        return cls.from_json(data, where)


def _is_sha256(value: object) -> bool:
    return isinstance(value, str) and _SHA256.fullmatch(value) is not None


def _is_published_at(value: object) -> bool:
    if not isinstance(value, str) or _PUBLISHED_AT.fullmatch(value) is None:
        return False
    try:
        datetime.strptime(value, PUBLISHED_AT_FORMAT)
    except ValueError:
        return False
    return True
