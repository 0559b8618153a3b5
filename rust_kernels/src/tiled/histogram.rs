//! Stage 1, the palette: a histogram per tile, merged in any order, and the global palette
//! made from it exactly as `quantize` makes it from the whole image.

use super::grid::{check_geom, TileGeom};
use crate::error::{KernelError, Result};
use crate::image::{ImageView, ALPHA_OPAQUE_MIN};
use crate::quantize::{fit_palette, pack, unpack, FxBuild, QuantizeOptions};
use crate::scan::palette::PaletteScan;
use crate::scan::Background;
use crate::trace::{luma, otsu, Mode, TraceOptions};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct TileHistogram {
    /// Distinct colours (packed RGB), their pixel counts and first global raster index.
    pub keys: Vec<u32>,
    pub counts: Vec<u64>,
    pub first: Vec<u64>,
    /// Luma histogram (binary mode only; empty otherwise).
    pub luma: Vec<u64>,
    /// Transparent pixels in the tile.
    pub transparent: u64,
}

/// Histogram of one tile: colours (colour mode) or luma (binary mode). Counted per run of
/// identical pixels (see [`pixel_runs`]), not per pixel.
pub fn tile_histogram(img: &ImageView, g: &TileGeom, mode: Mode) -> Result<TileHistogram> {
    check_geom(img, g)?;
    let mut out = TileHistogram::default();
    let mut map: HashMap<u32, u32, FxBuild> = HashMap::default();
    if mode == Mode::Binary {
        out.luma = vec![0; 256];
    }
    let ch = img.channels;
    for y in 0..img.height {
        let row_base = ((g.y0 + y) * g.width + g.x0) as u64;
        pixel_runs(img, y, |x0, x1| {
            let p = &img.data[(y * img.width + x0) * ch..][..ch];
            let n = (x1 - x0) as u64;
            if ch == 4 && p[3] < ALPHA_OPAQUE_MIN {
                out.transparent += n;
                return Ok(());
            }
            let c = [p[0], p[1], p[2]];
            if mode == Mode::Binary {
                out.luma[luma(c) as usize] += n;
                return Ok(());
            }
            let k = pack(c);
            let next = out.keys.len() as u32;
            let idx = *map.entry(k).or_insert(next) as usize;
            if idx == next as usize {
                out.keys.push(k);
                out.counts.push(0);
                out.first.push(row_base + x0 as u64);
            }
            out.counts[idx] += n;
            Ok(())
        })?;
    }
    Ok(out)
}

/// Call `f(x0, x1)` for each maximal run of byte-identical pixels of row `y`, left to right,
/// stopping at the first error. Runs are extended 16 pixels at a time by comparing the row
/// with itself shifted by one pixel (a memcmp), so flat areas cost little.
#[inline]
pub(super) fn pixel_runs(img: &ImageView, y: usize, mut f: impl FnMut(usize, usize) -> Result<()>) -> Result<()> {
    let (w, ch) = (img.width, img.channels);
    let row = &img.data[y * w * ch..(y + 1) * w * ch];
    let mut x = 0;
    while x < w {
        let start = x;
        let px = &row[x * ch..(x + 1) * ch];
        x += 1;
        while x + 16 <= w && row[(x - 1) * ch..(x + 15) * ch] == row[x * ch..(x + 16) * ch] {
            x += 16;
        }
        while x < w && row[x * ch..(x + 1) * ch] == *px {
            x += 1;
        }
        f(start, x)?;
    }
    Ok(())
}

/// One histogram holding several tiles' (in any order): counts and transparent pixels
/// summed, each colour's first raster index the smallest, colours in first-index order.
/// The palette made from the merged histogram is the palette made from its parts, so
/// histograms can be merged as they arrive and the memory is that of the distinct colours,
/// not of the tiles.
pub fn merge_histograms(hists: &[TileHistogram]) -> Result<TileHistogram> {
    let mut out = TileHistogram { transparent: hists.iter().map(|h| h.transparent).sum(), ..Default::default() };
    let binary = hists.iter().filter(|h| !h.luma.is_empty()).count();
    if binary != 0 && binary != hists.len() {
        return Err(KernelError::InvalidInput("cannot merge colour and binary-mode histograms".into()));
    }
    if binary != 0 {
        out.luma = vec![0; 256];
        for h in hists {
            if h.luma.len() != 256 {
                return Err(KernelError::InvalidInput("a binary-mode histogram needs 256 luma bins".into()));
            }
            for (a, b) in out.luma.iter_mut().zip(&h.luma) {
                *a += b;
            }
        }
    }
    let mut merged: HashMap<u32, (u64, u64), FxBuild> = HashMap::default();
    for h in hists {
        if h.keys.len() != h.counts.len() || h.keys.len() != h.first.len() {
            return Err(KernelError::InvalidInput("histogram arrays differ in length".into()));
        }
        for ((&k, &n), &f) in h.keys.iter().zip(&h.counts).zip(&h.first) {
            let e = merged.entry(k).or_insert((0, u64::MAX));
            e.0 += n;
            e.1 = e.1.min(f);
        }
    }
    let mut entries: Vec<(u64, u32, u64)> = merged.into_iter().map(|(k, (n, f))| (f, k, n)).collect();
    entries.sort_unstable();
    out.keys = entries.iter().map(|e| e.1).collect();
    out.counts = entries.iter().map(|e| e.2).collect();
    out.first = entries.iter().map(|e| e.0).collect();
    Ok(out)
}

