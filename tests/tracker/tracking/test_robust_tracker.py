"""RobustPoseTracker on literal poses: lifecycle, motion while unseen, two stages, appearance,
merging and camera motion (no shared data)."""
import numpy as np
import pytest

from tracker.tracking.appearance import appearance_similarity, colour_descriptors
from tracker.tracking.flow import global_motion
from tracker.tracking.pose_tracker import PoseTracker
from tracker.tracking.robust_tracker import RobustPoseTracker
from tracker.types import Frame, Poses

SIGMAS = np.array([.026, .025, .025, .035, .035, .079, .079, .072, .072, .062, .062, .107,
                   .107, .087, .087, .089, .089])
#: A standing person's 17 COCO keypoints relative to the box centre, for a 40 x 100 box.
TEMPLATE = np.array([[0, -45], [-3, -47], [3, -47], [-6, -45], [6, -45], [-12, -30], [12, -30],
                     [-16, -12], [16, -12], [-18, 5], [18, 5], [-8, 5], [8, 5], [-9, 25],
                     [9, 25], [-9, 45], [9, 45]], np.float32)


def person(x, y, score=0.9):
    return TEMPLATE + np.array([x, y], np.float32), score


def frame_poses(*people) -> Poses:
    if not people:
        return Poses.empty(17)
    keypoints = np.stack([p[0] for p in people])
    centres = keypoints.mean(axis=1)
    boxes = np.concatenate([centres - [20, 50], centres + [20, 50]], axis=1)
    return Poses(keypoints=keypoints, keypoint_scores=np.full((len(people), 17), 0.9, np.float32),
                 boxes_xyxy=boxes.astype(np.float32),
                 box_scores=np.array([p[1] for p in people], np.float32))


def frame_at(index, fps=30.0, image=None):
    image = np.zeros((240, 320, 3), np.uint8) if image is None else image
    return Frame(index=index, image=image, name=f"{index:06d}", timestamp_s=index / fps)


def run(tracker, frames_of_people, fps=30.0):
    """Ids per frame for a list of frames, each a list of ``person(...)``."""
    return [tracker.update(frame_poses(*people), frame=frame_at(i, fps)).tolist()
            for i, people in enumerate(frames_of_people)]


def make(**options):
    return RobustPoseTracker(oks_sigmas=SIGMAS, **options)


def test_people_at_the_start_get_ids_at_once_and_keep_them():
    ids = run(make(), [[person(50, 100), person(200, 100)]] * 5)
    assert ids == [[0, 1]] * 5


def test_a_one_frame_false_detection_gets_no_id():
    people = [[person(50 + 2 * i, 100)] for i in range(10)]
    people[5] = people[5] + [person(250, 60)]          # a one-frame ghost
    ids = run(make(min_hits=2), people)
    assert ids[5] == [0, -1] and all(frame == [0] for k, frame in enumerate(ids) if k != 5)


def test_a_new_person_is_written_from_the_min_hits_th_frame():
    people = [[person(50, 100)]] * 3 + [[person(50, 100), person(200, 100)]] * 4
    ids = run(make(min_hits=3), people)
    assert ids[3:] == [[0, -1], [0, -1], [0, 1], [0, 1]]


def _walk_with_gap(gap_frames, fps=30.0, speed=3.0):
    """A person walking right at ``speed`` px/frame, hidden for ``gap_frames`` frames."""
    frames = []
    for i in range(40 + gap_frames):
        hidden = 20 <= i < 20 + gap_frames
        frames.append([] if hidden else [person(40 + speed * i, 120)])
    return frames


def test_an_occluded_person_comes_back_with_the_same_id_where_the_paper_loses_it():
    frames = _walk_with_gap(15)                          # half a second behind someone
    robust = [i for frame in run(make(), frames) for i in frame]
    assert set(robust) == {0}
    paper = PoseTracker(oks_sigmas=SIGMAS, similarity="oks", max_age_frames=10)
    ids = {i for people in frames for i in paper.update(frame_poses(*people)).tolist()}
    assert len(ids) == 2                                # the paper's tracker starts a new id


