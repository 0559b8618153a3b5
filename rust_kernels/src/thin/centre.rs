//! Centerlines moved onto the middle of the line's grey levels. A centerline traced from a
//! binary mask sits on pixel centres; an anti-aliased 1 px line lies between them, and half a
//! pixel off is half its width. Each vertex (and each Bezier control point, read at a third
//! and two thirds of its segment) moves along the normal to the response-weighted centroid of
//! the line's cross-section there.

use crate::fit::{Curve, Pt, Seg};

/// The farthest a point moves (px): the centroid of a mask-traced line is within a pixel.
const MAX_SHIFT: f64 = 0.75;
/// Spacing of the samples across the line (px).
const STEP: f64 = 0.25;

/// The response of one stroke's own pixels: a pixel owned by another stroke (a line
/// meeting this one at a junction) reads as 0, so it does not pull the centroid.
pub struct Own<'a> {
    pub response: &'a [f32],
    pub owner: &'a [u32],
    pub stroke: u32,
    pub w: usize,
    pub h: usize,
}

/// Bilinear response at a point in pixel units (pixel (x, y) has its centre at (x + .5, y + .5)).
fn sample(own: &Own, x: f64, y: f64) -> f64 {
    let (w, h) = (own.w, own.h);
    let (fx, fy) = (x - 0.5, y - 0.5);
    let (x0, y0) = (fx.floor(), fy.floor());
    let (tx, ty) = (fx - x0, fy - y0);
    let at = |xx: f64, yy: f64| {
        let (xi, yi) = (xx.clamp(0.0, w as f64 - 1.0) as usize, yy.clamp(0.0, h as f64 - 1.0) as usize);
        let i = yi * w + xi;
        if own.owner[i] == own.stroke {
            own.response[i] as f64
        } else {
            0.0
        }
    };
    let top = at(x0, y0) * (1.0 - tx) + at(x0 + 1.0, y0) * tx;
    let bottom = at(x0, y0 + 1.0) * (1.0 - tx) + at(x0 + 1.0, y0 + 1.0) * tx;
    top * (1.0 - ty) + bottom * ty
}

/// The shift (along `dir`'s normal) that puts `p` on the centroid of the response across it,
/// looking `reach` px to each side.
fn shift(p: Pt, dir: (f64, f64), own: &Own, reach: f64) -> Pt {
    let len = dir.0.hypot(dir.1);
    if len < 1e-9 {
        return p;
    }
    let n = (-dir.1 / len, dir.0 / len);
    let steps = (reach / STEP).round() as i64;
    let (mut sum, mut moment) = (0.0, 0.0);
    for k in -steps..=steps {
        let s = k as f64 * STEP;
        let r = sample(own, p.x + s * n.0, p.y + s * n.1);
        sum += r;
        moment += r * s;
    }
    if sum <= 0.0 {
        return p;
    }
    let d = (moment / sum).clamp(-MAX_SHIFT, MAX_SHIFT);
    Pt::new(p.x + d * n.0, p.y + d * n.1)
}

fn cubic(a: Pt, b: Pt, c: Pt, d: Pt, t: f64) -> (Pt, (f64, f64)) {
    let u = 1.0 - t;
    let p = Pt::new(
        u * u * u * a.x + 3.0 * u * u * t * b.x + 3.0 * u * t * t * c.x + t * t * t * d.x,
        u * u * u * a.y + 3.0 * u * u * t * b.y + 3.0 * u * t * t * c.y + t * t * t * d.y,
    );
    let dx = 3.0 * u * u * (b.x - a.x) + 6.0 * u * t * (c.x - b.x) + 3.0 * t * t * (d.x - c.x);
    let dy = 3.0 * u * u * (b.y - a.y) + 6.0 * u * t * (c.y - b.y) + 3.0 * t * t * (d.y - c.y);
    (p, (dx, dy))
}

/// A point of a segment and the direction there.
fn at(from: Pt, seg: &Seg, t: f64) -> (Pt, (f64, f64)) {
    match *seg {
        Seg::Line(p) => {
            (Pt::new(from.x + (p.x - from.x) * t, from.y + (p.y - from.y) * t), (p.x - from.x, p.y - from.y))
        }
        Seg::Cubic(c1, c2, p) => cubic(from, c1, c2, p, t),
    }
}

/// `curve` with every vertex and control point moved onto the centroid of the stroke's own
/// response across the line, looking `reach` px to each side. A vertex moves by the mean of
/// the shifts measured a quarter into each segment meeting there (not at the vertex itself,
/// where a corner or a junction blurs the cross-section); a control point by the shift at a
/// third (two thirds) of its segment. A dot (no segment) stays.
pub fn recentre(curve: &Curve, closed: bool, own: &Own, reach: f64) -> Curve {
    let m = curve.segs.len();
    if m == 0 {
        return curve.clone();
    }
    let mut verts = vec![curve.start];
    verts.extend(curve.segs.iter().map(|s| s.end()));
    let delta = |t: f64, j: usize| -> (f64, f64) {
        let (q, d) = at(verts[j], &curve.segs[j], t);
        let s = shift(q, d, own, reach);
        (s.x - q.x, s.y - q.y)
    };
    // Shifts measured near the start and the end of each segment.
    let near: Vec<((f64, f64), (f64, f64))> = (0..m).map(|j| (delta(0.25, j), delta(0.75, j))).collect();
    let vshift = |j: usize| -> (f64, f64) {
        let inc = if j > 0 {
            Some(near[j - 1].1)
        } else if closed {
            Some(near[m - 1].1)
        } else {
            None
        };
        let out = if j < m {
            Some(near[j].0)
        } else if closed {
            Some(near[0].0)
        } else {
            None
        };
        match (inc, out) {
            (Some(a), Some(b)) => ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => (0.0, 0.0),
        }
    };
    let moved: Vec<Pt> = (0..=m)
        .map(|j| {
            let d = vshift(j);
            Pt::new(verts[j].x + d.0, verts[j].y + d.1)
        })
        .collect();
    let mut out = Curve { start: moved[0], segs: Vec::with_capacity(m) };
    for j in 0..m {
        let end = if closed && j == m - 1 { moved[0] } else { moved[j + 1] };
        out.segs.push(match curve.segs[j] {
            Seg::Line(_) => Seg::Line(end),
            Seg::Cubic(c1, c2, _) => {
                let (d1, d2) = (delta(1.0 / 3.0, j), delta(2.0 / 3.0, j));
                Seg::Cubic(Pt::new(c1.x + d1.0, c1.y + d1.1), Pt::new(c2.x + d2.0, c2.y + d2.1), end)
            }
        });
    }
    out
}
