"""The Wan DiT wrapper, its checkpoint, the attention tap and tile statistics, the flow
sampler and training resume, at a tiny size on the CPU."""
import math

import pytest
import torch

import attention_stats as ast
import flow
import model as dit
import train

TINY = train.PRESETS["tiny"][0]


def test_default_config_fits_a_committed_checkpoint():
    cfg = train.PRESETS["default"][0]
    assert cfg.head_dim == 128
    with torch.device("meta"):  # shapes only, no memory or initialisation
        m = dit.ClassConditionedWan(cfg)
    assert dit.parameter_count(m) * 2 <= 25e6  # bf16 bytes
    clip = train.PRESETS["default"][1]
    assert clip.frames * (clip.height // 2) * (clip.width // 2) >= 16384


def test_forward_shape_and_adaln_zero_start():
    m = dit.build(TINY, 0)
    x = torch.randn(2, 3, 4, 8, 8)
    v = m(x, torch.tensor([0.9, 0.1]), torch.tensor([0, m.null_class]))
    assert v.shape == x.shape
    assert torch.count_nonzero(v) == 0  # output projection starts at zero
    assert type(m.transformer).__name__ == "WanTransformer3DModel"


def test_build_is_deterministic():
    a, b = dit.build(TINY, 3).state_dict(), dit.build(TINY, 3).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    c = dit.build(TINY, 4).state_dict()
    assert not torch.equal(a["class_context"], c["class_context"])


def test_checkpoint_round_trip_and_bad_files(tmp_path):
    m = dit.build(TINY, 1)
    with torch.no_grad():
        m.transformer.proj_out.weight.normal_()
    path = str(tmp_path / "w.safetensors")
    dit.save_weights(m, path, extra={"step": 7})
    back, meta = dit.load_weights(path)
    assert meta["step"] == "7" and back.cfg == m.cfg
    for k, v in m.state_dict().items():
        torch.testing.assert_close(back.state_dict()[k], v.to(torch.bfloat16).float())
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="bad.safetensors"):
        dit.load_weights(str(bad))


def test_tap_sees_self_attention_only_in_bnhd():
    m = dit.build(TINY, 0)
    seen = []
    with ast.AttentionTap(m.transformer, lambda layer, q, k: seen.append((layer, q.shape, k.shape))):
        m(torch.randn(1, 3, 4, 8, 8), torch.tensor([0.5]), torch.tensor([1]))
    tokens = 4 * 4 * 4
    assert seen == [(i, (1, tokens, TINY.heads, TINY.head_dim), (1, tokens, TINY.heads, TINY.head_dim))
                    for i in range(TINY.layers)]
    m(torch.randn(1, 3, 4, 8, 8), torch.tensor([0.5]), torch.tensor([1]))
    assert len(seen) == TINY.layers  # removed on exit
    with pytest.raises(TypeError):
        ast.AttentionTap(torch.nn.Linear(2, 2), print)


def test_tile_stats_match_a_direct_computation():
    torch.manual_seed(0)
    B, N, H, D, T = 1, 64, 2, 32, 16
    q, k = torch.randn(B, N, H, D) * 2, torch.randn(B, N, H, D) * 2
    st = ast.tile_stats(q, k, tile=T, rows_per_block=32)
    s = torch.einsum("bnhd,bmhd->bhnm", q, k) / math.sqrt(D) * ast.LOG2E
    KT = N // T
    oracle = (s - s.amax(-1, keepdim=True)).view(B, H, KT, T, KT, T).amax(dim=(3, 5))
    torch.testing.assert_close(st["max_log2"], oracle)
    p = torch.softmax(s / ast.LOG2E, -1).view(B, H, KT, T, KT, T).sum(-1)
    torch.testing.assert_close(st["mass"], p.amax(3))
    torch.testing.assert_close(st["mean_mass"], p.mean(3))
    walk = torch.full((B, H, KT, KT), math.nan)
    for qt in range(KT):
        for r in range(T):
            row, m = s[0, :, qt * T + r], torch.full((H,), -math.inf)
            for kt in range(KT - 1, -1, -1):
                smax = row[:, kt * T:(kt + 1) * T].amax(-1)
                if kt < KT - 1:
                    walk[0, :, qt, kt] = torch.fmax(walk[0, :, qt, kt], smax - m)
                m = torch.maximum(m, smax)
    torch.testing.assert_close(st["walk_desc"], walk, equal_nan=True)
    with pytest.raises(ValueError, match="multiple"):
        ast.tile_stats(q[:, :60], k[:, :60], tile=T)


def test_shifted_schedule():
    s = flow.shifted_sigmas(40, 3.0)
    assert s[0] == 1 and s[-1] == 0 and (s[1:] < s[:-1]).all()
    assert s[20] == pytest.approx(3 * 0.5 / (1 + 2 * 0.5))


def test_sampler_calls_both_branches():
    m = dit.build(TINY, 0)
    calls = []
    g = torch.Generator().manual_seed(0)
    x = flow.sample(m, torch.tensor([2]), (3, 4, 8, 8), 3, 3.0, 5.0, g, "cpu",
                    on_call=lambda i, b: calls.append((i, b)), autocast=False)
    assert x.shape == (1, 3, 4, 8, 8)
    assert calls == [(i, b) for i in range(3) for b in ("cond", "uncond")]


def test_training_resumes_exactly(tmp_path):
    common = ["--preset", "tiny", "--device", "cpu", "--steps", "4", "--batch", "2", "--warmup", "2",
              "--log-every", "100"]
    straight, split = str(tmp_path / "a"), str(tmp_path / "b")
    train.main(common + ["--run-dir", straight])
    train.main(common + ["--run-dir", split, "--stop-at", "2"])
    state = torch.load(f"{split}/{train.STATE_FILE}", weights_only=True)
    assert state["step"] == 2
    train.main(common + ["--run-dir", split])
    a = torch.load(f"{straight}/{train.STATE_FILE}", weights_only=True)
    b = torch.load(f"{split}/{train.STATE_FILE}", weights_only=True)
    assert a["step"] == b["step"] == 4
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
    with pytest.raises(SystemExit, match="steps"):
        train.main([x if x != "4" else "5" for x in common] + ["--run-dir", split])


def test_continuation_from_exported_weights(tmp_path):
    common = ["--preset", "tiny", "--device", "cpu", "--batch", "2", "--warmup", "1", "--log-every", "100"]
    first = str(tmp_path / "first.safetensors")
    train.main(common + ["--steps", "2", "--run-dir", str(tmp_path / "a"), "--export", first])
    second = str(tmp_path / "second.safetensors")
    train.main(common + ["--steps", "2", "--run-dir", str(tmp_path / "b"), "--init-weights", first,
                         "--export", second])
    _, meta = dit.load_weights(second)
    assert (meta["step"], meta["init_step"], meta["steps_this_phase"], meta["samples"]) == ("4", "2", "2", "8")
    with pytest.raises(SystemExit, match="do not match"):
        train.main(common + ["--steps", "3", "--seed", "1", "--run-dir", str(tmp_path / "c"), "--init-weights", first])
