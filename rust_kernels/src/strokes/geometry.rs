//! Stage (d): points of each path (centred on the ink's cross-section, ends extended to the
//! ink's end), corners, smoothing, width, and the fit to lines and cubic Beziers.

use super::ink::Ink;
use super::simplify::{dist, end_keys, PathPlan, StrokeGraph};
use super::Stroke;
use crate::fit::{fit_fixed_sections, fit_section, Curve, FitOptions, Pt, Seg};

/// Largest shift (pixels) of a skeleton point towards the middle of its cross-section.
const MAX_CENTRE_SHIFT: f64 = 1.0;
/// Smallest turn (degrees) over a stroke-width window that is kept as a sharp corner.
const CORNER_DEG: f64 = 50.0;

fn unit(v: Pt) -> Pt {
    let l = (v.x * v.x + v.y * v.y).sqrt();
    if l > 0.0 {
        Pt::new(v.x / l, v.y / l)
    } else {
        Pt::new(0.0, 0.0)
    }
}

/// The point list of one path: (position, fixed, measurable). Fixed points are path ends and
/// corners; measurable points are chain pixels whose cross-section reads the stroke's width.
struct Points {
    p: Vec<Pt>,
    fixed: Vec<bool>,
    measure: Vec<bool>,
}

/// Build the strokes of a stroke graph, in canonical order (paths are already canonical;
/// dots join them by their pixel key).
pub fn strokes(g: &StrokeGraph, ink: &Ink, max_width: f32, fit: &FitOptions) -> Vec<Stroke> {
    let mut deg = vec![0usize; g.nodes.len()];
    for c in &g.chains {
        for e in [c.a, c.b].into_iter().flatten() {
            deg[e] += 1;
        }
    }
    let max_run = 2.0 * max_width as f64 + 2.0;
    let mut out: Vec<((u32, u32, bool), Stroke)> = Vec::with_capacity(g.paths.len() + g.dots.len());
    for plan in &g.paths {
        let (ka, kb) = end_keys(g, plan);
        let mut pts = points(g, &deg, plan);
        if pts.p.is_empty() {
            continue;
        }
        let width = centre_and_width(&mut pts, ink, max_run);
        let width = width.unwrap_or_else(|| {
            // No chain pixel to measure (a short stub between nodes): the nodes' discs.
            let r = plan
                .steps
                .iter()
                .flat_map(|&(k, _)| [g.chains[k].a, g.chains[k].b])
                .flatten()
                .map(|n| g.nodes[n].radius)
                .fold(f64::INFINITY, f64::min);
            if r.is_finite() {
                2.0 * r
            } else {
                1.0
            }
        });
        if !plan.closed {
            // A path no longer than its own width is a dot (a small blob thinned to a few pixels).
            let m = pts.p.len() as f64;
            let c = pts.p.iter().fold(Pt::new(0.0, 0.0), |s, p| Pt::new(s.x + p.x / m, s.y + p.y / m));
            let spread = pts.p.iter().map(|&p| dist(p, c)).fold(0.0, f64::max);
            if spread <= width / 2.0 {
                let (c, w) = dot(ink, ka, max_width).unwrap_or((c, width + 2.0 * spread));
                out.push((
                    (ka, kb, false),
                    Stroke { curve: Curve { start: c, segs: vec![Seg::Line(c)] }, closed: false, width: w as f32 },
                ));
                continue;
            }
            extend_ends(g, &deg, plan, &mut pts, ink, width, max_run);
        }
        mark_corners(&mut pts, plan.closed, width);
        sharpen_corners(&mut pts, width, ink);
        smooth(&mut pts, plan.closed);
        let curve = fit_points(&pts, plan.closed, fit.tolerance.max(1e-3));
        out.push(((ka, kb, false), Stroke { curve, closed: plan.closed, width: width as f32 }));
    }
    for &d in &g.dots {
        let n = &g.nodes[d];
        let (c, d) = dot(ink, n.key, max_width).unwrap_or((n.pos, 2.0 * n.radius));
        let dot = Stroke { curve: Curve { start: c, segs: vec![Seg::Line(c)] }, closed: false, width: d as f32 };
        out.push(((n.key, n.key, true), dot));
    }
    // Stable: paths keep their canonical order among equal keys.
    out.sort_by_key(|(k, _)| *k);
    out.into_iter().map(|(_, s)| s).collect()
}