/// How a pixel gets its palette label.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum LabelRule {
    /// Exact palette: packed colour -> label (sorted by colour).
    Table(Vec<(u32, i32)>),
    /// k-means: label of the nearest centre (LAB), remapped to palette order.
    Nearest { centres: Vec<[f32; 3]>, remap: Vec<i32> },
    /// Binary: luma above the threshold is light (1), else dark (0).
    Threshold(u8),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TiledPalette {
    pub rule: LabelRule,
    pub palette: Vec<[u8; 3]>,
    pub binary: bool,
    /// The paper's palette entry (found only when a background is asked for).
    #[serde(default)]
    pub paper: Option<i32>,
    /// What the stitch does to paper regions (`scan::background::paint`).
    #[serde(default)]
    pub background: Background,
}

/// The global palette from every tile's histogram (the order of `hists` does not matter).
/// `opts.scan.delta_e` and `opts.scan.background` act as in `trace` (ΔE merge, paper);
/// `Background::Transparent` is refused (`NotOpaque`): paper holes need the untiled tracer.
pub fn palette_from_histograms(hists: &[TileHistogram], opts: &TraceOptions) -> Result<TiledPalette> {
    opts.validate()?;
    let background = opts.scan.background;
    if background == Background::Transparent {
        // Regions over transparent paper keep open holes, found by a containment test against
        // whole outlines: the same limit as transparent input images.
        return Err(KernelError::NotOpaque(
            "the tiled tracer cannot make the paper transparent (trace the image untiled, or use \
             background keep or white)"
                .into(),
        ));
    }
    let merged = merge_histograms(hists)?;
    if merged.transparent > 0 {
        return Err(KernelError::NotOpaque(format!(
            "tiled tracing needs an opaque image, this one has {} transparent pixels (trace it untiled)",
            merged.transparent
        )));
    }
    if opts.mode == Mode::Binary {
        let hist: [u64; 256] = merged
            .luma
            .as_slice()
            .try_into()
            .map_err(|_| KernelError::InvalidInput("histogram was not made in binary mode".into()))?;
        let t = opts.threshold.unwrap_or_else(|| otsu(&hist));
        return Ok(TiledPalette {
            rule: LabelRule::Threshold(t),
            palette: vec![[0, 0, 0], [255, 255, 255]],
            binary: true,
            // Binary: the light side is the paper, as in `trace`.
            paper: (background != Background::Off).then_some(1),
            background,
        });
    }
    if merged.keys.is_empty() {
        return Err(KernelError::InvalidInput("the image has no pixels".into()));
    }
    // Merged histograms are in first-index order: the order `quantize`'s histogram has.
    let colors: Vec<[u8; 3]> = merged.keys.iter().map(|&k| unpack(k)).collect();
    let weights: Vec<f64> = merged.counts.iter().map(|&c| c as f64).collect();
    let fit = fit_palette(
        &colors,
        &merged.counts,
        &weights,
        &QuantizeOptions {
            colors: opts.colors,
            seed: opts.seed,
            scan: PaletteScan { delta_e: opts.scan.delta_e, paper: background != Background::Off },
            ..Default::default()
        },
    );
    let rule = match fit.centres {
        Some(centres) => LabelRule::Nearest { centres, remap: fit.remap },
        None => {
            let mut t: Vec<(u32, i32)> = merged.keys.iter().copied().zip(fit.colour_label.iter().copied()).collect();
            t.sort_unstable();
            LabelRule::Table(t)
        }
    };
    Ok(TiledPalette { rule, palette: fit.palette, binary: false, paper: fit.paper, background })
}
