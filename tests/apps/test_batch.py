"""posetrack-run over many inputs on the shared videos: the same bytes as one run per video,
serial, with --workers and on a local Ray; failures reported, resumable."""
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from apps import run
from tests.shared_data import shared_path

DETECTOR = ("models", "rtmdet-nano-person", "end2end.onnx")
POSE = ("models", "pp-tinypose-256x192", "pp_tinypose_256x192.onnx")
VIDEOS = ("basketball-2p-426x240.mp4", "indoor-2p-1080p.mp4")
FRAMES = "6"


def _models():
    return ["--detector", "rtmdet-nano", "--detector-checkpoint", str(shared_path(*DETECTOR)),
            "--pose-model", "pp_tinypose_256x192", "--pose-checkpoint", str(shared_path(*POSE)),
            "--quiet", "--max-frames", FRAMES]


def _videos():
    return [str(shared_path("data", "videos", name)) for name in VIDEOS]


def _stem(name):
    return name.rsplit(".", 1)[0]


@pytest.fixture(scope="module")
def alone(tmp_path_factory):
    """name -> bytes of each video run alone (the single-video command)."""
    folder = tmp_path_factory.mktemp("alone")
    outputs = {}
    for video in _videos():
        out = folder / (os.path.basename(video) + ".json")
        assert run.main([video, "--out", str(out), *_models()]) == 0
        outputs[_stem(os.path.basename(video))] = out.read_bytes()
    return outputs


def _outputs(folder):
    return {p.stem: p.read_bytes() for p in folder.glob("*.json") if p.name != "summary.json"}


def test_a_serial_batch_equals_each_video_alone_and_reports_a_failure(tmp_path, capsys, alone):
    out = tmp_path / "tracks"
    code = run.main([*_videos(), str(tmp_path / "missing.mp4"), "--out", str(out), *_models()])
    assert code == 1
    assert _outputs(out) == alone
    summary = json.loads((out / "summary.json").read_text())
    status = {row["name"]: row["status"] for row in summary["inputs"]}
    assert status == {"basketball-2p-426x240": "done", "indoor-2p-1080p": "done",
                      "missing": "failed"}
    assert summary["failed"] == [str(tmp_path / "missing.mp4")]
    assert [row["frames"] for row in summary["inputs"]] == [6, 6, 0]
    err = capsys.readouterr().err
    assert "1 of 3 input(s) failed" in err and "missing.mp4: FileNotFoundError" in err


def test_a_batch_resumes_skipping_finished_outputs(tmp_path, capsys, alone):
    out = tmp_path / "tracks"
    out.mkdir()
    (out / "indoor-2p-1080p.json").write_text("finished earlier")
    assert run.main([*_videos(), "--out", str(out), *_models()]) == 0
    assert (out / "indoor-2p-1080p.json").read_text() == "finished earlier"
    assert (out / "basketball-2p-426x240.json").read_bytes() == alone["basketball-2p-426x240"]
    rows = json.loads((out / "summary.json").read_text())["inputs"]
    assert [row["status"] for row in rows] == ["done", "skipped"]
    assert run.main([*_videos(), "--out", str(out), "--overwrite", *_models()]) == 0
    assert _outputs(out) == alone


def test_a_folder_of_videos_with_two_workers_equals_each_video_alone(tmp_path, alone):
    folder = tmp_path / "clips"
    folder.mkdir()
    for video in _videos():
        (folder / os.path.basename(video)).symlink_to(video)
    out = tmp_path / "tracks"
    assert run.main([str(folder), "--out", str(out), "--workers", "2", *_models()]) == 0
    assert _outputs(out) == alone


def _kill_one_pool_worker(killed: list, deadline_s: float = 120.0) -> None:
    """SIGKILL the first worker process of this test's --workers pool once it runs."""
    import multiprocessing

    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        children = [c for c in multiprocessing.active_children() if c.pid]
        if children:
            os.kill(children[0].pid, signal.SIGKILL)
            killed.append(children[0].pid)
            return
        time.sleep(0.05)


def test_a_killed_worker_process_is_replaced_and_its_video_retried(tmp_path, alone, capsys):
    killed = []
    killer = threading.Thread(target=_kill_one_pool_worker, args=(killed,), daemon=True)
    killer.start()
    out = tmp_path / "tracks"
    code = run.main([*_videos(), "--out", str(out), "--workers", "2", *_models()])
    killer.join(timeout=1)
    assert killed, "no worker process was seen to kill"
    assert "a worker process died; running" in capsys.readouterr().err
    assert code == 0
    assert _outputs(out) == alone


@pytest.mark.parametrize("extra, message", [
    (["--out", "x.json"], "need an output folder"),
    (["--out", "d", "--render", "r.mp4"], "for a batch, give a folder"),
    (["--out", "d", "--sequence-name", "s"], "a batch derives it per input"),
    (["--out", "d", "--ray", "--workers", "2"], "give one"),
])
def test_batch_flags_that_fit_one_video_are_refused(tmp_path, capsys, extra, message):
    with pytest.raises(SystemExit) as stop:
        run.parse_args(["a.mp4", "b.mp4", *extra])
    assert stop.value.code == 2 and message in capsys.readouterr().err


def test_a_list_file_is_a_batch_and_needs_an_output_folder(tmp_path, capsys):
    listing = tmp_path / "inputs.txt"
    listing.write_text("\n".join(_videos()) + "\n")
    with pytest.raises(SystemExit):
        run.parse_args([str(listing), "--out", str(tmp_path / "t.json")])
    assert "need an output folder" in capsys.readouterr().err
    assert run.parse_args([str(listing), "--out", str(tmp_path / "t")]).inputs == _videos()


def test_ray_without_ray_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    code = run.main([*_videos(), "--out", str(tmp_path / "t"), "--ray", *_models()])
    assert code == 1 and "pip install -e '.[ray]'" in capsys.readouterr().err


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray", reason="Ray not installed (pip install -e '.[ray]')")
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()
    for number, handler in handlers.items():     # ray.init installs its own SIGTERM handler
        signal.signal(number, handler)


def test_ray_batch_equals_each_video_alone(tmp_path, local_ray, alone):
    out = tmp_path / "tracks"
    assert run.main([*_videos(), "--out", str(out), "--ray", *_models()]) == 0
    assert _outputs(out) == alone


def _kill_one_video_worker(killed: list, deadline_s: float = 120.0) -> None:
    """SIGKILL the first Ray worker process seen running ``VideoWorker.run``."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                text = cmdline.read_bytes().replace(b"\0", b" ")
            except OSError:      # the process ended meanwhile
                continue
            if b"ray::VideoWorker.run" in text:
                pid = int(cmdline.parent.name)
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
        time.sleep(0.05)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the Ray worker through /proc")
def test_a_killed_ray_worker_is_restarted_and_its_video_retried(tmp_path, local_ray, alone):
    killed = []
    killer = threading.Thread(target=_kill_one_video_worker, args=(killed,), daemon=True)
    killer.start()
    out = tmp_path / "tracks"
    code = run.main([*_videos(), "--out", str(out), "--ray", *_models()])
    killer.join(timeout=1)
    assert killed, "no VideoWorker.run process was seen to kill"
    assert code == 0
    assert _outputs(out) == alone
