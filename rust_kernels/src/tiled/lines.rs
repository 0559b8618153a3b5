//! The centerline mode in tiles (`Mode::Centerline`): the same SVG as
//! `strokes::trace::trace_centerline` on the whole image, for every tile size.
//!
//! The palette and the pixels' labels come exactly as for the colour tracer (stage 1 of
//! `super`, and the scan front end's cleaned tiles when it is on). Then:
//! 1. `line_plan` (one reduction, from the same histograms): the background label (the paper
//!    when one was found, else the label covering most pixels, the first on a tie), the
//!    anti-aliasing blends' owners and the colours traced, as `trace_centerline` decides
//!    them from the whole label map;
//! 2. `tile_lines` (per tile): the labels of the tile's `line_window` (the tile and a halo of
//!    `line_reach` pixels), every traced colour's ink mask cleaned of specks and pinholes and
//!    thinned there. A skeleton bit depends only on the mask within the skeleton's reach, a
//!    cleaned pixel on the mask within `min_area`, and the thinning's subfields go by pixel
//!    parity, so a window starting on even coordinates gives exactly the untiled ink and
//!    bits in the tile. Returned per colour: the tile's ink and skeleton as runs;
//! 3. `trace_colour` (one task per colour, in parallel on a cluster): the runs of all tiles
//!    painted into a whole-image ink mask and skeleton, and stages (b)-(d) of
//!    `strokes::centerlines` run on them (`centerlines_from_skeleton`), so a stroke crossing
//!    tile borders is one path; `write_lines` (one reduction): the SVG written as
//!    `trace_centerline` writes it. `assemble_lines` runs both in one process.
//!
//! Memory of a colour's task for a W x H image: the encoded runs of all tiles (`Runs`, about
//! 3 bytes per run of ink and per run of skeleton), plus 7 W H bytes (ink mask and skeleton
//! 1 byte each, the pixel graph's node ids 4 and visited flags 1), plus the colour's stroke
//! graph and strokes; the writer holds every colour's strokes and the SVG.

use super::grid::TileGeom;
use super::histogram::{merge_histograms, LabelRule, TileHistogram, TiledPalette};
use super::regions::label_runs;
use super::wire::{decode, encode};
use crate::error::{KernelError, Result};
use crate::fit::Curve;
use crate::image::ImageView;
use crate::quantize::{nearest_label, pack, unpack};
use crate::scan::Background;
use crate::strokes::trace::{blend_candidates, centerline_svg, drop_specks, resolve_blends};
use crate::strokes::{centerlines_from_skeleton, fills, skeleton, CenterlineOptions, Stroke};
use crate::trace::{luma, TraceOptions, TraceStats};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Runs of pixels in raster order, each `x0..x1` on row `y` (image coordinates), encoded
/// compactly: per run, as LEB128 varints, the rows skipped since the previous run, the gap
/// from the previous run's end on the same row (from x = 0 on a new row), and the length.
/// A line's runs are short and close together: about 3 bytes a run instead of 12.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Runs {
    bytes: Vec<u8>,
    #[serde(skip)]
    at: (u32, u32),
}