/// A dot drawn as the disc of its ink blob's area at the blob's centroid: (centre, diameter).
/// None when the blob is larger than a disc of `max_width` (not a dot).
fn dot(ink: &Ink, pixel: u32, max_width: f32) -> Option<(Pt, f64)> {
    let cap = ((max_width as f64 + 1.0).powi(2) * std::f64::consts::FRAC_PI_4).ceil() as usize + 1;
    let (c, area) = ink.blob(pixel, cap);
    (area < cap).then(|| (c, (2.0 * (area as f64 / std::f64::consts::PI).sqrt()).max(1.0)))
}

/// Concatenate the chains of a path. Near a junction of three or more branches the skeleton
/// bends towards the junction, so chain pixels within the junction's radius are left out:
/// an unpaired branch ends at the junction's centre, a paired one bridges it by the fit.
fn points(g: &StrokeGraph, deg: &[usize], plan: &PathPlan) -> Points {
    let mut pts = Points { p: Vec::new(), fixed: Vec::new(), measure: Vec::new() };
    let n = plan.steps.len();
    for (si, &(k, fwd)) in plan.steps.iter().enumerate() {
        let c = &g.chains[k];
        let (from, to) = if fwd { (c.a, c.b) } else { (c.b, c.a) };
        let mut seq: Vec<Pt> = c.pts.clone();
        if !fwd {
            seq.reverse();
        }
        // The node before this chain: the path start, or the node shared with the previous step.
        if let Some(f) = from {
            let node = &g.nodes[f];
            let start = si == 0 && !plan.closed;
            if start {
                pts.p.push(node.pos);
                pts.fixed.push(true);
                pts.measure.push(false);
            }
            // A junction the line passes with two branches left (its spurs pruned) adds no
            // point: its centre may lie off the line, and the chain pixels around it suffice.
            if deg[f] >= 3 {
                let drop = seq.iter().take_while(|&&p| dist(p, node.pos) < node.radius).count();
                seq.drain(..drop);
            }
        }
        if let Some(t) = to {
            let node = &g.nodes[t];
            if deg[t] >= 3 {
                let drop = seq.iter().rev().take_while(|&&p| dist(p, node.pos) < node.radius).count();
                seq.truncate(seq.len() - drop);
            }
        }
        for p in seq {
            pts.p.push(p);
            pts.fixed.push(false);
            pts.measure.push(true);
        }
        if si + 1 == n && !plan.closed {
            if let Some(t) = to {
                pts.p.push(g.nodes[t].pos);
                pts.fixed.push(true);
                pts.measure.push(false);
            }
        }
    }
    pts
}

/// Unit tangent at point `i` from its neighbours two steps away.
fn tangent(p: &[Pt], i: usize, closed: bool) -> Pt {
    let n = p.len();
    let (a, b) = if closed {
        (p[(i + n - 2.min(n - 1)) % n], p[(i + 2) % n])
    } else {
        (p[i.saturating_sub(2)], p[(i + 2).min(n - 1)])
    };
    unit(Pt::new(b.x - a.x, b.y - a.y))
}

