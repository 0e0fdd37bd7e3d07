"""Input and output: frame sources, live capture, result files and rendered video.

    video.py        frames_from_source / open_source: video files, frame folders, cameras
    live.py         newest-frame capture thread and live statistics (webcam demo)
    posetrack18.py  PoseTrack18 JSON: read_posetrack18 (the one reader) and TrackWriter
                    (tracked poses as PoseTrack18 or COCO JSON, streamed, atomic)
    coco.py         the COCO keypoint results layout of one person (TrackWriter's "coco")
    render.py       drawing skeletons and ids, writing frames to a video file
"""