impl Runs {
    fn varint(&mut self, mut v: u32) {
        while v >= 0x80 {
            self.bytes.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.bytes.push(v as u8);
    }

    /// Append the run `x0..x1` on row `y`, after (below, or right of) the last one.
    pub fn push(&mut self, y: u32, x0: u32, x1: u32) {
        let (py, px) = self.at;
        debug_assert!(x0 < x1 && (y > py || (y == py && x0 >= px)), "runs must come in raster order");
        let from = if y == py { px } else { 0 };
        self.varint(y - py);
        self.varint(x0 - from);
        self.varint(x1 - x0);
        self.at = (y, x1);
    }

    /// Encoded size in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Call `f(y, x0, x1)` for every run, in order; `InvalidInput` when the bytes are not runs.
    pub fn each(&self, mut f: impl FnMut(u32, u32, u32) -> Result<()>) -> Result<()> {
        let bad = || KernelError::InvalidInput("tile lines hold malformed runs".into());
        let mut pos = 0;
        let next = |pos: &mut usize| -> Result<u32> {
            let mut v: u64 = 0;
            for shift in (0..35).step_by(7) {
                let b = *self.bytes.get(*pos).ok_or_else(bad)?;
                *pos += 1;
                v |= u64::from(b & 0x7f) << shift;
                if b & 0x80 == 0 {
                    return u32::try_from(v).map_err(|_| bad());
                }
            }
            Err(bad())
        };
        let (mut y, mut x) = (0u32, 0u32);
        while pos < self.bytes.len() {
            let dy = next(&mut pos)?;
            if dy > 0 {
                x = 0;
            }
            y = y.checked_add(dy).ok_or_else(bad)?;
            let x0 = x.checked_add(next(&mut pos)?).ok_or_else(bad)?;
            x = x0.checked_add(next(&mut pos)?).ok_or_else(bad)?;
            f(y, x0, x)?;
        }
        Ok(())
    }
}

/// One colour's ink and skeleton in one tile.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LineRuns {
    pub label: i32,
    pub ink: Runs,
    pub skeleton: Runs,
}

/// What `tile_lines` sends to the assembler: every non-background colour with ink in the
/// tile, by ascending label.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TileLines {
    pub colours: Vec<LineRuns>,
}

/// How far beyond a pixel `tile_lines` reads: the skeleton's reach over the cleaned mask,
/// plus the reach of the cleaning (`strokes::trace::drop_specks`: a speck below half of
/// `min_area` pixels or a pinhole below `min_area` lies within `min_area` pixels; a component
/// that reaches farther holds more pixels than that in any window, so it is kept).
pub fn line_reach(max_width: f32, min_area: u64) -> usize {
    skeleton::reach(max_width) + min_area as usize + 1
}

/// The window `tile_lines` reads for the tile at `(x0, y0)` of `w` x `h` pixels in a `width`
/// x `height` image: `(wx0, wy0, ww, wh)`, the tile grown by `reach` (`line_reach`) pixels
/// on every side (clipped to the image), its top-left corner moved up and left to even
/// coordinates so the thinning's parity subfields are the image's. The tile must lie in the
/// image (`check_core`).
pub fn line_window(
    x0: usize,
    y0: usize,
    w: usize,
    h: usize,
    width: usize,
    height: usize,
    reach: usize,
) -> (usize, usize, usize, usize) {
    let r = reach;
    let (wx0, wy0) = (x0.saturating_sub(r) & !1, y0.saturating_sub(r) & !1);
    let (wx1, wy1) = ((x0 + w + r).min(width), (y0 + h + r).min(height));
    (wx0, wy0, wx1 - wx0, wy1 - wy0)
}

/// A tile `core` = (x0, y0, w, h) that is not empty and lies inside the `width` x `height`
/// image, else `InvalidInput`.
pub fn check_core(core: (usize, usize, usize, usize), width: usize, height: usize) -> Result<()> {
    let (x0, y0, w, h) = core;
    if w == 0 || h == 0 || x0 + w > width || y0 + h > height {
        return Err(KernelError::InvalidInput(format!(
            "tile {w}x{h} at ({x0}, {y0}) is empty or does not fit in a {width}x{height} image"
        )));
    }
    Ok(())
}

/// The palette label of colour `c` under `rule`.
fn label_of(rule: &LabelRule, c: [u8; 3]) -> Result<i32> {
    Ok(match rule {
        LabelRule::Threshold(t) => (luma(c) > *t) as i32,
        LabelRule::Table(t) => match t.binary_search_by_key(&pack(c), |e| e.0) {
            Ok(k) => t[k].1,
            Err(_) => {
                return Err(KernelError::InvalidInput(format!(
                    "colour #{:06x} is not in the palette's histogram",
                    pack(c)
                )))
            }
        },
        LabelRule::Nearest { centres, remap } => nearest_label(centres, remap, c),
    })
}

