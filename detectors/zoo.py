"""The detector zoo: weights and preprocessing of each network detector, in
``configs/detectors.yaml`` (one entry per name, keys = ``DetectorSpec`` fields)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

from tracker.zoo import CONFIG_DIR, ConfigError, construct_config, read_yaml

DETECTOR_ZOO = CONFIG_DIR / "detectors.yaml"


@dataclass(frozen=True)
class DetectorSpec:
    """Weights (file name, address, checksum) and input recipe of one network detector.

    Args:
        name: zoo name.
        filename: file name in the weights cache folder.
        url: download address, or None when no public one exists.
        sha256: full digest or first 8+ hex digits of the weights file.
        input_size: side of the square network input, pixels.
        mean, std: BGR normalisation of the 0..255 pixels.
        score_threshold: default lowest box score kept.
    """

    name: str
    filename: str
    sha256: Optional[str]
    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    url: Optional[str] = None
    score_threshold: float = 0.3

    def __post_init__(self) -> None:
        if not isinstance(self.input_size, int) or self.input_size <= 0:
            raise ConfigError(f"input_size must be a positive integer, got {self.input_size!r}")
        for key in ("mean", "std"):
            values = tuple(float(v) for v in getattr(self, key))
            if len(values) != 3:
                raise ConfigError(f"{key} must have 3 values (B, G, R), got {len(values)}")
            object.__setattr__(self, key, values)
        if self.sha256 is not None and not re.fullmatch(r"[0-9a-f]{8,64}", str(self.sha256)):
            raise ConfigError(f"sha256 must be 8 to 64 lowercase hex digits, got {self.sha256!r}")


@lru_cache(maxsize=None)
def detector_zoo() -> dict[str, DetectorSpec]:
    """All entries of ``configs/detectors.yaml``, by name."""
    specs = {}
    for name, entry in read_yaml(DETECTOR_ZOO).items():
        where = f"{DETECTOR_ZOO} [{name}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected a mapping, got {type(entry).__name__}")
        specs[name] = construct_config(DetectorSpec, {"name": name, **entry}, where)
    return specs
