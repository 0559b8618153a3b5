//! Sobel gradients of 8-bit images.
//!
//! 3 x 3 Sobel operator, border reflect-101 (as OpenCV's default), computed separably in i16:
//! `gx = [1 2 1]^T (x) [-1 0 1]`, `gy = [-1 0 1]^T (x) [1 2 1]`, so x grows to the right and y
//! downwards (image rows). Values lie in -1020..=1020 (4 x 255), exactly.
//!
//! Colour input: the gradient of each channel is computed and, per pixel, the channel with
//! the largest `gx^2 + gy^2` wins (first channel on ties), as OpenCV's Canny does for colour.

use super::blur::{band_rows, check_image, reflect101};
use super::simd::multiversion;
use crate::error::Result;
use rayon::prelude::*;

/// Largest Sobel response to a full black-to-white step: the unit of normalised gradients.
pub const SOBEL_UNIT: f32 = 1020.0;

/// Row buffers reused from row to row.
#[derive(Default)]
pub(crate) struct SobelScratch {
    vs: Vec<i16>,
    vd: Vec<i16>,
    best: Vec<i32>,
    /// RGB: gx of the three channels, then gy of the three.
    planes: Vec<i16>,
}

/// Sobel gradient of one plane's row (rows `a` above, `b`, `c` below), `left`/`right`: the
/// reflected columns -1 and w; `vs`, `vd`: scratch.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn sobel_plane(
    a: &[u8],
    b: &[u8],
    c: &[u8],
    w: usize,
    left: usize,
    right: usize,
    vs: &mut Vec<i16>,
    vd: &mut Vec<i16>,
    gx: &mut [i16],
    gy: &mut [i16],
) {
    vs.resize(w + 2, 0);
    vd.resize(w + 2, 0);
    {
        let (vsm, vdm) = (&mut vs[1..w + 1], &mut vd[1..w + 1]);
        let (a, b, c) = (&a[..w], &b[..w], &c[..w]);
        for i in 0..w {
            let (a, b, c) = (a[i] as i16, b[i] as i16, c[i] as i16);
            vsm[i] = a + 2 * b + c;
            vdm[i] = c - a;
        }
    }
    vs[0] = vs[left + 1];
    vd[0] = vd[left + 1];
    vs[w + 1] = vs[right + 1];
    vd[w + 1] = vd[right + 1];
    let (vs0, vs2) = (&vs[..w], &vs[2..w + 2]);
    let (vd0, vd1, vd2) = (&vd[..w], &vd[1..w + 1], &vd[2..w + 2]);
    let (gx, gy) = (&mut gx[..w], &mut gy[..w]);
    for i in 0..w {
        gx[i] = vs2[i] - vs0[i];
        gy[i] = vd0[i] + 2 * vd1[i] + vd2[i];
    }
}

/// Split an interleaved row (`channels` values per pixel) into planes: channel `ch` of pixel
/// `x` goes to `out[ch * width + x]`.
#[inline(always)]
pub(crate) fn deinterleave(row: &[u8], channels: usize, out: &mut [u8]) {
    let width = row.len() / channels;
    match channels {
        1 => out.copy_from_slice(row),
        3 => {
            let (a, rest) = out.split_at_mut(width);
            let (b, c) = rest.split_at_mut(width);
            for (x, px) in row.chunks_exact(3).enumerate() {
                a[x] = px[0];
                b[x] = px[1];
                c[x] = px[2];
            }
        }
        _ => {
            for (x, px) in row.chunks_exact(channels).enumerate() {
                for (ch, &v) in px.iter().enumerate() {
                    out[ch * width + x] = v;
                }
            }
        }
    }
}

