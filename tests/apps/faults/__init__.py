"""Fault injection through the commands (issue 13): every failing case checks a non-zero exit,
one clear error line, no hidden temporary file left in the output folder and earlier outputs
byte for byte as they were (``common``). Where each item is tested:

1. output = input or another output: ``test_outputs`` (``test_out_that_is_*``,
   ``test_render_and_out_on_one_file_is_refused``)
2. full disk while rendering (``RLIMIT_FSIZE`` in a subprocess): ``test_outputs``
   (``test_a_render_cut_short_by_a_full_disk_*``)
3. a failed run keeps the earlier render; mixed frame sizes: ``test_outputs``
4. concurrent runs on the same outputs (two subprocesses): ``test_outputs``
5. SIGTERM / SIGHUP sent to a subprocess: ``test_stops``
6. full disk while writing the tracks, cleanup without a flush: ``test_outputs``
   (``test_tracks_cut_short_*``), ``test_stops`` (``test_a_writer_on_a_full_disk_*``)
7. ``--out DIR`` and unwritable folders before the first frame: ``test_outputs``
8. config values of the wrong type or range: ``test_values``
9. a detections file matching no frame: ``test_detection_files``
10. frames under 12 px in DIS flow: ``test_values``
11. posetrack-pose NaN tokens and huge boxes: ``test_inputs``
12. detection scores out of range: ``test_detection_files``
13. posetrack-eval annotation of no image: ``test_inputs``
14. posetrack-val names the user's GT file: ``test_inputs``
15. binary YAML, random .pth, empty source: ``test_inputs``; string ``category_id``:
    ``test_detection_files``; ``--start`` past the end, warnings printed once: ``test_values``
"""
