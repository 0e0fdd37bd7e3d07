#!/usr/bin/env bash
# The GPU checks of the pose path in one short device run (a few minutes on an H100/H200):
# the CUDA tests, then bench_pose's crops/s (batch 1/32/256, eager fp32 vs channels-last, fp16,
# bf16, torch.compile) and exact vs fast top-down predict with the keypoint difference.
#
#   bash benchmarks/gpu_checks.sh [SHARED]       # from the repository root, on the GPU machine
#
# SHARED: the shared data folder there (default ../shared). The device machine gets only the
# repository, so copy what the checks read into an ignored folder and carry it, e.g.
# fixtures/mmpose-parity (make_checkpoint.py, checkpoints.json, schemas/, refs/, images/) and
# data/videos/street-crowd-720p.avi and indoor-2p-1080p.mp4, models/rtmdet-nano-person, into
# .shared/. The last step is end to end: posetrack-run's overlapped and sequential paths with
# the ResNet-50 on CUDA (synthetic PoseTrack18 weights: speed does not depend on them) against
# the decode-only rate of the same video. Without it the parity tests skip and
# bench_pose uses a random frame. Packages the machine lacks (lap, pycocotools, motmetrics,
# shapely) can travel as wheels (the device README); the pose checks need only torch, numpy,
# opencv and pyyaml. Logs go to $OUT (the device tool's folder) or ./gpu-checks.
set -u -o pipefail
out=${OUT:-gpu-checks}
mkdir -p "$out"
export POSETRACK_SHARED=${1:-../shared} PYTHONPATH=${PYTHONPATH:+$PYTHONPATH:}. PYTHONUNBUFFERED=1
python=${PYTHON:-python3}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | tee "$out/gpu.txt"
$python -m pytest -q -p no:cacheprovider -m cuda tests/tracker/pose 2>&1 | tee "$out/cuda_tests.log"
$python -m benchmarks.bench_pose --device cuda --repeats 10 --people 1 16 64 256 \
    --max-batch-size 256 2>&1 | tee "$out/bench_pose.log"
$python -m benchmarks.bench_pose --device cuda --compile --batch-sizes 256 --people 64 \
    --max-batch-size 256 2>&1 | tee "$out/bench_pose_compile.log"
$python - "$out/res50_posetrack18.pth" <<'EOF' 2>&1 | tee "$out/checkpoint.log"
import json, sys
from tests.shared_data import PARITY_DIR, checkpoint_recipe, shared_path
entry = json.loads(shared_path(*PARITY_DIR, "checkpoints.json").read_text())[
    "res50_posetrack18_256x192-a62807c7_20201028.pth"]
checkpoint_recipe().make_checkpoint(str(shared_path(*PARITY_DIR, entry["schema"])), sys.argv[1],
                                    salt=entry["salt"], legacy=False)
EOF
$python -m benchmarks.bench_pipeline --overlap --device cuda --frames 150 \
    --videos indoor-2p-1080p.mp4 street-crowd-720p.avi \
    --pose-checkpoint "$out/res50_posetrack18.pth" 2>&1 | tee "$out/bench_pipeline_cuda.log"
rm -f "$out/res50_posetrack18.pth"
