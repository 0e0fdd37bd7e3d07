"""The float format a torch pose network computes in, per device.

``pose.precision`` (``load_pose_model(precision=...)``): ``"float32"`` (mmpose's numbers),
``"float16"`` or ``"bfloat16"`` (``torch.autocast``; heatmaps come back as float32 either
way), or None: float16 on the CUDA fast path (tensor cores), float32 everywhere else.

bfloat16 is opt-in on the CPU. Where the CPU computes it natively (x86 ``avx512_bf16`` /
``amx_bf16``, Arm ``bf16``) oneDNN runs res50 256x192 about 2x faster than float32
(``python -m benchmarks.bench_pose``), but its 8-bit mantissa moves keypoints: on a trained
PP-TinyPose, COCO mini val AP 0.646 -> 0.651 (no loss within that small set's noise) while
7.7 % of the confident keypoints move more than 3 px (README, "The pose fast path"). On other
CPUs bfloat16 is emulated and slower than float32: ``load_pose_model`` warns.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Optional

import torch

PRECISIONS = {"float32": None, "float16": torch.float16, "bfloat16": torch.bfloat16}

#: /proc/cpuinfo flags of CPUs with bfloat16 arithmetic (dot products) in hardware.
NATIVE_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16", "bf16"})


def has_native_bf16(cpu_flags: Iterable[str]) -> bool:
    """Whether a CPU with these ``/proc/cpuinfo`` flags (x86 ``flags``, Arm ``Features``)
    computes bfloat16 in hardware."""
    return not NATIVE_BF16_FLAGS.isdisjoint(cpu_flags)


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The first CPU's feature flags; empty where ``cpuinfo`` is missing (not Linux)."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() in ("flags", "features"):
            return frozenset(value.split())
    return frozenset()


def autocast_dtype(precision: Optional[str], device: torch.device,
                   fast_path: bool) -> Optional[torch.dtype]:
    """The ``torch.autocast`` dtype of ``precision`` on ``device`` (None: float32).

    Args:
        precision: "float32", "float16", "bfloat16", or None: float16 on the CUDA fast
            path, else float32.
        device: where the network runs.
        fast_path: whether the estimator runs the fast path (for ``precision`` None).
    """
    if precision is not None:
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {list(PRECISIONS)} or None, "
                             f"got {precision!r}")
        return PRECISIONS[precision]
    return torch.float16 if fast_path and device.type == "cuda" else None


def slow_on_this_cpu(dtype: Optional[torch.dtype], device: torch.device,
                     flags: Optional[Iterable[str]] = None) -> Optional[str]:
    """Why ``dtype`` on ``device`` is slower than float32 (None when it is not): bfloat16 on
    a CPU without native bf16 (``flags``: the CPU's, default read from /proc/cpuinfo), or
    float16 on any CPU."""
    if device.type != "cpu" or dtype is None:
        return None
    if dtype is torch.float16:
        return "float16 on a CPU is emulated and slower than float32 (it is for CUDA)"
    if not has_native_bf16(cpu_flags() if flags is None else flags):
        return ("this CPU has no native bfloat16 (no avx512_bf16 / amx_bf16 / bf16 flag): "
                "bfloat16 is emulated and slower than float32")
    return None
