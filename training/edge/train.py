"""Train, evaluate and export vectile's edge network (needs the ``train`` extra: PyTorch).

    python -m training.edge.train --steps 1600 --out runs/edge      # train (resumable)
    python -m training.edge.train --export runs/edge/last.pt        # -> models/edge/vedge.onnx

Run from the repository root: ``training/`` is not part of the installed package (the runtime,
``vectile.models``, needs ONNX Runtime alone).

Data: BSDS500 (``--data``, default ``shared/data/bsds500`` beside the repository). Training
uses ``train`` plus ``val`` except the held-out val images in :data:`HELD_OUT` (every fourth
val id, 25 images), which are used to log ODS during training and to choose the blend weight.
The ``test`` split is never read here.

Labels: the mean of the annotators' boundary maps; a pixel marked by at least 30 % of the
annotators is an edge, one marked by fewer (but some) is ignored, the rest are background.

Augmentation: a random one of the 8 flips/quarter-turns, then a random crop sampled through
an affine map with scale 0.7-1.3 and rotation -15..15 degrees (bilinear; the annotation
fraction is resampled and labelled after resampling; pixels from outside the image are
ignored).

Loss: class-balanced BCE (RCF's weights: edges ``|neg| / |all|``, background
``1.1 |pos| / |all|``) on every side output and the fused output, plus a Dice term on the fused
output, which rewards thin, crisp maps (Deng et al., ECCV 2018). AdamW with linear warm-up
and cosine decay; a fixed seed; a checkpoint every ``--ckpt-every`` steps (``--resume``).
Logs (``OUT/log.jsonl``): step, loss, learning rate, seconds; and at each checkpoint the
held-out ODS (9 thresholds, edge NMS as in ``bench/bsds.py``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from bench import bsds
from training.edge.net import STRIDE, VEdge, fuse, parameter_count

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
#: The export writes the runtime's model file, beside ``vectile.models.edge.runtime``.
ONNX_PATH = REPO_ROOT / "models" / "edge" / "vedge.onnx"
LABEL_FRACTION = 0.3


def default_data() -> Path:
    for cand in (REPO_ROOT / "shared" / "data" / "bsds500", REPO_ROOT.parent / "shared" / "data" / "bsds500"):
        if cand.is_dir():
            return cand
    return Path("/work/shared/data/bsds500")


def split_ids(data: Path, split: str) -> list[str]:
    return sorted(p.stem for p in (data / "groundTruth" / split).glob("*.mat"))


def held_out(data: Path) -> list[str]:
    """The val images kept out of training (every fourth val id, ``vectile.models.held_out_ids``)."""
    from vectile.models import held_out_ids

    return held_out_ids(split_ids(data, "val"))


def load_sample(data: Path, split: str, image_id: str) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """(RGB uint8 (H, W, 3), annotator fraction float32 (H, W), boundary maps)."""
    from PIL import Image
    from scipy.io import loadmat

    rgb = np.array(Image.open(data / "images" / split / f"{image_id}.jpg").convert("RGB"))
    gt = loadmat(str(data / "groundTruth" / split / f"{image_id}.mat"))["groundTruth"]
    maps = [np.asarray(gt[0, k]["Boundaries"][0, 0], dtype=bool) for k in range(gt.shape[1])]
    frac = np.mean(np.stack(maps).astype(np.float32), axis=0)
    return rgb, frac, maps


def labels_from_fraction(frac: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """1 edge, 0 background, 2 ignored."""
    lab = torch.full_like(frac, 2.0)
    lab[frac >= LABEL_FRACTION] = 1.0
    lab[frac <= 1e-3] = 0.0
    lab[valid < 0.999] = 2.0
    return lab


def augment_batch(
    samples: list[tuple[torch.Tensor, torch.Tensor]], crop: int, rng: random.Random
) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch of augmented crops: images (N, 3, crop, crop) in [0, 1], labels (N, 1, crop, crop)."""
    images, labels = [], []
    for img, frac in samples:  # img (3, H, W) float, frac (1, H, W)
        k, flip = rng.randrange(4), rng.random() < 0.5
        x = torch.cat([img, frac, torch.ones_like(frac)], dim=0)
        if flip:
            x = x.flip(-1)
        x = torch.rot90(x, k, dims=(-2, -1))
        _, h, w = x.shape
        scale = math.exp(rng.uniform(math.log(0.7), math.log(1.3)))
        theta = math.radians(rng.uniform(-15.0, 15.0)) if rng.random() < 0.5 else 0.0
        # Crop centre: anywhere the crop's centre stays inside the image.
        half = crop / 2.0 / scale
        cy = rng.uniform(min(half, h / 2), max(h - half, h / 2))
        cx = rng.uniform(min(half, w / 2), max(w - half, w / 2))
        # Affine map from output normalised coords to input normalised coords.
        cos, sin = math.cos(theta), math.sin(theta)
        sx, sy = crop / scale / w, crop / scale / h
        mat = torch.tensor(
            [[cos * sx, -sin * sx, 2.0 * cx / w - 1.0], [sin * sy, cos * sy, 2.0 * cy / h - 1.0]],
            dtype=torch.float32,
            device=x.device,
        )
        grid = F.affine_grid(mat[None], [1, 5, crop, crop], align_corners=False)
        out = F.grid_sample(x[None], grid, mode="bilinear", padding_mode="zeros", align_corners=False)[0]
        if rng.random() < 0.5:  # mild photometric jitter
            gain, bias = rng.uniform(0.8, 1.2), rng.uniform(-0.08, 0.08)
            out[:3] = (out[:3] * gain + bias).clamp(0.0, 1.0)
        images.append(out[:3])
        labels.append(labels_from_fraction(out[3:4], out[4:5]))
    return torch.stack(images), torch.stack(labels)


