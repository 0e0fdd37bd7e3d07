"""Timing shared by the speed benchmarks: wall-clock seconds of repeated calls on a device."""
from __future__ import annotations

import time
from typing import Callable

import torch


def synchronize(device: torch.device) -> None:
    """Wait for the queued CUDA work of ``device`` (a no-op on the CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed_calls(fn: Callable, argument, device: torch.device, repeats: int) -> list[float]:
    """Seconds of each of ``repeats`` calls ``fn(argument)``, after one untimed warm-up call;
    each timing waits for the device to finish."""
    fn(argument)
    synchronize(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(argument)
        synchronize(device)
        times.append(time.perf_counter() - start)
    return times
