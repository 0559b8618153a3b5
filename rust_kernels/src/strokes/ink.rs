//! Read-only access to the ink mask in continuous coordinates, for measuring stroke radii,
//! cross-sections and line ends. Pixel (x, y) covers [x, x+1) x [y, y+1); its centre is
//! (x + 0.5, y + 0.5).

use crate::fit::Pt;

pub struct Ink<'a> {
    pub mask: &'a [u8],
    pub w: usize,
    pub h: usize,
    /// Search radius (pixels) of `radius`; radii beyond it are reported as this value.
    pub reach: usize,
}

impl Ink<'_> {
    /// Whether the pixel under point `p` is ink (outside the image is not).
    #[inline]
    pub fn at(&self, p: Pt) -> bool {
        if p.x < 0.0 || p.y < 0.0 {
            return false;
        }
        let (x, y) = (p.x as usize, p.y as usize);
        x < self.w && y < self.h && self.mask[y * self.w + x] != 0
    }

    /// The centre of pixel `i`.
    #[inline]
    pub fn centre(&self, i: u32) -> Pt {
        let i = i as usize;
        Pt::new((i % self.w) as f64 + 0.5, (i / self.w) as f64 + 0.5)
    }

    /// Radius of the largest disc around pixel `i`'s centre that holds only ink: the distance
    /// to the nearest background pixel centre less half a pixel (so a one-pixel line has 0.5).
    pub fn radius(&self, i: u32) -> f64 {
        let i = i as usize;
        let (x, y) = ((i % self.w) as isize, (i / self.w) as isize);
        let reach = self.reach as isize;
        let mut best = (reach * reach + 1) as f64;
        let bg = |nx: isize, ny: isize| {
            nx < 0
                || ny < 0
                || nx as usize >= self.w
                || ny as usize >= self.h
                || self.mask[ny as usize * self.w + nx as usize] == 0
        };
        // Square rings outwards; once a background pixel is seen at ring r, none nearer than
        // the best can lie beyond ring ceil(sqrt(best)).
        let mut limit = reach;
        let mut r = 1;
        while r <= limit {
            for k in -r..=r {
                for (dx, dy) in [(k, -r), (k, r), (-r, k), (r, k)] {
                    let d2 = (dx * dx + dy * dy) as f64;
                    if d2 < best && bg(x + dx, y + dy) {
                        best = d2;
                        limit = limit.min(best.sqrt().ceil() as isize);
                    }
                }
            }
            r += 1;
        }
        (best.sqrt() - 0.5).max(0.5)
    }

    /// Distance from `p` along unit direction `d` until the ink ends (sampled every quarter
    /// pixel, at most `max` pixels).
    pub fn run(&self, p: Pt, d: Pt, max: f64) -> f64 {
        let mut t = 0.0;
        while t < max {
            let q = Pt::new(p.x + d.x * (t + 0.25), p.y + d.y * (t + 0.25));
            if !self.at(q) {
                return t + 0.125;
            }
            t += 0.25;
        }
        max
    }

    /// How far the ink reaches from `a` along unit direction `d` within a band of half-width
    /// `half` around that ray (at most `max` pixels): the farthest projection of an ink pixel
    /// in the band, plus the pixel's own half extent along `d`. Reads pixels, not samples along
    /// the ray, so a thin sloped line's staircase does not stop it early.
    pub fn reach_along(&self, a: Pt, d: Pt, half: f64, max: f64) -> f64 {
        let b = Pt::new(a.x + d.x * max, a.y + d.y * max);
        let pad = half + 1.0;
        let x0 = (a.x.min(b.x) - pad).floor().max(0.0) as usize;
        let y0 = (a.y.min(b.y) - pad).floor().max(0.0) as usize;
        let x1 = ((a.x.max(b.x) + pad).ceil().max(0.0) as usize).min(self.w);
        let y1 = ((a.y.max(b.y) + pad).ceil().max(0.0) as usize).min(self.h);
        let extent = 0.5 * (d.x.abs() + d.y.abs());
        let mut ts: Vec<f64> = Vec::new();
        for y in y0..y1 {
            for x in x0..x1 {
                if self.mask[y * self.w + x] == 0 {
                    continue;
                }
                let (cx, cy) = (x as f64 + 0.5 - a.x, y as f64 + 0.5 - a.y);
                let t = cx * d.x + cy * d.y;
                if t < -0.5 || t > max || (cx * d.y - cy * d.x).abs() > half {
                    continue;
                }
                ts.push(t);
            }
        }
        // Only ink connected to `a` along the ray counts: stop at the first gap of more than
        // a pixel's diagonal (another line ahead is not this line's continuation).
        ts.sort_by(f64::total_cmp);
        let mut best = f64::NEG_INFINITY;
        for t in ts {
            if best.is_finite() && t > best + std::f64::consts::SQRT_2 {
                break;
            }
            if !best.is_finite() && t > std::f64::consts::SQRT_2 {
                break;
            }
            best = best.max(t);
        }
        if best.is_finite() {
            best + extent
        } else {
            0.0
        }
    }

    /// The 8-connected ink blob holding pixel `i`, read up to `cap` pixels: its centroid
    /// (pixel centres) and its area in pixels. For dots, whose skeleton is a single pixel.
    pub fn blob(&self, i: u32, cap: usize) -> (Pt, usize) {
        let mut seen = std::collections::HashSet::new();
        let mut stack = vec![i as usize];
        seen.insert(i as usize);
        let (mut sx, mut sy) = (0.0, 0.0);
        while let Some(p) = stack.pop() {
            let (x, y) = (p % self.w, p / self.w);
            sx += x as f64 + 0.5;
            sy += y as f64 + 0.5;
            if seen.len() >= cap {
                continue;
            }
            for (dx, dy) in [(-1, -1), (0, -1), (1, -1), (-1, 0), (1, 0), (-1, 1), (0, 1), (1, 1)] {
                let (nx, ny) = (x as isize + dx, y as isize + dy);
                if nx < 0 || ny < 0 || nx as usize >= self.w || ny as usize >= self.h {
                    continue;
                }
                let q = ny as usize * self.w + nx as usize;
                if self.mask[q] != 0 && seen.len() < cap && seen.insert(q) {
                    stack.push(q);
                }
            }
        }
        let n = seen.len();
        (Pt::new(sx / n as f64, sy / n as f64), n)
    }
}
