//! Stage 2a, regions per tile: local 4-connected components with their statistics, the
//! component ids along the tile's border, and the links across one seam.

use super::grid::{check_geom, TileGeom};
use super::histogram::{pixel_runs, LabelRule, TiledPalette};
use super::settle::settle;
use crate::error::{KernelError, Result};
use crate::image::{ImageView, ALPHA_OPAQUE_MIN};
use crate::quantize::{nearest_label, pack, FxBuild, TRANSPARENT};
use crate::regions::local::{crack_key, Contact, Late};
use crate::regions::{components, Run, NONE};
use crate::trace::luma;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Runs of equal, non-negative palette labels of a tile, in raster order, and each row's
/// first run: what `regions::runs` makes of the tile's label map, without the map. Labels
/// are looked up once per run of identical pixels ([`pixel_runs`]), not once per pixel.
pub(super) fn label_runs(img: &ImageView, rule: &LabelRule) -> Result<(Vec<Run>, Vec<usize>)> {
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
                KernelError::InvalidInput(format!(
                    "colour #{:06x} is not in the palette's histogram (the tile changed?)",
                    pack(c)
                ))
            })?,
            LabelRule::Nearest { centres, remap } => {
                *cache.entry(pack(c)).or_insert_with(|| nearest_label(centres, remap, c))
            }
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

/// Local components of a tile with what the global stitch needs.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct TileRegions {
    /// First pixel (global raster index), area, colour sums and palette label per component.
    pub first: Vec<u64>,
    pub areas: Vec<u64>,
    pub sums: Vec<[u64; 3]>,
    pub labels: Vec<i32>,
    /// Adjacent pairs of different local components (sorted, distinct); empty when `local`.
    pub pairs: Vec<(u32, u32)>,
    /// Local merging (`super::settle`): the vectors above are per slot, not per component;
    /// the first `start.len()` slots are stitch nodes (the round each starts picking), the
    /// rest settled regions; `contacts` joins stitch nodes.
    pub local: bool,
    pub start: Vec<u32>,
    pub late: Vec<Late>,
    pub contacts: Vec<Contact>,
}

/// Component ids (NONE for transparent) and labels along the four sides of a tile.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct TileBorder {
    pub width: usize,
    pub height: usize,
    /// The tile's place: crack keys across a seam are global.
    pub x0: usize,
    pub y0: usize,
    pub image_width: usize,
    /// Top row, bottom row (left to right), left column, right column (top to bottom).
    pub comps: [Vec<u32>; 4],
    pub labels: [Vec<i32>; 4],
}

pub(super) const TOP: usize = 0;
pub(super) const BOTTOM: usize = 1;
pub(super) const LEFT: usize = 2;
pub(super) const RIGHT: usize = 3;

/// A tile's label runs and their local component ids (`count` components).
pub(super) struct Local {
    pub(super) runs: Vec<Run>,
    pub(super) row_start: Vec<usize>,
    pub(super) comp: Vec<u32>,
    pub(super) count: usize,
}

pub(super) fn local_components(img: &ImageView, palette: &TiledPalette) -> Result<Local> {
    let (runs, row_start) = label_runs(img, &palette.rule)?;
    let (comp, count) = components(&runs, &row_start);
    Ok(Local { runs, row_start, comp, count })
}

fn border_of(local: &Local, w: usize, h: usize, g: &TileGeom) -> TileBorder {
    let mut b = TileBorder { width: w, height: h, x0: g.x0, y0: g.y0, image_width: g.width, ..Default::default() };
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
/// `local_merge`: `Some(min_area)` settles the tile's speckles here (`super::settle`); the
/// border then names slots instead of components.
pub fn tile_regions(
    img: &ImageView,
    g: &TileGeom,
    palette: &TiledPalette,
    local_merge: Option<u64>,
) -> Result<(TileRegions, TileBorder)> {
    check_geom(img, g)?;
    let local = local_components(img, palette)?;
    if let Some(min_area) = local_merge {
        let (r, slot) = settle(img, g, palette, &local, min_area);
        let mut border = border_of(&local, img.width, img.height, g);
        for side in border.comps.iter_mut() {
            for c in side.iter_mut().filter(|c| **c != NONE) {
                *c = slot[*c as usize];
            }
        }
        return Ok((r, border));
    }
    let n = local.count;
    let mut r = TileRegions {
        first: vec![u64::MAX; n],
        areas: vec![0; n],
        sums: vec![[0; 3]; n],
        labels: vec![0; n],
        ..Default::default()
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
    let border = border_of(&local, img.width, img.height, g);
    Ok((r, border))
}

/// What crosses one seam: `unions` are (component of a, component of b) pairs with the same
/// label that touch across the seam (one region), `touches` those with different labels.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SeamLinks {
    pub unions: Vec<(u32, u32)>,
    pub touches: Vec<(u32, u32)>,
    /// Per touching pair, the smallest key of the cracks between them (local merging).
    pub cracks: Vec<(u32, u32, u64)>,
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
            // The crack right of (below) the pixel on a's side, at its global raster index.
            let (x, y) = if vertical { (a.x0 + a.width - 1, a.y0 + i) } else { (a.x0 + i, a.y0 + a.height - 1) };
            out.cracks.push((ca, cb, crack_key((y * a.image_width + x) as u64, !vertical)));
        }
    }
    for v in [&mut out.unions, &mut out.touches] {
        v.sort_unstable();
        v.dedup();
    }
    out.cracks.sort_unstable();
    out.cracks.dedup_by(|y, x| (x.0, x.1) == (y.0, y.1));
    Ok(out)
}
