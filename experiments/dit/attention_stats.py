"""attention_stats.py: tile-level statistics of the self-attention inside a Wan transformer.

AttentionTap hands an observer the Q and K of every self-attention call (blocks[i].attn1)
exactly as the attention kernel receives them: after the QK RMSNorm and the 3-D RoPE, laid
out [B, N, H, D], in the dtype the kernel computes in (kernel_inputs). It wraps the `dispatch_attention_fn` that diffusers' Wan attention
processor calls, and only while a block's attn1 runs, so cross-attention is not seen.

tile_stats computes, on the tensors' device, per (batch, head, query tile, key tile), with
scores s = q.k / sqrt(D) in log2 units (times log2 e), M_r a row's final maximum:
  max_log2   max over the tile's rows and keys of s - M_r (<= 0): the oracle criterion,
             as litelab's tile maps (traces/FORMAT.md, /maps);
  walk_desc  the criterion of a dense walk over key tiles from the highest index down:
             max over rows of (the tile's row maximum - the running maximum of the tiles
             visited before it); NaN for the first tile visited (it is never marked);
  mass       max over the tile's rows of the row's probability mass in the key tile (as
             litelab's tile maps);
  mean_mass  the same mass averaged over the tile's rows (where the attention goes).
Scores are computed in float32 from the bf16/fp32 inputs (no TF32), the exponentials in
float32; nothing N x N is kept beyond one block of query rows.
"""
import contextlib
import math

import torch

LOG2E = 1.4426950408889634


def kernel_inputs(q, k):
    """q and k as the attention kernel gets them: under autocast, SDPA casts float32 inputs
    (the QK RMSNorm may return float32) to the autocast dtype."""
    dev = q.device.type
    if torch.is_autocast_enabled(dev) and q.dtype == torch.float32:
        dtype = torch.get_autocast_dtype(dev)
        return q.to(dtype), k.to(dtype)
    return q, k


class AttentionTap(contextlib.AbstractContextManager):
    """with AttentionTap(transformer, observer): ...  calls observer(layer, q, k) for every
    self-attention call of transformer.blocks[layer].attn1, q and k [B, N, H, D]."""

    def __init__(self, transformer, observer):
        from diffusers.models.transformers import transformer_wan

        if not hasattr(transformer, "blocks") or not all(hasattr(b, "attn1") for b in transformer.blocks):
            raise TypeError(f"attention_stats: {type(transformer).__name__} is not a Wan transformer (blocks[i].attn1)")
        self._module = transformer_wan
        self._transformer = transformer
        self._observer = observer
        self._layer = None
        self._handles = []
        self._original = None

    def _dispatch(self, query, key, value, *args, **kwargs):
        if self._layer is not None:
            self._observer(self._layer, *kernel_inputs(query, key))
        return self._original(query, key, value, *args, **kwargs)

    def __enter__(self):
        if getattr(self._module.dispatch_attention_fn, "_litelab_tap", False):
            raise RuntimeError("attention_stats: another AttentionTap is active")
        self._original = self._module.dispatch_attention_fn
        wrapped = lambda *a, **k: self._dispatch(*a, **k)  # noqa: E731
        wrapped._litelab_tap = True
        self._module.dispatch_attention_fn = wrapped
        for i, block in enumerate(self._transformer.blocks):
            self._handles.append(block.attn1.register_forward_pre_hook(lambda m, a, i=i: setattr(self, "_layer", i)))
            self._handles.append(block.attn1.register_forward_hook(lambda m, a, o: setattr(self, "_layer", None)))
        return self

    def __exit__(self, *exc):
        for h in self._handles:
            h.remove()
        self._handles = []
        self._module.dispatch_attention_fn = self._original
        self._layer = None
        return False


@torch.no_grad()
def tile_stats(q, k, tile=128, rows_per_block=2048):
    """dict of float32 tensors [B, H, N/tile, N/tile]: max_log2, walk_desc, mass, mean_mass."""
    if q.ndim != 4 or k.shape != q.shape:
        raise ValueError(f"attention_stats: q {tuple(q.shape)} and k {tuple(k.shape)} must both be [B, N, H, D]")
    B, N, H, D = q.shape
    if N % tile:
        raise ValueError(f"attention_stats: N={N} is not a multiple of the tile size {tile}")
    KT = N // tile
    rows_per_block = max(tile, rows_per_block - rows_per_block % tile)
    scale = LOG2E / math.sqrt(D)
    out = {name: torch.empty(B, H, KT, KT, device=q.device) for name in ("max_log2", "walk_desc", "mass", "mean_mass")}
    neg_inf = torch.tensor(-math.inf, device=q.device)
    for b in range(B):
        kf = k[b].float().transpose(0, 1)  # [H, N, D]
        for r0 in range(0, N, rows_per_block):
            r1 = min(N, r0 + rows_per_block)
            R, qt0, qt1 = r1 - r0, r0 // tile, r1 // tile
            qf = q[b, r0:r1].float().transpose(0, 1)  # [H, R, D]
            s = torch.matmul(qf, kf.transpose(1, 2)).mul_(scale)  # [H, R, N], log2 units
            tile_row_max = s.view(H, R, KT, tile).amax(-1)  # [H, R, KT]
            row_max = tile_row_max.amax(-1, keepdim=True)
            by_tile = lambda x: x.view(H, R // tile, tile, KT)  # noqa: E731
            out["max_log2"][b, :, qt0:qt1] = by_tile(tile_row_max - row_max).amax(2)
            # Running maximum before tile j in a walk from KT-1 down: max over tiles > j.
            suffix_max = tile_row_max.flip(-1).cummax(-1).values.flip(-1)
            before = torch.cat([suffix_max[..., 1:], neg_inf.expand(H, R, 1)], -1)
            walk = by_tile(tile_row_max - before).amax(2)
            walk[..., KT - 1] = math.nan
            out["walk_desc"][b, :, qt0:qt1] = walk
            p = torch.exp2(s.sub_(row_max))  # in place: s is not needed any more
            tile_mass = p.view(H, R, KT, tile).sum(-1)
            tile_mass = tile_mass / tile_mass.sum(-1, keepdim=True)
            out["mass"][b, :, qt0:qt1] = by_tile(tile_mass).amax(2)
            out["mean_mass"][b, :, qt0:qt1] = by_tile(tile_mass).mean(2)
            del s, p
    return out
