"""posetrack-run over many inputs: one PoseTrack18 JSON per video in ``--out DIR``.

    posetrack-run clips/ --out tracks/                       # every video of a folder
    posetrack-run images/val/* --out pred/ --workers 2       # two processes, own models each
    posetrack-run videos.txt --out /shared/tracks --ray auto # one Ray task per video

Each input gets ``DIR/<name>.json`` (``apps.batch_inputs.output_names``: stable stems), and
``DIR/<name>.mp4`` in the ``--render`` folder. A finished output is skipped (the batch
resumes; ``--overwrite`` reruns it). A video that fails is reported with its error and the
others go on; the exit code is then 1 and the failures are listed. At the end a table (frames,
people per frame, tracks, frames/s, status) is printed and written to ``DIR/summary.json``.

Every output is the one a run of that video alone writes: the models are built once per
process (serial: once; ``--workers N``: once per worker process; ``--ray``: once per actor)
and the pipeline is reset at the start of each video. Outputs are written by whoever runs
the video, under a temporary name renamed into place, so a shared folder never holds half a
file. A stop (Ctrl-C, SIGTERM) leaves no partial output: the video in progress is removed and
runs again on resume.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Iterator, Optional

from tqdm import tqdm

from apps.batch_inputs import BatchInput, output_names
from tracker.errors import ConfigError
from tracker.files import write_json_atomically

SUMMARY_NAME = "summary.json"
#: How many times a video whose worker died is run again (--workers and --ray).
MAX_RETRIES = 2
COLUMNS = ("name", "status", "frames", "people_per_frame", "tracks", "fps", "seconds")


def is_batch(args) -> bool:
    """Many inputs (or --workers / --ray): ``--out`` is a folder, one JSON per input."""
    return args.inputs != args.source[:1] or args.workers > 1 or args.ray is not None


def check_batch_outputs(parser, args) -> None:
    """Exit 2 for a batch whose --out is a file or whose flags only fit one video."""
    if args.out.suffix.lower() == ".json" or args.out.is_file():
        parser.error(f"--out {args.out}: {len(args.inputs)} input(s) in a batch need an output "
                     "folder (one <name>.json per input), not a file")
    if args.render is not None and (args.render.suffix or args.render.is_file()):
        parser.error(f"--render {args.render}: for a batch, give a folder (one <name>.mp4 "
                     "per input)")
    if args.sequence_name is not None:
        parser.error("--sequence-name names one video's frames; a batch derives it per input")
    if args.ray is not None and args.workers > 1:
        parser.error("--workers and --ray: give one (Ray schedules the videos itself)")


def outputs_of(args, item: BatchInput) -> tuple[Path, Optional[Path]]:
    """(JSON path, render path or None) of one input."""
    render = Path(args.render) / f"{item.name}.mp4" if args.render is not None else None
    return Path(args.out) / f"{item.name}.json", render


def new_row(item: BatchInput, out: Path, status: str, error: Optional[str] = None) -> dict:
    """A summary row with no frames yet."""
    return dict(name=item.name, input=item.source, output=str(out), status=status, frames=0,
                people_per_frame=0.0, tracks=0, fps=0.0, seconds=0.0, error=error)


def failed_row(args, item: BatchInput, error: str) -> dict:
    return new_row(item, outputs_of(args, item)[0], "failed", error)


def run_video(args, item: BatchInput, stages_for) -> dict:
    """One input of the batch -> its summary row; an error is the row's, not raised (a stop
    is raised, after removing the partial output)."""
    from apps.run import track_one

    out, render = outputs_of(args, item)
    row = new_row(item, out, "done")
    started = time.perf_counter()
    try:
        outcome = track_one(args, item.source, out, render, stages_for, bar=False)
    except Exception as error:      # reported in the summary; the other videos go on
        row.update(status="failed", error=f"{type(error).__name__}: {error}",
                   seconds=time.perf_counter() - started)
        return row
    if outcome.stop is not None:     # a partial file would read as finished on resume
        for path in (out, render):
            if path is not None and path.exists():
                path.unlink()
        raise outcome.stop
    writer = outcome.writer
    row.update(frames=writer.num_frames, tracks=len(writer.frames_per_track),
               people_per_frame=writer.num_annotations / max(1, writer.num_frames),
               fps=outcome.fps, seconds=time.perf_counter() - started)
    return row


# -- runners: each yields the rows of ``items`` as their videos finish -------------------------

def run_serial(args, items: list[BatchInput]) -> Iterator[dict]:
    from apps.run import StagesOnce, configure

    config, _ = configure(args)
    stages_for = StagesOnce(config, progress=not args.quiet)
    for item in items:
        yield run_video(args, item, stages_for)


_WORKER: dict = {}


def worker_stages(args, threads: int):
    """``StagesOnce`` for a worker given ``threads`` cores: torch's threads and, where the
    config leaves them automatic (0: one per core), the detector's and pose model's
    onnxruntime threads, so N workers do not each take every core."""
    import torch

    from apps.run import StagesOnce, configure

    threads = max(1, threads)
    torch.set_num_threads(threads)
    config, _ = configure(args)
    for section in ("detector", "pose"):
        if config[section].get("onnx_threads") == 0:
            config[section] = {**config[section], "onnx_threads": threads}
    return StagesOnce(config, progress=False)


def _worker_start(args, threads: int) -> None:
    _WORKER["args"], _WORKER["stages"] = args, worker_stages(args, threads)


def _worker_video(item: BatchInput) -> dict:
    return run_video(_WORKER["args"], item, _WORKER["stages"])


def run_workers(args, items: list[BatchInput]) -> Iterator[dict]:
    """``--workers N`` processes (spawned), each with its own models and 1/N of the cores.

    A worker that dies (killed, out of memory) breaks the pool: the videos that had not
    finished are run again in a new pool, up to ``MAX_RETRIES`` times, then reported failed.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    pending, attempt = list(items), 0
    while pending:
        workers = min(args.workers, len(pending))
        threads = max(1, (os.cpu_count() or 1) // workers)
        died = []
        with ProcessPoolExecutor(max_workers=workers,
                                 mp_context=multiprocessing.get_context("spawn"),
                                 initializer=_worker_start, initargs=(args, threads)) as pool:
            futures = {pool.submit(_worker_video, item): item for item in pending}
            for future in as_completed(futures):
                try:
                    yield future.result()
                except BrokenProcessPool as error:
                    died.append((futures[future], error))
        attempt += 1
        if died and attempt > MAX_RETRIES:
            for item, error in died:
                yield failed_row(args, item, f"a worker process died {attempt} times: {error}")
            return
        if died:
            print(f"warning: a worker process died; running {len(died)} unfinished video(s) "
                  f"again (retry {attempt} of {MAX_RETRIES})", file=sys.stderr)
        pending = [item for item, _ in died]


def run_batch(args) -> int:
    """The batch: skip finished outputs, run the rest, print and write the summary."""
    items = output_names(args.inputs)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows, todo = {}, []
    for item in items:
        out, _ = outputs_of(args, item)
        if out.exists() and not args.overwrite:
            rows[item.name] = new_row(item, out, "skipped",
                                      error="output exists (--overwrite reruns it)")
        else:
            todo.append(item)
    if args.ray is not None:
        from apps.batch_ray import run_ray
        runner = run_ray
    else:
        runner = run_workers if args.workers > 1 else run_serial
    bar = tqdm(total=len(items), initial=len(items) - len(todo), unit="video",
               disable=args.quiet, desc="videos")
    started = time.perf_counter()
    try:
        for row in runner(args, todo) if todo else ():
            rows[row["name"]] = row
            bar.write(_line(row), file=sys.stderr)
            bar.update(1)
    finally:
        bar.close()
        ordered = [rows[item.name] for item in items if item.name in rows]
        write_summary(out_dir / SUMMARY_NAME, ordered, time.perf_counter() - started)
    print(summary_table(ordered), file=sys.stderr)
    failed = [row for row in ordered if row["status"] == "failed"]
    if failed:
        print(f"{len(failed)} of {len(items)} input(s) failed:", file=sys.stderr)
        for row in failed:
            print(f"  {row['input']}: {row['error']}", file=sys.stderr)
        return 1
    return 0


def _line(row: dict) -> str:
    if row["status"] == "failed":
        return f"{row['name']}: FAILED: {row['error']}"
    return (f"{row['name']}: {row['frames']} frames, {row['tracks']} tracks, "
            f"{row['fps']:.1f} frames/s -> {row['output']}")


def summary_table(rows: list[dict]) -> str:
    """The batch's table, one line per input and a total."""
    lines = [f"{'input':32s} {'status':8s} {'frames':>7s} {'people/fr':>9s} {'tracks':>6s} "
             f"{'frames/s':>8s}"]
    for row in rows:
        lines.append(f"{row['name'][:32]:32s} {row['status']:8s} {row['frames']:7d} "
                     f"{row['people_per_frame']:9.1f} {row['tracks']:6d} {row['fps']:8.1f}")
    done = [r for r in rows if r["status"] == "done"]
    frames = sum(r["frames"] for r in done)
    lines.append(f"{len(done)} done, {sum(r['status'] == 'skipped' for r in rows)} skipped, "
                 f"{sum(r['status'] == 'failed' for r in rows)} failed; {frames} frames")
    return "\n".join(lines)


def write_summary(path: Path, rows: list[dict], seconds: float) -> None:
    """``summary.json``: the rows and the batch's wall time (written atomically)."""
    done = [r for r in rows if r["status"] == "done"]
    frames = sum(r["frames"] for r in done)
    data = dict(inputs=rows, wall_seconds=seconds,
                frames_per_second=frames / seconds if seconds > 0 else 0.0,
                failed=[r["input"] for r in rows if r["status"] == "failed"])
    write_json_atomically(path, data)


def ray_missing_error() -> ConfigError:
    return ConfigError("--ray needs Ray, an optional extra: pip install -e '.[ray]' (or pip "
                       "install 'ray>=2'); without it use --workers N on one machine")
