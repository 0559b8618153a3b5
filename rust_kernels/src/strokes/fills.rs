//! Thick ink in the centerline mode: ink much wider than `stroke_width_max` (`thick_radius`,
//! `min_core`) is a filled area, not a line. Maps fill land, drawings fill arrowheads, symbols and poché; a
//! centerline of such an area is a line a person never drew, and its edge's blend pixels,
//! thinned, a line along its outline that is not there either. So, as a "max stroke weight"
//! does in a drawing program, each colour's thick ink is traced as an outline and filled in
//! that colour beneath the strokes (with the colour mode's boundary graph, fit and SVG
//! writer), and only the thin rest of the ink is thinned:
//! 1. `thick_fill`: the opening of the ink by a disc of radius `rho = thick_radius`
//!    (where such a disc fits, the whole disc), kept where the disc's centres make a core of
//!    `min_core` pixels or more: the areas too wide to be lines. Line art has none, and is
//!    traced exactly as before;
//! 2. `settle`: the ring of ink touching a fill (its edge's blend pixels), and what is left
//!    beside a fill and no farther from it than `2 rho` (a staircase, a convex corner the
//!    disc rounds off), join the fill; a
//!    thin part of another colour that hugs a fill and whose colour lies between that fill's
//!    and the background (or another fill it touches) is a blend of their edge and joins the
//!    fill too. The rest, lines attached to a fill included, stays ink for the strokes;
//! 3. `reach_fills`: a stroke ending at its colour's fill is continued into it by its radius
//!    and a pixel, so its round cap leaves no notch where line and fill meet;
//! 4. `fill_shapes`: the fills of all colours as one region map (4-connected components),
//!    its boundary graph fitted once (shared edges agree), painted stacked (largest first).

use super::Stroke;
use crate::boundary;
use crate::fit::{Curve, Pt, Seg};
use crate::regions::NONE;
use crate::svg::{Layers, Shape};
use crate::trace::{effective_fit, fit_all, shapes, TraceOptions};
use rayon::prelude::*;
use std::collections::VecDeque;

/// Squared distances stand for "none near" (larger than any image's).
const FAR: f64 = 1e20;

/// Scratch of `dt1d`, reused along the rows or columns one thread transforms.
#[derive(Default)]
struct Scratch {
    f: Vec<f64>,
    v: Vec<usize>,
    z: Vec<f64>,
}

/// One-dimensional squared distance transform (Felzenszwalb and Huttenlocher): `d[q] =
/// min_p (q - p)^2 + f[p]`, with `f` in `s.f`.
fn dt1d(s: &mut Scratch, d: &mut [f64]) {
    let n = s.f.len();
    s.v.clear();
    s.v.resize(n, 0);
    s.z.clear();
    s.z.resize(n + 1, 0.0);
    let (f, v, z) = (&s.f, &mut s.v, &mut s.z);
    let mut k = 0usize;
    z[0] = f64::NEG_INFINITY;
    z[1] = f64::INFINITY;
    for q in 1..n {
        let cross = |p: usize| ((f[q] + (q * q) as f64) - (f[p] + (p * p) as f64)) / (2.0 * (q as f64 - p as f64));
        let mut c = cross(v[k]);
        // z[0] is -inf, so k never drops below 0.
        while c <= z[k] {
            k -= 1;
            c = cross(v[k]);
        }
        k += 1;
        v[k] = q;
        z[k] = c;
        z[k + 1] = f64::INFINITY;
    }
    k = 0;
    for (q, out) in d.iter_mut().enumerate() {
        while z[k + 1] < q as f64 {
            k += 1;
        }
        let p = v[k];
        let dq = q as f64 - p as f64;
        *out = dq * dq + f[p];
    }
}

