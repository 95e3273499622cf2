"""video_data.py: procedurally generated video clips with real structure, rendered in batches.

Each clip (values in [-1, 1], layout [3, frames, height, width]):
  - a textured background: a sum of oriented sinusoids at several octaves, sharpened by a
    tanh into stripes and blobs, seen through a camera that pans at a constant velocity
    (up to MAX_PAN pixels per frame in each direction);
  - SPRITES occluding sprites drawn back to front (depth order = index): each a disk, square
    or diamond with its own stripe texture fixed to the sprite, moving on a known path.
The class label is the motion type, shared by every sprite of the clip:
  0 linear, 1 circular, 2 bouncing (reflected at the frame's borders), 3 oscillating along
  a line (harmonic).

Deterministic from (seed, batch index): every random parameter is drawn on the CPU from a
torch.Generator seeded with both, then the clip is rendered on the requested device with
elementwise arithmetic only. The same (seed, index) gives the same clips on any batch
composition of later calls; two devices agree up to floating-point rounding.
"""
from dataclasses import dataclass
import math

import torch

MOTIONS = ("linear", "circular", "bouncing", "oscillating")
NUM_CLASSES = len(MOTIONS)
SHAPES = ("disk", "square", "diamond")
SPRITES = 4
WAVES = 6          # background sinusoids per clip
MAX_PAN = 1.5      # camera pan, pixels per frame, per axis