/// What every tile and the writer need to know of the palette: the background label (None
/// when the palette is empty), which entry's strokes each entry's pixels join
/// (`strokes::trace::blend_owners`: anti-aliasing blends join their ink or the background),
/// and the entries traced (ascending). While `faint` holds blends still to test against
/// the pixels (`tile_fringe`, `resolve_plan`), `owner` is `blend_candidates`' and `traced`
/// is empty.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LinePlan {
    pub background: Option<i32>,
    pub owner: Vec<Option<u32>>,
    pub traced: Vec<i32>,
    pub faint: Vec<(u32, u32)>,
    /// Pixels per entry.
    pub counts: Vec<u64>,
}

impl LinePlan {
    /// The plan with `owner` resolved (`fringe(k, j)` for each faint blend) and `traced` set.
    fn resolved(mut self, fringe: impl Fn(usize, usize) -> bool) -> LinePlan {
        let faint: Vec<(usize, usize)> = self.faint.iter().map(|&(k, j)| (k as usize, j as usize)).collect();
        let owner = resolve_blends(self.owner.iter().map(|o| o.map(|j| j as usize)).collect(), &faint, fringe);
        let bg = self.background.map(|b| b as usize);
        self.traced = (0..owner.len())
            .filter(|&k| Some(k) != bg && owner[k] == Some(k) && self.counts[k] > 0)
            .map(|k| k as i32)
            .collect();
        self.owner = owner.into_iter().map(|o| o.map(|j| j as u32)).collect();
        self.faint.clear();
        self
    }
}

/// The `LinePlan` of a centerline trace, as `trace_centerline` decides it from the whole
/// label map, from the histograms the palette was made from (the pixels per entry); faint
/// blends, when there are any, wait for `tile_fringe` and `resolve_plan`.
pub fn line_plan(hists: &[TileHistogram], p: &TiledPalette) -> Result<LinePlan> {
    let merged = merge_histograms(hists)?;
    let n = p.palette.len();
    let mut counts = vec![0u64; n];
    for (&k, &c) in merged.keys.iter().zip(&merged.counts) {
        let l = label_of(&p.rule, unpack(k))?;
        let slot = counts
            .get_mut(l as usize)
            .ok_or_else(|| KernelError::InvalidInput(format!("label {l} is outside the palette of {n}")))?;
        *slot += c;
    }
    // The paper, else the colour covering most pixels (the first on a tie).
    let most = (0..n).max_by_key(|&k| (counts[k], std::cmp::Reverse(k)));
    let background = p.paper.map(|b| b as usize).or(most);
    let usize_counts: Vec<usize> = counts.iter().map(|&c| c as usize).collect();
    let (owner, faint) = match background {
        Some(b) => blend_candidates(&p.palette, &usize_counts, b),
        None => ((0..n).map(Some).collect(), Vec::new()),
    };
    let plan = LinePlan {
        background: background.map(|b| b as i32),
        owner: owner.into_iter().map(|o| o.map(|j| j as u32)).collect(),
        traced: Vec::new(),
        faint: faint.into_iter().map(|(k, j)| (k as u32, j as u32)).collect(),
        counts,
    };
    Ok(if plan.faint.is_empty() { plan.resolved(|_, _| true) } else { plan })
}