def test_lost_tracks_wait_seconds_not_frames():
    # 1.5 s hidden: kept with max_lost_s 2 at 10 and at 60 fps, retired with max_lost_s 1
    for fps in (10.0, 60.0):
        frames = _walk_with_gap(int(1.5 * fps), fps=fps, speed=30.0 / fps)
        assert {i for f in run(make(max_lost_s=2.0), frames, fps) for i in f} == {0}
        # retired: the person comes back as a new (first tentative) track
        assert {i for f in run(make(max_lost_s=1.0), frames, fps) for i in f} - {-1} == {0, 1}


def test_low_confidence_poses_keep_a_track_but_never_start_one():
    frames = [[person(50 + i, 100)] for i in range(4)]
    frames += [[person(54 + i, 100, score=0.2)] for i in range(4)]   # partly occluded
    frames += [[person(58, 100), person(200, 100, score=0.2)]]        # a weak stranger
    ids = run(make(high_score=0.5), frames)
    assert ids[4:8] == [[0]] * 4 and ids[8] == [0, -1]


def test_a_pose_duplicating_a_tracked_one_starts_no_track():
    tracker = make(merge_oks=0.8, min_hits=1)
    run(tracker, [[person(50, 100)]] * 3)
    poses = frame_poses(person(50, 100), person(50.5, 100.5))
    assert tracker.update(poses, frame=frame_at(3)).tolist() == [0, -1]


def test_two_tracks_that_converge_on_one_person_are_merged_keeping_the_older_id():
    # a second track (1) drifts onto person 0 (two boxes on one child), then stays there
    tracker = make(merge_oks=0.8, merge_frames=3, min_hits=1)
    ids = []
    for i in range(10):
        second = max(50.5, 110 - 15 * i)
        poses = frame_poses(person(50, 100), person(second, 100.5))
        ids.append(tracker.update(poses, frame=frame_at(i)).tolist())
    assert ids[0] == [0, 1]
    # the two poses are 0.5 px apart: either may carry the older id, the other is not written
    assert sorted(ids[-1]) == [-1, 0] and tracker.num_tracks == 1


def test_camera_motion_moves_lost_tracks():
    # the camera pans: everything moves 4 px/frame left; the person stands still in the world
    frames = [[person(200 - 4 * i, 120)] if not 10 <= i < 25 else [] for i in range(30)]
    tracker = make(gate_growth=0.0)
    ids = set()
    for i, people in enumerate(frames):
        if i:
            tracker.warp(np.full((240, 320, 2), [-4.0, 0.0], np.float32))
        ids.update(tracker.update(frame_poses(*people), frame=frame_at(i)).tolist())
    assert ids == {0}


def test_global_motion_is_the_median_flow():
    flow = np.zeros((10, 10, 2), np.float32)
    flow[:, :] = [3.0, -1.0]
    flow[:2, :2] = [50.0, 50.0]               # a person moving on their own
    assert global_motion(flow).tolist() == [3.0, -1.0]


def _dressed(top_bgr, bottom_bgr):
    image = np.zeros((240, 320, 3), np.uint8)
    keypoints = TEMPLATE + [160, 120]
    image[60:130, 130:190] = top_bgr          # torso: shoulders (y 90) to hips (y 125)
    image[124:170, 130:190] = bottom_bgr      # legs: hips to ankles (y 165)
    return image, keypoints[None], np.full((1, 17), 0.9)


def test_colour_descriptors_tell_clothes_apart():
    red_blue = colour_descriptors(*_dressed((0, 0, 255), (255, 0, 0)))
    blue_red = colour_descriptors(*_dressed((255, 0, 0), (0, 0, 255)))
    again = colour_descriptors(*_dressed((0, 0, 250), (250, 0, 0)))
    similarity = appearance_similarity(red_blue, np.concatenate([again, blue_red]))
    assert similarity[0, 0] > 0.9 and similarity[0, 1] < 0.1


