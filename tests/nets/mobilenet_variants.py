"""The MobileNet variants TF-Hub published, as facts of its model pages.

tfhub.dev's pages (google/imagenet/mobilenet_*/feature_vector/*) name each variant by width and
input size and state its `num_features`; the input size changes no weight. A variant here is
our net name, its hyperparameters and the input size it was trained at.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Variant:
    name: str  # TF-Hub's, e.g. "mobilenet_v2_035_96"
    net: str
    depth_multiplier: float
    size: int
    num_features: int  # as the variant's TF-Hub page states it
    hyperparameters: dict = field(init=False, hash=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "hyperparameters", {"depth_multiplier": self.depth_multiplier})


_WIDTHS = {"025": 0.25, "035": 0.35, "050": 0.5, "075": 0.75, "100": 1.0, "130": 1.3, "140": 1.4}
_FAMILIES = (
    # (net, TF-Hub name prefix, widths, sizes, num_features by width)
    (
        "mobilenet_v1",
        "mobilenet_v1",
        ("025", "050", "075", "100"),
        (128, 160, 192, 224),
        {"025": 256, "050": 512, "075": 768, "100": 1024},
    ),
    (
        "mobilenet_v2",
        "mobilenet_v2",
        ("035", "050", "075", "100"),
        (96, 128, 160, 192, 224),
        dict.fromkeys(("035", "050", "075", "100"), 1280),
    ),
    ("mobilenet_v2", "mobilenet_v2", ("130",), (224,), {"130": 1664}),
    ("mobilenet_v2", "mobilenet_v2", ("140",), (224,), {"140": 1792}),
    (
        "mobilenet_v3_large",
        "mobilenet_v3_large",
        ("075", "100"),
        (224,),
        {"075": 1280, "100": 1280},
    ),
    (
        "mobilenet_v3_small",
        "mobilenet_v3_small",
        ("075", "100"),
        (224,),
        {"075": 1024, "100": 1024},
    ),
)

VARIANTS: dict[str, Variant] = {
    f"{prefix}_{width}_{size}": Variant(
        f"{prefix}_{width}_{size}", net, _WIDTHS[width], size, features[width]
    )
    for net, prefix, widths, sizes, features in _FAMILIES
    for width in widths
    for size in sizes
}
"""The 42 TF-Hub MobileNet variants: 16 V1, 22 V2, 2 V3 large, 2 V3 small."""

CI_VARIANTS = (
    "mobilenet_v1_025_128",
    "mobilenet_v1_050_160",
    "mobilenet_v1_075_192",
    "mobilenet_v1_100_224",
    "mobilenet_v2_035_96",
    "mobilenet_v2_050_128",
    "mobilenet_v2_075_160",
    "mobilenet_v2_100_192",
    "mobilenet_v2_130_224",
    "mobilenet_v2_140_224",
    "mobilenet_v3_large_075_224",
    "mobilenet_v3_large_100_224",
    "mobilenet_v3_small_075_224",
    "mobilenet_v3_small_100_224",
)
"""One variant per net and width (and across V1's and V2's input sizes), for the normal run;
the sweep runs the others."""

SWEEP_VARIANTS = tuple(name for name in VARIANTS if name not in CI_VARIANTS)
