//! Tiled tracing: the whole pipeline of `trace` on an image split into tiles, with output
//! byte-identical to `trace` on the whole image, in memory bounded by the tile size.
//!
//! Every global quantity of the single-array pipeline decomposes over tiles:
//! 1. `tile_histogram` (per tile) -> `palette_from_histograms` (one reduction): distinct colours
//!    with their count and first raster index, summed over tiles, are exactly the histogram
//!    `quantize` builds, so the palette and every pixel's label are the same.
//! 2. `tile_regions` (per tile): local 4-connected components with their first pixel's global
//!    raster index, area, colour sums and adjacencies, and the component ids along the tile's
//!    border. `seam_links` (per seam): components that continue across the seam (same label)
//!    and components that touch across it. `stitch` (one reduction): union-find over the seam
//!    links gives the global components; numbered by first pixel they get the ids `find_regions`
//!    gives, so speckle merging (`merge_graph`) runs on the same graph with the same ties.
//! 3. `tile_arcs` (per tile, with a one-pixel ring of final region ids from the neighbours):
//!    the boundary cracks the tile owns, cut into edges at junctions; edges that end at the tile
//!    border are kept as pieces. Edges wholly inside the tile are fitted here.
//! 4. `assemble` (one reduction): pieces are joined at their exact integer end points into
//!    global edges, oriented and ordered as `boundary::build` would (open edges by their start
//!    junction, closed loops by their top-left crack), fitted once; outlines, shapes and the
//!    SVG follow as in `trace`.
//!
//! Ownership: a tile owns its pixels; the horizontal cracks on lattice rows `y0..y1` and the
//! vertical cracks on lattice columns `x0..x1` of its pixel span (plus the image's bottom and
//! right border cracks for the last row and column of tiles). Every crack has one owner.
//!
//! Limits: opaque images only (holes that hold transparency need a containment test against
//! whole outlines), no importance weights and no edge guidance (their float sums depend on
//! the order of addition).

use crate::boundary::{key, outlines, Bits, BoundaryGraph, Edge, HalfEdge, Lattice, WalkEnd};
use crate::error::{KernelError, Result};
use crate::fit::{fit_edge_in_frame, Curve, FitOptions};
use crate::image::{ImageView, ALPHA_OPAQUE_MIN};
use crate::quantize::{fit_palette, nearest_label, pack, FxBuild, QuantizeOptions, TRANSPARENT};
use crate::regions::{components, find, mean_colours, merge_graph, Run, NONE};
use crate::svg::write_svg;
use crate::trace::{effective_fit, luma, otsu, shapes, Mode, TraceOptions, TraceStats};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Where a tile lies in the image.
#[derive(Clone, Copy, Debug)]
pub struct TileGeom {
    pub x0: usize,
    pub y0: usize,
    /// Image size.
    pub width: usize,
    pub height: usize,
}

fn check_geom(img: &ImageView, g: &TileGeom) -> Result<()> {
    if g.x0 + img.width > g.width || g.y0 + img.height > g.height {
        return Err(KernelError::InvalidInput(format!(
            "tile {}x{} at ({}, {}) does not fit in a {}x{} image",
            img.width, img.height, g.x0, g.y0, g.width, g.height
        )));
    }
    Ok(())
}

/// Encode a stage's result (compact binary, for passing between Dask tasks).
pub fn encode<T: Serialize>(v: &T) -> Vec<u8> {
    bincode::serialize(v).expect("in-memory serialization cannot fail")
}

pub fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8], what: &str) -> Result<T> {
    bincode::deserialize(bytes).map_err(|e| KernelError::InvalidInput(format!("{what} is not valid tiling data: {e}")))
}

// ---------------------------------------------------------------------------------------------
// 1. Palette

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
fn pixel_runs(img: &ImageView, y: usize, mut f: impl FnMut(usize, usize) -> Result<()>) -> Result<()> {
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
}

/// The global palette from every tile's histogram (the order of `hists` does not matter).
pub fn palette_from_histograms(hists: &[TileHistogram], opts: &TraceOptions) -> Result<TiledPalette> {
    opts.validate()?;
    let merged = merge_histograms(hists)?;
    if merged.transparent > 0 {
        return Err(KernelError::InvalidInput(format!(
            "tiled tracing needs an opaque image, this one has {} transparent pixels (trace it untiled)",
            merged.transparent
        )));
    }
    if opts.mode == Mode::Binary {
        let hist: [u64; 256] = merged.luma.as_slice().try_into().map_err(|_| KernelError::InvalidInput("histogram was not made in binary mode".into()))?;
        let t = opts.threshold.unwrap_or_else(|| otsu(&hist));
        return Ok(TiledPalette { rule: LabelRule::Threshold(t), palette: vec![[0, 0, 0], [255, 255, 255]], binary: true });
    }
    if merged.keys.is_empty() {
        return Err(KernelError::InvalidInput("the image has no pixels".into()));
    }
    // Merged histograms are in first-index order: the order `quantize`'s histogram has.
    let colors: Vec<[u8; 3]> = merged.keys.iter().map(|&k| [(k >> 16) as u8, (k >> 8) as u8, k as u8]).collect();
    let weights: Vec<f64> = merged.counts.iter().map(|&c| c as f64).collect();
    let fit = fit_palette(&colors, &merged.counts, &weights, &QuantizeOptions { colors: opts.colors, seed: opts.seed, ..Default::default() });
    let rule = match fit.centres {
        Some(centres) => LabelRule::Nearest { centres, remap: fit.remap },
        None => {
            let mut t: Vec<(u32, i32)> = merged.keys.iter().copied().zip(fit.colour_label.iter().copied()).collect();
            t.sort_unstable();
            LabelRule::Table(t)
        }
    };
    Ok(TiledPalette { rule, palette: fit.palette, binary: false })
}