def balanced_bce(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    pos = (labels == 1).float()
    neg = (labels == 0).float()
    n_pos, n_neg = pos.sum(dim=(1, 2, 3), keepdim=True), neg.sum(dim=(1, 2, 3), keepdim=True)
    total = (n_pos + n_neg).clamp(min=1.0)
    weight = pos * (n_neg / total) + neg * (1.1 * n_pos / total)
    loss = F.binary_cross_entropy_with_logits(logits, pos, weight=weight, reduction="sum")
    return loss / total.sum()


def dice_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    valid = (labels != 2).float()
    p = torch.sigmoid(logits) * valid
    y = (labels == 1).float()
    num = 2.0 * (p * y).sum(dim=(1, 2, 3)) + 1.0
    den = (p * p).sum(dim=(1, 2, 3)) + (y * y).sum(dim=(1, 2, 3)) + 1.0
    return (1.0 - num / den).mean()


def total_loss(outputs: list[torch.Tensor], labels: torch.Tensor, dice_weight: float) -> torch.Tensor:
    loss = sum(balanced_bce(o, labels) for o in outputs)
    return loss + dice_weight * dice_loss(outputs[-1], labels)


def predict(model: torch.nn.Module, rgb: np.ndarray) -> np.ndarray:
    """Fused edge probability (H, W) for one uint8 RGB image (padded to the stride, cropped back)."""
    h, w = rgb.shape[:2]
    ph, pw = (-h) % STRIDE, (-w) % STRIDE
    x = torch.from_numpy(rgb).permute(2, 0, 1).float()[None] / 255.0
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="replicate")
    with torch.no_grad():
        y = model(x)[0, 0, :h, :w]
    return y.numpy()


def quick_ods(model: torch.nn.Module, samples: list[tuple[np.ndarray, list[np.ndarray]]], n_levels: int = 9) -> float:
    """ODS on the held-out images with ``n_levels`` thresholds (bench/bsds.py's protocol)."""
    model.eval()
    levels = bsds.thresholds(n_levels)
    counts = [
        bsds.evaluate_image(bsds.edge_nms(predict(model, rgb).astype(np.float64)), maps, levels)
        for rgb, maps in samples
    ]
    model.train()
    return bsds.scores(levels, counts)["ods"]


