//! Stage 3, arcs per tile: the boundary cracks a tile owns, cut into edges at junctions;
//! edges wholly inside the tile are fitted here, those cut by the tile border are kept as
//! pieces for `assemble`.

use super::grid::{check_geom, TileGeom};
use super::histogram::TiledPalette;
use super::regions::local_components;
use super::settle::settle;
use super::stitch::TileLinks;
use crate::boundary::{key, Bits, Edge, Lattice, WalkEnd};
use crate::error::{KernelError, Result};
use crate::fit::{fit_edge_in_frame, Curve, FitOptions};
use crate::image::ImageView;
use crate::regions::NONE;
use crate::trace::{effective_fit, TraceOptions};
use serde::{Deserialize, Serialize};

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
    pub(super) fn reverse(&mut self) {
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
pub(super) fn finish_open(mut p: Piece, width: usize, height: usize, fit: &FitOptions) -> ArcEdge {
    let w = width as i32;
    let (s, e) = (p.points[0], *p.points.last().unwrap());
    if key(w, e.0, e.1, ((p.d1 + 2) % 4) as usize) < key(w, s.0, s.1, p.d0 as usize) {
        p.reverse();
    }
    finish(p.points, p.d0, p.d1, p.left, p.right, false, width, height, fit)
}

/// Fit an oriented edge (open, or a closed loop) and package it as an [`ArcEdge`].
// The fields of a `Piece` plus the frame: callers have them unpacked, from a `Piece` or a loop.
#[allow(clippy::too_many_arguments)]
pub(super) fn finish(
    points: Vec<(i32, i32)>,
    d0: u8,
    d1: u8,
    left: u32,
    right: u32,
    closed: bool,
    width: usize,
    height: usize,
    fit: &FitOptions,
) -> ArcEdge {
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
pub fn tile_arcs(
    img: &ImageView,
    g: &TileGeom,
    palette: &TiledPalette,
    links: &TileLinks,
    opts: &TraceOptions,
) -> Result<TileArcs> {
    check_geom(img, g)?;
    let (w, h) = (img.width, img.height);
    let local = local_components(img, palette)?;
    // With local merging the links name slots: settle the tile again (deterministic) for the
    // slot of each component, instead of carrying that map from pass 1.
    let (slots, slot_of) = if opts.local_merge {
        let (r, slot) = settle(img, g, palette, &local, opts.min_area);
        (r.areas.len(), Some(slot))
    } else {
        (local.count, None)
    };
    if links.map.len() != slots
        || links.ring_top.len() != w + 2
        || links.ring_bottom.len() != w + 2
        || links.ring_left.len() != h
        || links.ring_right.len() != h
    {
        return Err(KernelError::InvalidInput(format!(
            "tile links do not fit the tile at ({}, {}): {} regions here, {} in the links",
            g.x0,
            g.y0,
            slots,
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
        let c = slot_of.as_ref().map_or(c, |s| s[c as usize]);
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
    let emit = |x: i32,
                y: i32,
                d0: usize,
                start_junction: bool,
                visited: &mut Bits,
                complete: &mut Vec<Piece>,
                pieces: &mut Vec<Piece>| {
        let (left, right) = lat.sides(x, y, d0);
        let (points, d1, end) = lat.follow(visited, x, y, d0, false, |x, y, d| own.owns(x, y, d));
        let p = Piece {
            points: glob(points),
            d0: d0 as u8,
            d1: d1 as u8,
            j0: start_junction,
            j1: matches!(end, WalkEnd::Junction),
            left,
            right,
        };
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