/// Gradient of row `r1` (rows `r0` above and `r2` below, each `channels` planes of `width`
/// bytes) into `gx`, `gy` (`width` values: the strongest channel's gradient).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn sobel_row(
    r0: &[u8],
    r1: &[u8],
    r2: &[u8],
    width: usize,
    channels: usize,
    gx: &mut [i16],
    gy: &mut [i16],
    s: &mut SobelScratch,
) {
    let w = width;
    s.vs.resize(w + 2, 0);
    s.vd.resize(w + 2, 0);
    if channels > 1 {
        s.best.resize(w, 0);
    }
    let (left, right) = (reflect101(-1, w), reflect101(w as isize, w));
    if channels == 3 {
        // RGB: the three channels' gradients side by side, then one branch-free selection
        // pass (vectorises; the general loop below does not).
        s.planes.resize(6 * w, 0);
        for ch in 0..3 {
            let plane = ch * w..(ch + 1) * w;
            let (px, rest) = s.planes.split_at_mut(3 * w);
            sobel_plane(
                &r0[plane.clone()],
                &r1[plane.clone()],
                &r2[plane],
                w,
                left,
                right,
                &mut s.vs,
                &mut s.vd,
                &mut px[ch * w..(ch + 1) * w],
                &mut rest[ch * w..(ch + 1) * w],
            );
        }
        let (px, py) = s.planes.split_at(3 * w);
        let (x0, x1, x2) = (&px[..w], &px[w..2 * w], &px[2 * w..3 * w]);
        let (y0, y1, y2) = (&py[..w], &py[w..2 * w], &py[2 * w..3 * w]);
        let (gx, gy) = (&mut gx[..w], &mut gy[..w]);
        for i in 0..w {
            let (a, b, c) = (x0[i] as i32, x1[i] as i32, x2[i] as i32);
            let (d, e, f) = (y0[i] as i32, y1[i] as i32, y2[i] as i32);
            let (m0, m1, m2) = (a * a + d * d, b * b + e * e, c * c + f * f);
            let t1 = m1 > m0;
            let (bx, by, bm) = (if t1 { b } else { a }, if t1 { e } else { d }, if t1 { m1 } else { m0 });
            let t2 = m2 > bm;
            gx[i] = (if t2 { c } else { bx }) as i16;
            gy[i] = (if t2 { f } else { by }) as i16;
        }
        return;
    }
    for ch in 0..channels {
        let plane = ch * w..(ch + 1) * w;
        {
            // Vertical parts: smoothing [1 2 1] for gx, difference [-1 0 1] for gy. Pixel x
            // sits at x + 1; one reflected pixel pads each side.
            let (vs, vd) = (&mut s.vs[1..w + 1], &mut s.vd[1..w + 1]);
            let (a, b, d) = (&r0[plane.clone()], &r1[plane.clone()], &r2[plane]);
            for i in 0..w {
                let (a, b, d) = (a[i] as i16, b[i] as i16, d[i] as i16);
                vs[i] = a + 2 * b + d;
                vd[i] = d - a;
            }
        }
        s.vs[0] = s.vs[left + 1];
        s.vd[0] = s.vd[left + 1];
        s.vs[w + 1] = s.vs[right + 1];
        s.vd[w + 1] = s.vd[right + 1];
        let (vs0, vs2) = (&s.vs[..w], &s.vs[2..w + 2]);
        let (vd0, vd1, vd2) = (&s.vd[..w], &s.vd[1..w + 1], &s.vd[2..w + 2]);
        if ch == 0 {
            let (gx, gy) = (&mut gx[..w], &mut gy[..w]);
            for i in 0..w {
                gx[i] = vs2[i] - vs0[i];
                gy[i] = vd0[i] + 2 * vd1[i] + vd2[i];
            }
            if channels > 1 {
                let best = &mut s.best[..w];
                for i in 0..w {
                    best[i] = gx[i] as i32 * gx[i] as i32 + gy[i] as i32 * gy[i] as i32;
                }
            }
        } else {
            // Keep the strongest channel (the first one on ties).
            let (gx, gy, best) = (&mut gx[..w], &mut gy[..w], &mut s.best[..w]);
            for i in 0..w {
                let (ax, ay) = (vs2[i] - vs0[i], vd0[i] + 2 * vd1[i] + vd2[i]);
                let m = ax as i32 * ax as i32 + ay as i32 * ay as i32;
                let take = m > best[i];
                best[i] = if take { m } else { best[i] };
                gx[i] = if take { ax } else { gx[i] };
                gy[i] = if take { ay } else { gy[i] };
            }
        }
    }
}

