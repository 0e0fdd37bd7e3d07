"""PoseTrack18 evaluation results: per-joint arrays, poseval's groups, JSON and tables.

Joint order is poseval's (``POSEVAL_JOINTS``). Groups (spec §2.3, `eval_helpers.getCum`):
head = mean(head_top, head_bottom, nose), shoulder/elbow/wrist/hip/knee/ankle = mean of
right and left; a NaN joint makes its group NaN. ``total`` is the NaN-skipping mean of the
15 joints (not of the groups); the same rule gives the MOTP / precision / recall totals.

Identity metrics (not poseval's; ``tracker.eval.identity``): IDF1, IDP, IDR, HOTA, DetA, AssA,
LocA in percent, on person boxes (IoU) and on poses (OKS), printed after poseval's tables.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from tracker.eval.identity import TrackScores
from tracker.eval.identity_inputs import SIMILARITIES
from tracker.eval.posetrack_types import POSEVAL_JOINTS

#: Printed groups -> poseval joint ids, in poseval's summation order.
JOINT_GROUPS = {
    "head": (14, 12, 13), "shoulder": (8, 9), "elbow": (7, 10), "wrist": (6, 11),
    "hip": (2, 3), "knee": (1, 4), "ankle": (0, 5),
}
_AP_HEADER = "& Head & Shou & Elb  & Wri  & Hip  & Knee & Ankl & Total\\\\"
_IDENTITY_HEADER = "& Sim. & IDF1 & IDP  & IDR  & HOTA & DetA & AssA & LocA \\\\"
_IDENTITY_KEYS = ("idf1", "idp", "idr", "hota", "deta", "assa", "loca")
_MOT_HEADER = ("& MOTA & MOTA & MOTA & MOTA & MOTA & MOTA & MOTA & MOTA & MOTP & Prec & Rec  \\\\\n"
               "& Head & Shou & Elb  & Wri  & Hip  & Knee & Ankl & Total& Total& Total& Total\\\\")


def nan_mean(values: np.ndarray) -> float:
    """Mean of the non-NaN entries of (15,) ``values``; NaN if there are none."""
    kept = values[~np.isnan(values)]
    return float(kept.mean()) if len(kept) else math.nan


def group_means(per_joint: np.ndarray) -> dict[str, float]:
    """(15,) per-joint values -> {head, shoulder, ..., ankle, total} as poseval prints them."""
    groups = {name: float(per_joint[list(ids)].mean()) for name, ids in JOINT_GROUPS.items()}
    groups["total"] = nan_mean(per_joint)
    return groups


def format_row(values: list[float], label: str | None = None) -> str:
    """poseval's `getFormatRow`: '%1.1f' right-aligned in 5 chars, '&'-separated; ``label``
    (right-aligned in 5 chars too) as the first cell when given."""
    cells = ([] if label is None else ["{:>5}".format(label)]) + \
        ["{:>5}".format("%1.1f" % v) for v in values]
    return "&" + " &".join(cells) + " \\\\"


def identity_summary(scores: TrackScores, similarity: str) -> dict:
    """IDF1/IDP/IDR/HOTA/DetA/AssA/LocA in percent and the IDF1 counts, JSON-ready."""
    ident, hota = scores.identity, scores.hota
    return {"similarity": similarity, "idf1": 100 * ident.idf1, "idp": 100 * ident.idp,
            "idr": 100 * ident.idr, "hota": 100 * hota.hota, "deta": 100 * hota.det_a,
            "assa": 100 * hota.ass_a, "loca": 100 * hota.loc_a, "idtp": int(ident.idtp),
            "idfn": int(ident.idfn), "idfp": int(ident.idfp)}


@dataclass(frozen=True, eq=False)
class PoseTrackResults:
    """Per-joint (15,) metrics in percent; the tracking ones are None without tracking.

    identity: IDF1/HOTA counts per similarity ("boxes": IoU, "poses": OKS); None unless
    tracking and identity metrics were evaluated.
    per_sequence: results of each sequence alone (when requested), keyed by sequence name.
    single_frame_sequences: sequences with one evaluated frame, which add no tracking events.
    """

    ap_per_joint: np.ndarray
    mota_per_joint: np.ndarray | None = None
    motp_per_joint: np.ndarray | None = None
    motp_legacy_per_joint: np.ndarray | None = None
    precision_per_joint: np.ndarray | None = None
    recall_per_joint: np.ndarray | None = None
    identity: dict[str, TrackScores] | None = None
    per_sequence: dict[str, PoseTrackResults] = field(default_factory=dict)
    single_frame_sequences: tuple[str, ...] = ()

    @property
    def has_tracking(self) -> bool:
        return self.mota_per_joint is not None

    @property
    def ap(self) -> dict[str, float]:
        return group_means(self.ap_per_joint)

    @property
    def mota(self) -> dict[str, float] | None:
        return group_means(self.mota_per_joint) if self.has_tracking else None

    def _total(self, values: np.ndarray | None) -> float | None:
        return nan_mean(values) if values is not None else None

    @property
    def motp(self) -> float | None:
        return self._total(self.motp_per_joint)

    @property
    def motp_legacy(self) -> float | None:
        return self._total(self.motp_legacy_per_joint)

    @property
    def precision(self) -> float | None:
        return self._total(self.precision_per_joint)

    @property
    def recall(self) -> float | None:
        return self._total(self.recall_per_joint)

    def to_dict(self) -> dict:
        """JSON-ready dict; NaN is written as None. Tracking entries are None without it."""
        out = {
            "ap": _clean(self.ap), "mota": _clean(self.mota), "motp": _clean(self.motp),
            "motp_legacy": _clean(self.motp_legacy), "precision": _clean(self.precision),
            "recall": _clean(self.recall),
            "ap_per_joint": _clean(dict(zip(POSEVAL_JOINTS, self.ap_per_joint.tolist()))),
            "mota_per_joint": (_clean(dict(zip(POSEVAL_JOINTS, self.mota_per_joint.tolist())))
                               if self.has_tracking else None),
            "identity": ({kind: identity_summary(scores, SIMILARITIES[kind])
                          for kind, scores in self.identity.items()}
                         if self.identity is not None else None),
        }
        if self.per_sequence:
            out["per_sequence"] = {name: r.to_dict() for name, r in self.per_sequence.items()}
        return out

    def table(self) -> str:
        """The tables poseval prints (`eval_helpers.printTable`), AP then MOT, then the
        identity metrics (one row per similarity)."""
        ap = self.ap
        lines = ["Average Precision (AP) metric:", _AP_HEADER, format_row(list(ap.values()))]
        if self.has_tracking:
            row = list(self.mota.values()) + [self.motp, self.precision, self.recall]
            lines += ["Multiple Object Tracking (MOT) metrics:", _MOT_HEADER, format_row(row)]
        if self.identity is not None:
            lines += ["Identity metrics (IoU: person boxes, OKS: poses):", _IDENTITY_HEADER]
            for kind, scores in self.identity.items():
                summary = identity_summary(scores, SIMILARITIES[kind])
                lines.append(format_row([summary[key] for key in _IDENTITY_KEYS],
                                        label=SIMILARITIES[kind]))
        return "\n".join(lines)


def _clean(value):
    """NaN -> None, recursively through dicts."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