/// Per tile, for each faint blend `(k, j)` of `plan`: how many of the tile's pixels are
/// labelled `k` and how many of those touch (8-neighbourhood) a pixel labelled `j`. `img`
/// is a window at `(window.x0, window.y0)` holding the tile `core` and the ring of pixels
/// around it (clipped to the image).
pub fn tile_fringe(
    img: &ImageView,
    window: &TileGeom,
    core: (usize, usize, usize, usize),
    p: &TiledPalette,
    plan: &LinePlan,
) -> Result<Vec<(u64, u64)>> {
    let (x0, y0, w, h) = core;
    check_core(core, window.width, window.height)?;
    let (ww, wh) = (img.width, img.height);
    let holds = window.x0 <= x0.saturating_sub(1)
        && window.y0 <= y0.saturating_sub(1)
        && window.x0 + ww >= (x0 + w + 1).min(window.width)
        && window.y0 + wh >= (y0 + h + 1).min(window.height)
        && window.x0 + ww <= window.width
        && window.y0 + wh <= window.height;
    if !holds {
        return Err(KernelError::InvalidInput(format!(
            "the window {ww}x{wh} at ({}, {}) does not hold tile {w}x{h} at ({x0}, {y0}) and its ring",
            window.x0, window.y0
        )));
    }
    let (runs, _) = label_runs(img, &p.rule)?;
    let mut labels = vec![-1i32; ww * wh];
    for r in &runs {
        labels[r.y as usize * ww + r.x0 as usize..r.y as usize * ww + r.x1 as usize].fill(r.label);
    }
    let (cx0, cy0) = (x0 - window.x0, y0 - window.y0);
    Ok(plan
        .faint
        .iter()
        .map(|&(k, j)| {
            let (k, j) = (k as i32, j as i32);
            let (mut total, mut touching) = (0u64, 0u64);
            for y in cy0..cy0 + h {
                for x in cx0..cx0 + w {
                    if labels[y * ww + x] != k {
                        continue;
                    }
                    total += 1;
                    let near = (-1isize..=1).any(|dy| {
                        (-1isize..=1).any(|dx| {
                            let (nx, ny) = (x as isize + dx, y as isize + dy);
                            (dx, dy) != (0, 0)
                                && nx >= 0
                                && ny >= 0
                                && (nx as usize) < ww
                                && (ny as usize) < wh
                                && labels[ny as usize * ww + nx as usize] == j
                        })
                    });
                    touching += near as u64;
                }
            }
            (total, touching)
        })
        .collect())
}

/// The plan with its faint blends decided from every tile's `tile_fringe` counts (summed):
/// a blend whose pixels mostly do not touch its ink is a faint line's core and joins it.
pub fn resolve_plan(plan: LinePlan, parts: &[Vec<(u64, u64)>]) -> Result<LinePlan> {
    let mut sums = vec![(0u64, 0u64); plan.faint.len()];
    for part in parts {
        if part.len() != sums.len() {
            return Err(KernelError::InvalidInput("fringe counts are not the plan's".into()));
        }
        for (s, c) in sums.iter_mut().zip(part) {
            s.0 += c.0;
            s.1 += c.1;
        }
    }
    let index: Vec<(usize, usize)> = plan.faint.iter().map(|&(k, j)| (k as usize, j as usize)).collect();
    Ok(plan.resolved(|k, j| {
        let i = index.iter().position(|&e| e == (k, j)).expect("a faint blend of the plan");
        2 * sums[i].1 >= sums[i].0
    }))
}

