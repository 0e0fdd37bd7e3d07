"""The pose model zoo: model descriptions kept as data in ``configs/*.yaml``.

``configs/pose_models.yaml`` maps a model name onto the arguments of ``PoseModelSpec`` and
``configs/keypoint_sets.yaml`` a keypoint set name onto ``KeypointSet``. A user's own model
is a YAML file with the same keys as one zoo entry (``keypoint_set`` may then be a mapping).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Optional

from tracker.checks import channel_values, construct_config
from tracker.errors import ConfigError
from tracker.files import CONFIG_DIR, read_yaml
from tracker.weights import WeightsSource, check_sha256

BACKENDS = ("torch", "onnx")
CHANNEL_ORDERS = ("rgb", "bgr")


@dataclass(frozen=True)
class KeypointSet:
    """Names of the K network outputs, left/right pairs for the flip test, OKS sigmas.

    Args:
        names: K keypoint names in network output order.
        flip_pairs: (left, right) index pairs swapped when the image is mirrored.
        oks_sigmas: K per-keypoint OKS constants, or None where the dataset defines none.
    """

    names: tuple[str, ...]
    flip_pairs: tuple[tuple[int, int], ...]
    oks_sigmas: Optional[tuple[float, ...]] = None

    def __post_init__(self) -> None:
        k = len(self.names)
        object.__setattr__(self, "names", tuple(self.names))
        object.__setattr__(self, "flip_pairs", tuple(tuple(p) for p in self.flip_pairs))
        for pair in self.flip_pairs:
            if len(pair) != 2 or not all(isinstance(i, int) and 0 <= i < k for i in pair):
                raise ConfigError(f"flip_pairs entries must be two indices in [0, {k}), got {pair}")
        if self.oks_sigmas is not None:
            object.__setattr__(self, "oks_sigmas", tuple(float(s) for s in self.oks_sigmas))
            if len(self.oks_sigmas) != k:
                raise ConfigError(f"oks_sigmas must have {k} values (one per name), "
                                  f"got {len(self.oks_sigmas)}")

    def __len__(self) -> int:
        return len(self.names)


@dataclass(frozen=True)
class PoseModelSpec:
    """Everything needed to build, fetch and run one top-down heatmap pose model."""

    name: str
    backend: str
    input_size_wh: tuple[int, int]
    keypoint_set: KeypointSet
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    url: Optional[str] = None
    sha256: Optional[str] = None
    filename: Optional[str] = None
    dataset: Optional[str] = None
    depth: Optional[int] = None
    num_deconv_layers: int = 3
    channel_order: str = "rgb"
    onnx_input: Optional[str] = None
    onnx_output: Optional[str] = None

    def __post_init__(self) -> None:
        try:
            self._check_and_normalise()
        except ConfigError as e:
            raise ConfigError(f"model {self.name!r}: {e}") from None

    def _check_and_normalise(self) -> None:
        if self.backend not in BACKENDS:
            raise ConfigError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        if self.backend == "torch" and self.depth is None:
            raise ConfigError("'depth' is required for the torch backend")
        if self.channel_order not in CHANNEL_ORDERS:
            raise ConfigError(f"channel_order must be one of {CHANNEL_ORDERS}, "
                              f"got {self.channel_order!r}")
        size = tuple(self.input_size_wh)
        if len(size) != 2 or not all(isinstance(v, int) and v > 0 for v in size):
            raise ConfigError(f"input_size_wh must be two positive integers, got {size}")
        object.__setattr__(self, "input_size_wh", size)
        channels = ", ".join(self.channel_order.upper())
        for key in ("mean", "std"):
            object.__setattr__(self, key, channel_values(key, getattr(self, key), channels))
        if self.filename is None and self.url:
            object.__setattr__(self, "filename", self.url.rsplit("/", 1)[-1])
        check_sha256(self.sha256)

    @property
    def weights(self) -> WeightsSource:
        """The file name in the cache folder, download address and sha256 of the weights."""
        return WeightsSource(filename=self.filename, url=self.url, sha256=self.sha256)

    @property
    def num_keypoints(self) -> int:
        return len(self.keypoint_set)

    @property
    def aspect_ratio(self) -> float:
        return self.input_size_wh[0] / self.input_size_wh[1]


@lru_cache(maxsize=None)
def keypoint_sets() -> dict[str, KeypointSet]:
    """All named keypoint sets of ``configs/keypoint_sets.yaml``."""
    path = CONFIG_DIR / "keypoint_sets.yaml"
    return {name: construct_config(KeypointSet, entry, f"{path} [{name}]")
            for name, entry in read_yaml(path).items()}


def _spec_from_entry(name: str, entry: dict, where: str) -> PoseModelSpec:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(entry).__name__}")
    values = dict(entry)
    kset = values.get("keypoint_set")
    if isinstance(kset, str):
        if kset not in keypoint_sets():
            raise ConfigError(f"{where}: unknown keypoint_set {kset!r}; "
                              f"known sets are {sorted(keypoint_sets())}")
        values["keypoint_set"] = keypoint_sets()[kset]
    elif isinstance(kset, dict):
        values["keypoint_set"] = construct_config(KeypointSet, kset, f"{where} keypoint_set")
    else:
        raise ConfigError(f"{where}: keypoint_set must be a set name or a mapping "
                          "with names/flip_pairs/oks_sigmas")
    values.setdefault("name", name)
    return construct_config(PoseModelSpec, values, where)


@lru_cache(maxsize=None)
def pose_models() -> dict[str, PoseModelSpec]:
    """All model-zoo entries of ``configs/pose_models.yaml``, by name."""
    path = CONFIG_DIR / "pose_models.yaml"
    return {name: _spec_from_entry(name, entry, f"{path} [{name}]")
            for name, entry in read_yaml(path).items()}


def get_pose_model_spec(name_or_path: str | Path) -> PoseModelSpec:
    """A zoo name, or a YAML file describing one model with the keys of a zoo entry."""
    name = str(name_or_path)
    if name in pose_models():
        return pose_models()[name]
    path = Path(name)
    if path.suffix in (".yaml", ".yml"):
        if not path.is_file():
            raise FileNotFoundError(f"model config file {path} does not exist")
        return _spec_from_entry(path.stem, read_yaml(path), str(path))
    raise ConfigError(f"unknown pose model {name!r}: not a zoo name and not a .yaml file; "
                      f"zoo names are: {', '.join(pose_models())}")