/// Squared Euclidean distance (between pixel centres) from every pixel to the nearest pixel
/// with `source(i)`; `FAR` when there is none. Nothing outside the image is a source.
pub fn edt_sq(w: usize, h: usize, source: impl Fn(usize) -> bool + Sync) -> Vec<f64> {
    // Columns (stored column-major), then rows.
    let mut cols = vec![0f64; w * h];
    cols.par_chunks_mut(h.max(1)).enumerate().for_each_init(Scratch::default, |s, (x, col)| {
        s.f.clear();
        s.f.extend((0..h).map(|y| if source(y * w + x) { 0.0 } else { FAR }));
        dt1d(s, col);
    });
    let mut out = vec![0f64; w * h];
    out.par_chunks_mut(w.max(1)).enumerate().for_each_init(Scratch::default, |s, (y, row)| {
        s.f.clear();
        s.f.extend((0..w).map(|x| cols[x * h + y]));
        dt1d(s, row);
    });
    out
}

/// The radius of the disc that finds thick ink for lines up to `max_width` px wide: more
/// than the largest disc inside a crossing or a corner of two such lines (`max_width /
/// sqrt 2` for an X, plus the anti-aliasing blends a scan adds), so line art is never filled;
/// ink more than about `1.5 max_width + 3` px wide is.
pub fn thick_radius(max_width: f32) -> f64 {
    0.75 * f64::from(max_width.max(1.0)) + 1.5
}

/// The centres where an axis-aligned square of `2 s + 1` pixels fits in the ink (None when
/// nowhere): every centre of a disc of radius `rho` that fits is one for `s = floor(rho /
/// sqrt 2)` (the disc holds the square), so this cheap pass bounds where thick ink can be.
fn square_centres(mask: &[u8], w: usize, h: usize, s: usize) -> Option<Vec<u8>> {
    let side = 2 * s + 1;
    if w < side || h < side {
        return None;
    }
    let mut out: Option<Vec<u8>> = None;
    // Per row, the centres of full horizontal runs of `side`; per column, how many rows in a
    // row have one there.
    let mut across = vec![false; w];
    let mut down = vec![0usize; w];
    for y in 0..h {
        let row = &mask[y * w..(y + 1) * w];
        across.fill(false);
        let mut run = 0usize;
        for x in 0..w {
            run = if row[x] != 0 { (run + 1).min(side) } else { 0 };
            if run == side {
                across[x - s] = true;
            }
        }
        for x in 0..w {
            down[x] = if across[x] { (down[x] + 1).min(side) } else { 0 };
            if down[x] == side {
                out.get_or_insert_with(|| vec![0u8; w * h])[(y - s) * w + x] = 1;
            }
        }
    }
    out
}

/// The thick ink of `mask`: every pixel within `rho` of a core pixel, one whose nearest
/// background pixel lies farther than `rho` (the opening by a disc of radius `rho`), where
/// the core's 8-connected component holds at least `min_core` pixels (lines that merge into
/// a blob, at an arrow's tip or in a scribbled letter, make a core of a few pixels: they
/// stay lines). None when there is none.
pub fn thick_fill(mask: &[u8], w: usize, h: usize, rho: f64, min_core: usize) -> Option<Vec<u8>> {
    // A core component lies in one component of the square centres, so only those of at
    // least `min_core` centres can hold one; the distances are taken in a window around
    // them wide enough to decide `rho` and to hold the discs.
    let centres = square_centres(mask, w, h, (rho / std::f64::consts::SQRT_2).floor() as usize)?;
    let (id, count) = components(&centres, w, h, true);
    let mut size = vec![0usize; count];
    for &c in id.iter().filter(|&&c| c != NONE) {
        size[c as usize] += 1;
    }
    let big = |i: usize| id[i] != NONE && size[id[i] as usize] >= min_core;
    let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
    for i in (0..w * h).filter(|&i| big(i)) {
        let (x, y) = (i % w, i / w);
        (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x + 1), y1.max(y + 1));
    }
    if x1 == 0 {
        return None;
    }
    let g = 2 * rho.ceil() as usize + 2;
    let (x0, y0, x1, y1) = (x0.saturating_sub(g), y0.saturating_sub(g), (x1 + g).min(w), (y1 + g).min(h));
    let (bw, bh) = (x1 - x0, y1 - y0);
    let crop = |f: &dyn Fn(usize) -> u8| -> Vec<u8> {
        (y0..y1).flat_map(|y| (x0..x1).map(move |x| y * w + x)).map(f).collect()
    };
    let sub = crop(&|i| mask[i]);
    let allowed = crop(&|i| big(i) as u8);
    let part = thick_in(&sub, &allowed, bw, bh, rho, min_core)?;
    let mut out = vec![0u8; w * h];
    for (y, row) in part.chunks_exact(bw).enumerate() {
        out[(y0 + y) * w + x0..(y0 + y) * w + x1].copy_from_slice(row);
    }
    Some(out)
}