/// Move each measurable point to the middle of the ink's cross-section (at most
/// `MAX_CENTRE_SHIFT`), and return the median cross-section width.
fn centre_and_width(pts: &mut Points, ink: &Ink, max_run: f64) -> Option<f64> {
    let n = pts.p.len();
    if n < 2 {
        return None;
    }
    let closed = false;
    let mut widths = Vec::new();
    let orig = pts.p.clone();
    for i in 0..n {
        if !pts.measure[i] {
            continue;
        }
        let t = tangent(&orig, i, closed);
        if t.x == 0.0 && t.y == 0.0 {
            continue;
        }
        let nrm = Pt::new(-t.y, t.x);
        let p = orig[i];
        let plus = ink.run(p, nrm, max_run);
        let minus = ink.run(p, Pt::new(-nrm.x, -nrm.y), max_run);
        widths.push(plus + minus);
        let shift = ((plus - minus) / 2.0).clamp(-MAX_CENTRE_SHIFT, MAX_CENTRE_SHIFT);
        pts.p[i] = Pt::new(p.x + nrm.x * shift, p.y + nrm.y * shift);
    }
    if widths.is_empty() {
        return None;
    }
    widths.sort_by(f64::total_cmp);
    Some(widths[widths.len() / 2])
}

/// Rebuild path ends at line ends. Thinning eats about a radius from each end and bends the
/// skeleton's last pixels towards a corner of the cap, so the points within about a radius
/// of the end go; from the last point kept, the line continues in its direction (read over a
/// stroke width further in) until the ink ends, less the stroke's radius: a round cap of the
/// stroke's width drawn there covers the ink up to its end again.
fn extend_ends(g: &StrokeGraph, deg: &[usize], plan: &PathPlan, pts: &mut Points, ink: &Ink, width: f64, max_run: f64) {
    let first = plan.steps[0];
    let last = plan.steps[plan.steps.len() - 1];
    let c0 = &g.chains[first.0];
    let start_node = if first.1 { c0.a } else { c0.b };
    let c1 = &g.chains[last.0];
    let end_node = if last.1 { c1.b } else { c1.a };
    let reach = 2.0 * width.max(3.0);
    for (node, at_start) in [(start_node, true), (end_node, false)] {
        let Some(nd) = node else { continue };
        let n = pts.p.len();
        if deg[nd] != 1 || n < 2 {
            continue;
        }
        if !at_start {
            reverse_points(pts);
        }
        // Now the end is pts.p[0]; find the anchor, the first point a radius in.
        let end = pts.p[0];
        let anchor = (1..n).find(|&j| !pts.fixed[j] && dist(pts.p[j], end) >= 0.75 * width + 0.5);
        if let Some(j) = anchor {
            let a = pts.p[j];
            let back = (j + 1..n).find(|&k| dist(pts.p[k], a) >= reach).map_or(pts.p[n - 1], |k| pts.p[k]);
            let d = unit(Pt::new(a.x - back.x, a.y - back.y));
            if d.x != 0.0 || d.y != 0.0 {
                let ext = (ink.reach_along(a, d, width / 2.0 + 0.5, max_run) - width / 2.0).max(0.0);
                pts.p.drain(1..j);
                pts.fixed.drain(1..j);
                pts.measure.drain(1..j);
                pts.p[0] = Pt::new(a.x + d.x * ext, a.y + d.y * ext);
            }
        }
        if !at_start {
            reverse_points(pts);
        }
    }
}

fn reverse_points(pts: &mut Points) {
    pts.p.reverse();
    pts.fixed.reverse();
    pts.measure.reverse();
}