/// Runs of equal, non-negative palette labels of a tile, in raster order, and each row's
/// first run: what `regions::runs` makes of the tile's label map, without the map. Labels
/// are looked up once per run of identical pixels ([`pixel_runs`]), not once per pixel.
fn label_runs(img: &ImageView, rule: &LabelRule) -> Result<(Vec<Run>, Vec<usize>)> {
    let (w, h, ch) = (img.width, img.height, img.channels);
    let table: HashMap<u32, i32, FxBuild> = match rule {
        LabelRule::Table(t) => t.iter().copied().collect(),
        _ => HashMap::default(),
    };
    let mut cache: HashMap<u32, i32, FxBuild> = HashMap::default();
    let mut label_of = |p: &[u8]| -> Result<i32> {
        if ch == 4 && p[3] < ALPHA_OPAQUE_MIN {
            return Ok(TRANSPARENT);
        }
        let c = [p[0], p[1], p[2]];
        Ok(match rule {
            LabelRule::Threshold(t) => (luma(c) > *t) as i32,
            LabelRule::Table(_) => *table.get(&pack(c)).ok_or_else(|| {
                KernelError::InvalidInput(format!("colour #{:06x} is not in the palette's histogram (the tile changed?)", pack(c)))
            })?,
            LabelRule::Nearest { centres, remap } => *cache.entry(pack(c)).or_insert_with(|| nearest_label(centres, remap, c)),
        })
    };
    let mut out: Vec<Run> = Vec::new();
    let mut row_start = Vec::with_capacity(h + 1);
    for y in 0..h {
        row_start.push(out.len());
        let row = &img.data[y * w * ch..(y + 1) * w * ch];
        // The run being built: (label, first x).
        let (mut label, mut x0) = (TRANSPARENT, 0usize);
        pixel_runs(img, y, |start, _| {
            let l = label_of(&row[start * ch..(start + 1) * ch])?;
            if l != label {
                if label >= 0 && start > x0 {
                    out.push(Run { y: y as u32, x0: x0 as u32, x1: start as u32, label });
                }
                (label, x0) = (l, start);
            }
            Ok(())
        })?;
        if label >= 0 && w > x0 {
            out.push(Run { y: y as u32, x0: x0 as u32, x1: w as u32, label });
        }
    }
    row_start.push(out.len());
    Ok((out, row_start))
}

// ---------------------------------------------------------------------------------------------
// 2. Regions

/// Local components of a tile with what the global stitch needs.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct TileRegions {
    /// First pixel (global raster index), area, colour sums and palette label per component.
    pub first: Vec<u64>,
    pub areas: Vec<u64>,
    pub sums: Vec<[u64; 3]>,
    pub labels: Vec<i32>,
    /// Adjacent pairs of different local components (sorted, distinct).
    pub pairs: Vec<(u32, u32)>,
}

/// Component ids (NONE for transparent) and labels along the four sides of a tile.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct TileBorder {
    pub width: usize,
    pub height: usize,
    /// Top row, bottom row (left to right), left column, right column (top to bottom).
    pub comps: [Vec<u32>; 4],
    pub labels: [Vec<i32>; 4],
}

const TOP: usize = 0;
const BOTTOM: usize = 1;
const LEFT: usize = 2;
const RIGHT: usize = 3;

struct Local {
    runs: Vec<Run>,
    row_start: Vec<usize>,
    comp: Vec<u32>,
    count: usize,
}

fn local_components(img: &ImageView, palette: &TiledPalette) -> Result<Local> {
    let (runs, row_start) = label_runs(img, &palette.rule)?;
    let (comp, count) = components(&runs, &row_start);
    Ok(Local { runs, row_start, comp, count })
}

fn border_of(local: &Local, w: usize, h: usize) -> TileBorder {
    let mut b = TileBorder { width: w, height: h, ..Default::default() };
    b.comps = [vec![NONE; w], vec![NONE; w], vec![NONE; h], vec![NONE; h]];
    b.labels = [vec![TRANSPARENT; w], vec![TRANSPARENT; w], vec![TRANSPARENT; h], vec![TRANSPARENT; h]];
    for (run, &c) in local.runs.iter().zip(&local.comp) {
        let y = run.y as usize;
        for side in [TOP, BOTTOM] {
            if (side == TOP && y == 0) || (side == BOTTOM && y + 1 == h) {
                b.comps[side][run.x0 as usize..run.x1 as usize].fill(c);
                b.labels[side][run.x0 as usize..run.x1 as usize].fill(run.label);
            }
        }
        if run.x0 == 0 {
            b.comps[LEFT][y] = c;
            b.labels[LEFT][y] = run.label;
        }
        if run.x1 as usize == w {
            b.comps[RIGHT][y] = c;
            b.labels[RIGHT][y] = run.label;
        }
    }
    b
}

/// Pass 1 for one tile: local components with their statistics, and the tile's border.
pub fn tile_regions(img: &ImageView, g: &TileGeom, palette: &TiledPalette) -> Result<(TileRegions, TileBorder)> {
    check_geom(img, g)?;
    let local = local_components(img, palette)?;
    let n = local.count;
    let mut r = TileRegions {
        first: vec![u64::MAX; n],
        areas: vec![0; n],
        sums: vec![[0; 3]; n],
        labels: vec![0; n],
        pairs: Vec::new(),
    };
    for (run, &c) in local.runs.iter().zip(&local.comp) {
        let c = c as usize;
        if r.first[c] == u64::MAX {
            r.first[c] = ((g.y0 + run.y as usize) * g.width + g.x0 + run.x0 as usize) as u64;
        }
        r.areas[c] += (run.x1 - run.x0) as u64;
        r.labels[c] = run.label;
        let base = (run.y as usize * img.width + run.x0 as usize) * img.channels;
        let s = &mut r.sums[c];
        for px in img.data[base..base + (run.x1 - run.x0) as usize * img.channels].chunks_exact(img.channels) {
            s[0] += px[0] as u64;
            s[1] += px[1] as u64;
            s[2] += px[2] as u64;
        }
    }
    r.pairs = crate::regions::region_pairs(&local.runs, &local.row_start, &local.comp);
    let border = border_of(&local, img.width, img.height);
    Ok((r, border))
}

/// What crosses one seam: `unions` are (component of a, component of b) pairs with the same
/// label that touch across the seam (one region), `touches` those with different labels.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SeamLinks {
    pub unions: Vec<(u32, u32)>,
    pub touches: Vec<(u32, u32)>,
}

/// Links across the seam between tile `a` and tile `b`: `b` right of `a` (`vertical` seam) or
/// below it.
pub fn seam_links(a: &TileBorder, b: &TileBorder, vertical: bool) -> Result<SeamLinks> {
    let (sa, sb) = if vertical { (RIGHT, LEFT) } else { (BOTTOM, TOP) };
    if a.comps[sa].len() != b.comps[sb].len() {
        return Err(KernelError::InvalidInput(format!(
            "seam sides differ in length ({} and {} pixels)",
            a.comps[sa].len(),
            b.comps[sb].len()
        )));
    }
    let mut out = SeamLinks::default();
    for i in 0..a.comps[sa].len() {
        let (ca, cb) = (a.comps[sa][i], b.comps[sb][i]);
        if ca == NONE || cb == NONE {
            continue;
        }
        if a.labels[sa][i] == b.labels[sb][i] {
            out.unions.push((ca, cb));
        } else {
            out.touches.push((ca, cb));
        }
    }
    for v in [&mut out.unions, &mut out.touches] {
        v.sort_unstable();
        v.dedup();
    }
    Ok(out)
}

