"""``load_pose_model``: a zoo name or model YAML + weights -> a ready ``TopDownPoseEstimator``."""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Optional

import torch

from tracker.pose.backends import OnnxHeatmapNet, TorchHeatmapNet, resolve_device
from tracker.pose.checkpoint import load_into, read_state_dict
from tracker.pose.estimator import DEFAULT_MAX_BATCH, TopDownPoseEstimator
from tracker.pose.net import PoseResNet, fold_batchnorm as fold_network_batchnorm
from tracker.pose.precision import autocast_dtype, slow_on_this_cpu
from tracker.pose.zoo import PoseModelSpec, get_pose_model_spec
from tracker.weights import resolve_weights

#: Crops per network call on the CPU: 8 measured faster than 32 for res50 256x192 on 2 cores
#: (16 people, flip test: ``python -m benchmarks.bench_vs_mmpose``).
CPU_MAX_BATCH = 8


def build_network(spec: PoseModelSpec) -> PoseResNet:
    """An untrained ``PoseResNet`` with the architecture of a torch zoo entry."""
    return PoseResNet(depth=spec.depth, num_keypoints=spec.num_keypoints,
                      num_deconv_layers=spec.num_deconv_layers)


def torch_heatmap_net(module: PoseResNet, device: torch.device, *, channels_last: bool,
                      autocast: Optional[torch.dtype],
                      fold_batchnorm: bool = True) -> TorchHeatmapNet:
    """The network runner of ``load_pose_model``: BatchNorm folded into the convolutions
    (``net.fold_batchnorm``) unless asked not to, under ``autocast`` (``precision.
    autocast_dtype``); a CUDA network in 16-bit floats runs channels-last (tensor cores)."""
    if fold_batchnorm:
        module = fold_network_batchnorm(module)
    tensor_cores = autocast is not None and device.type == "cuda"
    return TorchHeatmapNet(module, device, channels_last=channels_last or tensor_cores,
                           autocast=autocast)


def load_pose_model(name: str | Path, checkpoint: Optional[str | Path] = None,
                    device: str | torch.device = "cpu", *, flip_test: bool = True,
                    channels_last: bool = True, fold_batchnorm: bool = True,
                    max_batch_size: Optional[int] = None,
                    onnx_threads: int = 0, onnx_runs: int = 0,
                    fast_path: Optional[bool] = None, precision: Optional[str] = None,
                    progress: bool = True) -> TopDownPoseEstimator:
    """Build a pose model and load its weights.

    Args:
        name: a model-zoo name (``configs/pose_models.yaml``) or a YAML file with the keys of
            one zoo entry (its ``filename`` is looked for beside the YAML first, as
            ``posetrack-export`` writes them).
        checkpoint: a local .pth (mmpose or plain state dict) or .onnx file overriding the
            zoo download.
        device: "cpu", "cuda", "cuda:N" or "auto".
        flip_test: default flip test of ``predict`` (the seed's configs use it).
        channels_last: run a torch network in channels-last memory format (numerically the
            same network up to float rounding: keypoints equal mmpose's, scores within 2e-6;
            faster on this CPU, see ``benchmarks/bench_vs_mmpose.py``).
        fold_batchnorm: fold a torch network's BatchNorm layers into its convolutions
            (``tracker.pose.net.fold_batchnorm``: the same network up to float rounding,
            keypoints equal mmpose's; 1.02-1.14x faster on this CPU).
        max_batch_size: crops per network call; None: ``CPU_MAX_BATCH`` (8) on the CPU,
            where it measured faster than 32, ``DEFAULT_MAX_BATCH`` (32) on CUDA.
        onnx_threads: ONNX models: onnxruntime intra-op threads (0: one per core, shared
            among ``onnx_runs``).
        onnx_runs: ONNX models with a fixed batch on the CPU: calls run at once (0: one per
            core; see ``OnnxHeatmapNet``).
        fast_path: crops made on the device in one call, crops and mirrors in one network
            call (``TopDownPoseEstimator``'s ``fast_path``), for torch networks on CUDA in
            float16 (``precision`` None); not bit-exact with mmpose. None: on for a CUDA
            device, off on the CPU.
        precision: torch networks: "float32", "float16" or "bfloat16" (autocast), or None:
            float16 on the CUDA fast path, else float32 (``tracker.pose.precision``).
            "bfloat16" on a CPU with native bf16 is about 2x float32 and moves keypoints
            (measured in the README); elsewhere it is slower and warns. ONNX models run in
            the precision they were exported in: only None / "float32" are accepted.
        progress: show a progress bar when downloading weights.

    Example:
        >>> model = load_pose_model("res50_coco_256x192", device="cpu")
        >>> poses = model.predict(image_bgr, boxes_xywh)   # poses.keypoints: (N, 17, 2)
    """
    spec = get_pose_model_spec(name)
    if checkpoint is None and spec.filename and Path(str(name)).suffix in (".yaml", ".yml"):
        beside = Path(str(name)).parent / spec.filename
        checkpoint = beside if beside.is_file() else None
    torch_device = resolve_device(device)
    fast = torch_device.type == "cuda" if fast_path is None else bool(fast_path)
    autocast = autocast_dtype(precision, torch_device, fast_path=fast)   # checks precision
    if spec.backend == "onnx" and precision not in (None, "float32"):
        raise ValueError(f"precision {precision!r} applies to torch pose models; "
                         f"{spec.name} is an ONNX model and runs in the precision it was "
                         "exported in (posetrack-export --fp16 writes a float16 one)")
    slow = slow_on_this_cpu(autocast, torch_device)
    if slow:
        warnings.warn(f"pose precision {precision!r}: {slow}", RuntimeWarning, stacklevel=2)
    path = resolve_weights(spec.weights, checkpoint, progress=progress)
    if max_batch_size is None:
        max_batch_size = CPU_MAX_BATCH if torch_device.type == "cpu" else DEFAULT_MAX_BATCH
    if spec.backend == "onnx":
        network = OnnxHeatmapNet(path, spec.onnx_input, spec.onnx_output, torch_device,
                                 threads=onnx_threads, runs=onnx_runs)
    else:
        module = build_network(spec)
        load_into(module, read_state_dict(path), path, spec.name)
        network = torch_heatmap_net(
            module, torch_device, channels_last=channels_last, fold_batchnorm=fold_batchnorm,
            autocast=autocast)
    return TopDownPoseEstimator(
        network=network, keypoint_set=spec.keypoint_set, input_size_wh=spec.input_size_wh,
        mean=spec.mean, std=spec.std, channel_order=spec.channel_order, device=torch_device,
        flip_test=flip_test, max_batch_size=max_batch_size, fast_path=fast)
