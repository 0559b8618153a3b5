//! Boundary graph: the cracks between pixels of different regions, cut into edges at
//! junctions, each edge shared by exactly two regions (or one region and the outside).
//!
//! Coordinates: lattice points are pixel corners `(x, y)` with `0 <= x <= width`,
//! `0 <= y <= height`, y pointing down. Pixel `(x, y)` is the unit square with top-left corner
//! `(x, y)`. A crack is the unit side between two pixels (or a pixel and the outside).
//! Walking along a crack, *left* and *right* are as seen on screen (y down): walking east,
//! the pixel above is on the left.
//!
//! A junction is a lattice point where three or four cracks meet (three or more regions, or a
//! saddle where two regions touch diagonally). An edge is a chain of cracks between two
//! junctions, or a closed loop with no junction (an island); a closed loop starts at its
//! top-most, then left-most lattice point and first walks east.
//!
//! Every region's outline is a set of cycles of half-edges with the region on the left: the
//! outer cycle runs counter-clockwise on screen (negative shoelace area in y-down
//! coordinates), holes clockwise. Region pixels that touch only diagonally are kept apart
//! (4-connectivity): at a saddle the walk turns towards the region.

use crate::regions::NONE;
use std::collections::HashMap;

/// Directions: east, south, west, north (clockwise on screen).
pub(crate) const DX: [i32; 4] = [1, 0, -1, 0];
pub(crate) const DY: [i32; 4] = [0, 1, 0, -1];

