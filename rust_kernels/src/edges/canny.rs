//! Canny edge detection: Gaussian blur, Sobel gradient (strongest channel of colour input),
//! interpolated non-maximum suppression, double threshold and hysteresis.
//!
//! Blur, gradient and suppression run as one streaming pass per band of rows (rayon): each
//! band keeps three blurred rows and three gradient rows in small ring buffers, so the working
//! set stays in cache and no full-size intermediate image is written.
//!
//! Units: gradient magnitudes are normalised by `SOBEL_UNIT` (1020, the Sobel response to an
//! unblurred black-to-white step), so thresholds and strengths are image-independent numbers
//! (a step of contrast `c` (0..1) blurred with sigma 1.4 peaks near 0.5 c).
//!
//! Non-maximum suppression (interpolated, as in scikit-image): the magnitude `m` of a pixel is
//! compared with the magnitudes interpolated linearly at one pixel's distance along the gradient
//! direction, on both sides. The comparison is strict on the side towards smaller x (towards
//! smaller y for near-vertical gradients) and non-strict on the other, so a symmetric step
//! between two pixels marks exactly one of them: the left (top) one. Magnitudes outside the
//! image count as 0.
//!
//! Hysteresis: pixels with `m >= high` that survive suppression are edges, and so is every
//! surviving pixel with `m >= low` 8-connected to an edge through such pixels.
//!
//! Strength: the strength of a pixel is the largest `high` at which it is still an edge when
//! `low = ratio * high` (`ratio = low / high` of the call): thresholding the strength map at
//! any `t` gives exactly the Canny edges for `(ratio * t, t)`. It lies between `m` and
//! `m / ratio`; `strength.rs` computes it component by component of the edge map.
//!
//! Automatic thresholds (when none are given), MATLAB's rule: `high` is the 70th percentile of
//! the gradient magnitude over all pixels, `low = 0.4 high`, with `high` at least one Sobel
//! unit (1/1020) so that a flat image has no edges.

use super::blur::{band_rows, blur_row, check_image, reflect101, BlurScratch, Kernel};
use super::simd::multiversion;
use super::sobel::{deinterleave, magnitude_row, sobel_row, SobelScratch, SOBEL_UNIT};
use super::strength::strength_map;
use crate::error::{KernelError, Result};
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// `low = AUTO_LOW_RATIO * high` when `low` is not given.
pub const AUTO_LOW_RATIO: f32 = 0.4;
/// The automatic `high` is this quantile of the gradient magnitude.
pub const AUTO_HIGH_QUANTILE: f64 = 0.7;

#[derive(Clone, Debug)]
pub struct CannyOptions {
    /// Gaussian blur sigma in pixels (0 = no blur).
    pub sigma: f32,
    /// Thresholds on the normalised gradient magnitude; None = automatic.
    pub low: Option<f32>,
    pub high: Option<f32>,
    /// Also compute the strength map.
    pub strength: bool,
    /// Build the 0/255 edge map (`CannyResult::edges`); false leaves it empty, for callers
    /// that only want the strength map (whose nonzero pixels are the same edges) or the
    /// thresholds, and saves writing and allocating it.
    pub edges: bool,
}

impl Default for CannyOptions {
    fn default() -> Self {
        CannyOptions { sigma: 1.4, low: None, high: None, strength: false, edges: true }
    }
}

#[derive(Clone, Debug)]
pub struct CannyResult {
    /// 255 on edges, 0 elsewhere (`width * height`, raster order); empty unless asked for.
    pub edges: Vec<u8>,
    /// Strength (normalised, clipped to 1) on edges, 0 elsewhere; empty unless asked for.
    pub strength: Vec<f32>,
    /// The thresholds used (normalised).
    pub low: f32,
    pub high: f32,
}

/// Magnitude histogram bins: one per Sobel unit, up to the largest possible magnitude.
const HIST_BINS: usize = 1444; // ceil(1020 * sqrt(2)) + 1

/// Pixel states while thresholding.
const NONE: u8 = 0;
pub(super) const WEAK: u8 = 1;
const STRONG: u8 = 2;
pub(super) const EDGE: u8 = 4; // its own bit, so that an OR over a run of states tells if STRONG is there

