"""flow.py: rectified-flow (flow-matching) training loss and the Euler sampler with CFG.

Convention (as diffusers' Wan pipeline and FlowMatchEulerDiscreteScheduler):
  x_sigma = (1 - sigma) * x_0 + sigma * noise,   the model predicts v = noise - x_0,
  sigma runs from 1 (pure noise) to 0 (data), the model's timestep is 1000 * sigma.
Sampling uses Wan's shifted schedule sigma' = shift * s / (1 + (shift - 1) * s) over
uniformly spaced s in (0, 1], and Euler steps x <- x + (sigma_next - sigma) * v.
"""
import torch
import torch.nn.functional as F


def shifted_sigmas(steps, shift):
    """steps + 1 noise levels from 1 down to 0 (the last is exactly 0)."""
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"flow: steps={steps!r} must be an integer >= 1")
    if not shift > 0:
        raise ValueError(f"flow: shift={shift!r} must be > 0")
    s = torch.linspace(1.0, 0.0, steps + 1, dtype=torch.float64)
    return shift * s / (1.0 + (shift - 1.0) * s)


def training_loss(model, x0, labels, generator, label_dropout, null_class):
    """Mean squared velocity error at uniformly drawn noise levels; a fraction label_dropout
    of the labels is replaced by the null class (so the unconditional branch is trained)."""
    B = x0.shape[0]
    dev = x0.device
    sigma = torch.rand(B, generator=generator, device=dev)
    noise = torch.randn(x0.shape, generator=generator, device=dev)
    drop = torch.rand(B, generator=generator, device=dev) < label_dropout
    labels = torch.where(drop, torch.full_like(labels, null_class), labels)
    s = sigma.view(B, 1, 1, 1, 1)
    xt = (1.0 - s) * x0 + s * noise
    v = model(xt, sigma, labels)
    return F.mse_loss(v.float(), (noise - x0).float())


@torch.no_grad()
def sample(model, labels, shape, steps, shift, guidance, generator, device, on_call=None, autocast=True):
    """Euler sampling with classifier-free guidance: at every step one conditional and one
    unconditional call (separate calls, as Wan's pipeline makes them).

    on_call(step, branch) is called before each model call (branch 'cond' or 'uncond'), so
    hooks inside the model can tag what they see. Returns the clips [B, C, T, H, W] (float32).
    """
    B = labels.shape[0]
    x = torch.randn((B, *shape), generator=generator, device=device)
    sigmas = shifted_sigmas(steps, shift)
    null = torch.full_like(labels, model.null_class)
    for i in range(steps):
        s, s_next = float(sigmas[i]), float(sigmas[i + 1])
        sig = torch.full((B,), s, device=device)
        with torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16, enabled=autocast):
            if on_call:
                on_call(i, "cond")
            v_c = model(x, sig, labels).float()
            if guidance != 1.0:
                if on_call:
                    on_call(i, "uncond")
                v_u = model(x, sig, null).float()
                v = v_u + guidance * (v_c - v_u)
            else:
                v = v_c
        x = x + (s_next - s) * v
    return x
