"""``posetrack-run --ray [ADDRESS]``: one Ray task per video, models loaded once per actor.

Ray is an optional extra (``pip install -e '.[ray]'``). The driver connects to the cluster at
ADDRESS (``auto``: the one this machine belongs to; nothing: a local Ray started for the
batch), starts one ``VideoWorker`` actor per free slot of ``--ray-cpus`` CPUs and
``--ray-gpus`` GPUs (at most one per video), and hands each a video at a time. An actor
builds the models once and writes the outputs itself, atomically, to ``--out`` (a folder
every node can reach). A worker process that dies is restarted and its video retried
(``MAX_RETRIES`` times); a video that fails with an error is reported, not retried.
"""
from __future__ import annotations

from typing import Iterator

from apps.batch import (MAX_RETRIES, failed_row, ray_missing_error, run_video,
                         worker_stages)
from apps.batch_inputs import BatchInput


class VideoWorker:
    """A Ray actor: the run's models, built on its first video."""

    def __init__(self, args, threads: int) -> None:
        self.args = args
        self.stages_for = worker_stages(args, threads)

    def pid(self) -> int:
        import os
        return os.getpid()

    def run(self, item: BatchInput) -> dict:
        return run_video(self.args, item, self.stages_for)


def run_ray(args, items: list[BatchInput]) -> Iterator[dict]:
    try:
        import ray
    except ImportError as error:
        raise ray_missing_error() from error
    import torch

    import signal

    started_here = not ray.is_initialized()
    if started_here:     # ray.init replaces the SIGTERM handler: keep the app's (cli)
        handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        ray.init(address=args.ray or None, include_dashboard=False, log_to_driver=False)
        for number, handler in handlers.items():
            signal.signal(number, handler)
    try:
        gpus = args.ray_gpus if args.ray_gpus is not None else (
            1.0 if torch.cuda.is_available() else 0.0)
        resources = ray.cluster_resources()
        slots = int(resources.get("CPU", 1) // max(args.ray_cpus, 1e-9))
        if gpus > 0:
            slots = min(slots, int(resources.get("GPU", 0) // gpus))
        if slots < 1:
            from tracker.errors import ConfigError
            raise ConfigError(f"--ray: the cluster has {resources.get('CPU', 0)} CPUs and "
                              f"{resources.get('GPU', 0)} GPUs, too few for one video at "
                              f"--ray-cpus {args.ray_cpus} --ray-gpus {gpus}")
        actor = ray.remote(num_cpus=args.ray_cpus, num_gpus=gpus, max_restarts=MAX_RETRIES,
                           max_task_retries=MAX_RETRIES)(VideoWorker)
        free = [actor.remote(args, int(args.ray_cpus)) for _ in range(min(slots, len(items)))]
        waiting = list(items)
        running = {}      # ObjectRef -> (actor, item)
        while waiting or running:
            while waiting and free:
                worker, item = free.pop(), waiting.pop(0)
                running[worker.run.remote(item)] = (worker, item)
            (ready,), _ = ray.wait(list(running), num_returns=1)
            worker, item = running.pop(ready)
            free.append(worker)
            try:
                yield ray.get(ready)
            except ray.exceptions.RayError as error:   # the worker died past its retries
                yield failed_row(args, item, f"the Ray worker failed: {error}")
    finally:
        if started_here:
            ray.shutdown()