def test_appearance_similarity_unknown_parts_and_embeddings():
    assert np.isnan(appearance_similarity(np.zeros((1, 64)), np.ones((1, 64)) / 32)[0, 0])
    embeddings = np.array([[1.0, 0.0], [-1.0, 0.0]])
    np.testing.assert_allclose(appearance_similarity(embeddings, embeddings), [[1, 0], [0, 1]])


@pytest.mark.parametrize("option,value", [("min_hits", 0), ("max_lost_s", -1.0),
                                          ("high_score", 1.5), ("appearance_weight", -0.1),
                                          ("weak_start_iou", 1.2)])
def test_bad_options_name_themselves(option, value):
    with pytest.raises(ValueError, match=option):
        make(**{option: value})


def test_two_crossing_people_keep_their_ids():
    # A walks right, B walks left; where they cross, B is behind A (not detected)
    frames = []
    for i in range(40):
        a, b = person(40 + 6 * i, 100), person(280 - 6 * i, 104)
        hidden = abs((40 + 6 * i) - (280 - 6 * i)) < 40
        frames.append([a] if hidden else [a, b])
    ids = run(make(), frames)
    assert all(frame[0] == 0 for frame in ids)
    assert {frame[1] for frame in ids if len(frame) == 2} == {1}
    assert sum(len(frame) == 1 for frame in ids) >= 3          # B was really hidden


def test_a_pose_on_nobody_starts_no_track():
    weak = frame_poses(person(200, 100))
    weak = Poses(keypoints=weak.keypoints, keypoint_scores=np.full((1, 17), 0.25, np.float32),
                 boxes_xyxy=weak.boxes_xyxy, box_scores=np.array([0.9], np.float32))
    tracker = make(min_start_confidence=0.3)
    run(tracker, [[person(50, 100)]] * 3)
    ids = [tracker.update(_two(frame_poses(person(50, 100)), weak), frame=frame_at(3 + i)).tolist()
           for i in range(5)]
    assert ids == [[0, -1]] * 5 and tracker.num_tracks == 1


def _two(first: Poses, second: Poses) -> Poses:
    return Poses(keypoints=np.concatenate([first.keypoints, second.keypoints]),
                 keypoint_scores=np.concatenate([first.keypoint_scores, second.keypoint_scores]),
                 boxes_xyxy=np.concatenate([first.boxes_xyxy, second.boxes_xyxy]),
                 box_scores=np.concatenate([first.box_scores, second.box_scores]))


def test_velocity_is_the_median_joint_motion_and_is_clamped():
    from tracker.tracking.track_state import clamped, pose_displacements
    before = np.array([[0, 0], [10, 0], [20, 0], [30, 0]], np.float64)
    after = before + [[2, 1], [2, 1], [2, 1], [50, 50]]          # one joint jumps
    scores = np.array([0.9, 0.9, 0.9, 0.9])
    odd = scores.copy()
    odd[0] = 0.1                                                  # 3 joints: the middle one
    after_even = before + [[1, 0], [3, 2], [5, 4], [40, 40]]      # 4 joints: mean of the middle 2
    got = pose_displacements(np.stack([before] * 4), np.stack([scores, scores * 0, odd, scores]),
                             np.stack([after, after, after, after_even]), np.stack([scores] * 4),
                             0.2)
    assert np.allclose(got[[0, 2, 3]], [[2, 1], [2, 1], [4, 3]]) and np.isnan(got[1]).all()
    for row in range(4):     # the batch equals np.median of each pair's joints
        both = (np.stack([scores, scores * 0, odd, scores])[row] > 0.2)
        motion = (np.stack([after, after, after, after_even])[row] - before)[both]
        if both.any():
            assert np.array_equal(got[row], np.median(motion, axis=0))
    nan_joint = after.copy()
    nan_joint[1] = np.nan                                         # NaN joints are not found
    assert np.allclose(pose_displacements(before[None], scores[None], nan_joint[None],
                                          scores[None], 0.2), [[2, 1]])
    assert pose_displacements(np.zeros((0, 4, 2)), np.zeros((0, 4)), np.zeros((0, 4, 2)),
                              np.zeros((0, 4)), 0.2).shape == (0, 2)
    assert np.allclose(clamped([[30.0, 40.0], [3.0, 4.0], [0.0, 0.0]], [100.0, 100.0, 0.0], 1.0),
                       [[6.0, 8.0], [3.0, 4.0], [0.0, 0.0]])              # |v| <= 10 px


