"""Quantities as people read them: the one way hubzoo prints and reads a byte count."""

BYTE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
"""Suffixes `parse_bytes` reads (powers of 1024, as `format_bytes` prints them)."""


def format_bytes(count: float) -> str:
    """`count` bytes in a human unit: 512 B, 3.2 KB, 27.0 MB, 1.1 GB (powers of 1024)."""
    value = float(count)
    for unit in ("B", "KB", "MB"):
        if value < 1024:
            return f"{value:.0f} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def parse_bytes(text: str) -> int:
    """A byte count as written on a command line: 1000, 512K, 300M, 2G (powers of 1024; a
    trailing B or iB is allowed). Raises ValueError on anything else."""
    body = text.strip().upper().removesuffix("IB").removesuffix("B")
    unit = body[-1:] if body[-1:] in BYTE_UNITS else ""
    try:
        value = float(body.removesuffix(unit) if unit else body)
    except ValueError:
        raise ValueError(f"{text!r} is not a byte count") from None
    if not value >= 0 or value == float("inf"):
        raise ValueError(f"{text!r} is not a byte count")
    return int(value * BYTE_UNITS[unit])