/// `thick_fill` in a window: the core is taken among the `allowed` pixels only (those
/// whose distances the window decides).
fn thick_in(mask: &[u8], allowed: &[u8], w: usize, h: usize, rho: f64, min_core: usize) -> Option<Vec<u8>> {
    let bg = edt_sq(w, h, |i| mask[i] == 0);
    let r2 = rho * rho;
    let core: Vec<u8> = bg.iter().zip(allowed).map(|(&d, &a)| (d > r2 && a != 0) as u8).collect();
    let (id, count) = components(&core, w, h, true);
    let mut size = vec![0usize; count];
    for &c in id.iter().filter(|&&c| c != NONE) {
        size[c as usize] += 1;
    }
    if !size.iter().any(|&s| s >= min_core) {
        return None;
    }
    let near = edt_sq(w, h, |i| id[i] != NONE && size[id[i] as usize] >= min_core);
    Some(near.iter().map(|&d| (d <= r2) as u8).collect())
}

/// The smallest core (pixels) of a fill for lines up to `max_width` px wide: `max_width`
/// squared, so a filled area is at least about `1.5 max_width + 3 + max_width` px across.
pub fn min_core(max_width: f32) -> usize {
    (f64::from(max_width.max(1.0)).powi(2)).ceil() as usize
}

/// Connected components of the set pixels of `mask` (8- or 4-connected), numbered in raster
/// order of their first pixel; `NONE` elsewhere. Returns the map and the count.
pub fn components(mask: &[u8], w: usize, h: usize, eight: bool) -> (Vec<u32>, usize) {
    let mut id = vec![NONE; mask.len()];
    let mut count = 0u32;
    let mut queue = VecDeque::new();
    for start in 0..mask.len() {
        if mask[start] == 0 || id[start] != NONE {
            continue;
        }
        id[start] = count;
        queue.push_back(start);
        while let Some(p) = queue.pop_front() {
            let (x, y) = ((p % w) as isize, (p / w) as isize);
            for dy in -1isize..=1 {
                for dx in -1isize..=1 {
                    if (dx, dy) == (0, 0) || (!eight && dx != 0 && dy != 0) {
                        continue;
                    }
                    let (nx, ny) = (x + dx, y + dy);
                    if nx < 0 || ny < 0 || nx as usize >= w || ny as usize >= h {
                        continue;
                    }
                    let q = ny as usize * w + nx as usize;
                    if mask[q] != 0 && id[q] == NONE {
                        id[q] = count;
                        queue.push_back(q);
                    }
                }
            }
        }
        count += 1;
    }
    (id, count as usize)
}

/// Whether colour `c` lies between colours `a` and `b` (a blend of the two): strictly
/// inside the segment from `a` to `b`, within a quarter of its length of it.
fn between(c: [f64; 3], a: [u8; 3], b: [u8; 3]) -> bool {
    let f = |v: [u8; 3]| v.map(f64::from);
    let (a, b) = (f(a), f(b));
    let d = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
    let len2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
    if len2 == 0.0 {
        return false;
    }
    let v = [c[0] - a[0], c[1] - a[1], c[2] - a[2]];
    let t = (v[0] * d[0] + v[1] * d[1] + v[2] * d[2]) / len2;
    let off2 = (0..3).map(|i| (v[i] - t * d[i]).powi(2)).sum::<f64>();
    t > 0.0 && t < 1.0 && off2 <= 0.0625 * len2
}

