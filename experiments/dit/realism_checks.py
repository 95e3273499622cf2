"""realism_checks.py: the real-likeness checks (a)-(e) of issue 12 on tile-level maps.

All functions take maps laid out [steps, layers, heads, q_tiles, k_tiles] (numpy arrays)
and a threshold in log2 units; a tile is negligible when its criterion is <= threshold
(NaN, the walk's first tile, is never negligible). "Late" steps are the second half.

  (a) oracle sparsity at the threshold, averaged over the late steps, in [0.2, 0.8], and
      rising: the mean over the last quarter of the steps exceeds the first quarter's by
      at least 0.05;
  (b) mask IoU between consecutive steps, averaged over the late steps, >= 0.85, and at
      least 0.05 above the IoU between two different samples at the same step;
  (c) resurrection rate (tiles negligible at step t and not at t+1, over those negligible
      at t, pooled over all steps) > 0 and < 0.1;
  (d) at least one spatial head (>= 50% of its attention mass in the query's own frame)
      and one temporal head (>= 50% in other frames within one tile of the query tile's
      position in its frame), mass averaged over the late steps and query tiles;
  (e) oracle marks on both sides of the diagonal, each side >= 5% of the marks.
"""
import numpy as np

LATE_FROM = 0.5
ASCENT_MIN = 0.05
IOU_MIN = 0.85
IOU_MARGIN = 0.05
RESURRECTION_MAX = 0.1
HEAD_MASS_MIN = 0.5
SIDE_MIN = 0.05


def negligible(criterion, threshold):
    with np.errstate(invalid="ignore"):
        return np.asarray(criterion, dtype=np.float32) <= threshold  # NaN compares False


def nanmean(x):
    """Mean of the non-NaN entries; NaN (and no warning) when there are none."""
    x = np.asarray(x, dtype=np.float64)
    x = x[~np.isnan(x)]
    return float(x.mean()) if x.size else float("nan")


def late_steps(steps):
    return np.arange(int(np.ceil(steps * LATE_FROM)), steps)


def sparsity_per_step(mask):
    return mask.reshape(mask.shape[0], -1).mean(axis=1)


def iou(a, b):
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else float("nan")


def iou_per_step(a, b):
    """IoU of a[t] and b[t] at every step, pooled over layers, heads and tiles."""
    return np.array([iou(a[t], b[t]) for t in range(a.shape[0])])


def iou_per_layer_head(a, b):
    """IoU per [layer, head] of a and b [steps, layers, heads, q, k], pooled over steps and
    tiles (NaN where neither marks a tile)."""
    inter = np.logical_and(a, b).sum(axis=(0, 3, 4))
    union = np.logical_or(a, b).sum(axis=(0, 3, 4))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / np.maximum(union, 1), np.nan)


def consecutive_iou(mask):
    """IoU of step t and t+1, for t = 0 .. steps-2."""
    return np.array([iou(mask[t], mask[t + 1]) for t in range(mask.shape[0] - 1)])


def resurrections(mask):
    """(tiles negligible at t and not at t+1, tiles negligible at t), per t = 0 .. steps-2."""
    back = np.array([np.logical_and(mask[t], ~mask[t + 1]).sum() for t in range(mask.shape[0] - 1)])
    before = np.array([mask[t].sum() for t in range(mask.shape[0] - 1)])
    return back, before


def head_fractions(mean_mass, tiles_per_frame):
    """(own-frame mass, other frames within one tile of the query's in-frame position) per
    [step, layer, head], averaged over query tiles."""
    KT = mean_mass.shape[-1]
    if KT % tiles_per_frame:
        raise ValueError(f"realism_checks: {KT} key tiles are not whole frames of {tiles_per_frame} tiles")
    idx = np.arange(KT)
    frame, pos = idx // tiles_per_frame, idx % tiles_per_frame
    same_frame = frame[:, None] == frame[None, :]
    near_other = (~same_frame) & (np.abs(pos[:, None] - pos[None, :]) <= 1)
    m = np.asarray(mean_mass, dtype=np.float64)
    own = (m * same_frame).sum(-1).mean(-1)
    temporal = (m * near_other).sum(-1).mean(-1)
    return own, temporal