/// Fix points where the path turns by more than `CORNER_DEG` over a window of about the
/// stroke width (the largest turn of a run of such points).
fn mark_corners(pts: &mut Points, closed: bool, width: f64) {
    let n = pts.p.len();
    if n < 5 {
        return;
    }
    let k = (width.round() as usize).clamp(2, 6);
    let at = |i: isize| -> Option<Pt> {
        if closed {
            Some(pts.p[i.rem_euclid(n as isize) as usize])
        } else if i >= 0 && (i as usize) < n {
            Some(pts.p[i as usize])
        } else {
            None
        }
    };
    let turn: Vec<f64> = (0..n as isize)
        .map(|i| {
            let (Some(a), Some(p), Some(b)) = (at(i - k as isize), at(i), at(i + k as isize)) else { return 0.0 };
            let u = unit(Pt::new(p.x - a.x, p.y - a.y));
            let v = unit(Pt::new(b.x - p.x, b.y - p.y));
            // 1 - cos(turn): grows with the turn like the angle, without an acos per point.
            1.0 - (u.x * v.x + u.y * v.y)
        })
        .collect();
    for i in 0..n {
        if turn[i] < 1.0 - CORNER_DEG.to_radians().cos() {
            continue;
        }
        let is_max = (1..=k as isize).all(|j| {
            let lo =
                if closed { Some((i as isize - j).rem_euclid(n as isize) as usize) } else { i.checked_sub(j as usize) };
            let hi = if closed { Some((i + j as usize) % n) } else { Some(i + j as usize).filter(|&h| h < n) };
            lo.is_none_or(|l| turn[l] < turn[i]) && hi.is_none_or(|h| turn[h] <= turn[i])
        });
        if !is_max {
            continue;
        }
        // A corner's turn is done within the window; a tight smooth curve (a small letter's
        // bowl) keeps turning, so over twice the window it turns about twice as much.
        let clamp = |j: isize| if closed { at(j) } else { at(j.clamp(0, n as isize - 1)) };
        let (Some(a), Some(b)) = (clamp(i as isize - 2 * k as isize), clamp(i as isize + 2 * k as isize)) else {
            continue;
        };
        let p = pts.p[i];
        let u = unit(Pt::new(p.x - a.x, p.y - a.y));
        let v = unit(Pt::new(b.x - p.x, b.y - p.y));
        let wide = (u.x * v.x + u.y * v.y).clamp(-1.0, 1.0).acos();
        let narrow = (1.0 - turn[i]).clamp(-1.0, 1.0).acos();
        if wide < 1.4 * narrow {
            pts.fixed[i] = true;
        }
    }
}

/// Thinning cuts the corner of a thick line (the skeleton bevels it over about a width):
/// each corner moves to where the lines on its two sides meet, read from the points between
/// one and three widths away, and the bevel's points go. Left alone when the lines are
/// nearly parallel, meet far from the skeleton's corner, or outside the ink (a round
/// shoulder taken for a corner).
fn sharpen_corners(pts: &mut Points, width: f64, ink: &Ink) {
    let n = pts.p.len();
    let near = 0.75 * width + 1.0;
    let far = 3.0 * width + 3.0;
    let corners: Vec<usize> = (1..n.saturating_sub(1)).filter(|&i| pts.fixed[i]).collect();
    let mut drop = vec![false; n];
    for &i in corners.iter().rev() {
        let c = pts.p[i];
        // Side points in [near, far) from the corner, stopping at another fixed point.
        let side = |range: &mut dyn Iterator<Item = usize>| -> Option<(usize, Pt, Pt)> {
            let (mut inner, mut outer, mut first) = (None, None, None);
            for j in range {
                if pts.fixed[j] {
                    break;
                }
                let d = dist(pts.p[j], c);
                if d >= far {
                    break;
                }
                if d >= near {
                    if inner.is_none() {
                        inner = Some(pts.p[j]);
                        first = Some(j);
                    }
                    outer = Some(pts.p[j]);
                }
            }
            match (first, inner, outer) {
                (Some(f), Some(a), Some(b)) if dist(a, b) >= 1.0 => Some((f, a, b)),
                _ => None,
            }
        };
        let (Some((jl, al, bl)), Some((jr, ar, br))) = (side(&mut (0..i).rev()), side(&mut (i + 1..n))) else {
            continue;
        };
        // Lines al + s (al - bl) and ar + t (ar - br) towards the corner.
        let (u, v) = (Pt::new(al.x - bl.x, al.y - bl.y), Pt::new(ar.x - br.x, ar.y - br.y));
        let den = u.x * v.y - u.y * v.x;
        let (lu, lv) = ((u.x * u.x + u.y * u.y).sqrt(), (v.x * v.x + v.y * v.y).sqrt());
        if den.abs() < 0.2 * lu * lv {
            continue; // within about 12 degrees of parallel
        }
        let w = Pt::new(ar.x - al.x, ar.y - al.y);
        let s_ = (w.x * v.y - w.y * v.x) / den;
        let q = Pt::new(al.x + u.x * s_, al.y + u.y * s_);
        // The meeting point of a real corner's centerlines lies in the ink, at least a
        // radius from the outline around the corner's apex; thinning cuts a corner of
        // angle `a` short by up to about radius / sin(a / 2).
        let cos = ((u.x * v.x + u.y * v.y) / (lu * lv)).clamp(-1.0, 1.0);
        let reach = 0.5 * width / (0.5 * cos.acos()).sin().max(0.1) + 1.0;
        if s_ < 0.0
            || dist(q, c) > reach.max(width + 1.0)
            || ink.run(q, unit(Pt::new(q.x - c.x, q.y - c.y)), width) < 0.25 * width
        {
            continue;
        }
        pts.p[i] = q;
        for (j, d) in drop.iter_mut().enumerate().take(jr).skip(jl + 1) {
            if j != i {
                *d = true;
            }
        }
    }
    if drop.iter().any(|&d| d) {
        let mut k = 0;
        pts.p.retain(|_| (!drop[k], k += 1).0);
        k = 0;
        pts.fixed.retain(|_| (!drop[k], k += 1).0);
        k = 0;
        pts.measure.retain(|_| (!drop[k], k += 1).0);
    }
}

