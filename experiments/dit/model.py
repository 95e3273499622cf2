"""model.py: the small Wan video DiT (diffusers' WanTransformer3DModel) with class labels.

The transformer is diffusers' WanTransformer3DModel itself, so its architecture is Wan's
(3-D RoPE over frame/height/width, QK RMSNorm across heads, modulation from the timestep,
(1, 2, 2) patch embedding, cross-attention to a "text" sequence) and hooks written for Wan
(its attention processors, `blocks[i].attn1`) apply unchanged. Class conditioning replaces
the text encoder: a learned sequence of CONTEXT_TOKENS embeddings per class is the
transformer's encoder_hidden_states; index `num_classes` is the null class of the
unconditional branch of classifier-free guidance.

Initialisation (`build`): adaLN-zero, as in DiT: the timestep projection to the six
modulation vectors, the gate rows of every block's modulation table and the output
projection start at zero, so each block starts as the identity. The random control of the
real-likeness checks is exactly this initial state.
"""
from dataclasses import asdict, dataclass, fields
import contextlib
import json
import os

import torch
from torch import nn

CONTEXT_TOKENS = 4
FORMAT = "litelab-dit-checkpoint"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class DiTConfig:
    heads: int = 2
    head_dim: int = 128
    layers: int = 6
    ffn_dim: int = 1024
    text_dim: int = 256
    channels: int = 3
    num_classes: int = 4
    rope_max_seq_len: int = 1024

    def validate(self):
        for f in fields(self):
            v = getattr(self, f.name)
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"model: config {f.name}={v!r} must be an integer >= 1")
        if self.head_dim % 2 or self.head_dim < 6:
            raise ValueError(f"model: head_dim={self.head_dim} must be even and >= 6 (Wan's 3-D RoPE split)")

    @staticmethod
    def from_dict(d, where="config"):
        known = {f.name for f in fields(DiTConfig)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"model: {where}: unknown keys {sorted(unknown)}")
        cfg = DiTConfig(**d)
        cfg.validate()
        return cfg


class ClassConditionedWan(nn.Module):
    def __init__(self, cfg: DiTConfig):
        super().__init__()
        from diffusers import WanTransformer3DModel  # imported here: only model users need diffusers

        cfg.validate()
        self.cfg = cfg
        self.transformer = WanTransformer3DModel(
            patch_size=(1, 2, 2),
            num_attention_heads=cfg.heads,
            attention_head_dim=cfg.head_dim,
            in_channels=cfg.channels,
            out_channels=cfg.channels,
            text_dim=cfg.text_dim,
            freq_dim=256,
            ffn_dim=cfg.ffn_dim,
            num_layers=cfg.layers,
            cross_attn_norm=True,
            qk_norm="rms_norm_across_heads",
            eps=1e-6,
            rope_max_seq_len=cfg.rope_max_seq_len,
        )
        # diffusers keeps the RoPE tables in float64, which makes every rotation a float64
        # elementwise pass over Q and K on the GPU; float32 tables give the same angles to
        # well below bf16 precision at these grid sizes, at a fraction of the memory traffic.
        rope = self.transformer.rope
        rope.freqs_cos, rope.freqs_sin = rope.freqs_cos.float(), rope.freqs_sin.float()
        self.class_context = nn.Parameter(torch.zeros(cfg.num_classes + 1, CONTEXT_TOKENS, cfg.text_dim))

    @property
    def null_class(self):
        return self.cfg.num_classes

    def context(self, labels):
        """encoder_hidden_states [B, CONTEXT_TOKENS, text_dim] for class indices (null included)."""
        if labels.dtype != torch.int64 or labels.ndim != 1:
            raise ValueError(f"model: labels must be a 1-D int64 tensor, got {labels.dtype} {tuple(labels.shape)}")
        return self.class_context[labels]

    def forward(self, x, sigma, labels):
        """Velocity prediction for noisy clips x [B, C, T, H, W] at noise levels sigma [B] in [0, 1]."""
        t = sigma * 1000.0  # Wan's timestep scale
        return self.transformer(x, t, self.context(labels), return_dict=False)[0]


def build(cfg: DiTConfig, seed: int):
    """The model at its deterministic initial state: diffusers' default initialisation drawn
    from `seed`, then adaLN-zero and a unit-normal class table."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = ClassConditionedWan(cfg)
        tr = model.transformer
        with torch.no_grad():
            nn.init.zeros_(tr.condition_embedder.time_proj.weight)
            nn.init.zeros_(tr.condition_embedder.time_proj.bias)
            for block in tr.blocks:
                block.scale_shift_table[:, 2].zero_()  # gate of the self-attention branch
                block.scale_shift_table[:, 5].zero_()  # gate of the feed-forward branch
            nn.init.zeros_(tr.proj_out.weight)
            nn.init.zeros_(tr.proj_out.bias)
            nn.init.normal_(model.class_context, std=1.0)
    return model


def fast_attention(device):
    """Context manager: on a CUDA device, SDPA tries cuDNN attention first, then
    FlashAttention-2 (on an H200, cuDNN's forward is about 1.6x FA2's at head dim 128);
    elsewhere nothing changes. The model's function is the same with any backend."""
    if torch.device(device).type != "cuda":
        return contextlib.nullcontext()
    from torch.nn.attention import SDPBackend, sdpa_kernel

    order = [SDPBackend.CUDNN_ATTENTION, SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH]
    try:
        return sdpa_kernel(order, set_priority=True)
    except TypeError:  # torch before 2.6: no priority order
        return sdpa_kernel(order)


def parameter_count(model):
    return sum(p.numel() for p in model.parameters())


def save_weights(model, path, extra=None):
    """bf16 weights and the config in one safetensors file (the committed checkpoint)."""
    from safetensors.torch import save_file

    meta = {"format": FORMAT, "version": str(FORMAT_VERSION), "config": json.dumps(asdict(model.cfg))}
    for k, v in (extra or {}).items():
        meta[k] = str(v)
    tensors = {k: v.detach().to("cpu", torch.bfloat16).contiguous() for k, v in model.state_dict().items()}
    tmp = f"{path}.partial"
    save_file(tensors, tmp, metadata=meta)
    os.replace(tmp, path)


def load_weights(path, device="cpu"):
    """(model in float32 on device, metadata dict) from a file save_weights wrote."""
    from safetensors import safe_open

    try:
        with safe_open(path, framework="pt") as f:
            meta = f.metadata() or {}
            if meta.get("format") != FORMAT:
                raise ValueError(f"model: {path}: not a {FORMAT} file (format={meta.get('format')!r})")
            if meta.get("version") != str(FORMAT_VERSION):
                raise ValueError(f"model: {path}: version {meta.get('version')!r}, expected {FORMAT_VERSION}")
            cfg = DiTConfig.from_dict(json.loads(meta["config"]), where=path)
            state = {k: f.get_tensor(k).float() for k in f.keys()}
    except ValueError:
        raise
    except Exception as e:  # safetensors raises its own error type for a damaged file
        raise ValueError(f"model: {path}: cannot read the checkpoint ({type(e).__name__}: {e})") from e
    model = ClassConditionedWan(cfg)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(f"model: {path}: tensors missing {missing[:4]} / unexpected {unexpected[:4]}")
    return model.to(device), meta
