"""Quantities as people read them: the one way hubzoo prints a byte count."""


def format_bytes(count: float) -> str:
    """`count` bytes in a human unit: 512 B, 3.2 KB, 27.0 MB, 1.1 GB (powers of 1024)."""
    value = float(count)
    for unit in ("B", "KB", "MB"):
        if value < 1024:
            return f"{value:.0f} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"