#[derive(Clone, Debug, PartialEq)]
pub struct Edge {
    /// Lattice points: the start, every turn, and the end (for closed edges the start is
    /// not repeated).
    pub points: Vec<(i32, i32)>,
    /// Region on the left when walking forward (NONE = outside / transparent).
    pub left: u32,
    pub right: u32,
    pub closed: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HalfEdge {
    pub edge: u32,
    pub forward: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Outline {
    /// The outer boundary (region on the left, counter-clockwise on screen).
    pub outer: Vec<HalfEdge>,
    pub holes: Vec<Vec<HalfEdge>>,
    /// Area enclosed by the outer boundary, holes included (pixels).
    pub filled_area: u64,
}

#[derive(Clone, Debug)]
pub struct BoundaryGraph {
    pub width: usize,
    pub height: usize,
    pub edges: Vec<Edge>,
    /// One outline per region id.
    pub outlines: Vec<Outline>,
    /// Cycles around the union of all regions (outer boundaries counter-clockwise, holes
    /// around transparent areas clockwise): the area that some region covers.
    pub opaque: Vec<Vec<HalfEdge>>,
}

/// The region map with a one-pixel border of NONE, so lookups need no bounds checks.
pub(crate) struct Lattice {
    pub pad: Vec<u32>,
    /// Padded row stride (width + 2).
    pub stride: usize,
    pub w: i32,
    pub h: i32,
}

impl Lattice {
    /// A lattice over an already padded map: `(width + 2) x (height + 2)` values, the outer
    /// ring holding the neighbours' regions (or NONE outside the image).
    pub(crate) fn from_padded(pad: Vec<u32>, width: usize, height: usize) -> Self {
        debug_assert_eq!(pad.len(), (width + 2) * (height + 2));
        Lattice { pad, stride: width + 2, w: width as i32, h: height as i32 }
    }

    fn new(map: &[u32], width: usize, height: usize) -> Self {
        let stride = width + 2;
        let mut pad = vec![NONE; stride * (height + 2)];
        for y in 0..height {
            pad[(y + 1) * stride + 1..(y + 1) * stride + 1 + width].copy_from_slice(&map[y * width..(y + 1) * width]);
        }
        Lattice { pad, stride, w: width as i32, h: height as i32 }
    }

    /// Region of pixel (x, y); NONE outside the image. Valid for -1 <= x <= w, -1 <= y <= h.
    #[inline]
    pub(crate) fn region(&self, x: i32, y: i32) -> u32 {
        self.pad[(y + 1) as usize * self.stride + (x + 1) as usize]
    }

    /// (left, right) regions of the crack leaving `(x, y)` in direction `d`.
    #[inline]
    pub(crate) fn sides(&self, x: i32, y: i32, d: usize) -> (u32, u32) {
        match d {
            0 => (self.region(x, y - 1), self.region(x, y)),
            1 => (self.region(x, y), self.region(x - 1, y)),
            2 => (self.region(x - 1, y), self.region(x - 1, y - 1)),
            _ => (self.region(x - 1, y - 1), self.region(x, y - 1)),
        }
    }

    #[inline]
    pub(crate) fn active(&self, x: i32, y: i32, d: usize) -> bool {
        let (l, r) = self.sides(x, y, d);
        l != r
    }

    #[inline]
    pub(crate) fn degree(&self, x: i32, y: i32) -> u32 {
        let nw = self.region(x - 1, y - 1);
        let ne = self.region(x, y - 1);
        let sw = self.region(x - 1, y);
        let se = self.region(x, y);
        degree_of(nw, ne, sw, se)
    }

    #[inline]
    pub(crate) fn is_junction(&self, x: i32, y: i32) -> bool {
        self.degree(x, y) >= 3
    }

    /// Call `f(x)` for every junction (degree >= 3) of lattice row `y`, left to right. Runs
    /// of 16 points where neither pixel row changes region (no junction) are skipped at once.
    pub(crate) fn junctions_in_row(&self, y: i32, mut f: impl FnMut(i32)) {
        let (s, yu) = (self.stride, y as usize);
        // Pixel rows above (y-1) and below (y) the lattice row, padded: index x+1 is pixel x.
        let up = &self.pad[yu * s..(yu + 1) * s];
        let down = &self.pad[(yu + 1) * s..(yu + 2) * s];
        let mut x = 0;
        while x <= self.w as usize {
            if x + 17 <= s && up[x..x + 16] == up[x + 1..x + 17] && down[x..x + 16] == down[x + 1..x + 17] {
                x += 16;
                continue;
            }
            if degree_of(up[x], up[x + 1], down[x], down[x + 1]) >= 3 {
                f(x as i32);
            }
            x += 1;
        }
    }

    /// Call `f(x)` for every active horizontal crack from `(x, y)` east (`x` in `0..w`), left
    /// to right. Runs of 16 cracks with the same region above and below are skipped at once.
    pub(crate) fn h_cracks_in_row(&self, y: i32, mut f: impl FnMut(i32)) {
        let (w, s, yu) = (self.w as usize, self.stride, y as usize);
        let up = &self.pad[yu * s + 1..][..w];
        let down = &self.pad[(yu + 1) * s + 1..][..w];
        let mut x = 0;
        while x < w {
            if x + 16 <= w && up[x..x + 16] == down[x..x + 16] {
                x += 16;
                continue;
            }
            if up[x] != down[x] {
                f(x as i32);
            }
            x += 1;
        }
    }

    /// Follow active cracks from `(x, y)` in direction `d0`, marking them in `visited`, until
    /// a junction, a crack `owned` refuses (a cut: the tiled tracer's tile border), or, for a
    /// `closed` loop, the start again. Returns the points (start, turns, end), the direction
    /// of the last crack and how the walk ended.
    pub(crate) fn follow(
        &self,
        visited: &mut Bits,
        x: i32,
        y: i32,
        d0: usize,
        closed: bool,
        owned: impl Fn(i32, i32, usize) -> bool,
    ) -> (Vec<(i32, i32)>, usize, WalkEnd) {
        let mut points = vec![(x, y)];
        let (mut cx, mut cy, mut d) = (x, y, d0);
        loop {
            visited.set(self.crack_index(cx, cy, d));
            let (nx, ny) = (cx + DX[d], cy + DY[d]);
            if closed && (nx, ny) == (x, y) {
                return (points, d, WalkEnd::Loop);
            }
            if self.is_junction(nx, ny) {
                points.push((nx, ny));
                return (points, d, WalkEnd::Junction);
            }
            let nd = [(d + 3) % 4, d, (d + 1) % 4]
                .into_iter()
                .find(|&nd| self.active(nx, ny, nd))
                .expect("a degree-2 lattice point continues");
            if !owned(nx, ny, nd) {
                points.push((nx, ny));
                return (points, d, WalkEnd::Cut);
            }
            if nd != d {
                points.push((nx, ny));
            }
            (cx, cy, d) = (nx, ny, nd);
        }
    }

    /// Index of the crack leaving `(x, y)` in direction `d` in the visited bitset:
    /// horizontal cracks first (W x (H+1)), then vertical ((W+1) x H).
    #[inline]
    pub(crate) fn crack_index(&self, x: i32, y: i32, d: usize) -> usize {
        let (w, h) = (self.w as usize, self.h as usize);
        match d {
            0 => y as usize * w + x as usize,
            2 => y as usize * w + (x - 1) as usize,
            1 => w * (h + 1) + y as usize * (w + 1) + x as usize,
            _ => w * (h + 1) + (y - 1) as usize * (w + 1) + x as usize,
        }
    }
}

/// Active cracks at a lattice point whose four pixels hold these regions.
#[inline]
fn degree_of(nw: u32, ne: u32, sw: u32, se: u32) -> u32 {
    (nw != ne) as u32 + (ne != se) as u32 + (sw != se) as u32 + (nw != sw) as u32
}

/// How [`Lattice::follow`] ended.
pub(crate) enum WalkEnd {
    Junction,
    Cut,
    Loop,
}

pub(crate) struct Bits(Vec<u64>);

impl Bits {
    pub(crate) fn new(n: usize) -> Self {
        Bits(vec![0; n.div_ceil(64)])
    }
    #[inline]
    pub(crate) fn get(&self, i: usize) -> bool {
        self.0[i >> 6] >> (i & 63) & 1 == 1
    }
    #[inline]
    pub(crate) fn set(&mut self, i: usize) {
        self.0[i >> 6] |= 1 << (i & 63);
    }
}

#[inline]
pub(crate) fn key(w: i32, x: i32, y: i32, d: usize) -> u64 {
    ((y as u64) * (w as u64 + 1) + x as u64) * 4 + d as u64
}

/// The first direction, turning left first, whose crack has the pixel set `inside` on its
/// left and not on its right (turning left first keeps pixels that touch only diagonally apart).
#[inline]
fn next_direction(lat: &Lattice, x: i32, y: i32, arriving: usize, inside: &dyn Fn(u32) -> bool) -> Option<usize> {
    [(arriving + 3) % 4, arriving, (arriving + 1) % 4].into_iter().find(|&d| {
        let (l, r) = lat.sides(x, y, d);
        inside(l) && !inside(r)
    })
}

/// Open edges indexed by where they start: (lattice point, first direction) -> half-edge.
struct Starts {
    map: HashMap<u64, HalfEdge>,
    /// Per open edge: (start direction, end arrival direction).
    dirs: Vec<(usize, usize)>,
    w: i32,
}

/// Steps 3 and 4 of `build`, on any list of edges: every region's outline (outer cycle
/// counter-clockwise, holes clockwise, in the order of their first edge) and the cycles
/// around all regions together. `sides[i]` is edge i's (left, right); `step(he, inside)`
/// is the half-edge that follows `he` on the cycle keeping the pixel set `inside` on its
/// left, or None where the cycle ends with `he` (closed edges); `area2` is a cycle's doubled
/// signed area. Shared with the tiled tracer's assembly, which has no lattice.
pub(crate) fn outlines(
    sides: &[(u32, u32)],
    region_count: usize,
    step: impl Fn(HalfEdge, &dyn Fn(u32) -> bool) -> Option<HalfEdge>,
    area2: impl Fn(&[HalfEdge]) -> i64,
) -> (Vec<Outline>, Vec<Vec<HalfEdge>>) {
    let walk = |first: HalfEdge, inside: &dyn Fn(u32) -> bool, used: &mut Bits| {
        let mut cycle = Vec::new();
        let mut he = first;
        loop {
            used.set(he.edge as usize * 2 + (!he.forward) as usize);
            cycle.push(he);
            match step(he, inside) {
                Some(next) if next != first => he = next,
                _ => break,
            }
        }
        cycle
    };
    let mut used = Bits::new(sides.len() * 2);
    let mut outlines: Vec<Outline> = vec![Outline::default(); region_count];
    let mut found_outer = vec![false; region_count];
    for (i, &(left, right)) in sides.iter().enumerate() {
        for forward in [true, false] {
            let region = if forward { left } else { right };
            if region == NONE || used.get(i * 2 + (!forward) as usize) {
                continue;
            }
            let cycle = walk(HalfEdge { edge: i as u32, forward }, &|r| r == region, &mut used);
            let a2 = area2(&cycle);
            let outline = &mut outlines[region as usize];
            if a2 < 0 && !found_outer[region as usize] {
                found_outer[region as usize] = true;
                outline.outer = cycle;
                outline.filled_area = (-a2 / 2) as u64;
            } else {
                debug_assert!(a2 > 0, "a region has a single outer boundary");
                outline.holes.push(cycle);
            }
        }
    }
    // The outline of all regions together (every pixel that belongs to some region).
    let mut used = Bits::new(sides.len() * 2);
    let mut opaque = Vec::new();
    for (i, &(left, right)) in sides.iter().enumerate() {
        for forward in [true, false] {
            let (inner, outer) = if forward { (left, right) } else { (right, left) };
            if inner == NONE || outer != NONE || used.get(i * 2 + (!forward) as usize) {
                continue;
            }
            opaque.push(walk(HalfEdge { edge: i as u32, forward }, &|r| r != NONE, &mut used));
        }
    }
    (outlines, opaque)
}

/// Build the boundary graph of a region map (`map[y * width + x]`, NONE = no region) with
/// `region_count` regions.
pub fn build(map: &[u32], width: usize, height: usize, region_count: usize) -> BoundaryGraph {
    let lat = Lattice::new(map, width, height);
    let (w, h) = (width as i32, height as i32);
    let mut visited = Bits::new(width * (height + 1) + (width + 1) * height);
    let mut edges: Vec<Edge> = Vec::new();
    // Per open edge: (start direction, end arrival direction).
    let mut dirs: Vec<(usize, usize)> = Vec::new();

    // 1. Edges between junctions, in raster order of their start junction.
    for y in 0..=h {
        lat.junctions_in_row(y, |x| {
            for d0 in 0..4 {
                if !lat.active(x, y, d0) || visited.get(lat.crack_index(x, y, d0)) {
                    continue;
                }
                let (left, right) = lat.sides(x, y, d0);
                let (points, d, _) = lat.follow(&mut visited, x, y, d0, false, |_, _, _| true);
                edges.push(Edge { points, left, right, closed: false });
                dirs.push((d0, d));
            }
        });
    }
    let open_edges = edges.len();

    // 2. Closed loops (islands without junctions), found at their top-left crack.
    for y in 0..=h {
        lat.h_cracks_in_row(y, |x| {
            if visited.get(lat.crack_index(x, y, 0)) {
                return;
            }
            let (left, right) = lat.sides(x, y, 0);
            let (points, _, _) = lat.follow(&mut visited, x, y, 0, true, |_, _, _| true);
            edges.push(Edge { points, left, right, closed: true });
        });
    }

    // 3. Outlines: chain half-edges with the region on their left.
    let mut starts = Starts { map: HashMap::with_capacity(open_edges * 2), dirs, w };
    for (i, e) in edges[..open_edges].iter().enumerate() {
        let (d0, d1) = starts.dirs[i];
        let (sx, sy) = e.points[0];
        let (ex, ey) = *e.points.last().unwrap();
        starts.map.insert(key(w, sx, sy, d0), HalfEdge { edge: i as u32, forward: true });
        starts.map.insert(key(w, ex, ey, (d1 + 2) % 4), HalfEdge { edge: i as u32, forward: false });
    }
    let sides: Vec<(u32, u32)> = edges.iter().map(|e| (e.left, e.right)).collect();
    let step = |he: HalfEdge, inside: &dyn Fn(u32) -> bool| {
        let edge = &edges[he.edge as usize];
        if edge.closed {
            return None;
        }
        let (d0, d1) = starts.dirs[he.edge as usize];
        let ((vx, vy), arriving) =
            if he.forward { (*edge.points.last().unwrap(), d1) } else { (edge.points[0], (d0 + 2) % 4) };
        let nd = next_direction(&lat, vx, vy, arriving, inside).expect("outline continues");
        Some(starts.map[&key(starts.w, vx, vy, nd)])
    };
    let (outlines, opaque) = outlines(&sides, region_count, step, |c| cycle_area2(&edges, c));
    BoundaryGraph { width, height, edges, outlines, opaque }
}

/// Call `f(a, b)` for every straight lattice segment of a cycle, in walking order.
fn for_each_segment(edges: &[Edge], cycle: &[HalfEdge], mut f: impl FnMut((i32, i32), (i32, i32))) {
    for he in cycle {
        let e = &edges[he.edge as usize];
        let p = &e.points;
        let n = p.len();
        let segs = if e.closed { n } else { n - 1 };
        if he.forward {
            for k in 0..segs {
                f(p[k], p[(k + 1) % n]);
            }
        } else {
            for k in (0..segs).rev() {
                f(p[(k + 1) % n], p[k]);
            }
        }
    }
}

/// Whether the centre of pixel `(px, py)` lies inside a cycle (ray casting; a pixel centre is
/// never on a lattice segment, so the test is exact).
pub fn cycle_contains_pixel(edges: &[Edge], cycle: &[HalfEdge], px: i32, py: i32) -> bool {
    // Doubled coordinates: the centre is (2px+1, 2py+1), lattice points are even.
    let (cx, cy) = (2 * px as i64 + 1, 2 * py as i64 + 1);
    let mut inside = false;
    for_each_segment(edges, cycle, |a, b| {
        // Only vertical segments cross a horizontal ray through a pixel centre.
        if a.0 == b.0 && 2 * a.0 as i64 > cx {
            let (y0, y1) = (2 * a.1.min(b.1) as i64, 2 * a.1.max(b.1) as i64);
            if y0 < cy && cy < y1 {
                inside = !inside;
            }
        }
    });
    inside
}

/// For every region and each of its holes: whether the hole contains a transparent pixel
/// (map value NONE). Stacked layers must keep such holes open; the others can be filled.
pub fn transparent_holes(graph: &BoundaryGraph, map: &[u32]) -> Vec<Vec<bool>> {
    let (w, h) = (graph.width, graph.height);
    let mut result: Vec<Vec<bool>> = graph.outlines.iter().map(|o| vec![false; o.holes.len()]).collect();
    let with_holes: Vec<usize> = (0..graph.outlines.len()).filter(|&r| !graph.outlines[r].holes.is_empty()).collect();
    if with_holes.is_empty() {
        return result;
    }
    // Bounding boxes of the outer cycles of regions with holes.
    let bbox: Vec<(i32, i32, i32, i32)> = with_holes
        .iter()
        .map(|&r| {
            let mut b = (i32::MAX, i32::MAX, i32::MIN, i32::MIN);
            for_each_segment(&graph.edges, &graph.outlines[r].outer, |p, _| {
                b = (b.0.min(p.0), b.1.min(p.1), b.2.max(p.0), b.3.max(p.1));
            });
            b
        })
        .collect();
    // Transparent components that do not touch the image border: one pixel of each.
    let mut seen = vec![false; w * h];
    let mut stack = Vec::new();
    for start in 0..w * h {
        if map[start] != NONE || seen[start] {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let mut touches_border = false;
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            if x == 0 || y == 0 || x + 1 == w || y + 1 == h {
                touches_border = true;
            }
            let mut visit = |j: usize| {
                if map[j] == NONE && !seen[j] {
                    seen[j] = true;
                    stack.push(j);
                }
            };
            if x > 0 {
                visit(i - 1);
            }
            if x + 1 < w {
                visit(i + 1);
            }
            if y > 0 {
                visit(i - w);
            }
            if y + 1 < h {
                visit(i + w);
            }
        }
        if touches_border {
            continue;
        }
        let (px, py) = ((start % w) as i32, (start / w) as i32);
        for (k, &r) in with_holes.iter().enumerate() {
            let b = bbox[k];
            if px < b.0 || py < b.1 || px >= b.2 || py >= b.3 {
                continue;
            }
            let o = &graph.outlines[r];
            if !cycle_contains_pixel(&graph.edges, &o.outer, px, py) {
                continue;
            }
            for (hi, hole) in o.holes.iter().enumerate() {
                if !result[r][hi] && cycle_contains_pixel(&graph.edges, hole, px, py) {
                    result[r][hi] = true;
                }
            }
        }
    }
    result
}

/// Twice the signed (shoelace) area of a cycle of half-edges, y-down coordinates.
pub fn cycle_area2(edges: &[Edge], cycle: &[HalfEdge]) -> i64 {
    let mut sum = 0i64;
    let mut visit = |a: (i32, i32), b: (i32, i32)| sum += a.0 as i64 * b.1 as i64 - b.0 as i64 * a.1 as i64;
    for he in cycle {
        let p = &edges[he.edge as usize].points;
        let closed = edges[he.edge as usize].closed;
        let n = p.len();
        let segs = if closed { n } else { n - 1 };
        for k in 0..segs {
            let (a, b) = (p[k], p[(k + 1) % n]);
            if he.forward {
                visit(a, b)
            } else {
                visit(b, a)
            }
        }
    }
    sum
}

#[cfg(test)]
mod tests;