/// `sqrt(gx^2 + gy^2)` of a row.
#[inline(always)]
pub(crate) fn magnitude_row(gx: &[i16], gy: &[i16], m: &mut [f32]) {
    let n = m.len();
    let (gx, gy) = (&gx[..n], &gy[..n]);
    for i in 0..n {
        let (x, y) = (gx[i] as f32, gy[i] as f32);
        m[i] = (x * x + y * y).sqrt();
    }
}

multiversion! {
    fn sobel_band(src: &[u8], width: usize, height: usize, channels: usize, y0: usize, gx: &mut [i16], gy: &mut [i16]) {
        let n = width * channels;
        let mut s = SobelScratch::default();
        let row = |i: isize| {
            let y = reflect101(i, height);
            &src[y * n..(y + 1) * n]
        };
        // Colour: planar copies of the source rows in a ring of three.
        let mut ring: [Vec<u8>; 3] = std::array::from_fn(|_| vec![0u8; if channels > 1 { n } else { 0 }]);
        let slot = |i: isize| i.rem_euclid(3) as usize;
        if channels > 1 {
            deinterleave(row(y0 as isize - 1), channels, &mut ring[slot(y0 as isize - 1)]);
            deinterleave(row(y0 as isize), channels, &mut ring[slot(y0 as isize)]);
        }
        for (k, (rx, ry)) in gx.chunks_exact_mut(width).zip(gy.chunks_exact_mut(width)).enumerate() {
            let y = (y0 + k) as isize;
            if channels == 1 {
                sobel_row(row(y - 1), row(y), row(y + 1), width, 1, rx, ry, &mut s);
            } else {
                deinterleave(row(y + 1), channels, &mut ring[slot(y + 1)]);
                sobel_row(&ring[slot(y - 1)], &ring[slot(y)], &ring[slot(y + 1)], width, channels, rx, ry, &mut s);
            }
        }
    }
}

multiversion! {
    fn polar_band(gx: &[i16], gy: &[i16], magnitude: &mut [f32], direction: &mut [f32]) {
        magnitude_row(gx, gy, magnitude);
        for i in 0..direction.len() {
            direction[i] = (gy[i] as f32).atan2(gx[i] as f32);
        }
    }
}

/// Sobel gradients `(gx, gy)` of an interleaved 8-bit image, `width * height` values each.
///
/// ```
/// use vectile_kernels::edges::sobel;
/// let img: Vec<u8> = (0..4 * 3).map(|i| (i % 4) as u8 * 10).collect(); // ramp to the right
/// let (gx, gy) = sobel(&img, 4, 3, 1).unwrap();
/// assert_eq!((gx[5], gy[5]), (80, 0)); // 4 x (20 - 0) at an interior pixel
/// ```
pub fn sobel(src: &[u8], width: usize, height: usize, channels: usize) -> Result<(Vec<i16>, Vec<i16>)> {
    check_image(src, width, height, channels)?;
    let mut gx = vec![0i16; width * height];
    let mut gy = vec![0i16; width * height];
    let rows = band_rows(height, width);
    gx.par_chunks_mut(rows * width).zip(gy.par_chunks_mut(rows * width)).enumerate().for_each(|(b, (bx, by))| {
        sobel_band(src, width, height, channels, b * rows, bx, by);
    });
    Ok((gx, gy))
}

/// Magnitude `sqrt(gx^2 + gy^2)` and direction `atan2(gy, gx)` (radians in -pi..=pi, y down)
/// of a gradient.
pub fn polar(gx: &[i16], gy: &[i16]) -> (Vec<f32>, Vec<f32>) {
    assert_eq!(gx.len(), gy.len());
    let mut magnitude = vec![0f32; gx.len()];
    let mut direction = vec![0f32; gx.len()];
    const CHUNK: usize = 1 << 15;
    magnitude.par_chunks_mut(CHUNK).zip(direction.par_chunks_mut(CHUNK)).enumerate().for_each(|(b, (m, d))| {
        let o = b * CHUNK;
        polar_band(&gx[o..o + m.len()], &gy[o..o + m.len()], m, d);
    });
    (magnitude, direction)
}
