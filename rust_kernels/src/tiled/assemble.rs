//! Stage 4, assembly (one reduction): pieces joined at their cut points into global edges,
//! ordered as `boundary::build` orders them, fitted once; outlines, shapes and the SVG as in
//! `trace`.

use super::arcs::{finish, finish_open, ArcEdge, Piece, TileArcs};
use super::stitch::RegionTable;
use crate::boundary::{key, outlines, BoundaryGraph, HalfEdge};
use crate::error::{KernelError, Result};
use crate::fit::Curve;
use crate::quantize::FxBuild;
use crate::regions::NONE;
use crate::svg::write_svg;
use crate::trace::{effective_fit, shapes, TraceOptions, TraceStats};
use rayon::prelude::*;
use std::collections::HashMap;

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
        let &(j, at_end) = at[&k]
            .iter()
            .find(|&&e| e != last)
            .ok_or_else(|| KernelError::InvalidInput("a piece meets itself".into()))?;
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
pub fn assemble(
    arcs: Vec<TileArcs>,
    regions: &RegionTable,
    width: usize,
    height: usize,
    opts: &TraceOptions,
) -> Result<(String, TraceStats)> {
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
    edges.extend(
        closed
            .into_par_iter()
            .map(|p| finish(p.points, 0, p.d1, p.left, p.right, true, width, height, &fit))
            .collect::<Vec<_>>(),
    );
    let region_count = regions.colours.len();
    if let Some(e) = edges.iter().find(|e| {
        (e.left != NONE && e.left as usize >= region_count) || (e.right != NONE && e.right as usize >= region_count)
    }) {
        return Err(KernelError::InvalidInput(format!(
            "an edge names region {} of {region_count}",
            e.left.max(e.right)
        )));
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
        let ((vx, vy), arriving) =
            if he.forward { (e.end, e.d1 as usize) } else { (e.start, ((e.d0 + 2) % 4) as usize) };
        let next = [(arriving + 3) % 4, arriving, (arriving + 1) % 4]
            .into_iter()
            .filter_map(|d| starts.get(&key(w, vx, vy, d)).copied())
            .find(|h| {
                let (l, r) = if h.forward {
                    sides[h.edge as usize]
                } else {
                    (sides[h.edge as usize].1, sides[h.edge as usize].0)
                };
                inside(l) && !inside(r)
            })
            .expect("outline continues");
        Some(next)
    };
    let area2 = |cycle: &[HalfEdge]| -> i64 {
        cycle
            .iter()
            .map(|he| if he.forward { edges[he.edge as usize].area2 } else { -edges[he.edge as usize].area2 })
            .sum()
    };
    let (outlines, opaque) = outlines(&sides, region_count, step, area2);
    drop(starts);
    let edge_count = edges.len();
    let curves: Vec<Curve> = edges.into_iter().map(|e| e.curve).collect();
    let graph = BoundaryGraph { width, height, edges: Vec::new(), outlines, opaque };
    let shapes = shapes(&graph, &regions.colours, opts.layers, true, None);
    drop(graph);
    let (svg, s) = write_svg(width, height, &shapes, &curves, opts.layers, opts.precision, &[]);
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