@dataclass(frozen=True)
class ClipShape:
    frames: int = 16
    height: int = 64
    width: int = 64

    def validate(self):
        for name in ("frames", "height", "width"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 2:
                raise ValueError(f"video_data: {name}={value!r} must be an integer >= 2")


def _generator(seed, batch_index):
    if not isinstance(seed, int) or not isinstance(batch_index, int) or seed < 0 or batch_index < 0:
        raise ValueError(f"video_data: seed={seed!r} and batch_index={batch_index!r} must be integers >= 0")
    g = torch.Generator(device="cpu")
    g.manual_seed(seed * 1_000_003 + batch_index)
    return g


def _uniform(g, shape, low, high):
    return low + (high - low) * torch.rand(shape, generator=g, dtype=torch.float64)


def _draw_params(g, batch, shape, labels):
    """Every random number of a batch, on the CPU (float64), as a dict of tensors."""
    B, S, K = batch, SPRITES, WAVES
    size = float(min(shape.height, shape.width))
    p = {}
    # Background: wave vectors from periods of 4 .. 32 pixels, random orientation.
    period = torch.exp(_uniform(g, (B, K), math.log(4.0), math.log(32.0)))
    angle = _uniform(g, (B, K), 0.0, math.pi)
    p["bg_freq"] = torch.stack([torch.cos(angle), torch.sin(angle)], -1) / period[..., None]  # cycles/px
    p["bg_phase"] = _uniform(g, (B, K), 0.0, 2 * math.pi)
    p["bg_amp"] = _uniform(g, (B, K), 0.3, 1.0) / math.sqrt(K)
    p["bg_color"] = _uniform(g, (B, K, 3), -1.0, 1.0)
    p["bg_base"] = _uniform(g, (B, 3), -0.4, 0.4)
    p["bg_sharp"] = _uniform(g, (B, 1), 1.5, 4.0)
    p["pan"] = _uniform(g, (B, 2), -MAX_PAN, MAX_PAN)
    p["pan0"] = _uniform(g, (B, 2), 0.0, 256.0)
    # Sprites: shape, size, texture, colours.
    p["shape"] = torch.randint(0, len(SHAPES), (B, S), generator=g)
    p["radius"] = _uniform(g, (B, S), 0.09, 0.2) * size
    tex_period = _uniform(g, (B, S), 3.0, 8.0)
    tex_angle = _uniform(g, (B, S), 0.0, math.pi)
    p["tex_freq"] = torch.stack([torch.cos(tex_angle), torch.sin(tex_angle)], -1) / tex_period[..., None]
    p["tex_phase"] = _uniform(g, (B, S), 0.0, 2 * math.pi)
    p["color_a"] = _uniform(g, (B, S, 3), -1.0, 1.0)
    p["color_b"] = _uniform(g, (B, S, 3), -1.0, 1.0)
    # Paths: every motion's parameters are drawn for every sprite (so the random stream does
    # not depend on the labels); the label picks which path is rendered.
    p["start"] = _uniform(g, (B, S, 2), 0.15, 0.85) * size
    speed = _uniform(g, (B, S), 0.8, 3.0)
    heading = _uniform(g, (B, S), 0.0, 2 * math.pi)
    p["velocity"] = torch.stack([torch.cos(heading), torch.sin(heading)], -1) * speed[..., None]
    p["orbit_radius"] = _uniform(g, (B, S), 0.1, 0.3) * size
    p["orbit_rate"] = _uniform(g, (B, S), 0.2, 0.5) * torch.where(torch.rand((B, S), generator=g) < 0.5, -1.0, 1.0)
    p["orbit_phase"] = _uniform(g, (B, S), 0.0, 2 * math.pi)
    p["swing"] = _uniform(g, (B, S), 0.1, 0.3) * size
    p["swing_rate"] = _uniform(g, (B, S), 0.3, 0.8)
    p["label"] = labels
    return p


def _paths(p, frames, shape):
    """Sprite centres [B, S, T, 2] (x, y in pixels) for each clip's motion type."""
    t = torch.arange(frames, dtype=torch.float64).view(1, 1, frames, 1)
    start, vel = p["start"][:, :, None, :], p["velocity"][:, :, None, :]
    linear = start + vel * t
    ang = p["orbit_phase"][..., None] + p["orbit_rate"][..., None] * t[..., 0]
    circular = start + p["orbit_radius"][..., None, None] * torch.stack([torch.cos(ang), torch.sin(ang)], -1)
    # Bouncing: the linear path folded into [r, extent - r] (a triangle wave).
    r = p["radius"][..., None, None]
    extent = torch.tensor([shape.width, shape.height], dtype=torch.float64).view(1, 1, 1, 2)
    span = (extent - 2 * r).clamp(min=1.0)
    u = torch.remainder(linear - r, 2 * span)
    bouncing = r + torch.where(u > span, 2 * span - u, u)
    swing = p["swing"][..., None] * torch.sin(p["swing_rate"][..., None] * t[..., 0])
    direction = p["velocity"] / p["velocity"].norm(dim=-1, keepdim=True)
    oscillating = start + swing[..., None] * direction[:, :, None, :]
    all_paths = torch.stack([linear, circular, bouncing, oscillating], 0)  # [M, B, S, T, 2]
    pick = p["label"].view(1, -1, 1, 1, 1).expand(1, *linear.shape)
    return all_paths.gather(0, pick)[0]


def _background(p, shape, device):
    T, H, W = shape.frames, shape.height, shape.width
    t = torch.arange(T, device=device, dtype=torch.float32).view(1, T, 1, 1)
    y = torch.arange(H, device=device, dtype=torch.float32).view(1, 1, H, 1)
    x = torch.arange(W, device=device, dtype=torch.float32).view(1, 1, 1, W)
    pan, pan0 = p["pan"], p["pan0"]
    wx = x + pan0[:, 0].view(-1, 1, 1, 1) + pan[:, 0].view(-1, 1, 1, 1) * t  # world coordinates
    wy = y + pan0[:, 1].view(-1, 1, 1, 1) + pan[:, 1].view(-1, 1, 1, 1) * t
    img = p["bg_base"].view(-1, 3, 1, 1, 1).expand(-1, 3, T, H, W).clone()
    for k in range(WAVES):
        f = p["bg_freq"][:, k]
        arg = 2 * math.pi * (f[:, 0].view(-1, 1, 1, 1) * wx + f[:, 1].view(-1, 1, 1, 1) * wy)
        wave = torch.tanh(p["bg_sharp"].view(-1, 1, 1, 1) * torch.sin(arg + p["bg_phase"][:, k].view(-1, 1, 1, 1)))
        img = img + (p["bg_amp"][:, k, None] * p["bg_color"][:, k]).view(-1, 3, 1, 1, 1) * wave[:, None]
    return img


def _draw_sprites(img, p, centres, shape, device):
    T, H, W = shape.frames, shape.height, shape.width
    y = torch.arange(H, device=device, dtype=torch.float32).view(1, 1, H, 1) + 0.5
    x = torch.arange(W, device=device, dtype=torch.float32).view(1, 1, 1, W) + 0.5
    for s in range(SPRITES):
        cx = centres[:, s, :, 0].view(-1, T, 1, 1)
        cy = centres[:, s, :, 1].view(-1, T, 1, 1)
        dx, dy = x - cx, y - cy
        r = p["radius"][:, s].view(-1, 1, 1, 1)
        kind = p["shape"][:, s].view(-1, 1, 1, 1)
        dist = torch.where(kind == 0, torch.sqrt(dx * dx + dy * dy),
                           torch.where(kind == 1, torch.maximum(dx.abs(), dy.abs()),
                                       (dx.abs() + dy.abs()) / math.sqrt(2.0)))
        alpha = (r - dist + 0.5).clamp(0.0, 1.0)  # one pixel of anti-aliasing at the edge
        f = p["tex_freq"][:, s]
        arg = 2 * math.pi * (f[:, 0].view(-1, 1, 1, 1) * dx + f[:, 1].view(-1, 1, 1, 1) * dy)
        stripe = 0.5 + 0.5 * torch.tanh(3.0 * torch.sin(arg + p["tex_phase"][:, s].view(-1, 1, 1, 1)))
        ca, cb = p["color_a"][:, s].view(-1, 3, 1, 1, 1), p["color_b"][:, s].view(-1, 3, 1, 1, 1)
        colour = ca + (cb - ca) * stripe[:, None]
        img = img + alpha[:, None] * (colour - img)
    return img


def _draw(seed, batch_index, batch, shape, labels):
    shape.validate()
    if not isinstance(batch, int) or batch < 1:
        raise ValueError(f"video_data: batch={batch!r} must be an integer >= 1")
    g = _generator(seed, batch_index)
    drawn = torch.randint(0, NUM_CLASSES, (batch,), generator=g)
    if labels is None:
        labels = drawn
    else:
        labels = torch.as_tensor(labels, dtype=torch.int64).flatten().cpu()
        if labels.numel() != batch or labels.min() < 0 or labels.max() >= NUM_CLASSES:
            raise ValueError(f"video_data: labels must be {batch} class indices in [0, {NUM_CLASSES})")
    return _draw_params(g, batch, shape, labels)


def generate(seed, batch_index, batch, shape=ClipShape(), device="cpu", labels=None):
    """Clips [batch, 3, T, H, W] (float32 in [-1, 1]) and labels [batch] (int64) on device.

    labels: None draws them uniformly from the motion types; else a sequence or tensor of
    `batch` class indices in [0, NUM_CLASSES).
    """
    p = _draw(seed, batch_index, batch, shape, labels)
    centres = _paths(p, shape.frames, shape).to(device=device, dtype=torch.float32)
    p = {k: v.to(device=device, dtype=torch.float32) if v.is_floating_point() else v.to(device)
         for k, v in p.items()}
    img = _background(p, shape, device)
    img = _draw_sprites(img, p, centres, shape, device)
    return img.clamp(-1.0, 1.0).contiguous(), p["label"]


def sprite_paths(seed, batch_index, batch, shape=ClipShape(), labels=None):
    """The sprite centres [batch, SPRITES, T, 2] (x, y in pixels) and radii [batch, SPRITES]
    of the clips generate() renders for the same arguments."""
    p = _draw(seed, batch_index, batch, shape, labels)
    return _paths(p, shape.frames, shape), p["radius"]


def _bench(argv=None):
    import argparse
    import time

    ap = argparse.ArgumentParser(description="clips generated per second (default clip shape)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--batches", type=int, default=20)
    a = ap.parse_args(argv)
    generate(0, 0, a.batch, device=a.device)  # warm-up
    if a.device.startswith("cuda"):
        torch.cuda.synchronize()
    t0 = time.time()
    for i in range(a.batches):
        generate(0, i + 1, a.batch, device=a.device)
    if a.device.startswith("cuda"):
        torch.cuda.synchronize()
    dt = time.time() - t0
    n = a.batch * a.batches
    print(f"video_data: {n} clips of {ClipShape()} in {dt:.2f} s on {a.device}: {n / dt:.0f} clips/s "
          f"({60 * n / dt:.0f} per minute)")


if __name__ == "__main__":
    _bench()
