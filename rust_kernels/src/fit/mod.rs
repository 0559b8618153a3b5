//! Curve fitting of boundary edges: staircase removal, corner detection and least-squares
//! cubic Bezier fitting (Schneider, "An algorithm for automatically fitting digitized curves",
//! Graphics Gems 1990) within an error bound.
//!
//! Each edge of the boundary graph is fitted exactly once; both regions that own it reuse the
//! same curve (one of them reversed), and junction end points stay fixed, so neighbouring
//! shapes can never gap or overlap whatever the tolerance.
//!
//! Staircase removal: an edge is a chain of axis-aligned runs between turning points. Each
//! run is replaced by its midpoint, which puts digital straight lines of any slope on a
//! straight line. A turn is kept as a sharp *corner* when both runs beside it are at least
//! `corner_run` pixels long, or when it ends a short run whose two turns go the same way (a
//! cap, such as the end of a one-pixel line), or when the de-staircased outline turns sharply
//! there (`sharp.rs`: the tip of a spike or wedge, a notch); other turns are pixel steps and
//! are smoothed. The fitted curve is held within the tolerance at the data points and halfway
//! between them, so it cannot bulge across a step or round a kept corner off.

use crate::boundary::Edge;

mod sharp;
use sharp::sharp_turns;

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Pt {
    pub x: f64,
    pub y: f64,
}