/// Stage 2, one tile: `img` is the tile's `line_window` (tile `core` = (x0, y0, w, h) of an
/// image of `window.width` x `window.height`, the window at `(window.x0, window.y0)`).
/// Every traced colour with ink in the window gets its mask there (its own pixels and the
/// blends it owns), cleaned of specks and pinholes as the untiled trace cleans it, and
/// thinned; its cleaned ink and skeleton inside the tile come back as runs.
pub fn tile_lines(
    img: &ImageView,
    window: &TileGeom,
    core: (usize, usize, usize, usize),
    p: &TiledPalette,
    plan: &LinePlan,
    max_width: f32,
    min_area: u64,
) -> Result<TileLines> {
    let (x0, y0, w, h) = core;
    check_core(core, window.width, window.height)?;
    let want = line_window(x0, y0, w, h, window.width, window.height, line_reach(max_width, min_area));
    if (window.x0, window.y0, img.width, img.height) != want {
        return Err(KernelError::InvalidInput(format!(
            "the window {}x{} at ({}, {}) is not the line window {}x{} at ({}, {}) of tile {}x{} at ({}, {})",
            img.width, img.height, window.x0, window.y0, want.2, want.3, want.0, want.1, w, h, x0, y0
        )));
    }
    if plan.owner.len() != p.palette.len() || !plan.faint.is_empty() {
        return Err(KernelError::InvalidInput("the line plan is not the palette's, or not resolved".into()));
    }
    let (ww, wh) = (img.width, img.height);
    let (runs, _) = label_runs(img, &p.rule)?;
    // Each traced colour's runs: its own and those of the blends it owns.
    let mut by_owner: Vec<Vec<usize>> = vec![Vec::new(); p.palette.len()];
    for (i, r) in runs.iter().enumerate() {
        let owner = plan
            .owner
            .get(r.label as usize)
            .ok_or_else(|| KernelError::InvalidInput(format!("label {} is outside the palette", r.label)))?;
        if let Some(k) = owner {
            by_owner.get_mut(*k as usize).ok_or_else(|| KernelError::InvalidInput("a bad line plan".into()))?.push(i);
        }
    }
    // The tile inside the window (window coordinates).
    let (cx0, cy0) = (x0 - window.x0, y0 - window.y0);
    let (cx1, cy1) = (cx0 + w, cy0 + h);
    let (gx, gy) = (window.x0 as u32, window.y0 as u32);
    // Runs of the set pixels of `bits` (window-sized) inside the tile, in image coordinates.
    let core_runs = |bits: &[u8]| {
        let mut out = Runs::default();
        for y in cy0..cy1 {
            let row = &bits[y * ww..(y + 1) * ww];
            let mut x = cx0;
            while x < cx1 {
                if row[x] == 0 {
                    x += 1;
                    continue;
                }
                let start = x;
                while x < cx1 && row[x] != 0 {
                    x += 1;
                }
                out.push(y as u32 + gy, start as u32 + gx, x as u32 + gx);
            }
        }
        out
    };
    let traced: Vec<i32> = plan
        .traced
        .iter()
        .copied()
        .filter(|&k| by_owner.get(k as usize).is_some_and(|v| !v.is_empty()) && Some(k) != plan.background)
        .collect();
    let iterations = skeleton::thinning_iterations(max_width);
    let min = min_area as usize;
    let colours = traced
        .into_par_iter()
        .map(|k| {
            let mut mask = vec![0u8; ww * wh];
            for &i in &by_owner[k as usize] {
                let r = &runs[i];
                let row = r.y as usize * ww;
                mask[row + r.x0 as usize..row + r.x1 as usize].fill(1);
            }
            drop_specks(&mut mask, ww, wh, min.div_ceil(2), min);
            let bits = skeleton::skeleton(&mask, ww, wh, iterations);
            LineRuns { label: k, ink: core_runs(&mask), skeleton: core_runs(&bits) }
        })
        .collect();
    Ok(TileLines { colours })
}

/// Paint `runs` into the row-major `w` x `h` array `out` (1 = set).
fn paint(out: &mut [u8], runs: &Runs, w: usize, h: usize) -> Result<()> {
    runs.each(|y, x0, x1| {
        if y as usize >= h || x0 >= x1 || x1 as usize > w {
            return Err(KernelError::InvalidInput(format!("a run ({y}, {x0}..{x1}) lies outside the {w}x{h} image")));
        }
        let row = y as usize * w;
        out[row + x0 as usize..row + x1 as usize].fill(1);
        Ok(())
    })
}

/// Stage 3a, one colour: its runs from every tile (`parts`, any order) painted into a
/// whole-image ink mask and skeleton, traced as `centerlines` traces a whole mask after its
/// skeleton (`centerlines_from_skeleton`). `NotTileable` when the colour has ink too thick
/// to thin (`strokes::fills::thick_fill`): the untiled trace fills it, settling the fills'
/// edges over all colours, which the tiles do not do yet.
pub fn trace_colour(parts: &[&LineRuns], width: usize, height: usize, opts: &TraceOptions) -> Result<Vec<Stroke>> {
    opts.validate()?;
    let mut mask = vec![0u8; width * height];
    let mut bits = vec![0u8; width * height];
    for c in parts {
        paint(&mut mask, &c.ink, width, height)?;
        paint(&mut bits, &c.skeleton, width, height)?;
    }
    if fills::thick_fill(
        &mask,
        width,
        height,
        fills::thick_radius(opts.stroke_width_max),
        fills::min_core(opts.stroke_width_max),
    )
    .is_some()
    {
        return Err(KernelError::NotTileable(format!(
            "the centerline mode fills ink wider than stroke_width_max ({} px) only in the untiled trace; trace this image untiled",
            opts.stroke_width_max
        )));
    }
    let cl = CenterlineOptions { max_width: opts.stroke_width_max, fit: opts.fit.clone() };
    Ok(centerlines_from_skeleton(&bits, &mask, width, height, &cl))
}