/// Two passes of a [1, 2, 1] filter over the points between fixed ones: removes the pixel
/// jitter of the skeleton without moving ends or corners.
fn smooth(pts: &mut Points, closed: bool) {
    let n = pts.p.len();
    if n < 3 {
        return;
    }
    for _ in 0..2 {
        let src = pts.p.clone();
        for i in 0..n {
            if pts.fixed[i] {
                continue;
            }
            let (a, b) = if closed {
                (src[(i + n - 1) % n], src[(i + 1) % n])
            } else if i == 0 || i == n - 1 {
                continue;
            } else {
                (src[i - 1], src[i + 1])
            };
            pts.p[i] = Pt::new((a.x + 2.0 * src[i].x + b.x) / 4.0, (a.y + 2.0 * src[i].y + b.y) / 4.0);
        }
    }
}

/// Fit the points with lines and cubics; fixed points are kept as segment ends.
fn fit_points(pts: &Points, closed: bool, tol: f64) -> Curve {
    let mut segs = Vec::new();
    let n = pts.p.len();
    if n == 1 {
        return Curve { start: pts.p[0], segs: vec![Seg::Line(pts.p[0])] };
    }
    if !closed {
        let mut v: Vec<(Pt, bool)> = pts.p.iter().copied().zip(pts.fixed.iter().copied()).collect();
        v[0].1 = true;
        v[n - 1].1 = true;
        fit_fixed_sections(&v, tol, &mut segs);
        return Curve { start: pts.p[0], segs };
    }
    match pts.fixed.iter().position(|&f| f) {
        None => {
            let mut p = pts.p.clone();
            p.push(p[0]);
            let m = p.len();
            let t = unit(Pt::new(p[1].x - p[m - 2].x, p[1].y - p[m - 2].y));
            fit_section(&p, Some(t), Some(Pt::new(-t.x, -t.y)), tol, &mut segs);
            Curve { start: p[0], segs }
        }
        Some(first) => {
            let mut rot: Vec<(Pt, bool)> =
                (0..n).map(|j| (pts.p[(first + j) % n], pts.fixed[(first + j) % n])).collect();
            rot.push(rot[0]);
            fit_fixed_sections(&rot, tol, &mut segs);
            Curve { start: rot[0].0, segs }
        }
    }
}
