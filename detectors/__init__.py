"""Person detectors: each returns ``tracker.types.Detections`` in frame pixels.

Detector implementations arrive with the video pipeline; see the README's roadmap.
"""