/// The runs of colour `label` in each tile that has any.
pub fn runs_of(tiles: &[TileLines], label: i32) -> Vec<&LineRuns> {
    tiles
        .iter()
        .filter_map(|t| t.colours.binary_search_by_key(&label, |c| c.label).ok().map(|k| &t.colours[k]))
        .collect()
}

/// A stroke as it travels between tasks (`encode`/`decode`).
#[derive(Serialize, Deserialize)]
struct WireStroke {
    curve: Curve,
    closed: bool,
    width: f32,
}

/// One colour's strokes as bytes (exact: floats travel bit for bit).
pub fn encode_strokes(strokes: &[Stroke]) -> Vec<u8> {
    let wire: Vec<WireStroke> =
        strokes.iter().map(|s| WireStroke { curve: s.curve.clone(), closed: s.closed, width: s.width }).collect();
    encode(&wire)
}

/// The strokes of `encode_strokes`.
pub fn decode_strokes(bytes: &[u8]) -> Result<Vec<Stroke>> {
    let wire: Vec<WireStroke> = decode(bytes, "a colour's strokes")?;
    Ok(wire.into_iter().map(|w| Stroke { curve: w.curve, closed: w.closed, width: w.width }).collect())
}

/// Stages 3a and 3b in one call (the reference driver): every colour traced in turn, one
/// at a time, and the SVG written. The plan's background label is painted
/// as the canvas unless `canvas` is false (the paper made transparent: the palette is then
/// made as for a kept paper, which finds the same paper). Returns the SVG and its stats.
pub fn assemble_lines(
    tiles: Vec<TileLines>,
    width: usize,
    height: usize,
    p: &TiledPalette,
    plan: &LinePlan,
    canvas: bool,
    opts: &TraceOptions,
) -> Result<(String, TraceStats)> {
    let mut per_colour: Vec<Vec<Stroke>> = vec![Vec::new(); p.palette.len()];
    for (k, out) in per_colour.iter_mut().enumerate() {
        let parts = runs_of(&tiles, k as i32);
        if !parts.is_empty() {
            *out = trace_colour(&parts, width, height, opts)?;
        }
    }
    write_lines(width, height, p, plan.background.filter(|_| canvas), per_colour, opts)
}

/// Stage 3b: the SVG of a centerline trace from every palette entry's strokes
/// (`per_colour`, one list per entry): the `canvas` label as one rectangle (white when the
/// paper is made white; none when None or the paper is transparent), then the strokes in
/// palette order, equal written widths of one colour together.
pub fn write_lines(
    width: usize,
    height: usize,
    p: &TiledPalette,
    canvas: Option<i32>,
    per_colour: Vec<Vec<Stroke>>,
    opts: &TraceOptions,
) -> Result<(String, TraceStats)> {
    opts.validate()?;
    let n = p.palette.len();
    if canvas.is_some_and(|b| b < 0 || b as usize >= n) || per_colour.len() != n {
        return Err(KernelError::InvalidInput(format!(
            "{} stroke lists and canvas label {canvas:?} for a palette of {n}",
            per_colour.len()
        )));
    }
    let canvas = canvas.filter(|_| p.background != Background::Transparent).map(|b| {
        let white = p.background == Background::White && p.paper.is_some();
        if white {
            [255, 255, 255]
        } else {
            p.palette[b as usize]
        }
    });
    Ok(centerline_svg(width, height, &p.palette, per_colour, canvas, (&[], &[]), opts))
}