/// The tile grid: tiles of `tile` x `tile` pixels (smaller at the right and bottom), numbered
/// in raster order.
#[derive(Clone, Copy, Debug)]
pub struct Grid {
    pub width: usize,
    pub height: usize,
    pub tile: usize,
}

impl Grid {
    pub fn new(width: usize, height: usize, tile: usize) -> Result<Grid> {
        if tile == 0 || width == 0 || height == 0 {
            return Err(KernelError::InvalidOption(format!("tile size must be >= 1 and the image non-empty (tile {tile}, image {width}x{height})")));
        }
        Ok(Grid { width, height, tile })
    }
    pub fn cols(&self) -> usize {
        self.width.div_ceil(self.tile)
    }
    pub fn rows(&self) -> usize {
        self.height.div_ceil(self.tile)
    }
    pub fn len(&self) -> usize {
        self.cols() * self.rows()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// (x0, y0, width, height) of tile `i`.
    pub fn rect(&self, i: usize) -> (usize, usize, usize, usize) {
        let (r, c) = (i / self.cols(), i % self.cols());
        let (x0, y0) = (c * self.tile, r * self.tile);
        (x0, y0, self.tile.min(self.width - x0), self.tile.min(self.height - y0))
    }
    /// The seams in a fixed order: for every tile in raster order, its right seam, then its
    /// bottom seam. Each is (tile a, tile b, vertical).
    pub fn seams(&self) -> Vec<(usize, usize, bool)> {
        let (cols, rows) = (self.cols(), self.rows());
        let mut out = Vec::new();
        for r in 0..rows {
            for c in 0..cols {
                let i = r * cols + c;
                if c + 1 < cols {
                    out.push((i, i + 1, true));
                }
                if r + 1 < rows {
                    out.push((i, i + cols, false));
                }
            }
        }
        out
    }
}

/// Per tile, from the stitch: the final region id of each local component, and the ring of
/// final ids around the tile (NONE outside the image).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct TileLinks {
    pub map: Vec<u32>,
    /// Row above and row below, `width + 2` values each (corners included).
    pub ring_top: Vec<u32>,
    pub ring_bottom: Vec<u32>,
    /// Column left and column right, `height` values each.
    pub ring_left: Vec<u32>,
    pub ring_right: Vec<u32>,
}

/// The final regions: colour per region id.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RegionTable {
    pub colours: Vec<[u8; 3]>,
    pub palette: usize,
}

/// Union-find over all tiles' components and speckle merging on the global region graph.
/// `tiles` and `borders` are in grid order, `seams` in `Grid::seams` order.
pub fn stitch(grid: &Grid, tiles: &[TileRegions], borders: &[TileBorder], seams: &[SeamLinks], palette: &TiledPalette, opts: &TraceOptions) -> Result<(Vec<TileLinks>, RegionTable)> {
    let seam_list = grid.seams();
    if tiles.len() != grid.len() || borders.len() != grid.len() || seams.len() != seam_list.len() {
        return Err(KernelError::InvalidInput(format!(
            "stitch needs {} tiles and {} seams, got {} tiles, {} borders, {} seams",
            grid.len(),
            seam_list.len(),
            tiles.len(),
            borders.len(),
            seams.len()
        )));
    }
    let mut offset = Vec::with_capacity(tiles.len() + 1);
    let mut total = 0u64;
    for t in tiles {
        offset.push(total as u32);
        total += t.areas.len() as u64;
    }
    if total >= NONE as u64 {
        return Err(KernelError::InvalidInput(format!("{total} components are too many for one image")));
    }
    let total = total as usize;
    let mut parent: Vec<u32> = (0..total as u32).collect();
    for (&(a, b, _), s) in seam_list.iter().zip(seams) {
        for &(ca, cb) in &s.unions {
            if ca as usize >= tiles[a].areas.len() || cb as usize >= tiles[b].areas.len() {
                return Err(KernelError::InvalidInput("seam links name a component the tile does not have".into()));
            }
            let x = find(&mut parent, offset[a] + ca);
            let y = find(&mut parent, offset[b] + cb);
            if x != y {
                parent[x.max(y) as usize] = x.min(y);
            }
        }
    }
    // Global components, numbered by first pixel (the ids `find_regions` gives).
    let mut first = vec![u64::MAX; total];
    for (t, tile) in tiles.iter().enumerate() {
        for (l, &f) in tile.first.iter().enumerate() {
            let r = find(&mut parent, offset[t] + l as u32) as usize;
            first[r] = first[r].min(f);
        }
    }
    let mut roots: Vec<(u64, u32)> = (0..total).filter(|&g| parent[g] == g as u32).map(|g| (first[g], g as u32)).collect();
    drop(first);
    roots.sort_unstable();
    let count = roots.len();
    let mut id = vec![NONE; total];
    for (k, &(_, g)) in roots.iter().enumerate() {
        id[g as usize] = k as u32;
    }
    drop(roots);
    for g in 0..total {
        let r = find(&mut parent, g as u32);
        id[g] = id[r as usize];
    }
    drop(parent);
    let mut areas = vec![0u64; count];
    let mut sums = vec![[0u64; 3]; count];
    let mut labels = vec![0i32; count];
    let mut pairs: Vec<(u32, u32)> = Vec::new();
    for (t, tile) in tiles.iter().enumerate() {
        let o = offset[t] as usize;
        for l in 0..tile.areas.len() {
            let r = id[o + l] as usize;
            areas[r] += tile.areas[l];
            for ch in 0..3 {
                sums[r][ch] += tile.sums[l][ch];
            }
            labels[r] = tile.labels[l];
        }
        for &(a, b) in &tile.pairs {
            let (x, y) = (id[o + a as usize], id[o + b as usize]);
            if x != y {
                pairs.push((x.min(y), x.max(y)));
            }
        }
    }
    for (&(a, b, _), s) in seam_list.iter().zip(seams) {
        for &(ca, cb) in &s.touches {
            let (x, y) = (id[offset[a] as usize + ca as usize], id[offset[b] as usize + cb as usize]);
            if x != y {
                pairs.push((x.min(y), x.max(y)));
            }
        }
    }
    pairs.sort_unstable();
    pairs.dedup();
    // Speckle merging exactly as `find_regions` decides it.
    let relabel: Option<Vec<u32>> = (opts.min_area > 1 && count > 1 && areas.iter().any(|&a| a < opts.min_area))
        .then(|| merge_graph(&pairs, &mut areas, &mut sums, &mut labels, opts.min_area, None));
    drop(pairs);
    let final_id = |g: usize| -> u32 {
        let r = id[g];
        relabel.as_ref().map_or(r, |m| m[r as usize])
    };
    let colours = if palette.binary {
        labels.iter().map(|&l| palette.palette[l as usize]).collect()
    } else {
        mean_colours(&areas, &sums)
    };
    // Final ids along every tile's border, then each tile's ring from its neighbours.
    let strips: Vec<[Vec<u32>; 4]> = borders
        .iter()
        .enumerate()
        .map(|(t, b)| {
            let o = offset[t] as usize;
            let f = |v: &Vec<u32>| v.iter().map(|&c| if c == NONE { NONE } else { final_id(o + c as usize) }).collect::<Vec<u32>>();
            [f(&b.comps[0]), f(&b.comps[1]), f(&b.comps[2]), f(&b.comps[3])]
        })
        .collect();
    let (cols, rows) = (grid.cols() as isize, grid.rows() as isize);
    let tile_at = |r: isize, c: isize| -> Option<usize> { (r >= 0 && c >= 0 && r < rows && c < cols).then(|| (r * cols + c) as usize) };
    let mut links = Vec::with_capacity(tiles.len());
    for (t, tile) in tiles.iter().enumerate() {
        let o = offset[t] as usize;
        let (_, _, w, h) = grid.rect(t);
        let (r, c) = ((t / grid.cols()) as isize, (t % grid.cols()) as isize);
        let corner = |rr: isize, cc: isize, side: usize, last: bool| -> u32 {
            tile_at(rr, cc).map_or(NONE, |n| {
                let s = &strips[n][side];
                if last {
                    *s.last().unwrap()
                } else {
                    s[0]
                }
            })
        };
        let mut ring_top = vec![NONE; w + 2];
        ring_top[0] = corner(r - 1, c - 1, BOTTOM, true);
        if let Some(n) = tile_at(r - 1, c) {
            ring_top[1..=w].copy_from_slice(&strips[n][BOTTOM]);
        }
        ring_top[w + 1] = corner(r - 1, c + 1, BOTTOM, false);
        let mut ring_bottom = vec![NONE; w + 2];
        ring_bottom[0] = corner(r + 1, c - 1, TOP, true);
        if let Some(n) = tile_at(r + 1, c) {
            ring_bottom[1..=w].copy_from_slice(&strips[n][TOP]);
        }
        ring_bottom[w + 1] = corner(r + 1, c + 1, TOP, false);
        let ring_left = tile_at(r, c - 1).map_or(vec![NONE; h], |n| strips[n][RIGHT].clone());
        let ring_right = tile_at(r, c + 1).map_or(vec![NONE; h], |n| strips[n][LEFT].clone());
        links.push(TileLinks { map: (0..tile.areas.len()).map(|l| final_id(o + l)).collect(), ring_top, ring_bottom, ring_left, ring_right });
    }
    Ok((links, RegionTable { colours, palette: palette.palette.len() }))
}