def train(args: argparse.Namespace) -> None:
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    rng = random.Random(args.seed)
    torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() and not args.cpu else "cpu")
    data = args.data or default_data()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    hold = set(held_out(data))
    ids = [("train", i) for i in split_ids(data, "train")] + [
        ("val", i) for i in split_ids(data, "val") if i not in hold
    ]
    t0 = time.time()
    samples = []
    for split, i in ids:
        rgb, frac, _maps = load_sample(data, split, i)
        # Kept on the training device: augmentation runs there too (no CPU bottleneck on a GPU).
        samples.append(
            (
                (torch.from_numpy(rgb).permute(2, 0, 1).float() / 255.0).to(device),
                torch.from_numpy(frac)[None].to(device),
            )
        )
    val = [(lambda s: (s[0], s[2]))(load_sample(data, "val", i)) for i in sorted(hold)]
    print(
        f"{len(samples)} training images, {len(val)} held out; loaded in {time.time() - t0:.1f} s on {device}",
        flush=True,
    )

    model = VEdge().to(device)
    if args.init:
        # Start from given weights (e.g. the shipped vedge.pt) with a fresh optimiser and schedule.
        model.load_state_dict(torch.load(args.init, map_location=device, weights_only=True))
        print(f"initialised from {args.init}", flush=True)
    print(f"parameters: {parameter_count(model)}", flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    step = 0
    last = out / "last.pt"
    if args.resume and last.is_file():
        state = torch.load(last, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        step = state["step"]
        rng.setstate(state["rng"])
        torch.set_rng_state(state["torch_rng"])
        print(f"resumed at step {step}", flush=True)
    log = (out / "log.jsonl").open("a")
    model.train()
    started = time.time()
    running = 0.0
    while step < args.steps:
        warm = min(1.0, (step + 1) / args.warmup)
        lr = args.lr * warm * 0.5 * (1.0 + math.cos(math.pi * step / args.steps))
        for group in opt.param_groups:
            group["lr"] = lr
        batch = [samples[rng.randrange(len(samples))] for _ in range(args.batch)]
        images, labels = augment_batch(batch, args.crop, rng)
        images, labels = images.to(device), labels.to(device)
        loss = total_loss(model.forward_all(images), labels, args.dice)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        running += float(loss.detach())
        if step % args.log_every == 0:
            rec = {"step": step, "loss": running / args.log_every, "lr": lr, "seconds": round(time.time() - started, 1)}
            running = 0.0
            print(json.dumps(rec), flush=True)
            log.write(json.dumps(rec) + "\n")
            log.flush()
        if step % args.ckpt_every == 0 or step == args.steps:
            state = {
                "model": model.state_dict(),
                "opt": opt.state_dict(),
                "step": step,
                "rng": rng.getstate(),
                "torch_rng": torch.get_rng_state(),
                "args": vars(args),
            }
            tmp = out / ".last.pt.tmp"
            torch.save(state, tmp)
            tmp.replace(last)
            torch.save({"model": model.state_dict(), "step": step}, out / f"step{step:06d}.pt")
            if args.val_every and (step % args.val_every == 0 or step == args.steps):
                cpu_model = model.to("cpu")
                ods = quick_ods(cpu_model, val[: args.val_images])
                model.to(device)
                rec = {"step": step, "val_ods": round(ods, 4), "seconds": round(time.time() - started, 1)}
                print(json.dumps(rec), flush=True)
                log.write(json.dumps(rec) + "\n")
                log.flush()
    log.close()


def export(checkpoint: Path, path: Path = ONNX_PATH) -> None:
    """Fuse the pixel-difference convolutions and write ONNX (opset 17, dynamic H and W)."""
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    model = VEdge()
    model.load_state_dict(state["model"])
    model = fuse(model.eval())
    x = torch.rand(1, 3, 64, 96)
    tmp = path.with_suffix(".onnx.tmp")
    torch.onnx.export(
        model,
        (x,),
        str(tmp),
        opset_version=17,
        input_names=["image"],
        output_names=["edges"],
        dynamo=False,
        dynamic_axes={"image": {0: "n", 2: "height", 3: "width"}, "edges": {0: "n", 2: "height", 3: "width"}},
    )
    tmp.replace(path)
    print(f"wrote {path} ({path.stat().st_size} bytes) from step {state.get('step')}")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m training.edge.train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--data", type=Path, default=None)
    p.add_argument("--out", default="runs/edge")
    p.add_argument("--steps", type=int, default=1600)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--crop", type=int, default=256)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--dice", type=float, default=1.0, help="weight of the Dice term")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--cpu", action="store_true", help="train on the CPU even if CUDA is present")
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--ckpt-every", type=int, default=100)
    p.add_argument("--val-every", type=int, default=400, help="held-out ODS every N steps (0: never)")
    p.add_argument("--val-images", type=int, default=25)
    p.add_argument("--resume", action="store_true")
    p.add_argument(
        "--init",
        type=Path,
        default=None,
        metavar="WEIGHTS",
        help="start from these weights (a state dict such as training/edge/vedge.pt)",
    )
    p.add_argument("--export", type=Path, default=None, metavar="CKPT", help="export this checkpoint to ONNX and exit")
    p.add_argument("--onnx", type=Path, default=ONNX_PATH)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.export:
        export(args.export, args.onnx)
        return 0
    train(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