/// Step 2 of the module docs, for every colour at once. `masks[k]` is colour `k`'s ink
/// (empty for colours not traced), `fills[k]` its thick fill (None: none); `background`
/// the background's colour (None: transparent); `source(i)` pixel `i`'s colour in the
/// image (None: transparent). Returns per colour its final fill (None: none) and the ink
/// left for its strokes.
#[allow(clippy::too_many_arguments)]
pub fn settle(
    source: &(dyn Fn(usize) -> Option<[u8; 3]> + Sync),
    masks: Vec<Vec<u8>>,
    fills: Vec<Option<Vec<u8>>>,
    palette: &[[u8; 3]],
    background: Option<[u8; 3]>,
    w: usize,
    h: usize,
    rho: f64,
) -> (Vec<Option<Vec<u8>>>, Vec<Vec<u8>>) {
    let n = masks.len();
    // Which colour's fill covers each pixel (fills are disjoint: a pixel has one colour).
    let mut owner = vec![u32::MAX; w * h];
    for (k, f) in fills.iter().enumerate() {
        if let Some(f) = f {
            for (o, &v) in owner.iter_mut().zip(f) {
                if v != 0 {
                    *o = k as u32;
                }
            }
        }
    }
    let near = edt_sq(w, h, |i| owner[i] != u32::MAX);
    let reach2 = (2.0 * rho) * (2.0 * rho);
    // Per colour, its residue's components and where each goes: Some(j) into colour j's fill.
    let moves: Vec<Vec<(Vec<usize>, Option<u32>)>> = (0..n)
        .into_par_iter()
        .map(|k| {
            if masks[k].is_empty() {
                return Vec::new();
            }
            let mut rest: Vec<u8> = match &fills[k] {
                Some(f) => masks[k].iter().zip(f).map(|(&m, &f)| (m != 0 && f == 0) as u8).collect(),
                None => masks[k].clone(),
            };
            // The ring of ink around the own fill (its edge's blend pixels) is the fill's: cut
            // away first, so an edge's staircase is not one component with a line leaving it.
            let ring: Vec<usize> = if fills[k].is_some() {
                (0..w * h).filter(|&i| rest[i] != 0 && touches(&owner, k as u32, i, w, h)).collect()
            } else {
                Vec::new()
            };
            for &i in &ring {
                rest[i] = 0;
            }
            let (id, count) = components(&rest, w, h, true);
            let mut members: Vec<Vec<usize>> = vec![Vec::new(); count];
            for (i, &c) in id.iter().enumerate() {
                if c != NONE && near[i] <= reach2 {
                    members[c as usize].push(i);
                }
            }
            // Components with a pixel farther than `2 rho` from every fill stay ink whole.
            let mut far = vec![false; count];
            for (i, &c) in id.iter().enumerate() {
                if c != NONE && near[i] > reach2 {
                    far[c as usize] = true;
                }
            }
            let mut out: Vec<(Vec<usize>, Option<u32>)> = members
                .into_iter()
                .zip(far)
                .filter(|(m, far)| !m.is_empty() && !far)
                .filter_map(|(m, _)| {
                    let to = destination(&m, k, &owner, source, palette, background, w, h);
                    to.map(|j| (m, Some(j)))
                })
                .collect();
            if !ring.is_empty() {
                out.push((ring, Some(k as u32)));
            }
            out
        })
        .collect();
    let mut fills = fills;
    let mut masks = masks;
    for (k, list) in moves.into_iter().enumerate() {
        for (pixels, to) in list {
            let j = to.expect("a settled component has a destination") as usize;
            let f = fills[j].get_or_insert_with(|| vec![0u8; w * h]);
            for &p in &pixels {
                f[p] = 1;
                masks[k][p] = 0;
            }
        }
    }
    // What stays ink for the strokes: the ink less its own fill.
    for (m, f) in masks.iter_mut().zip(&fills) {
        if let Some(f) = f {
            if !m.is_empty() {
                for (v, &fv) in m.iter_mut().zip(f) {
                    if fv != 0 {
                        *v = 0;
                    }
                }
            }
        }
    }
    (fills, masks)
}

