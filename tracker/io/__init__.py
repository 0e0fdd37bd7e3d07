"""Input and output: frame sources, live capture, result files and rendered video.

    video.py        frames_from_source / open_source: video files, frame folders, cameras
    live.py         newest-frame capture thread and live statistics (webcam demo)
    output.py       TrackWriter: PoseTrack18 / COCO JSON of tracked poses, streamed
    render.py       drawing skeletons and ids, writing frames to a video file
"""