def test_without_flow_visible_tracks_are_moved_by_their_velocity():
    # a fast walker (12 px/frame): after two frames the tracker knows the velocity, and a
    # strict gate (min_similarity 0.5) still matches the prediction; without velocity
    # (max_speed 0) the pose where they were last is too far and the id breaks
    def ids_with(**options):
        tracker = make(**options)
        ids = run(tracker, [[person(30 + 12 * i, 100)] for i in range(2)])
        tracker.min_similarity = 0.5
        return ids + [tracker.update(frame_poses(person(30 + 12 * i, 100)),
                                     frame=frame_at(i)).tolist() for i in range(2, 20)]
    assert ids_with() == [[0]] * 20
    assert ids_with(max_speed=0.0) != [[0]] * 20


def _blocks(people_colours, size=(240, 320)) -> np.ndarray:
    """A frame with a block of colour (BGR) on each (x, y, colour) person's 40 x 100 box."""
    image = np.full((*size, 3), 90, np.uint8)
    for x, y, colour in people_colours:
        image[int(y - 50):int(y + 50), int(x - 20):int(x + 20)] = colour
    return image


@pytest.mark.parametrize("colour,expected", [((200, 40, 40), 1), ((40, 40, 200), 0)])
def test_appearance_gives_a_returning_person_their_own_id(colour, expected):
    # A (red, id 0) and B (blue, id 1) stand apart, both are hidden for 10 frames, then one
    # person comes back half-way between them: the motion cannot tell who, the clothes can
    red, blue = (40, 40, 200), (200, 40, 40)
    tracker = make()
    for i in range(6):
        image = _blocks([(100, 120, red), (160, 120, blue)])
        ids = tracker.update(frame_poses(person(100, 120), person(160, 120)),
                             frame=frame_at(i, image=image))
        assert ids.tolist() == [0, 1]
    for i in range(6, 16):
        tracker.update(frame_poses(), frame=frame_at(i, image=_blocks([])))
    image = _blocks([(130, 120, colour)])
    ids = tracker.update(frame_poses(person(130, 120)), frame=frame_at(16, image=image))
    assert ids.tolist() == [expected]


def _weak(x, y, score=0.25):
    """A pose on nobody: a false box near (x, y), its keypoints all weak."""
    poses = frame_poses(person(x, y))
    return Poses(keypoints=poses.keypoints, keypoint_scores=np.full((1, 17), score, np.float32),
                 boxes_xyxy=poses.boxes_xyxy, box_scores=np.array([0.9], np.float32))


@pytest.mark.parametrize("min_start_confidence, revived", [(0.3, False), (0.0, True)])
def test_a_pose_on_nobody_does_not_take_a_lost_persons_id(min_start_confidence, revived):
    tracker = make(min_start_confidence=min_start_confidence)
    run(tracker, [[person(100, 120)]] * 5 + [[]] * 2)      # id 0, then hidden (lost)
    hidden = [tracker.update(_weak(104, 118), frame=frame_at(7 + i)).tolist() for i in range(5)]
    back = tracker.update(frame_poses(person(100, 120)), frame=frame_at(12)).tolist()
    assert hidden == ([[0]] * 5 if revived else [[-1]] * 5)
    assert back == [0]