/// Whether pixel `i` has an 8-neighbour in colour `k`'s fill (`owner`).
fn touches(owner: &[u32], k: u32, i: usize, w: usize, h: usize) -> bool {
    let (x, y) = ((i % w) as isize, (i / w) as isize);
    (-1isize..=1).any(|dy| {
        (-1isize..=1).any(|dx| {
            let (nx, ny) = (x + dx, y + dy);
            nx >= 0 && ny >= 0 && (nx as usize) < w && (ny as usize) < h && owner[ny as usize * w + nx as usize] == k
        })
    })
}

/// The fill a component of colour `k`'s thin ink (`pixels`, all within `2 rho` of a fill)
/// joins, if any: its own colour's fill when it touches it (an edge's staircase, a rounded
/// corner), else the fill of a colour `j` beside most of its pixels (within 2 px) when
/// colour `k`, or the pixels' mean colour in the image, is a blend of `j` and the
/// background or of `j` and another fill it touches (a blend often lands on the palette's
/// nearest entry, which can be another ink's).
#[allow(clippy::too_many_arguments)]
fn destination(
    pixels: &[usize],
    k: usize,
    owner: &[u32],
    source: &(dyn Fn(usize) -> Option<[u8; 3]> + Sync),
    palette: &[[u8; 3]],
    background: Option<[u8; 3]>,
    w: usize,
    h: usize,
) -> Option<u32> {
    // Per neighbouring fill colour: how many of the component's pixels lie within 2 px of it.
    let mut beside: Vec<(u32, usize)> = Vec::new();
    let mut touches_own = false;
    for &p in pixels {
        let (x, y) = ((p % w) as isize, (p / w) as isize);
        let mut seen: Vec<u32> = Vec::new();
        for dy in -2isize..=2 {
            for dx in -2isize..=2 {
                let (nx, ny) = (x + dx, y + dy);
                if nx < 0 || ny < 0 || nx as usize >= w || ny as usize >= h {
                    continue;
                }
                let o = owner[ny as usize * w + nx as usize];
                if o == u32::MAX {
                    continue;
                }
                if o as usize == k {
                    touches_own = true;
                }
                if o as usize != k && !seen.contains(&o) {
                    seen.push(o);
                }
            }
        }
        for o in seen {
            match beside.iter_mut().find(|e| e.0 == o) {
                Some(e) => e.1 += 1,
                None => beside.push((o, 1)),
            }
        }
    }
    if touches_own {
        return Some(k as u32);
    }
    // The neighbour beside most pixels (the smaller colour on a tie), if beside at least half.
    let &(j, count) = beside.iter().max_by_key(|e| (e.1, std::cmp::Reverse(e.0)))?;
    if 2 * count < pixels.len() {
        return None;
    }
    let mut sum = [0f64; 3];
    let mut seen = 0usize;
    for c in pixels.iter().filter_map(|&p| source(p)) {
        (0..3).for_each(|i| sum[i] += f64::from(c[i]));
        seen += 1;
    }
    let mean = sum.map(|v| v / seen.max(1) as f64);
    let entry = palette[k].map(f64::from);
    let pj = palette[j as usize];
    let blend = [entry, mean].into_iter().any(|c| {
        background.is_some_and(|b| between(c, pj, b))
            || beside.iter().any(|&(o, _)| o != j && between(c, pj, palette[o as usize]))
    });
    blend.then_some(j)
}