impl Pt {
    #[inline]
    pub fn new(x: f64, y: f64) -> Pt {
        Pt { x, y }
    }
    #[inline]
    fn add(self, o: Pt) -> Pt {
        Pt::new(self.x + o.x, self.y + o.y)
    }
    #[inline]
    fn sub(self, o: Pt) -> Pt {
        Pt::new(self.x - o.x, self.y - o.y)
    }
    #[inline]
    fn scale(self, s: f64) -> Pt {
        Pt::new(self.x * s, self.y * s)
    }
    #[inline]
    fn dot(self, o: Pt) -> f64 {
        self.x * o.x + self.y * o.y
    }
    #[inline]
    fn len(self) -> f64 {
        self.dot(self).sqrt()
    }
    #[inline]
    fn normalized(self) -> Pt {
        let l = self.len();
        if l > 0.0 {
            self.scale(1.0 / l)
        } else {
            self
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Seg {
    Line(Pt),
    /// Control point 1, control point 2, end point.
    Cubic(Pt, Pt, Pt),
}

impl Seg {
    pub fn end(&self) -> Pt {
        match *self {
            Seg::Line(p) | Seg::Cubic(_, _, p) => p,
        }
    }
}

/// A fitted edge: a start point and segments. For closed edges the last segment ends at the start.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Curve {
    pub start: Pt,
    pub segs: Vec<Seg>,
}

impl Curve {
    pub fn end(&self) -> Pt {
        self.segs.last().map(|s| s.end()).unwrap_or(self.start)
    }

    /// The same curve walked backwards.
    pub fn reversed(&self) -> Curve {
        let mut segs = Vec::with_capacity(self.segs.len());
        for i in (0..self.segs.len()).rev() {
            let from = if i == 0 { self.start } else { self.segs[i - 1].end() };
            segs.push(match self.segs[i] {
                Seg::Line(_) => Seg::Line(from),
                Seg::Cubic(c1, c2, _) => Seg::Cubic(c2, c1, from),
            });
        }
        Curve { start: self.end(), segs }
    }
}

#[derive(Clone, Debug)]
pub struct FitOptions {
    /// Maximum distance (pixels) between the fitted curve and the smoothed boundary.
    pub tolerance: f64,
    /// A turn between two runs at least this long is a corner. 1 keeps every pixel corner
    /// (pixel art); 2 smooths staircases.
    pub corner_run: u32,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions { tolerance: 0.5, corner_run: 2 }
    }
}

fn turn_sign(a: (i32, i32), b: (i32, i32), c: (i32, i32)) -> i64 {
    let (ux, uy) = ((b.0 - a.0) as i64, (b.1 - a.1) as i64);
    let (vx, vy) = ((c.0 - b.0) as i64, (c.1 - b.1) as i64);
    (ux * vy - uy * vx).signum()
}

fn run_len(a: (i32, i32), b: (i32, i32)) -> u32 {
    ((b.0 - a.0).abs() + (b.1 - a.1).abs()) as u32
}

/// Whether a turn between runs of lengths `a` and `b` is a corner. `before`/`after` say whether
/// the neighbouring turns (when they exist) turn the other way, as they do along a staircase.
/// Long runs on both sides make a corner, except in the middle of a staircase, where both
/// runs must be at least twice `corner_run` (an L-shape's inner corner, a real step).
fn is_corner(a: u32, b: u32, before: Option<bool>, after: Option<bool>, corner_run: u32) -> bool {
    if corner_run <= 1 {
        return true;
    }
    if a < corner_run || b < corner_run {
        return false;
    }
    let staircase = before == Some(true) && after == Some(true);
    !staircase || a.min(b) >= 2 * corner_run
}

/// Smoothed points of an edge and whether each is fixed (a corner or an end point). With a
/// `frame` (image width, height), turning points on the image border are fixed too, so that
/// boundaries along the border stay on it (the outside is never painted).
pub fn smooth_points(edge: &Edge, corner_run: u32, frame: Option<(i32, i32)>) -> Vec<(Pt, bool)> {
    let t = &edge.points;
    let m = t.len();
    let on_frame = |p: (i32, i32)| frame.is_some_and(|(w, h)| p.0 == 0 || p.1 == 0 || p.0 == w || p.1 == h);
    let pt = |p: (i32, i32)| Pt::new(p.0 as f64, p.1 as f64);
    let mid = |a: (i32, i32), b: (i32, i32)| Pt::new((a.0 + b.0) as f64 * 0.5, (a.1 + b.1) as f64 * 0.5);
    if edge.closed {
        // Every stored point is a turn; run i goes from t[i] to t[i+1 mod m].
        let idx = |i: isize| t[i.rem_euclid(m as isize) as usize];
        let len = |i: isize| run_len(idx(i), idx(i + 1));
        let sign = |i: isize| turn_sign(idx(i - 1), idx(i), idx(i + 1)); // turn at t[i]
        let cap = |r: isize| len(r) < corner_run && sign(r) == sign(r + 1);
        let corner = |i: isize| {
            is_corner(len(i - 1), len(i), Some(sign(i - 1) != sign(i)), Some(sign(i + 1) != sign(i)), corner_run)
                || cap(i - 1)
                || cap(i)
        };
        let mids: Vec<Pt> = (0..m as isize).map(|i| mid(idx(i), idx(i + 1))).collect();
        let turns: Vec<Pt> = t.iter().map(|&p| pt(p)).collect();
        let sharp = if corner_run > 1 { sharp_turns(&mids, &turns, true) } else { vec![false; m] };
        let mut out = Vec::with_capacity(2 * m);
        for i in 0..m as isize {
            if corner(i) || sharp[i as usize] || on_frame(idx(i)) {
                out.push((pt(idx(i)), true));
            }
            out.push((mid(idx(i), idx(i + 1)), false));
        }
        out
    } else {
        // t[0] and t[m-1] are junctions; t[1..m-1] are turns; run i goes from t[i] to t[i+1].
        let runs = m - 1;
        let len = |i: usize| run_len(t[i], t[i + 1]);
        let is_turn = |i: usize| i >= 1 && i + 1 < m;
        let sign = |i: usize| turn_sign(t[i - 1], t[i], t[i + 1]);
        let cap = |r: usize| is_turn(r) && is_turn(r + 1) && len(r) < corner_run && sign(r) == sign(r + 1);
        let flips = |j: usize, i: usize| is_turn(j).then(|| sign(j) != sign(i));
        let corner = |i: usize| {
            is_corner(len(i - 1), len(i), flips(i - 1, i), flips(i + 1, i), corner_run) || cap(i - 1) || cap(i)
        };
        // mids[r] is run r's midpoint; turn t[i] (1 <= i < runs) sits between runs i-1 and i.
        let mids: Vec<Pt> = (0..runs).map(|i| mid(t[i], t[i + 1])).collect();
        let turns: Vec<Pt> = t.iter().map(|&p| pt(p)).collect();
        let sharp = if corner_run > 1 && runs > 1 { sharp_turns(&mids, &turns, false) } else { vec![false; m] };
        let mut out = Vec::with_capacity(2 * m);
        out.push((pt(t[0]), true));
        for i in 0..runs {
            out.push((mid(t[i], t[i + 1]), false));
            if i + 1 < runs && (corner(i + 1) || sharp[i + 1] || on_frame(t[i + 1])) {
                out.push((pt(t[i + 1]), true));
            }
        }
        out.push((pt(t[m - 1]), true));
        out
    }
}

/// Fit one boundary edge (no image frame: every turn may be smoothed).
pub fn fit_edge(edge: &Edge, opts: &FitOptions) -> Curve {
    fit_edge_in_frame(edge, opts, None)
}

/// Fit one boundary edge of an image of size `frame` (turns on the image border stay fixed).
pub fn fit_edge_in_frame(edge: &Edge, opts: &FitOptions, frame: Option<(i32, i32)>) -> Curve {
    let pts = smooth_points(edge, opts.corner_run, frame);
    let tol = opts.tolerance.max(1e-3);
    let mut segs = Vec::new();
    if edge.closed {
        match pts.iter().position(|p| p.1) {
            None => {
                // A smooth closed loop: start at the first point, tangent continuous there.
                let mut p: Vec<Pt> = pts.iter().map(|p| p.0).collect();
                p.push(p[0]);
                let n = p.len();
                let t = p[1].sub(p[n - 2]).normalized();
                fit_section(&p, Some(t), Some(t.scale(-1.0)), tol, &mut segs);
                Curve { start: p[0], segs }
            }
            Some(first) => {
                // Rotate to start at a corner, then fit each stretch between corners.
                let mut rot: Vec<(Pt, bool)> = pts[first..].iter().chain(&pts[..first]).copied().collect();
                rot.push(rot[0]);
                fit_fixed_sections(&rot, tol, &mut segs);
                Curve { start: rot[0].0, segs }
            }
        }
    } else {
        fit_fixed_sections(&pts, tol, &mut segs);
        Curve { start: pts[0].0, segs }
    }
}

pub(crate) fn fit_fixed_sections(pts: &[(Pt, bool)], tol: f64, segs: &mut Vec<Seg>) {
    let mut a = 0;
    let p: Vec<Pt> = pts.iter().map(|p| p.0).collect();
    for b in 1..pts.len() {
        if pts[b].1 || b == pts.len() - 1 {
            fit_section(&p[a..=b], None, None, tol, segs);
            a = b;
        }
    }
}

/// Fit points p[0..] (end points fixed) with lines and cubics. Tangents default to one-sided
/// estimates at the ends.
pub(crate) fn fit_section(p: &[Pt], t1: Option<Pt>, t2: Option<Pt>, tol: f64, segs: &mut Vec<Seg>) {
    let n = p.len();
    if n < 2 {
        return;
    }
    let (first, last) = (p[0], p[n - 1]);
    if n == 2 || (first != last && max_chord_distance(p) <= tol) {
        segs.push(Seg::Line(last));
        return;
    }
    let t1 = t1.unwrap_or_else(|| end_tangent(p, false));
    let t2 = t2.unwrap_or_else(|| end_tangent(p, true));
    fit_cubic(p, t1, t2, tol, segs, 0);
}

/// Largest distance of the points from the chord between the first and the last.
fn max_chord_distance(p: &[Pt]) -> f64 {
    let (a, b) = (p[0], p[p.len() - 1]);
    let d = b.sub(a);
    let l = d.len();
    p.iter()
        .map(|q| {
            let v = q.sub(a);
            if l == 0.0 {
                v.len()
            } else {
                let t = v.dot(d) / (l * l);
                if t < 0.0 {
                    v.len()
                } else if t > 1.0 {
                    q.sub(b).len()
                } else {
                    (v.x * d.y - v.y * d.x).abs() / l
                }
            }
        })
        .fold(0.0, f64::max)
}

/// Tangent at an end of the section, pointing into it, averaged over a few points.
fn end_tangent(p: &[Pt], at_end: bool) -> Pt {
    let n = p.len();
    let k = (n - 1).min(3);
    let mut acc = Pt::new(0.0, 0.0);
    for i in 1..=k {
        let v = if at_end { p[n - 1 - i].sub(p[n - 1]) } else { p[i].sub(p[0]) };
        acc = acc.add(v.normalized());
    }
    let t = acc.normalized();
    if t.len() == 0.0 {
        (if at_end { p[0].sub(p[n - 1]) } else { p[n - 1].sub(p[0]) }).normalized()
    } else {
        t
    }
}

#[inline]
fn bezier(b: &[Pt; 4], u: f64) -> Pt {
    let v = 1.0 - u;
    b[0].scale(v * v * v).add(b[1].scale(3.0 * v * v * u)).add(b[2].scale(3.0 * v * u * u)).add(b[3].scale(u * u * u))
}

fn chord_params(p: &[Pt]) -> Vec<f64> {
    let mut u = Vec::with_capacity(p.len());
    u.push(0.0);
    for i in 1..p.len() {
        u.push(u[i - 1] + p[i].sub(p[i - 1]).len());
    }
    let total = *u.last().unwrap();
    if total > 0.0 {
        for x in u.iter_mut() {
            *x /= total;
        }
    }
    u
}

/// Least-squares control points with fixed end tangents (Schneider's generateBezier).
fn generate(p: &[Pt], u: &[f64], t1: Pt, t2: Pt) -> [Pt; 4] {
    let (p0, p3) = (p[0], p[p.len() - 1]);
    let (mut c00, mut c01, mut c11, mut x0, mut x1) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (q, &t) in p.iter().zip(u) {
        let v = 1.0 - t;
        let (b0, b1, b2, b3) = (v * v * v, 3.0 * v * v * t, 3.0 * v * t * t, t * t * t);
        let a0 = t1.scale(b1);
        let a1 = t2.scale(b2);
        c00 += a0.dot(a0);
        c01 += a0.dot(a1);
        c11 += a1.dot(a1);
        let tmp = q.sub(p0.scale(b0 + b1).add(p3.scale(b2 + b3)));
        x0 += a0.dot(tmp);
        x1 += a1.dot(tmp);
    }
    let det = c00 * c11 - c01 * c01;
    let seg_len = p3.sub(p0).len();
    let (mut al, mut ar) =
        if det.abs() > 1e-12 { ((x0 * c11 - x1 * c01) / det, (c00 * x1 - c01 * x0) / det) } else { (0.0, 0.0) };
    let eps = 1e-6 * seg_len;
    if al < eps || ar < eps || al > 3.0 * seg_len || ar > 3.0 * seg_len {
        // Fall back to Wu/Barsky's heuristic.
        al = seg_len / 3.0;
        ar = seg_len / 3.0;
    }
    [p0, p0.add(t1.scale(al)), p3.add(t2.scale(ar)), p3]
}

fn max_error(p: &[Pt], b: &[Pt; 4], u: &[f64]) -> (f64, usize) {
    let n = p.len();
    let mut worst = 0.0;
    let mut split = n / 2;
    for i in 1..n - 1 {
        let d = bezier(b, u[i]).sub(p[i]);
        let e = d.dot(d);
        if e >= worst {
            worst = e;
            split = i;
        }
    }
    // Between data points too: a cubic can meet every point and still bulge out between
    // two of them (across a pixel step or round a corner it was not allowed to keep).
    for i in 0..n - 1 {
        let q = bezier(b, 0.5 * (u[i] + u[i + 1]));
        let e = segment_distance2(q, p[i], p[i + 1]);
        if e > worst {
            worst = e;
            split = i.max(1);
        }
    }
    (worst, split)
}

/// Squared distance from `q` to the segment `a`-`b`.
fn segment_distance2(q: Pt, a: Pt, b: Pt) -> f64 {
    let d = b.sub(a);
    let l2 = d.dot(d);
    let t = if l2 > 0.0 { (q.sub(a).dot(d) / l2).clamp(0.0, 1.0) } else { 0.0 };
    let r = q.sub(a.add(d.scale(t)));
    r.dot(r)
}

/// One Newton-Raphson step per point towards the closest curve parameter.
fn reparameterize(p: &[Pt], u: &mut [f64], b: &[Pt; 4]) {
    let d1 = [b[1].sub(b[0]).scale(3.0), b[2].sub(b[1]).scale(3.0), b[3].sub(b[2]).scale(3.0)];
    let d2 = [d1[1].sub(d1[0]).scale(2.0), d1[2].sub(d1[1]).scale(2.0)];
    for (q, t) in p.iter().zip(u.iter_mut()) {
        let s = *t;
        let v = 1.0 - s;
        let q0 = bezier(b, s);
        let q1 = d1[0].scale(v * v).add(d1[1].scale(2.0 * v * s)).add(d1[2].scale(s * s));
        let q2 = d2[0].scale(v).add(d2[1].scale(s));
        let diff = q0.sub(*q);
        let den = q1.dot(q1) + diff.dot(q2);
        if den.abs() > 1e-12 {
            *t = (s - diff.dot(q1) / den).clamp(0.0, 1.0);
        }
    }
}

fn fit_cubic(p: &[Pt], t1: Pt, t2: Pt, tol: f64, segs: &mut Vec<Seg>, depth: u32) {
    let n = p.len();
    if n <= 2 {
        segs.push(Seg::Line(p[n - 1]));
        return;
    }
    let tol2 = tol * tol;
    let mut u = chord_params(p);
    let mut b = generate(p, &u, t1, t2);
    let (mut err, mut split) = max_error(p, &b, &u);
    if err > tol2 && err < 16.0 * tol2 {
        for _ in 0..6 {
            reparameterize(p, &mut u, &b);
            b = generate(p, &u, t1, t2);
            (err, split) = max_error(p, &b, &u);
            if err <= tol2 {
                break;
            }
        }
    }
    if err <= tol2 || depth > 32 {
        push_cubic(&b, p, tol, segs);
        return;
    }
    let split = split.clamp(1, n - 2);
    let tc = p[split - 1].sub(p[split + 1]).normalized();
    let tc = if tc.len() == 0.0 { p[split - 1].sub(p[split]).normalized() } else { tc };
    if first_is_line(&p[..=split], tol) {
        segs.push(Seg::Line(p[split]));
    } else {
        fit_cubic(&p[..=split], t1, tc, tol, segs, depth + 1);
    }
    if first_is_line(&p[split..], tol) {
        segs.push(Seg::Line(p[n - 1]));
    } else {
        fit_cubic(&p[split..], tc.scale(-1.0), t2, tol, segs, depth + 1);
    }
}

fn first_is_line(p: &[Pt], tol: f64) -> bool {
    p.len() <= 2 || (p[0] != p[p.len() - 1] && max_chord_distance(p) <= tol * 0.5)
}

/// Emit a cubic, or a line when the cubic is straight to well within the tolerance.
fn push_cubic(b: &[Pt; 4], p: &[Pt], tol: f64, segs: &mut Vec<Seg>) {
    let chord = [b[0], b[1], b[2], b[3]];
    if b[0] != b[3] && max_chord_distance(&chord) <= tol * 0.25 && max_chord_distance(p) <= tol {
        segs.push(Seg::Line(b[3]));
    } else {
        segs.push(Seg::Cubic(b[1], b[2], b[3]));
    }
}

#[cfg(test)]
mod tests;
