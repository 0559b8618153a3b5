"""VEdge: vectile's compact edge network (PyTorch; training and export only).

Written for vectile from the published descriptions of PiDiNet (Su et al., "Pixel Difference
Networks for Efficient Edge Detection", ICCV 2021) and TEED (Soria et al., "Tiny and Efficient
Model for the Edge Detection Generalization", ICCV-W 2023); no code of theirs was used.

Ideas taken from the papers' text:

* **Pixel-difference convolutions (PDC).** A 3x3 kernel applied to *differences* of pixels
  instead of raw intensities: central (``cd``: neighbour minus centre), angular (``ad``:
  each ring pixel minus its clockwise neighbour) and radial (``rd``: the outer 5x5 ring minus
  the inner ring). Each is a linear function of the weights, so every PDC equals a plain
  convolution with a transformed kernel: training uses the difference form (a gradient-like
  prior that learns edges from little data), :func:`fuse` bakes the transform into plain
  convolutions for export, with no extra cost at inference.
* **Depthwise blocks.** Each block is a depthwise PDC, ReLU and a 1x1 convolution, with a
  residual connection; four stages at 1, 1/2, 1/4 and 1/8 resolution.
* **Deep supervision.** Every stage has a side output (a compact dilated-convolution context
  module and a 1x1 convolution to one channel), upsampled bilinearly to full size; a 1x1
  convolution fuses the side outputs. All five maps are trained; inference returns the fused
  one.

The network takes float32 RGB in [0, 1], (N, 3, H, W), with H and W multiples of
:data:`STRIDE`, and returns edge probabilities (N, 1, H, W).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

#: Height and width of the input must be multiples of this (three 2x poolings).
STRIDE = 8
#: Input normalisation (per-channel mean and std of BSDS500 train images, rounded).
MEAN = (0.431, 0.446, 0.378)
STD = (0.243, 0.230, 0.242)

# The 8-neighbourhood of a 3x3 kernel, clockwise from the top-left (row-major flat index).
_RING = (0, 1, 2, 5, 8, 7, 6, 3)
_RING_NEXT = _RING[1:] + _RING[:1]
# The outer ring of a 5x5 kernel at the same 8 directions (flat index in 5x5), and the inner.
_OUTER5 = (0, 2, 4, 14, 24, 22, 20, 10)
_INNER5 = (6, 7, 8, 13, 18, 17, 16, 11)


def pdc_kernel(weight: torch.Tensor, kind: str) -> torch.Tensor:
    """The plain convolution kernel equal to the pixel-difference convolution ``kind``.

    ``weight`` is (out, in, 3, 3); the result is (out, in, 3, 3), or (out, in, 5, 5) for ``rd``.
    """
    o, i = weight.shape[:2]
    if kind == "cv":
        return weight
    w = weight.reshape(o, i, 9)
    if kind == "cd":  # sum_k w_k (x_k - x_c)
        centre = w[:, :, 4] - w.sum(dim=2)
        return torch.cat([w[:, :, :4], centre[:, :, None], w[:, :, 5:]], dim=2).reshape(o, i, 3, 3)
    if kind == "ad":  # sum_ring w_k (x_k - x_next(k)), centre weight unused
        ring, nxt = list(_RING), list(_RING_NEXT)
        out = torch.zeros_like(w)
        out[:, :, ring] = w[:, :, ring]
        out[:, :, nxt] = out[:, :, nxt] - w[:, :, ring]
        return out.reshape(o, i, 3, 3)
    if kind == "rd":  # sum_ring w_k (x_outer(k) - x_inner(k)) on a 5x5 support
        out = weight.new_zeros(o, i, 25)
        out[:, :, list(_OUTER5)] = w[:, :, list(_RING)]
        out[:, :, list(_INNER5)] = -w[:, :, list(_RING)]
        return out.reshape(o, i, 5, 5)
    raise ValueError(f"unknown PDC kind {kind!r}")


class PDC(nn.Module):
    """A pixel-difference convolution (3x3 weights; ``rd`` acts on a 5x5 support)."""

    def __init__(self, cin: int, cout: int, kind: str, groups: int = 1, bias: bool = False):
        super().__init__()
        self.kind, self.groups = kind, groups
        self.weight = nn.Parameter(torch.empty(cout, cin // groups, 3, 3))
        nn.init.kaiming_normal_(self.weight, nonlinearity="relu")
        self.bias = nn.Parameter(torch.zeros(cout)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = pdc_kernel(self.weight, self.kind)
        return F.conv2d(x, k, self.bias, padding=k.shape[-1] // 2, groups=self.groups)

    def to_conv(self) -> nn.Conv2d:
        k = pdc_kernel(self.weight.detach(), self.kind)
        conv = nn.Conv2d(
            k.shape[1] * self.groups,
            k.shape[0],
            k.shape[-1],
            padding=k.shape[-1] // 2,
            groups=self.groups,
            bias=self.bias is not None,
        )
        conv.weight.data.copy_(k)
        if self.bias is not None:
            conv.bias.data.copy_(self.bias.detach())
        return conv


class Block(nn.Module):
    """Depthwise PDC -> ReLU -> 1x1 conv, plus the input (a 2x max-pool first at stage starts)."""

    def __init__(self, cin: int, cout: int, kind: str, down: bool):
        super().__init__()
        self.down = down
        self.dw = PDC(cin, cin, kind, groups=cin)
        self.pw = nn.Conv2d(cin, cout, 1, bias=False)
        self.short = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.down:
            x = F.max_pool2d(x, 2)
        y = self.pw(F.relu(self.dw(x)))
        return y + (x if self.short is None else self.short(x))


class Side(nn.Module):
    """Side output: reduce to ``mid`` channels, sum of dilated 3x3 convs (context), 1 channel."""

    def __init__(self, cin: int, mid: int = 8, rates: tuple[int, ...] = (1, 3, 5, 7)):
        super().__init__()
        self.reduce = nn.Conv2d(cin, mid, 1)
        self.dil = nn.ModuleList(nn.Conv2d(mid, mid, 3, padding=r, dilation=r, bias=False) for r in rates)
        self.out = nn.Conv2d(mid, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.reduce(F.relu(x)))
        z = self.dil[0](y)
        for d in self.dil[1:]:
            z = z + d(y)
        return self.out(F.relu(z))


class VEdge(nn.Module):
    """The edge network; ``widths`` are the channels of the four stages."""

    PATTERN = ("cd", "ad", "rd", "cv")

    def __init__(self, widths: tuple[int, int, int, int] = (16, 32, 64, 64), blocks: int = 3, side_mid: int = 8):
        super().__init__()
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1), persistent=False)
        self.stem = PDC(3, widths[0], "cd", bias=True)
        stages = []
        cin = widths[0]
        for s, width in enumerate(widths):
            layers = []
            for b in range(blocks):
                kind = self.PATTERN[(s * blocks + b) % len(self.PATTERN)]
                layers.append(Block(cin, width, kind, down=(s > 0 and b == 0)))
                cin = width
            stages.append(nn.Sequential(*layers))
        self.stages = nn.ModuleList(stages)
        self.sides = nn.ModuleList(Side(w, side_mid) for w in widths)
        self.fuse_conv = nn.Conv2d(len(widths), 1, 1)
        nn.init.constant_(self.fuse_conv.weight, 1.0 / len(widths))
        nn.init.constant_(self.fuse_conv.bias, 0.0)

    def forward_all(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Logits: the side outputs at full size, then the fused output."""
        h, w = x.shape[-2:]
        x = self.stem((x - self.mean) / self.std)
        sides = []
        for stage, side in zip(self.stages, self.sides, strict=True):
            x = stage(x)
            s = side(x)
            if s.shape[-2:] != (h, w):
                s = F.interpolate(s, size=(h, w), mode="bilinear", align_corners=False)
            sides.append(s)
        fused = self.fuse_conv(torch.cat(sides, dim=1))
        return sides + [fused]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.forward_all(x)[-1])


def fuse(model: VEdge) -> VEdge:
    """Replace every pixel-difference convolution by the equal plain convolution (in place)."""
    for _name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, PDC):
                setattr(module, child_name, child.to_conv())
    return model


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