@pytest.mark.parametrize("visible_first, expected", [(True, [0]), (False, [1])])
def test_a_visible_track_keeps_its_pose_before_a_lost_one_is_offered_it(visible_first,
                                                                        expected):
    # A (id 0) stands at x 100; B (id 1) at x 125 is hidden from frame 5. At frame 10 one pose
    # at x 115: nearer B's last place, but A, seen the frame before, explains it too.
    people = [[person(100, 100), person(125, 100)]] * 5 + [[person(100, 100)]] * 5
    tracker = make(visible_first=visible_first, appearance_weight=0.0)
    ids = run(tracker, people + [[person(115, 100)]])
    assert ids[:5] == [[0, 1]] * 5 and ids[5:10] == [[0]] * 5
    assert ids[10] == expected


@pytest.mark.parametrize("start_margin, confirmed_at", [(0.0, 5), (0.15, 12)])
def test_a_track_of_weak_boxes_needs_weak_min_hits_frames(start_margin, confirmed_at):
    # B appears at frame 3 with a box score of 0.4: confident (high_score 0.3) but below
    # high_score + 0.15, so with that margin it needs weak_min_hits (10) frames, not 3
    people = [[person(50, 100)]] * 3 + [[person(50, 100), person(200, 100, score=0.4)]] * 12
    ids = run(make(min_hits=3, weak_min_hits=10, start_margin=start_margin), people)
    assert [frame[1] for frame in ids[3:]] == \
        [-1] * (confirmed_at - 3) + [1] * (15 - confirmed_at)


@pytest.mark.parametrize("weak_start_iou, second_id", [(0.3, -1), (0.7, 1)])
def test_a_weak_box_over_a_tracked_person_starts_no_track(weak_start_iou, second_id):
    # a box scored 0.35 half over A (IoU 0.6 with A's box) for 12 frames: part of A, no id;
    # with the IoU limit above 0.6 it is a person of weak boxes, confirmed at weak_min_hits
    people = [[person(50, 100)]] * 3 + [[person(50, 100), person(58, 100, score=0.35)]] * 12
    tracker = make(min_hits=3, weak_min_hits=10, merge_frames=0, weak_start_iou=weak_start_iou)
    ids = run(tracker, people)
    assert all(frame == [0, -1] for frame in ids[3:12])
    assert all(frame == [0, second_id] for frame in ids[12:])


@pytest.mark.parametrize("appearance_reach, expected", [(2.0, [-1]), (0.0, [0])])
def test_the_colour_cue_gives_no_lost_id_to_a_person_out_of_reach(appearance_reach, expected):
    # A (red, id 0) at x 60 is hidden for 3 frames (0.1 s); then someone dressed the same
    # enters at x 270: 210 px away, beyond 2 x (1 + 4 x 0.1) body sizes (63 px)
    red = (40, 40, 200)
    tracker = make(appearance_reach=appearance_reach)
    for i in range(6):
        tracker.update(frame_poses(person(60, 120)), frame=frame_at(i, image=_blocks(
            [(60, 120, red)])))
    for i in range(6, 9):
        tracker.update(frame_poses(), frame=frame_at(i, image=_blocks([])))
    ids = tracker.update(frame_poses(person(270, 120)),
                         frame=frame_at(9, image=_blocks([(270, 120, red)])))
    assert ids.tolist() == expected


@pytest.mark.parametrize("start_margin, first_score, expected",
                         [(0.15, 0.9, [-1]), (0.0, 0.9, [0]), (0.15, 0.35, [0])])
def test_a_weak_box_revives_only_a_lost_track_of_weak_boxes(start_margin, first_score,
                                                            expected):
    tracker = make(start_margin=start_margin, appearance_weight=0.0)
    run(tracker, [[person(100, 120, score=first_score)]] * 5)   # confirmed at the start
    tracker.update(frame_poses(), frame=frame_at(5))                      # id 0 lost
    ids = tracker.update(frame_poses(person(101, 120, score=0.35)), frame=frame_at(6))
    assert ids.tolist() == expected