/// Step 3: each open stroke's ends that lie within its radius and a pixel of `fill`
/// continue along their last direction by that much, so the round cap reaches into the fill.
pub fn reach_fills(strokes: &mut [Stroke], fill: &[u8], w: usize, h: usize) {
    let at = |p: Pt, r: f64| {
        let (x0, x1) = ((p.x - r).floor().max(0.0) as usize, ((p.x + r).ceil().max(0.0) as usize).min(w));
        let (y0, y1) = ((p.y - r).floor().max(0.0) as usize, ((p.y + r).ceil().max(0.0) as usize).min(h));
        (y0..y1).any(|y| {
            (x0..x1).any(|x| {
                let (dx, dy) = (x as f64 + 0.5 - p.x, y as f64 + 0.5 - p.y);
                fill[y * w + x] != 0 && dx * dx + dy * dy <= r * r
            })
        })
    };
    for s in strokes.iter_mut().filter(|s| !s.closed && !s.curve.segs.is_empty()) {
        let reach = s.width as f64 / 2.0 + 1.0;
        let c = &mut s.curve;
        if c.start == c.end() {
            continue; // a dot
        }
        // The end: from the last segment's last control point (or start) to its end.
        let last = c.segs.len() - 1;
        let before = match c.segs[last] {
            Seg::Line(_) => {
                if last == 0 {
                    c.start
                } else {
                    c.segs[last - 1].end()
                }
            }
            Seg::Cubic(_, c2, _) => c2,
        };
        let end = c.end();
        if at(end, reach) {
            if let Some(p) = ahead(before, end, reach) {
                c.segs.push(Seg::Line(p));
            }
        }
        let after = match c.segs[0] {
            Seg::Line(p) => p,
            Seg::Cubic(c1, _, _) => c1,
        };
        let start = c.start;
        if at(start, reach) {
            if let Some(p) = ahead(after, start, reach) {
                c.segs.insert(0, Seg::Line(start));
                c.start = p;
            }
        }
    }
}

/// The point `by` beyond `to` on the line from `from` through `to` (None when they coincide).
fn ahead(from: Pt, to: Pt, by: f64) -> Option<Pt> {
    let (dx, dy) = (to.x - from.x, to.y - from.y);
    let l = (dx * dx + dy * dy).sqrt();
    (l > 1e-9).then(|| Pt::new(to.x + dx / l * by, to.y + dy / l * by))
}

/// Step 4: the fills (per colour, None: none) as shapes over one boundary graph: the shapes
/// in paint order and the curves their cycles index.
pub fn fill_shapes(
    fills: &[Option<Vec<u8>>],
    palette: &[[u8; 3]],
    w: usize,
    h: usize,
    opts: &TraceOptions,
) -> (Vec<Shape>, Vec<Curve>) {
    let mut map = vec![NONE; w * h];
    let mut colours: Vec<[u8; 3]> = Vec::new();
    // One region per 4-connected component of each colour's fill; ids in colour order,
    // then raster order.
    for (k, f) in fills.iter().enumerate() {
        let Some(f) = f else { continue };
        let (id, count) = components(f, w, h, false);
        let base = colours.len() as u32;
        for (m, &c) in map.iter_mut().zip(&id) {
            if c != NONE {
                *m = base + c;
            }
        }
        colours.extend(std::iter::repeat_n(palette[k], count));
    }
    if colours.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let graph = boundary::build(&map, w, h, colours.len());
    let curves = fit_all(&graph, &effective_fit(opts));
    // Holes that show what is not filled (the background, the strokes' ink) stay open.
    let open = (opts.layers == Layers::Stacked).then(|| boundary::transparent_holes(&graph, &map));
    (shapes(&graph, &colours, opts.layers, false, open.as_deref()), curves)
}
