//! What each stroke covers (its footprint: the pixels nearer to it than to any other stroke,
//! within reach), its colour and width read from the source there, and whether it explains
//! those pixels better than the fills do.

use crate::fit::{Curve, Seg};
use std::f64::consts::PI;

/// No stroke owns the pixel.
pub const NONE: u32 = u32::MAX;

/// Points along a curve, at most half a pixel apart (a dot is its one point).
pub fn flatten(curve: &Curve) -> Vec<(f64, f64)> {
    let mut pts = vec![(curve.start.x, curve.start.y)];
    let mut from = curve.start;
    for seg in &curve.segs {
        match *seg {
            Seg::Line(p) => {
                let n = (((p.x - from.x).hypot(p.y - from.y)) / 0.5).ceil().max(1.0) as usize;
                for k in 1..=n {
                    let t = k as f64 / n as f64;
                    pts.push((from.x + (p.x - from.x) * t, from.y + (p.y - from.y) * t));
                }
            }
            Seg::Cubic(c1, c2, p) => {
                // The control polygon is at least as long as the curve: enough samples.
                let poly = (c1.x - from.x).hypot(c1.y - from.y)
                    + (c2.x - c1.x).hypot(c2.y - c1.y)
                    + (p.x - c2.x).hypot(p.y - c2.y);
                let n = (poly / 0.5).ceil().max(1.0) as usize;
                for k in 1..=n {
                    let t = k as f64 / n as f64;
                    let u = 1.0 - t;
                    let (a, b, c, d) = (u * u * u, 3.0 * u * u * t, 3.0 * u * t * t, t * t * t);
                    pts.push((a * from.x + b * c1.x + c * c2.x + d * p.x, a * from.y + b * c1.y + c * c2.y + d * p.y));
                }
            }
        }
        from = seg.end();
    }
    pts
}

/// Length of a polyline.
pub fn length(pts: &[(f64, f64)]) -> f64 {
    pts.windows(2).map(|p| (p[1].0 - p[0].0).hypot(p[1].1 - p[0].1)).sum()
}

fn segment_distance(px: f64, py: f64, a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 { (((px - a.0) * dx + (py - a.1) * dy) / len2).clamp(0.0, 1.0) } else { 0.0 };
    (px - a.0 - t * dx).hypot(py - a.1 - t * dy)
}

/// Per pixel: the nearest polyline within reach (`NONE` if none) and the distance to it.
pub struct Footprints {
    pub owner: Vec<u32>,
    pub dist: Vec<f32>,
}

/// The footprints of polylines: per pixel, the nearest polyline within `reach` px (distance
/// from the pixel centre) and that distance. Polylines are visited in order and only a
/// strictly nearer one takes a pixel over, so ties go to the first.
pub fn owners(lines: &[Vec<(f64, f64)>], w: usize, h: usize, reach: f64) -> Footprints {
    let mut owner = vec![NONE; w * h];
    let mut dist = vec![f32::INFINITY; w * h];
    for (k, pts) in lines.iter().enumerate() {
        let pairs: Vec<((f64, f64), (f64, f64))> =
            if pts.len() == 1 { vec![(pts[0], pts[0])] } else { pts.windows(2).map(|p| (p[0], p[1])).collect() };
        for (a, b) in pairs {
            let x0 = ((a.0.min(b.0) - reach - 0.5).floor().max(0.0)) as usize;
            let y0 = ((a.1.min(b.1) - reach - 0.5).floor().max(0.0)) as usize;
            let x1 = ((a.0.max(b.0) + reach + 0.5).ceil().max(0.0) as usize).min(w);
            let y1 = ((a.1.max(b.1) + reach + 0.5).ceil().max(0.0) as usize).min(h);
            for y in y0..y1 {
                for x in x0..x1 {
                    let d = segment_distance(x as f64 + 0.5, y as f64 + 0.5, a, b);
                    let i = y * w + x;
                    if d <= reach && (d as f32) < dist[i] {
                        dist[i] = d as f32;
                        owner[i] = k as u32;
                    }
                }
            }
        }
    }
    Footprints { owner, dist }
}

/// How a polyline runs against the pixel grid: its length along the nearer axis over its
/// length, mean over its pieces (1 along a row or column, 1/sqrt(2) on a diagonal); 1 for a dot.
pub fn axis_share(pts: &[(f64, f64)]) -> f64 {
    let (mut along, mut total) = (0.0, 0.0);
    for p in pts.windows(2) {
        let (dx, dy) = ((p[1].0 - p[0].0).abs(), (p[1].1 - p[0].1).abs());
        along += dx.max(dy);
        total += dx.hypot(dy);
    }
    if total > 0.0 {
        along / total
    } else {
        1.0
    }
}

/// The width to write for a stroke that should carry `ink` px of full contrast across it
/// (its area width). Renderers of the Skia family (resvg, browsers) draw a stroke at most 1 px
/// wide as an anti-aliased hairline whose coverage is scaled by the width: it lays down
/// `width * share` of ink across (`axis_share`), not `width`. Measured with resvg: a 1 px
/// line at 45 degrees renders 0.707 px of ink, at 35 degrees 0.819, a 2 px one 1.94 to 2.0.
/// So a hairline's width is `ink / share` (at most 1); a wider stroke's is its ink.
///
/// ```
/// use vectile_kernels::thin::footprint::written_width;
/// assert_eq!(written_width(0.5, 1.0), 0.5); // along a row: as measured
/// assert!((written_width(0.5, 0.7071) - 0.7071).abs() < 1e-3); // on a diagonal: wider
/// assert_eq!(written_width(0.9, 0.7071), 1.0); // a hairline carries at most `share`
/// assert_eq!(written_width(1.6, 0.7071), 1.6);
/// ```
pub fn written_width(ink: f64, share: f64) -> f64 {
    if ink >= 1.0 {
        ink
    } else {
        (ink / share.max(0.5)).min(1.0)
    }
}

/// A stroke's width from the ink it carries: `area` pixels of full contrast (the response
/// summed over its footprint over its strongest response) drawn with round caps along a
/// centerline `length` px long, `w * length + pi w^2 / 4 = area`.
///
/// ```
/// use vectile_kernels::thin::footprint::ink_width;
/// assert!((ink_width(20.0, 20.0) - 0.9635).abs() < 1e-3); // a 1 px line 20 px long, and its caps
/// assert!((ink_width(std::f64::consts::PI, 0.0) - 2.0).abs() < 1e-9); // a round dot
/// ```
pub fn ink_width(area: f64, length: f64) -> f64 {
    if area <= 0.0 {
        return 0.0;
    }
    (-length + (length * length + PI * area).sqrt()) / (PI / 2.0)
}

/// The share of pixel `d` px from a centerline that a stroke `width` px wide covers (a box
/// filter across the line: 1 inside, a linear ramp over the pixel at the rim).
#[inline]
pub fn coverage(d: f32, width: f32) -> f32 {
    (width / 2.0 + 0.5 - d).clamp(0.0, 1.0)
}

/// Squared RGB distance.
#[inline]
pub fn dist2(a: [f32; 3], b: [f32; 3]) -> f32 {
    (0..3).map(|c| (a[c] - b[c]) * (a[c] - b[c])).sum()
}

/// `a * t + b * (1 - t)` per channel.
#[inline]
pub fn mix(a: [f32; 3], b: [f32; 3], t: f32) -> [f32; 3] {
    [a[0] * t + b[0] * (1.0 - t), a[1] * t + b[1] * (1.0 - t), a[2] * t + b[2] * (1.0 - t)]
}