/// What the streaming pass writes for its band of rows. State maps are padded: one extra
/// pixel on each side of every row (and one extra row above and below the image, not part of
/// any band), so that neighbours never need bounds checks. Magnitude maps are not (rows of
/// `width`), so that the strength map can be built in them and handed out as it is.
enum BandOut<'a> {
    /// Thresholds known: NONE / WEAK / STRONG per pixel.
    States { out: &'a mut [u8], low: f32, high: f32 },
    /// Suppressed magnitude (0 where suppressed; every value written, so `out` may start
    /// uninitialised); a magnitude histogram of the band when the thresholds are automatic,
    /// else the states (`classify`) for thresholds `(low, high)`, with the magnitudes of
    /// NONE pixels zeroed.
    Suppressed {
        out: &'a mut [MaybeUninit<f32>],
        hist: Option<&'a mut [u32]>,
        states: Option<(&'a mut [u8], f32, f32)>,
    },
}

/// Ring buffers of one band.
struct Rings {
    /// Blurred rows, planar (channel-major) when there are several channels.
    blurred: [Vec<u8>; 3],
    gx: [Vec<i16>; 3],
    gy: [Vec<i16>; 3],
    /// Magnitudes, padded with one zero on each side (pixel x at x + 1).
    m: [Vec<f32>; 3],
}

#[inline(always)]
fn slot(i: isize) -> usize {
    i.rem_euclid(3) as usize
}

multiversion! {
    #[allow(clippy::too_many_arguments)]
    fn canny_band(src: &[u8], width: usize, height: usize, channels: usize, kernel: &Kernel, y0: usize, y1: usize, out: &mut BandOut<'_>) {
        let n = width * channels;
        let mut rings = Rings {
            blurred: std::array::from_fn(|_| vec![0u8; n]),
            gx: std::array::from_fn(|_| vec![0i16; width]),
            gy: std::array::from_fn(|_| vec![0i16; width]),
            m: std::array::from_fn(|_| vec![0f32; width + 2]),
        };
        let mut interleaved = vec![0u8; if channels > 1 { n } else { 0 }];
        let mut bs = BlurScratch::default();
        let mut ss = SobelScratch::default();
        // Grey without blur reads the source rows in place.
        let in_place = channels == 1 && matches!(kernel, Kernel::Identity);
        let (y0i, y1i) = (y0 as isize, y1 as isize);
        let mut blur_into = |rings: &mut Rings, b: isize| {
            if in_place {
                return;
            }
            if channels == 1 {
                blur_row(src, width, height, 1, b, kernel, &mut rings.blurred[slot(b)], &mut bs);
            } else {
                blur_row(src, width, height, channels, b, kernel, &mut interleaved, &mut bs);
                deinterleave(&interleaved, channels, &mut rings.blurred[slot(b)]);
            }
        };
        blur_into(&mut rings, y0i - 2);
        blur_into(&mut rings, y0i - 1);
        let pw = width + 2;
        for j in (y0i - 1)..=y1i {
            blur_into(&mut rings, j + 1);
            // Gradient row j (zero magnitude outside the image).
            let sj = slot(j);
            if (0..height as isize).contains(&j) {
                let Rings { blurred, gx, gy, m } = &mut rings;
                let row = |b: isize| -> &[u8] {
                    if in_place {
                        let y = reflect101(b, height);
                        &src[y * n..(y + 1) * n]
                    } else {
                        &blurred[slot(b)]
                    }
                };
                sobel_row(row(j - 1), row(j), row(j + 1), width, channels, &mut gx[sj], &mut gy[sj], &mut ss);
                magnitude_row(&gx[sj], &gy[sj], &mut m[sj][1..width + 1]);
                if let BandOut::Suppressed { hist: Some(hist), .. } = out {
                    if (y0i..y1i).contains(&j) {
                        for &v in &m[sj][1..width + 1] {
                            hist[(v as usize).min(HIST_BINS - 1)] += 1;
                        }
                    }
                }
            } else {
                rings.m[sj].fill(0.0);
            }
            // Suppression of row j - 1, which now has both neighbour rows.
            let y = j - 1;
            if y >= y0i {
                let (mp, mc, mn) = (&rings.m[slot(y - 1)], &rings.m[slot(y)], &rings.m[slot(y + 1)]);
                let (gx, gy) = (&rings.gx[slot(y)], &rings.gy[slot(y)]);
                let r = (y - y0i) as usize;
                match out {
                    BandOut::States { out, low, high } => {
                        let row = &mut out[r * pw..(r + 1) * pw];
                        row[0] = NONE;
                        row[pw - 1] = NONE;
                        let (low, high) = (*low, *high);
                        suppress_row(mp, mc, mn, gx, gy, &mut row[1..width + 1], |m, keep| {
                            (keep & (m >= low)) as u8 * (1 + (m >= high) as u8)
                        });
                    }
                    BandOut::Suppressed { out, states, .. } => {
                        let row = &mut out[r * width..(r + 1) * width];
                        suppress_row(mp, mc, mn, gx, gy, row, |m, keep| MaybeUninit::new(m * keep as u8 as f32));
                        // SAFETY: `suppress_row` has just written every value of the row.
                        let row = unsafe { &mut *(row as *mut [MaybeUninit<f32>] as *mut [f32]) };
                        if let Some((states, low, high)) = states {
                            classify::<true>(row, &mut states[r * pw + 1..r * pw + 1 + width], *low, *high);
                        }
                    }
                }
            }
        }
    }
}

/// States of suppressed magnitudes `m` (0 where suppressed) for thresholds `low`, `high`:
/// NONE below `low` (or 0), else WEAK, or STRONG from `high` up. With `ZERO`, the magnitude
/// of every NONE pixel becomes 0 (then only the WEAK pixels that hysteresis leaves out stand
/// between `m` and the strength map). Branch-free, so it vectorises.
#[inline(always)]
fn classify<const ZERO: bool>(m: &mut [f32], states: &mut [u8], low: f32, high: f32) {
    for (s, m) in states.iter_mut().zip(m) {
        let v = *m;
        let state = ((v > 0.0) & (v >= low)) as u8 * (1 + (v >= high) as u8);
        *s = state;
        if ZERO {
            *m = if state == NONE { 0.0 } else { v };
        }
    }
}

multiversion! {
    /// `classify` for rows of `width` magnitudes and padded rows of states.
    fn classify_band(m: &mut [f32], states: &mut [u8], width: usize, low: f32, high: f32, zero: bool) {
        let pw = width + 2;
        for (m, s) in m.chunks_mut(width).zip(states.chunks_mut(pw)) {
            if zero {
                classify::<true>(m, &mut s[1..width + 1], low, high);
            } else {
                classify::<false>(m, &mut s[1..width + 1], low, high);
            }
        }
    }
}

/// Interpolated non-maximum suppression of one row, branch-free so that it vectorises:
/// `out[x] = emit(m, keep)` where `keep` says whether magnitude `m > 0` is a local maximum
/// along the gradient. `mp`, `mc`, `mn`: magnitudes of the rows above, at and below (padded:
/// pixel x at index x + 1).
#[inline(always)]
fn suppress_row<T>(
    mp: &[f32],
    mc: &[f32],
    mn: &[f32],
    gx: &[i16],
    gy: &[i16],
    out: &mut [T],
    emit: impl Fn(f32, bool) -> T,
) {
    let w = out.len();
    let (gx, gy) = (&gx[..w], &gy[..w]);
    let (pl, pc, pr) = (&mp[..w], &mp[1..w + 1], &mp[2..w + 2]);
    let (cl, cc, cr) = (&mc[..w], &mc[1..w + 1], &mc[2..w + 2]);
    let (nl, nc, nr) = (&mn[..w], &mn[1..w + 1], &mn[2..w + 2]);
    for x in 0..w {
        // All nine neighbours are loaded and blended with selects (no branches, no
        // short-circuits), so the loop vectorises.
        let (p0, p1, p2) = (pl[x], pc[x], pr[x]);
        let (c0, m, c2) = (cl[x], cc[x], cr[x]);
        let (n0, n1, n2) = (nl[x], nc[x], nr[x]);
        // Direction with dx > 0, or dx = 0 and dy > 0 (a gradient and its opposite suppress alike).
        let (sx, sy) = (gx[x] as f32, gy[x] as f32);
        let dx = sx.abs();
        let dy = if sx == 0.0 {
            sy.abs()
        } else if sx < 0.0 {
            -sy
        } else {
            sy
        };
        let ady = dy.abs();
        let horizontal = ady <= dx;
        let down = dy >= 0.0;
        // Fraction of the way to the diagonal neighbour (NaN when m = 0: then keep is false).
        let t = dx.min(ady) / dx.max(ady);
        // The neighbour on the strict side (towards smaller x, or smaller y when vertical)
        // and on the other side, each blended from a straight and a diagonal neighbour.
        //   horizontal: strict = left, blended towards up (dy >= 0) or down; other = right.
        //   vertical:   strict = up, blended towards left (dy > 0) or right; other = down.
        let s_base = if horizontal { c0 } else { p1 };
        let s_diag = if horizontal {
            if down {
                p0
            } else {
                n0
            }
        } else if down {
            p0
        } else {
            p2
        };
        let o_base = if horizontal { c2 } else { n1 };
        let o_diag = if horizontal {
            if down {
                n2
            } else {
                p2
            }
        } else if down {
            n2
        } else {
            n0
        };
        let strict = s_base + t * (s_diag - s_base);
        let other = o_base + t * (o_diag - o_base);
        out[x] = emit(m, (m > strict) & (m >= other));
    }
}

fn check_thresholds(low: Option<f32>, high: Option<f32>) -> Result<()> {
    for (name, v) in [("low", low), ("high", high)] {
        if let Some(v) = v {
            if !(v.is_finite() && v >= 0.0) {
                return Err(KernelError::InvalidOption(format!(
                    "{name} threshold must be a finite number >= 0, got {v}"
                )));
            }
        }
    }
    if let (Some(l), Some(h)) = (low, high) {
        if l > h {
            return Err(KernelError::InvalidOption(format!("low threshold {l} is above high threshold {h}")));
        }
    }
    if high == Some(0.0) {
        return Err(KernelError::InvalidOption("high threshold must be > 0".into()));
    }
    Ok(())
}

/// Canny edges of an interleaved 8-bit image (1 channel: grey; 3: RGB; any 1..=4 channels work,
/// the strongest channel's gradient is used per pixel).
///
/// ```
/// use vectile_kernels::edges::{canny, CannyOptions};
/// // A vertical step between columns 3 and 4 of an 8 x 6 image.
/// let img: Vec<u8> = (0..8 * 6).map(|i| if i % 8 < 4 { 0 } else { 200 }).collect();
/// let r = canny(&img, 8, 6, 1, &CannyOptions { sigma: 0.0, low: Some(0.1), high: Some(0.2), strength: false, edges: true }).unwrap();
/// assert!((0..6).all(|y| r.edges[y * 8 + 3] == 255 && r.edges.iter().skip(y * 8).take(8).filter(|&&e| e > 0).count() == 1));
/// ```
pub fn canny(src: &[u8], width: usize, height: usize, channels: usize, opts: &CannyOptions) -> Result<CannyResult> {
    check_image(src, width, height, channels)?;
    check_thresholds(opts.low, opts.high)?;
    let kernel = Kernel::gaussian(opts.sigma)?;
    let rows = band_rows(height, width);
    let pw = width + 2;
    let padded = pw * (height + 2);
    let interior = pw..pw * (height + 1);
    match (opts.low, opts.high, opts.strength) {
        (low, Some(high), false) => {
            // Thresholds known: classify during the streaming pass, no float map.
            let low = low.unwrap_or(AUTO_LOW_RATIO * high);
            let (lo, hi) = (low * SOBEL_UNIT, high * SOBEL_UNIT);
            let mut states = vec![NONE; padded];
            states[interior].par_chunks_mut(rows * pw).enumerate().for_each(|(b, band)| {
                let y0 = b * rows;
                let y1 = y0 + band.len() / pw;
                canny_band(
                    src,
                    width,
                    height,
                    channels,
                    &kernel,
                    y0,
                    y1,
                    &mut BandOut::States { out: band, low: lo, high: hi },
                );
            });
            hysteresis(&mut states, pw, height, rows);
            Ok(CannyResult {
                edges: if opts.edges {
                    unpad(&states, width, height, |s| if s == EDGE { 255 } else { 0 })
                } else {
                    Vec::new()
                },
                strength: Vec::new(),
                low,
                high,
            })
        }
        _ => {
            let mut states = vec![NONE; padded];
            let bands = height.div_ceil(rows);
            // Automatic thresholds need the histogram first, then a pass that classifies;
            // known ones classify during the streaming pass.
            let auto = opts.low.is_none() && opts.high.is_none();
            let known = (!auto).then(|| thresholds(opts.low, opts.high, &[], width * height));
            let mut hists = vec![0u32; HIST_BINS * bands];
            // Not zeroed: the streaming pass writes every value (zeroing 8 MB at 1080p costs
            // about a millisecond). The strength map is built in place in this buffer.
            let mut suppressed: Vec<f32> = Vec::with_capacity(width * height);
            let (band_m, band_s) = (
                suppressed.spare_capacity_mut().par_chunks_mut(rows * width),
                states[interior].par_chunks_mut(rows * pw),
            );
            band_m.zip(band_s).zip(hists.par_chunks_mut(HIST_BINS)).enumerate().for_each(
                |(b, ((band, band_states), hist))| {
                    let y0 = b * rows;
                    let y1 = y0 + band.len() / width;
                    let hist = if auto { Some(hist) } else { None };
                    let states = known.map(|(l, h)| (band_states, l * SOBEL_UNIT, h * SOBEL_UNIT));
                    canny_band(
                        src,
                        width,
                        height,
                        channels,
                        &kernel,
                        y0,
                        y1,
                        &mut BandOut::Suppressed { out: band, hist, states },
                    );
                },
            );
            // SAFETY: the bands cover all `width * height` values and each wrote every one.
            unsafe { suppressed.set_len(width * height) };
            let (low, high) = known.unwrap_or_else(|| thresholds(None, None, &hists, width * height));
            if auto {
                let (lo, hi) = (low * SOBEL_UNIT, high * SOBEL_UNIT);
                states[pw..pw * (height + 1)]
                    .par_chunks_mut(rows * pw)
                    .zip(suppressed.par_chunks_mut(rows * width))
                    .for_each(|(s, m)| classify_band(m, s, width, lo, hi, opts.strength));
            }
            hysteresis(&mut states, pw, height, rows);
            if opts.strength {
                let (edges, strength) = strength_map(suppressed, &mut states, width, height, low / high, opts.edges);
                Ok(CannyResult { edges, strength, low, high })
            } else {
                let edges = if opts.edges {
                    unpad(&states, width, height, |s| if s == EDGE { 255 } else { 0 })
                } else {
                    Vec::new()
                };
                Ok(CannyResult { edges, strength: Vec::new(), low, high })
            }
        }
    }
}

/// The `width x height` interior of a padded map, mapped through `f`.
fn unpad<T: Copy + Sync, U: Copy + Send + Default>(
    padded: &[T],
    width: usize,
    height: usize,
    f: impl Fn(T) -> U + Sync,
) -> Vec<U> {
    let pw = width + 2;
    let mut out = vec![U::default(); width * height];
    out.par_chunks_mut(width).enumerate().for_each(|(y, row)| {
        let src = &padded[(y + 1) * pw + 1..(y + 1) * pw + 1 + width];
        for (o, &v) in row.iter_mut().zip(src) {
            *o = f(v);
        }
    });
    out
}

/// Thresholds (normalised) from the options, filling in the automatic ones.
fn thresholds(low: Option<f32>, high: Option<f32>, hists: &[u32], npx: usize) -> (f32, f32) {
    match (low, high) {
        (Some(l), Some(h)) => (l, h),
        (None, Some(h)) => (AUTO_LOW_RATIO * h, h),
        (Some(l), None) => (l, (l / AUTO_LOW_RATIO).max(1.0 / SOBEL_UNIT)),
        (None, None) => {
            let mut hist = vec![0u64; HIST_BINS];
            for chunk in hists.chunks_exact(HIST_BINS) {
                for (a, &b) in hist.iter_mut().zip(chunk) {
                    *a += b as u64;
                }
            }
            let target = (AUTO_HIGH_QUANTILE * npx as f64).ceil() as u64;
            let mut acc = 0u64;
            let mut bin = HIST_BINS - 1;
            for (i, &h) in hist.iter().enumerate() {
                acc += h;
                if acc >= target {
                    bin = i;
                    break;
                }
            }
            // Bin i holds magnitudes in [i, i + 1): the quantile is at most its upper edge.
            let high = (bin + 1) as f32 / SOBEL_UNIT;
            (AUTO_LOW_RATIO * high, high)
        }
    }
}

/// Offsets of the 8 neighbours in a padded map with rows of `pw`.
#[inline(always)]
pub(super) fn neighbour_offsets(pw: usize) -> [isize; 8] {
    let p = pw as isize;
    [-p - 1, -p, -p + 1, -1, 1, p - 1, p, p + 1]
}

/// Index of the first STRONG state in `states[start..]` (scans 32 states at a time).
#[inline]
fn next_strong(states: &[u8], start: usize) -> Option<usize> {
    let mut i = start;
    while i < states.len() && i % 32 != 0 {
        if states[i] == STRONG {
            return Some(i);
        }
        i += 1;
    }
    for chunk in states[i..].chunks(32) {
        if chunk.iter().fold(0, |a, &v| a | v) & STRONG != 0 {
            return chunk.iter().position(|&v| v == STRONG).map(|k| i + k);
        }
        i += chunk.len();
    }
    None
}

/// Grow edges from STRONG pixels through WEAK ones (8-connected) in a padded state map;
/// every reached pixel becomes EDGE. Each band of rows grows its own edges in parallel
/// without crossing its first and last row; then the EDGE pixels on those rows continue
/// into the neighbouring bands, sequentially. Depth-first with explicit stacks.
fn hysteresis(states: &mut [u8], pw: usize, height: usize, rows: usize) {
    let offsets = neighbour_offsets(pw);
    let band_len = rows * pw;
    let seams: Vec<usize> = states[pw..pw * (height + 1)]
        .par_chunks_mut(band_len)
        .enumerate()
        .flat_map_iter(|(b, band)| {
            let len = band.len();
            // Every pixel is pushed at most once, so the stack never holds more than `len`;
            // pushes are branch-free (write, then advance the top when it counts).
            let mut stack = vec![0u32; len + 8];
            let mut start = 0;
            while let Some(i) = next_strong(band, start) {
                start = i + 1;
                band[i] = EDGE;
                stack[0] = i as u32;
                let mut top = 1;
                while top > 0 {
                    top -= 1;
                    let p = stack[top] as usize;
                    for &o in &offsets {
                        let q = p.wrapping_add_signed(o);
                        if q < len {
                            let v = band[q];
                            let hit = (v == WEAK) | (v == STRONG);
                            band[q] = if hit { EDGE } else { v };
                            stack[top] = q as u32;
                            top += hit as usize;
                        }
                    }
                }
            }
            // EDGE pixels on the band's first and last rows (global indices).
            let base = pw + b * band_len;
            let last = len - pw;
            let first_row = band[..pw]
                .iter()
                .enumerate()
                .filter(|(_, &v)| v == EDGE)
                .map(move |(x, _)| base + x)
                .collect::<Vec<_>>();
            let last_row =
                band[last..].iter().enumerate().filter(|(_, &v)| v == EDGE).map(move |(x, _)| base + last + x);
            first_row.into_iter().chain(last_row.collect::<Vec<_>>())
        })
        .collect();
    let mut stack = seams;
    while let Some(p) = stack.pop() {
        for &o in &offsets {
            let q = p.wrapping_add_signed(o);
            // The padding is NONE, so q never leaves the map.
            if states[q] == WEAK || states[q] == STRONG {
                states[q] = EDGE;
                stack.push(q);
            }
        }
    }
}