def classify_heads(own, temporal):
    """'spatial', 'temporal' or 'mixed' per [layer, head] from late-step-averaged fractions."""
    kinds = np.full(own.shape, "mixed", dtype=object)
    kinds[temporal >= HEAD_MASS_MIN] = "temporal"
    kinds[own >= HEAD_MASS_MIN] = "spatial"
    return kinds


def diagonal_sides(mask):
    """(marks above the diagonal: key tile > query tile, marks below)."""
    QT, KT = mask.shape[-2:]
    q, k = np.meshgrid(np.arange(QT), np.arange(KT), indexing="ij")
    return int((mask & (k > q)).sum()), int((mask & (k < q)).sum())


def evaluate(oracle_a, oracle_b, mean_mass_a, tiles_per_frame, threshold):
    """Every check on sample a's maps (oracle_b: a different sample, same steps). Returns a
    dict of numbers and per-check pass flags."""
    mask = negligible(oracle_a, threshold)
    other = negligible(oracle_b, threshold)
    S = mask.shape[0]
    late = late_steps(S)
    quarter = max(1, S // 4)
    sp = sparsity_per_step(mask)
    r = {"steps": S, "threshold": threshold, "sparsity_per_step": sp}
    r["sparsity_late"] = float(sp[late].mean())
    r["sparsity_all"] = float(sp.mean())
    r["sparsity_first_quarter"] = float(sp[:quarter].mean())
    r["sparsity_last_quarter"] = float(sp[-quarter:].mean())
    r["sparsity_late_per_layer"] = mask[late].mean(axis=(0, 2, 3, 4))
    r["sparsity_late_layer_head"] = mask[late].mean(axis=(0, 3, 4))
    r["sparsity_late_max_layer_head"] = float(r["sparsity_late_layer_head"].max())
    r["a_pass"] = bool(0.2 <= r["sparsity_late"] <= 0.8
                       and r["sparsity_last_quarter"] >= r["sparsity_first_quarter"] + ASCENT_MIN)

    cons = consecutive_iou(mask)  # cons[t]: steps t, t+1
    cross = iou_per_step(mask, other)
    late_pairs = late[late < S - 1]
    r["iou_consecutive_per_step"] = cons
    r["iou_cross_per_step"] = cross
    r["iou_consecutive_late"] = nanmean(cons[late_pairs])
    r["iou_cross_late"] = nanmean(cross[late])
    pairs = late_pairs if late_pairs.size else late[:0]
    r["iou_consecutive_late_layer_head"] = iou_per_layer_head(mask[pairs], mask[pairs + 1])
    r["iou_cross_late_layer_head"] = iou_per_layer_head(mask[late], other[late])
    r["b_pass"] = bool(r["iou_consecutive_late"] >= IOU_MIN
                       and r["iou_consecutive_late"] >= r["iou_cross_late"] + IOU_MARGIN)

    back, before = resurrections(mask)
    r["resurrected"] = int(back.sum())
    r["negligible_before"] = int(before.sum())
    r["resurrection_rate"] = float(back.sum() / before.sum()) if before.sum() else float("nan")
    r["resurrection_rate_late"] = (float(back[late_pairs].sum() / before[late_pairs].sum())
                                   if late_pairs.size and before[late_pairs].sum() else float("nan"))
    r["c_pass"] = bool(before.sum() > 0 and 0 < r["resurrection_rate"] < RESURRECTION_MAX)

    own, temporal = head_fractions(mean_mass_a, tiles_per_frame)
    own_late, temporal_late = own[late].mean(0), temporal[late].mean(0)
    kinds = classify_heads(own_late, temporal_late)
    r["head_own_frame"] = own_late
    r["head_temporal"] = temporal_late
    r["head_kind"] = kinds
    r["spatial_heads"] = int((kinds == "spatial").sum())
    r["temporal_heads"] = int((kinds == "temporal").sum())
    r["d_pass"] = bool(r["spatial_heads"] > 0 and r["temporal_heads"] > 0)

    above, below = diagonal_sides(mask)
    r["marks_above"], r["marks_below"] = above, below
    total = above + below
    r["e_pass"] = bool(total > 0 and min(above, below) >= SIDE_MIN * total)
    return r
