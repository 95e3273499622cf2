"""The real-likeness checks on small hand-made maps [steps, layers, heads, q_tiles, k_tiles]."""
import numpy as np

import realism_checks as rc


def test_negligible_never_marks_nan():
    m = rc.negligible(np.array([-11.0, -10.0, -9.0, np.nan]), -10.0)
    assert m.tolist() == [True, True, False, False]


def test_iou_and_resurrection_counts():
    a = np.zeros((3, 1, 1, 2, 2), bool)
    a[0, ..., 0, 1] = True
    a[1, ..., 0, 1] = a[1, ..., 1, 0] = True
    a[2, ..., 1, 0] = True  # (0, 1) comes back at step 2
    assert rc.consecutive_iou(a).tolist() == [0.5, 0.5]
    back, before = rc.resurrections(a)
    assert back.tolist() == [0, 1] and before.tolist() == [1, 2]
    assert np.isnan(rc.iou(np.zeros(3, bool), np.zeros(3, bool)))


def test_diagonal_sides():
    m = np.zeros((1, 1, 1, 3, 3), bool)
    m[..., 0, 2] = m[..., 1, 2] = m[..., 2, 0] = m[..., 1, 1] = True
    assert rc.diagonal_sides(m) == (2, 1)


def test_head_fractions_and_classes():
    KT, tpf = 8, 4  # two frames of four tiles
    uniform = np.full((1, 1, 1, KT, KT), 1.0 / KT)
    own, temporal = rc.head_fractions(uniform, tpf)
    assert own[0, 0, 0] == 0.5
    # other frame, |position difference| <= 1: 2 or 3 of 4 positions -> (2+3+3+2)/4/8
    assert np.isclose(temporal[0, 0, 0], 10 / 4 / 8)
    spatial = np.eye(KT)[None, None, None]
    stripe = np.zeros((1, 1, 1, KT, KT))
    for q in range(KT):
        stripe[..., q, (q + tpf) % KT] = 1.0  # same position, the other frame
    own_s, temp_s = rc.head_fractions(spatial, tpf)
    own_t, temp_t = rc.head_fractions(stripe, tpf)
    kinds = rc.classify_heads(np.array([own_s[0, 0, 0], own_t[0, 0, 0], 0.3]),
                              np.array([temp_s[0, 0, 0], temp_t[0, 0, 0], 0.3]))
    assert kinds.tolist() == ["spatial", "temporal", "mixed"]


def test_evaluate_passes_and_fails_where_expected():
    rng = np.random.default_rng(0)
    S, L, H, KT, tpf = 8, 2, 2, 16, 4  # four frames: uniform attention is "mixed"
    base = rng.uniform(-20, 0, (L, H, KT, KT))
    steps = np.linspace(0, 1, S)[:, None, None, None, None]
    drift = rng.uniform(-1, 1, (S, L, H, KT, KT))
    a = base[None] - 6 * steps + drift  # grows sparser over the steps, mostly stable
    b = rng.uniform(-20, 0, (S, L, H, KT, KT))  # an unrelated sample
    mass = np.zeros((S, L, H, KT, KT))
    mass[:, 0, 0] = np.eye(KT)
    for q in range(KT):
        mass[:, 0, 1, q, (q + tpf) % KT] = 1.0
    mass[:, 1] = 1.0 / KT
    r = rc.evaluate(a, b, mass, tpf, -10.0)
    assert r["sparsity_last_quarter"] > r["sparsity_first_quarter"]
    assert r["iou_consecutive_late"] > r["iou_cross_late"]
    assert r["spatial_heads"] == 1 and r["temporal_heads"] == 1 and r["d_pass"]
    assert r["marks_above"] > 0 and r["marks_below"] > 0 and r["e_pass"]
    flat = rc.evaluate(np.full((S, L, H, KT, KT), -1.0), b, mass, tpf, -10.0)
    assert flat["sparsity_late"] == 0 and not flat["a_pass"] and not flat["c_pass"] and not flat["e_pass"]