// ---------------------------------------------------------------------------------------------
// 3. Arcs

/// An edge of the global boundary graph, oriented and fitted (`boundary::Edge` without its
/// points, which are no longer needed once fitted).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ArcEdge {
    pub start: (i32, i32),
    pub d0: u8,
    pub end: (i32, i32),
    /// Direction of the last crack (arriving at `end`).
    pub d1: u8,
    pub left: u32,
    pub right: u32,
    pub closed: bool,
    /// Twice the signed shoelace area of the forward polyline (closed: of the loop).
    pub area2: i64,
    pub curve: Curve,
}

/// A chain of cracks cut by the tile border at one or both ends.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Piece {
    /// Start, turns, end (global lattice points).
    pub points: Vec<(i32, i32)>,
    pub d0: u8,
    pub d1: u8,
    /// Whether each end is a junction (else a cut point on a tile border).
    pub j0: bool,
    pub j1: bool,
    pub left: u32,
    pub right: u32,
}

impl Piece {
    fn reverse(&mut self) {
        self.points.reverse();
        (self.d0, self.d1) = ((self.d1 + 2) % 4, (self.d0 + 2) % 4);
        (self.j0, self.j1) = (self.j1, self.j0);
        (self.left, self.right) = (self.right, self.left);
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct TileArcs {
    pub edges: Vec<ArcEdge>,
    pub pieces: Vec<Piece>,
}

fn shoelace2(points: &[(i32, i32)], closed: bool) -> i64 {
    let n = points.len();
    let segs = if closed { n } else { n.saturating_sub(1) };
    (0..segs)
        .map(|k| {
            let (a, b) = (points[k], points[(k + 1) % n]);
            a.0 as i64 * b.1 as i64 - b.0 as i64 * a.1 as i64
        })
        .sum()
}

/// Orient an open edge as `boundary::build` finds it (from the end with the smaller
/// (lattice point, direction) key), fit it and package it.
fn finish_open(mut p: Piece, width: usize, height: usize, fit: &FitOptions) -> ArcEdge {
    let w = width as i32;
    let (s, e) = (p.points[0], *p.points.last().unwrap());
    if key(w, e.0, e.1, ((p.d1 + 2) % 4) as usize) < key(w, s.0, s.1, p.d0 as usize) {
        p.reverse();
    }
    finish(p.points, p.d0, p.d1, p.left, p.right, false, width, height, fit)
}

#[allow(clippy::too_many_arguments)]
fn finish(points: Vec<(i32, i32)>, d0: u8, d1: u8, left: u32, right: u32, closed: bool, width: usize, height: usize, fit: &FitOptions) -> ArcEdge {
    let area2 = shoelace2(&points, closed);
    let (start, end) = (points[0], if closed { points[0] } else { *points.last().unwrap() });
    let edge = Edge { points, left, right, closed };
    let curve = fit_edge_in_frame(&edge, fit, Some((width as i32, height as i32)));
    ArcEdge { start, d0, end, d1, left, right, closed, area2, curve }
}

/// Which cracks a tile owns (local lattice coordinates).
struct Owner {
    w: i32,
    h: i32,
    bottom: bool,
    right: bool,
}

impl Owner {
    #[inline]
    fn h_crack(&self, x: i32, y: i32) -> bool {
        x >= 0 && x < self.w && y >= 0 && (y < self.h || (y == self.h && self.bottom))
    }
    #[inline]
    fn v_crack(&self, x: i32, y: i32) -> bool {
        y >= 0 && y < self.h && x >= 0 && (x < self.w || (x == self.w && self.right))
    }
    /// The crack leaving `(x, y)` in direction `d`.
    #[inline]
    fn owns(&self, x: i32, y: i32, d: usize) -> bool {
        match d {
            0 => self.h_crack(x, y),
            2 => self.h_crack(x - 1, y),
            1 => self.v_crack(x, y),
            _ => self.v_crack(x, y - 1),
        }
    }
}

/// Pass 2 for one tile: the boundary edges through the cracks the tile owns. Complete edges
/// are fitted here; pieces cut by the tile border are returned for joining.
pub fn tile_arcs(img: &ImageView, g: &TileGeom, palette: &TiledPalette, links: &TileLinks, opts: &TraceOptions) -> Result<TileArcs> {
    check_geom(img, g)?;
    let (w, h) = (img.width, img.height);
    let local = local_components(img, palette)?;
    if links.map.len() != local.count || links.ring_top.len() != w + 2 || links.ring_bottom.len() != w + 2 || links.ring_left.len() != h || links.ring_right.len() != h {
        return Err(KernelError::InvalidInput(format!(
            "tile links do not fit the tile at ({}, {}): {} components here, {} in the links",
            g.x0,
            g.y0,
            local.count,
            links.map.len()
        )));
    }
    // Padded map of final region ids.
    let stride = w + 2;
    let mut pad = vec![NONE; stride * (h + 2)];
    pad[..stride].copy_from_slice(&links.ring_top);
    pad[(h + 1) * stride..].copy_from_slice(&links.ring_bottom);
    for y in 0..h {
        pad[(y + 1) * stride] = links.ring_left[y];
        pad[(y + 1) * stride + w + 1] = links.ring_right[y];
    }
    for (run, &c) in local.runs.iter().zip(&local.comp) {
        let base = (run.y as usize + 1) * stride + 1;
        pad[base + run.x0 as usize..base + run.x1 as usize].fill(links.map[c as usize]);
    }
    drop(local);
    let lat = Lattice::from_padded(pad, w, h);
    let (wi, hi) = (w as i32, h as i32);
    let own = Owner { w: wi, h: hi, bottom: g.y0 + h == g.height, right: g.x0 + w == g.width };
    let mut visited = Bits::new(w * (h + 1) + (w + 1) * h);
    let (ox, oy) = (g.x0 as i32, g.y0 as i32);
    let glob = |pts: Vec<(i32, i32)>| -> Vec<(i32, i32)> { pts.into_iter().map(|(x, y)| (x + ox, y + oy)).collect() };
    let mut complete: Vec<Piece> = Vec::new();
    let mut loops: Vec<Piece> = Vec::new();
    let mut pieces: Vec<Piece> = Vec::new();
    let emit = |x: i32, y: i32, d0: usize, start_junction: bool, visited: &mut Bits, complete: &mut Vec<Piece>, pieces: &mut Vec<Piece>| {
        let (left, right) = lat.sides(x, y, d0);
        let (points, d1, end) = lat.follow(visited, x, y, d0, false, |x, y, d| own.owns(x, y, d));
        let p = Piece { points: glob(points), d0: d0 as u8, d1: d1 as u8, j0: start_junction, j1: matches!(end, WalkEnd::Junction), left, right };
        if p.j0 && p.j1 {
            complete.push(p);
        } else {
            pieces.push(p);
        }
    };
    // 1. From junctions.
    for y in 0..=hi {
        lat.junctions_in_row(y, |x| {
            for d in 0..4 {
                if own.owns(x, y, d) && lat.active(x, y, d) && !visited.get(lat.crack_index(x, y, d)) {
                    emit(x, y, d, true, &mut visited, &mut complete, &mut pieces);
                }
            }
        });
    }
    // 2. From cut points: border points where an owned crack continues into one the tile
    // does not own.
    let mut border_points: Vec<(i32, i32)> = Vec::with_capacity(2 * (w + h) + 4);
    for x in 0..=wi {
        border_points.push((x, 0));
        if hi > 0 {
            border_points.push((x, hi));
        }
    }
    for y in 1..hi {
        border_points.push((0, y));
        border_points.push((wi, y));
    }
    for (x, y) in border_points {
        if lat.is_junction(x, y) || (0..4).all(|d| !lat.active(x, y, d) || own.owns(x, y, d)) {
            continue;
        }
        for d in 0..4 {
            if own.owns(x, y, d) && lat.active(x, y, d) && !visited.get(lat.crack_index(x, y, d)) {
                emit(x, y, d, false, &mut visited, &mut complete, &mut pieces);
            }
        }
    }
    // 3. Closed loops wholly inside the tile, found at their top-left crack, walked east.
    for y in 0..=hi {
        lat.h_cracks_in_row(y, |x| {
            if !own.h_crack(x, y) || visited.get(lat.crack_index(x, y, 0)) {
                return;
            }
            let (left, right) = lat.sides(x, y, 0);
            let (points, d1, end) = lat.follow(&mut visited, x, y, 0, true, |x, y, d| own.owns(x, y, d));
            debug_assert!(matches!(end, WalkEnd::Loop));
            loops.push(Piece { points: glob(points), d0: 0, d1: d1 as u8, j0: false, j1: false, left, right });
        });
    }
    let fit = effective_fit(opts);
    let (gw, gh) = (g.width, g.height);
    // Sequential: tiles already run in parallel (Dask tasks), rayon here would oversubscribe.
    let mut edges: Vec<ArcEdge> = complete.into_iter().map(|p| finish_open(p, gw, gh, &fit)).collect();
    edges.extend(loops.into_iter().map(|p| finish(p.points, 0, p.d1, p.left, p.right, true, gw, gh, &fit)));
    Ok(TileArcs { edges, pieces })
}

// ---------------------------------------------------------------------------------------------
// 4. Assembly

/// Join pieces at their cut points into open edges (between junctions) and closed loops.
fn join_pieces(pieces: Vec<Piece>, width: usize) -> Result<(Vec<Piece>, Vec<Piece>)> {
    let pkey = |p: (i32, i32)| p.1 as u64 * (width as u64 + 1) + p.0 as u64;
    let mut at: HashMap<u64, Vec<(u32, bool)>, FxBuild> = HashMap::default();
    for (i, p) in pieces.iter().enumerate() {
        if !p.j0 {
            at.entry(pkey(p.points[0])).or_default().push((i as u32, false));
        }
        if !p.j1 {
            at.entry(pkey(*p.points.last().unwrap())).or_default().push((i as u32, true));
        }
    }
    if let Some((k, v)) = at.iter().find(|(_, v)| v.len() != 2) {
        return Err(KernelError::InvalidInput(format!(
            "tile pieces do not match at lattice point ({}, {}): {} ends meet there",
            k % (width as u64 + 1),
            k / (width as u64 + 1),
            v.len()
        )));
    }
    let mut used = vec![false; pieces.len()];
    let mut open = Vec::new();
    let mut closed = Vec::new();
    // Append the piece met at the chain's cut end; returns the new (piece, end) the chain ends at.
    let extend = |chain: &mut Piece, last: (u32, bool), used: &mut Vec<bool>| -> Result<(u32, bool)> {
        let k = pkey(*chain.points.last().unwrap());
        let &(j, at_end) = at[&k].iter().find(|&&e| e != last).ok_or_else(|| KernelError::InvalidInput("a piece meets itself".into()))?;
        let mut q = pieces[j as usize].clone();
        used[j as usize] = true;
        if at_end {
            q.reverse();
        }
        if chain.d1 == q.d0 {
            chain.points.pop(); // no turn at the cut point
        }
        chain.points.extend_from_slice(&q.points[1..]);
        chain.d1 = q.d1;
        chain.j1 = q.j1;
        Ok((j, !at_end))
    };
    for i in 0..pieces.len() {
        if used[i] || !(pieces[i].j0 || pieces[i].j1) {
            continue;
        }
        used[i] = true;
        let mut chain = pieces[i].clone();
        let mut last = (i as u32, true);
        if !chain.j0 {
            chain.reverse();
            last = (i as u32, false);
        }
        while !chain.j1 {
            last = extend(&mut chain, last, &mut used)?;
        }
        open.push(chain);
    }
    for i in 0..pieces.len() {
        if used[i] {
            continue;
        }
        used[i] = true;
        let mut chain = pieces[i].clone();
        let mut last = (i as u32, true);
        loop {
            let k = pkey(*chain.points.last().unwrap());
            let &next = at[&k].iter().find(|&&e| e != last).unwrap();
            if next == (i as u32, false) {
                break; // back at the start
            }
            last = extend(&mut chain, last, &mut used)?;
        }
        // Close: drop the repeated start, and the start itself when the loop runs straight through.
        chain.points.pop();
        if chain.d1 == chain.d0 {
            chain.points.remove(0);
        }
        closed.push(normalize_loop(chain));
    }
    Ok((open, closed))
}

/// A closed loop as `boundary::build` finds it: starting at its top-most, then left-most
/// point and walking east first.
fn normalize_loop(mut c: Piece) -> Piece {
    let n = c.points.len();
    let k = (0..n).min_by_key(|&i| (c.points[i].1, c.points[i].0)).unwrap();
    c.points.rotate_left(k);
    let (s, next) = (c.points[0], c.points[1 % n]);
    if !(next.1 == s.1 && next.0 > s.0) {
        c.points[1..].reverse();
        (c.left, c.right) = (c.right, c.left);
    }
    c.d0 = 0;
    c.d1 = 3; // a loop arrives at its top-left corner going north
    c
}

/// Everything after the tiles: join, order, outline, write. Returns the SVG and its stats.
pub fn assemble(arcs: Vec<TileArcs>, regions: &RegionTable, width: usize, height: usize, opts: &TraceOptions) -> Result<(String, TraceStats)> {
    opts.validate()?;
    let fit = effective_fit(opts);
    let mut edges: Vec<ArcEdge> = Vec::new();
    let mut pieces: Vec<Piece> = Vec::new();
    for a in arcs {
        edges.extend(a.edges);
        pieces.extend(a.pieces);
    }

    let (open, closed) = join_pieces(pieces, width)?;

    edges.extend(open.into_par_iter().map(|p| finish_open(p, width, height, &fit)).collect::<Vec<_>>());
    edges.extend(closed.into_par_iter().map(|p| finish(p.points, 0, p.d1, p.left, p.right, true, width, height, &fit)).collect::<Vec<_>>());
    let region_count = regions.colours.len();
    if let Some(e) = edges.iter().find(|e| (e.left != NONE && e.left as usize >= region_count) || (e.right != NONE && e.right as usize >= region_count)) {
        return Err(KernelError::InvalidInput(format!("an edge names region {} of {region_count}", e.left.max(e.right))));
    }
    // The order of `boundary::build`: open edges by start junction and direction, then loops
    // by their top-left crack.
    let w = width as i32;
    edges.sort_by_key(|e| {
        if e.closed {
            (1u8, e.start.1 as u64 * width as u64 + e.start.0 as u64)
        } else {
            (0u8, key(w, e.start.0, e.start.1, e.d0 as usize))
        }
    });
    let mut starts: HashMap<u64, HalfEdge, FxBuild> = HashMap::default();
    for (i, e) in edges.iter().enumerate().filter(|(_, e)| !e.closed) {
        starts.insert(key(w, e.start.0, e.start.1, e.d0 as usize), HalfEdge { edge: i as u32, forward: true });
        starts.insert(key(w, e.end.0, e.end.1, ((e.d1 + 2) % 4) as usize), HalfEdge { edge: i as u32, forward: false });
    }
    let sides: Vec<(u32, u32)> = edges.iter().map(|e| (e.left, e.right)).collect();
    // The next half-edge at a junction, from the half-edges that start there (no lattice here):
    // turning left first, the first whose crack has `inside` on its left and not on its right.
    let step = |he: HalfEdge, inside: &dyn Fn(u32) -> bool| {
        let e = &edges[he.edge as usize];
        if e.closed {
            return None;
        }
        let ((vx, vy), arriving) = if he.forward { (e.end, e.d1 as usize) } else { (e.start, ((e.d0 + 2) % 4) as usize) };
        let next = [(arriving + 3) % 4, arriving, (arriving + 1) % 4]
            .into_iter()
            .filter_map(|d| starts.get(&key(w, vx, vy, d)).copied())
            .find(|h| {
                let (l, r) = if h.forward { sides[h.edge as usize] } else { (sides[h.edge as usize].1, sides[h.edge as usize].0) };
                inside(l) && !inside(r)
            })
            .expect("outline continues");
        Some(next)
    };
    let area2 = |cycle: &[HalfEdge]| -> i64 { cycle.iter().map(|he| if he.forward { edges[he.edge as usize].area2 } else { -edges[he.edge as usize].area2 }).sum() };
    let (outlines, opaque) = outlines(&sides, region_count, step, area2);
    drop(starts);
    let edge_count = edges.len();
    let curves: Vec<Curve> = edges.into_iter().map(|e| e.curve).collect();
    let graph = BoundaryGraph { width, height, edges: Vec::new(), outlines, opaque };
    let shapes = shapes(&graph, &regions.colours, opts.layers, true, None);
    drop(graph);
    let (svg, s) = write_svg(width, height, &shapes, &curves, opts.layers, opts.precision);
    let stats = TraceStats {
        palette: regions.palette,
        regions: region_count,
        edges: edge_count,
        paths: s.paths,
        commands: s.commands,
        bytes: svg.len(),
        tolerance: fit.tolerance,
    };
    Ok((svg, stats))
}

/// The whole tiled pipeline in one process, sequentially (tests and reference).
pub fn trace_tiled(img: &ImageView, tile: usize, opts: &TraceOptions) -> Result<(String, TraceStats)> {
    opts.validate()?;
    let grid = Grid::new(img.width, img.height, tile)?;
    let ch = img.channels;
    let crop = |i: usize| -> (Vec<u8>, TileGeom, usize, usize) {
        let (x0, y0, w, h) = grid.rect(i);
        let mut data = Vec::with_capacity(w * h * ch);
        for y in y0..y0 + h {
            data.extend_from_slice(&img.data[(y * img.width + x0) * ch..(y * img.width + x0 + w) * ch]);
        }
        (data, TileGeom { x0, y0, width: img.width, height: img.height }, w, h)
    };
    let hists = (0..grid.len())
        .map(|i| {
            let (d, g, w, h) = crop(i);
            tile_histogram(&ImageView::new(&d, w, h, ch)?, &g, opts.mode)
        })
        .collect::<Result<Vec<_>>>()?;
    let palette = palette_from_histograms(&hists, opts)?;
    let (regions, borders): (Vec<_>, Vec<_>) = (0..grid.len())
        .map(|i| {
            let (d, g, w, h) = crop(i);
            tile_regions(&ImageView::new(&d, w, h, ch)?, &g, &palette)
        })
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .unzip();
    let seams = grid.seams().iter().map(|&(a, b, v)| seam_links(&borders[a], &borders[b], v)).collect::<Result<Vec<_>>>()?;
    let (links, table) = stitch(&grid, &regions, &borders, &seams, &palette, opts)?;
    let arcs = (0..grid.len())
        .map(|i| {
            let (d, g, w, h) = crop(i);
            tile_arcs(&ImageView::new(&d, w, h, ch)?, &g, &palette, &links[i], opts)
        })
        .collect::<Result<Vec<_>>>()?;
    assemble(arcs, &table, img.width, img.height, opts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::svg::Layers;
    use crate::trace::trace;

    fn lcg(seed: &mut u64) -> u64 {
        *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        *seed >> 33
    }

    /// Blobs of a few colours with noise: many regions, speckles, loops across tiles.
    fn blobs(w: usize, h: usize, seed: u64, noise: bool) -> Vec<u8> {
        let mut s = seed;
        let centres: Vec<(f64, f64, f64, [u8; 3])> = (0..12)
            .map(|_| {
                let c = [(lcg(&mut s) % 256) as u8, (lcg(&mut s) % 256) as u8, (lcg(&mut s) % 256) as u8];
                ((lcg(&mut s) % w as u64) as f64, (lcg(&mut s) % h as u64) as f64, 3.0 + (lcg(&mut s) % 20) as f64, c)
            })
            .collect();
        let mut px = Vec::with_capacity(w * h * 3);
        for y in 0..h {
            for x in 0..w {
                let mut c = [240u8, 240, 230];
                for &(cx, cy, r, col) in &centres {
                    let (dx, dy) = (x as f64 - cx, (y as f64 - cy) * 1.3);
                    if dx * dx + dy * dy < r * r {
                        c = col;
                    }
                }
                if noise && lcg(&mut s) % 9 == 0 {
                    c = [c[0].wrapping_add((lcg(&mut s) % 40) as u8), c[1], c[2].wrapping_sub((lcg(&mut s) % 40) as u8)];
                }
                px.extend_from_slice(&c);
            }
        }
        px
    }

    fn check(px: &[u8], w: usize, h: usize, opts: &TraceOptions, tiles: &[usize]) {
        let img = ImageView::new(px, w, h, 3).unwrap();
        let (want, ws) = trace(&img, None, opts).unwrap();
        for &t in tiles {
            let (got, gs) = trace_tiled(&img, t, opts).unwrap();
            assert_eq!(gs.regions, ws.regions, "tile {t}");
            assert_eq!(gs.edges, ws.edges, "tile {t}");
            assert!(got == want, "tile {t}: tiled SVG differs\n--- untiled\n{want}\n--- tiled\n{got}");
        }
    }

    #[test]
    fn tiled_equals_untiled_flat_art() {
        let (w, h) = (61, 47);
        let px = blobs(w, h, 7, false);
        for layers in [Layers::Stacked, Layers::Cutout] {
            let opts = TraceOptions { layers, min_area: 4, ..Default::default() };
            check(&px, w, h, &opts, &[1, 2, 3, 7, 16, 37, 64]);
        }
    }

    #[test]
    fn tiled_equals_untiled_noisy_kmeans() {
        let (w, h) = (53, 40);
        let px = blobs(w, h, 11, true);
        for layers in [Layers::Stacked, Layers::Cutout] {
            let opts = TraceOptions { layers, colors: 6, min_area: 6, ..Default::default() };
            check(&px, w, h, &opts, &[1, 5, 13, 32, 100]);
        }
    }

    #[test]
    fn tiled_equals_untiled_binary_and_pixel() {
        let (w, h) = (45, 33);
        let px = blobs(w, h, 3, true);
        let opts = TraceOptions { mode: Mode::Binary, min_area: 3, ..Default::default() };
        check(&px, w, h, &opts, &[2, 9, 20]);
        let mut opts = TraceOptions { colors: 64, min_area: 1, precision: 0, ..Default::default() };
        opts.fit.corner_run = 1;
        opts.fit.tolerance = 0.05;
        check(&px, w, h, &opts, &[4, 11]);
    }

    #[test]
    fn single_colour_and_thin_images() {
        let px = vec![9u8; 10 * 7 * 3];
        check(&px, 10, 7, &TraceOptions::default(), &[1, 3, 10]);
        let px = blobs(1, 30, 5, false);
        check(&px, 1, 30, &TraceOptions { min_area: 1, ..Default::default() }, &[1, 4]);
        let px = blobs(30, 1, 5, false);
        check(&px, 30, 1, &TraceOptions { min_area: 1, ..Default::default() }, &[1, 4]);
    }

    #[test]
    fn tiled_equals_untiled_random_sizes() {
        // Pixel noise in 3 colours: junctions and saddles on every tile corner and seam.
        for seed in 0..6u64 {
            let mut s = seed;
            let (w, h) = (5 + (lcg(&mut s) % 40) as usize, 5 + (lcg(&mut s) % 40) as usize);
            let cols = [[0u8, 0, 0], [255, 255, 255], [200, 30, 30]];
            let px: Vec<u8> = (0..w * h).flat_map(|_| cols[(lcg(&mut s) % 3) as usize]).collect();
            let min_area = 1 + seed % 4;
            for layers in [Layers::Stacked, Layers::Cutout] {
                let opts = TraceOptions { layers, min_area, ..Default::default() };
                check(&px, w, h, &opts, &[1, 2, 3, 4, 6, 9]);
            }
        }
    }

    #[test]
    fn run_based_histogram_and_labels_match_per_pixel_counts() {
        // RGBA rows of runs 1..40 pixels long (the 16-pixel skip and its tail), some runs
        // transparent (alpha 0 or 127 with varying colour), some differing only in alpha.
        let (w, h) = (97, 9);
        let mut s = 5u64;
        let mut px = Vec::with_capacity(w * h * 4);
        let mut left = 0;
        let mut c = [0u8; 4];
        for _ in 0..w * h {
            if left == 0 {
                left = 1 + lcg(&mut s) % 40;
                let k = lcg(&mut s) % 5;
                c = [(k * 60) as u8, 10, (k * 30) as u8, [255, 255, 200, 127, 0][(lcg(&mut s) % 5) as usize]];
            }
            left -= 1;
            let mut p = c;
            if p[3] < ALPHA_OPAQUE_MIN {
                p[0] = (lcg(&mut s) % 256) as u8;
            }
            px.extend_from_slice(&p);
        }
        let img = ImageView::new(&px, w, h, 4).unwrap();
        let g = TileGeom { x0: 3, y0: 5, width: 200, height: 50 };
        // Per pixel: colours in first-appearance order with counts and first global index.
        let (mut keys, mut counts, mut first, mut luma_h, mut transparent) = (vec![], vec![], vec![], vec![0u64; 256], 0u64);
        let mut labels = vec![TRANSPARENT; w * h];
        for i in 0..w * h {
            let Some(c) = img.rgb(i) else {
                transparent += 1;
                continue;
            };
            luma_h[luma(c) as usize] += 1;
            let k = pack(c);
            match keys.iter().position(|&q| q == k) {
                Some(j) => counts[j] += 1,
                None => {
                    keys.push(k);
                    counts.push(1);
                    first.push(((g.y0 + i / w) * g.width + g.x0 + i % w) as u64);
                }
            }
            labels[i] = (k % 3) as i32;
        }
        let got = tile_histogram(&img, &g, Mode::Color).unwrap();
        assert_eq!((got.keys, got.counts, got.first, got.transparent), (keys.clone(), counts, first, transparent));
        let got = tile_histogram(&img, &g, Mode::Binary).unwrap();
        assert_eq!((got.luma, got.transparent), (luma_h, transparent));
        // Label runs equal the runs of the per-pixel label map (runs of different colours with
        // one label merge; transparent pixels make no run).
        let rule = LabelRule::Table(keys.iter().map(|&k| (k, (k % 3) as i32)).collect());
        let (want, want_rows) = crate::regions::runs(&labels, w, h);
        let (runs, rows) = label_runs(&img, &rule).unwrap();
        assert_eq!(rows, want_rows);
        let flat = |r: &[Run]| r.iter().map(|r| (r.y, r.x0, r.x1, r.label)).collect::<Vec<_>>();
        assert_eq!(flat(&runs), flat(&want));
        let missing = LabelRule::Table(vec![]);
        let err = label_runs(&img, &missing).err().expect("a colour outside the table is an error");
        assert!(err.to_string().contains("not in the palette"), "{err}");
    }

    #[test]
    fn merged_histograms_make_the_same_palette() {
        let (w, h) = (53, 40);
        let px = blobs(w, h, 11, true);
        let img = ImageView::new(&px, w, h, 3).unwrap();
        let grid = Grid::new(w, h, 9).unwrap();
        for mode in [Mode::Color, Mode::Binary] {
            let parts: Vec<TileHistogram> = (0..grid.len())
                .map(|i| {
                    let (x0, y0, tw, th) = grid.rect(i);
                    let tile: Vec<u8> = (y0..y0 + th).flat_map(|y| px[(y * w + x0) * 3..(y * w + x0 + tw) * 3].to_vec()).collect();
                    tile_histogram(&ImageView::new(&tile, tw, th, 3).unwrap(), &TileGeom { x0, y0, width: w, height: h }, mode).unwrap()
                })
                .collect();
            let whole = tile_histogram(&img, &TileGeom { x0: 0, y0: 0, width: w, height: h }, mode).unwrap();
            // Merged in uneven groups, then the groups merged: the whole image's histogram.
            let groups: Vec<TileHistogram> = parts.chunks(7).map(|c| merge_histograms(c).unwrap()).collect();
            let merged = merge_histograms(&groups).unwrap();
            assert_eq!((&merged.keys, &merged.counts, &merged.first, &merged.luma), (&whole.keys, &whole.counts, &whole.first, &whole.luma));
            let opts = TraceOptions { mode, colors: 6, ..Default::default() };
            let a = palette_from_histograms(&parts, &opts).unwrap();
            let b = palette_from_histograms(&[merged], &opts).unwrap();
            assert_eq!(encode(&a), encode(&b));
        }
        let mixed = [TileHistogram::default(), TileHistogram { luma: vec![0; 256], ..Default::default() }];
        assert!(merge_histograms(&mixed).is_err());
    }

    #[test]
    fn transparency_is_refused() {
        let px = vec![0u8; 4 * 4 * 4];
        let img = ImageView::new(&px, 4, 4, 4).unwrap();
        let err = trace_tiled(&img, 2, &TraceOptions::default()).unwrap_err();
        assert!(err.to_string().contains("opaque"), "{err}");
    }
}
