"""Heatmap networks behind one call: normalised (N, 3, H, W) tensor -> (N, K, h, w) heatmaps.

* ``TorchHeatmapNet``: a ``PoseResNet`` (or any ``nn.Module``) on CPU or CUDA, optionally in
  channels-last memory format (faster on many CPUs and on tensor-core GPUs).
* ``OnnxHeatmapNet``: an ONNX heatmap model run by onnxruntime; models exported with a fixed
  batch dimension are fed in chunks of that size, several chunks at once on a CPU.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from torch import nn

from tracker.checkpoint import CheckpointError


def resolve_device(device: str | torch.device) -> torch.device:
    """``"cpu"``, ``"cuda"``, ``"cuda:1"`` or ``"auto"`` (CUDA when available) -> device."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise ValueError(f"device must be 'cpu', 'cuda', 'cuda:N' or 'auto', got {device!r}") from e
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available "
                         "(torch.cuda.is_available() is False); use device='cpu'")
    if resolved.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu', 'cuda', 'cuda:N' or 'auto', got {device!r}")
    return resolved


class TorchHeatmapNet:
    """Runs a torch heatmap network in eval mode without gradients.

    Args:
        network: module mapping (N, 3, H, W) float32 to (N, K, h, w) heatmaps.
        device: where the network runs.
        channels_last: store weights and inputs channels-last (NHWC); numerically the same
            network, usually faster on CPU (oneDNN) and on tensor-core GPUs.
        autocast: run under ``torch.autocast`` with this dtype (``torch.float16`` or
            ``torch.bfloat16``), e.g. fp16 on a tensor-core GPU; outputs are float32 either
            way. None: full float32.
    """

    def __init__(self, network: nn.Module, device: torch.device, channels_last: bool = False,
                 autocast: Optional[torch.dtype] = None):
        if autocast not in (None, torch.float16, torch.bfloat16):
            raise ValueError(f"autocast must be None, torch.float16 or torch.bfloat16, "
                             f"got {autocast!r}")
        self.device = device
        self.channels_last = channels_last
        self.autocast = autocast
        network = network.eval().to(device)
        if channels_last:
            network = network.to(memory_format=torch.channels_last)
        self.network = network

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            batch = batch.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode(), torch.autocast(self.device.type, dtype=self.autocast,
                                                    enabled=self.autocast is not None):
            return self.network(batch).float().contiguous()


def onnx_session_options(threads: int = 0):
    """onnxruntime session options; ``threads`` > 0 fixes the intra-op thread count (0 lets
    onnxruntime use one per core). On a small CPU shared with a capture thread, the optical
    flow and torch, 1 thread can be faster than all cores (see the webcam benchmark).

    The intra-op threads sleep between calls instead of spinning (onnxruntime's default is
    to spin): the pipeline runs the detector, the pose calls, the optical flow and torch side
    by side, and a spinning pool takes cores the others need. Same outputs;
    ``python -m benchmarks.bench_pipeline --overlap`` measures it."""
    import onnxruntime as ort

    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 0:
        raise ValueError(f"onnx_threads must be an integer >= 0, got {threads!r}")
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def _open_session(path, options, providers):
    import onnxruntime as ort

    try:
        return ort.InferenceSession(str(path), options, providers=providers)
    except Exception as e:  # onnxruntime raises its own non-exported exception types
        raise CheckpointError(f"{path} is not a readable ONNX model: {e}") from e


class OnnxHeatmapNet:
    """Runs an ONNX heatmap model with onnxruntime (CUDA provider when the device is CUDA).

    Args:
        path: the .onnx file.
        input_name, output_name: tensor names; None takes the first input / first 4-D output.
        device: torch device the rest of the pipeline uses; outputs are returned there.
        threads: onnxruntime intra-op threads of each call (0: one per core, or the cores
            shared among ``runs``).
        runs: for a model with a fixed batch (one crop per call, e.g. PP-TinyPose) on the
            CPU, calls run at once, each in its own thread (0: one per core). A batch-1 call
            keeps two cores only part busy: two 1-thread calls at once do 1.7x the crops/s of
            one 2-thread call on 2 cores, with the same outputs (onnxruntime computes a crop
            the same whatever the thread count). Models with a free batch run in one call.
    """

    def __init__(self, path: str | Path, input_name: str | None, output_name: str | None,
                 device: torch.device, threads: int = 0, runs: int = 0):
        import onnxruntime as ort

        if isinstance(runs, bool) or not isinstance(runs, int) or runs < 0:
            raise ValueError(f"onnx_runs must be an integer >= 0, got {runs!r}")
        providers = ["CPUExecutionProvider"]
        if device.type == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        self.session = _open_session(path, onnx_session_options(threads), providers)
        self._pool: Optional[ThreadPoolExecutor] = None
        self.device = device
        inputs = {i.name: i for i in self.session.get_inputs()}
        outputs = {o.name: o for o in self.session.get_outputs()}
        self.input_name = input_name or next(iter(inputs))
        if self.input_name not in inputs:
            raise CheckpointError(f"{path} has no input {self.input_name!r}; "
                                  f"its inputs are {sorted(inputs)}")
        self.output_name = output_name or next(
            (name for name, o in outputs.items() if len(o.shape) == 4), next(iter(outputs)))
        if self.output_name not in outputs:
            raise CheckpointError(f"{path} has no output {self.output_name!r}; "
                                  f"its outputs are {sorted(outputs)}")
        #: a float16 export (posetrack-export --fp16) is fed float16
        self.input_dtype = np.float16 if inputs[self.input_name].type == "tensor(float16)" \
            else np.float32
        batch_dim = inputs[self.input_name].shape[0]
        self.fixed_batch = batch_dim if isinstance(batch_dim, int) and batch_dim > 0 else None
        cores = os.cpu_count() or 1
        on_cpu = self.session.get_providers()[0] == "CPUExecutionProvider"
        self.runs = (runs or cores) if self.fixed_batch and on_cpu else 1
        if self.runs > 1 and not threads:      # the cores shared among the runs
            self.session = _open_session(
                path, onnx_session_options(max(1, cores // self.runs)), providers)

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        array = batch.detach().to("cpu", torch.float32).numpy()
        step = self.fixed_batch or max(len(array), 1)
        chunks = [array[start:start + step] for start in range(0, len(array), step)]
        if self.runs > 1 and len(chunks) > 1:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.runs,
                                                thread_name_prefix="onnx-run")
            outputs = list(self._pool.map(self._run, chunks))
        else:
            outputs = [self._run(chunk) for chunk in chunks]
        return torch.from_numpy(np.concatenate(outputs).astype(np.float32)).to(self.device)

    def _run(self, chunk: np.ndarray) -> np.ndarray:
        """One session call on ``chunk`` (padded to a fixed batch; the padding dropped)."""
        valid = len(chunk)
        if self.fixed_batch and valid < self.fixed_batch:
            pad = np.zeros((self.fixed_batch - valid,) + chunk.shape[1:], np.float32)
            chunk = np.concatenate([chunk, pad])
        feed = {self.input_name: chunk.astype(self.input_dtype, copy=False)}
        return self.session.run([self.output_name], feed)[0][:valid]
