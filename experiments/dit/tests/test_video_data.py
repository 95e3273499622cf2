"""The procedural video generator: determinism, shapes, and the structure it promises."""
import math

import pytest
import torch

import video_data as vd

SHAPE = vd.ClipShape(8, 32, 32)


def test_same_seed_and_index_give_the_same_clips():
    a, la = vd.generate(3, 5, 4, SHAPE)
    b, lb = vd.generate(3, 5, 4, SHAPE)
    assert torch.equal(a, b) and torch.equal(la, lb)


def test_other_index_or_seed_gives_other_clips():
    a, _ = vd.generate(3, 5, 4, SHAPE)
    assert not torch.equal(a, vd.generate(3, 6, 4, SHAPE)[0])
    assert not torch.equal(a, vd.generate(4, 5, 4, SHAPE)[0])


def test_shapes_range_and_labels():
    x, labels = vd.generate(0, 0, 6, SHAPE)
    assert x.shape == (6, 3, 8, 32, 32) and x.dtype == torch.float32
    assert x.min() >= -1 and x.max() <= 1 and x.std() > 0.2
    assert labels.shape == (6,) and labels.dtype == torch.int64
    seen = torch.cat([vd.generate(0, i, 16, SHAPE)[1] for i in range(4)])
    assert set(seen.tolist()) == set(range(vd.NUM_CLASSES))
    _, given = vd.generate(0, 0, 3, SHAPE, labels=[3, 1, 2])
    assert given.tolist() == [3, 1, 2]


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="labels"):
        vd.generate(0, 0, 2, SHAPE, labels=[0, vd.NUM_CLASSES])
    with pytest.raises(ValueError, match="seed"):
        vd.generate(-1, 0, 2, SHAPE)
    with pytest.raises(ValueError, match="batch"):
        vd.generate(0, 0, 0, SHAPE)
    with pytest.raises(ValueError, match="frames"):
        vd.generate(0, 0, 1, vd.ClipShape(1, 32, 32))


def test_background_pans_rigidly():
    p = vd._draw(1, 0, 2, SHAPE, None)
    p["pan"] = torch.tensor([[2.0, 1.0], [-1.0, 3.0]], dtype=torch.float64)
    p = {k: v.float() if v.is_floating_point() else v for k, v in p.items()}
    bg = vd._background(p, SHAPE, "cpu")
    for b, (px, py) in enumerate([(2, 1), (-1, 3)]):
        for t in range(1, 4):
            # frame t at (y, x) shows the world point frame 0 shows at (y + py t, x + px t)
            y0, x0 = max(0, -py * t), max(0, -px * t)
            h, w = SHAPE.height - abs(py * t), SHAPE.width - abs(px * t)
            now = bg[b, :, t, y0:y0 + h, x0:x0 + w]
            then = bg[b, :, 0, y0 + py * t:y0 + py * t + h, x0 + px * t:x0 + px * t + w]
            torch.testing.assert_close(now, then, atol=2e-4, rtol=0)


def test_paths_follow_their_motion_type():
    B = 8
    for label in range(vd.NUM_CLASSES):
        centres, radius = vd.sprite_paths(2, 0, B, SHAPE, labels=[label] * B)
        assert centres.shape == (B, vd.SPRITES, SHAPE.frames, 2)
        step = centres[:, :, 1:] - centres[:, :, :-1]
        if vd.MOTIONS[label] == "linear":  # constant velocity
            torch.testing.assert_close(step, step[:, :, :1].expand_as(step))
        if vd.MOTIONS[label] == "circular":  # constant speed on a circle
            speed = step.norm(dim=-1)
            torch.testing.assert_close(speed, speed[..., :1].expand_as(speed))
        if vd.MOTIONS[label] == "bouncing":  # never leaves the frame
            r = radius[..., None]
            assert (centres[..., 0] >= r - 1e-6).all() and (centres[..., 0] <= SHAPE.width - r + 1e-6).all()
            assert (centres[..., 1] >= r - 1e-6).all() and (centres[..., 1] <= SHAPE.height - r + 1e-6).all()
        if vd.MOTIONS[label] == "oscillating":  # returns along one line
            d = centres - centres[:, :, :1]
            cross = d[..., 0] * step[:, :, :1, 1] - d[..., 1] * step[:, :, :1, 0]
            assert cross.abs().max() < 1e-6


def test_sprites_cover_their_paths_and_nothing_else():
    B = 4
    x, labels = vd.generate(5, 1, B, SHAPE)
    p = vd._draw(5, 1, B, SHAPE, None)
    bg = vd._background({k: v.float() if v.is_floating_point() else v for k, v in p.items()}, SHAPE, "cpu")
    centres, radius = vd.sprite_paths(5, 1, B, SHAPE)
    yy, xx = torch.meshgrid(torch.arange(SHAPE.height) + 0.5, torch.arange(SHAPE.width) + 0.5, indexing="ij")
    d = torch.sqrt((xx - centres[..., 0, None, None]) ** 2 + (yy - centres[..., 1, None, None]) ** 2)  # B,S,T,H,W
    reach = radius[..., None, None, None] * math.sqrt(2) + 1.0
    far = (d > reach).all(dim=1)  # B,T,H,W: outside every sprite's reach
    differs = (x - bg.clamp(-1, 1)).abs().amax(1) > 1e-5
    assert not (differs & far).any()
    core = (d < radius[..., None, None, None] * 0.5).any(dim=1)
    assert differs[core].float().mean() > 0.9
