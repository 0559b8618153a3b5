//! Separable Gaussian blur of 8-bit images with 1 to 4 interleaved channels.
//!
//! Kernel: radius `r = round(6 sigma + 1) / 2` taps each side (OpenCV's size for 8-bit
//! images, `ksize = round(6 sigma + 1) | 1`), weights `exp(-k^2 / (2 sigma^2))` normalised to 1.
//! Border: reflect-101 (`dcb|abcd|cba`, OpenCV's `BORDER_REFLECT_101`, its default), applied
//! to rows and columns; a side of one pixel repeats that pixel.
//!
//! Arithmetic, for sigma <= `FIXED_POINT_MAX_SIGMA`: weights in units of 1/256 that sum to
//! exactly 256 (like OpenCV's bit-exact 8-bit path). The vertical pass is exact in u16 and
//! keeps 7 fraction bits; the horizontal pass adds mirrored pairs (no overflow at 9.7 bits)
//! and multiplies them by the weights keeping the high 16 bits (`pmulhuw`), which truncates by
//! less than 1/128 grey level per tap; the result is rounded to the nearest integer. Larger sigmas, whose tail weights 1/256 cannot represent, use f32.
//! sigma = 0 copies the image.

use super::simd::multiversion;
use crate::error::{KernelError, Result};
use rayon::prelude::*;

/// Above this sigma the blur computes in f32 instead of fixed point.
pub const FIXED_POINT_MAX_SIGMA: f32 = 3.0;
/// Pixels per block of the fixed-point passes (two AVX2 registers of u16).
const BLOCK: usize = 32;
/// Radius of the widest fixed-point kernel (sigma = 3: 19 taps).
const MAX_FIXED_RADIUS: usize = 9;
/// Largest accepted sigma (pixels).
pub const MAX_SIGMA: f32 = 256.0;

/// A symmetric 1-D kernel: `w[0]` is the centre weight, `w[k]` the weight at offset +-k.
#[derive(Clone, Debug, PartialEq)]
pub enum Kernel {
    Identity,
    Fixed(Vec<u16>),
    Float(Vec<f32>),
}

impl Kernel {
    pub fn gaussian(sigma: f32) -> Result<Kernel> {
        if !(sigma.is_finite() && (0.0..=MAX_SIGMA).contains(&sigma)) {
            return Err(KernelError::InvalidOption(format!("sigma must be in 0..={MAX_SIGMA} pixels, got {sigma}")));
        }
        if sigma == 0.0 {
            return Ok(Kernel::Identity);
        }
        let size = ((6.0 * sigma as f64 + 1.0).round() as usize) | 1;
        let r = size / 2;
        let g: Vec<f64> = (0..=r).map(|k| (-((k * k) as f64) / (2.0 * (sigma as f64).powi(2))).exp()).collect();
        let total = g[0] + 2.0 * g[1..].iter().sum::<f64>();
        if sigma > FIXED_POINT_MAX_SIGMA {
            return Ok(Kernel::Float(g.iter().map(|&v| (v / total) as f32).collect()));
        }
        let mut w: Vec<u16> = g.iter().map(|&v| (256.0 * v / total).round() as u16).collect();
        // The centre takes the rounding remainder, so the weights sum to exactly 256 and the
        // vertical pass cannot overflow u16 (255 * 256 = 65280).
        let sides: u16 = w[1..].iter().sum::<u16>() * 2;
        w[0] = 256 - sides;
        while w.len() > 1 && *w.last().unwrap() == 0 {
            w.pop();
        }
        Ok(if w.len() == 1 { Kernel::Identity } else { Kernel::Fixed(w) })
    }

    pub fn radius(&self) -> usize {
        match self {
            Kernel::Identity => 0,
            Kernel::Fixed(w) => w.len() - 1,
            Kernel::Float(w) => w.len() - 1,
        }
    }
}

/// Reflect-101 index into `0..n`: -1 -> 1, n -> n - 2 (n = 1: always 0).
#[inline(always)]
pub(crate) fn reflect101(i: isize, n: usize) -> usize {
    if n == 1 {
        return 0;
    }
    let n = n as isize;
    let mut i = i;
    loop {
        if i < 0 {
            i = -i;
        } else if i >= n {
            i = 2 * n - 2 - i;
        } else {
            return i as usize;
        }
    }
}

/// Row buffers reused from row to row.
#[derive(Default)]
pub(crate) struct BlurScratch {
    v16: Vec<u16>,
    vf: Vec<f32>,
    hf: Vec<f32>,
}

/// One blurred row: row `y` (any integer; reflected into the image) of `src`, an image of
/// `height` rows of `width * channels` bytes, written to `out` (`width * channels` bytes).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn blur_row(
    src: &[u8],
    width: usize,
    height: usize,
    channels: usize,
    y: isize,
    kernel: &Kernel,
    out: &mut [u8],
    s: &mut BlurScratch,
) {
    let n = width * channels;
    let row = |i: isize| {
        let yy = reflect101(i, height);
        &src[yy * n..(yy + 1) * n]
    };
    match kernel {
        Kernel::Identity => out.copy_from_slice(row(y)),
        Kernel::Fixed(w) => {
            let r = w.len() - 1;
            let pad = r * channels;
            s.v16.resize(n + 2 * pad, 0);
            // Source rows y - k and y + k for every tap k (r <= 9 for sigma <= 3).
            let mut pairs: [(&[u8], &[u8]); MAX_FIXED_RADIUS + 1] = [(&[], &[]); MAX_FIXED_RADIUS + 1];
            for (k, pair) in pairs.iter_mut().enumerate().take(r + 1).skip(1) {
                *pair = (row(y - k as isize), row(y + k as isize));
            }
            let centre = row(y);
            #[cfg(target_arch = "x86_64")]
            if super::simd::has_avx2() {
                // SAFETY: the CPU has AVX2; every slice is long enough (checked inside).
                unsafe { avx2::fixed_row(centre, &pairs[..r + 1], w, &mut s.v16, width, channels, out) };
                return;
            }
            // Vertical pass, BLOCK pixels at a time: the accumulators stay in registers
            // while the taps stream by. Exact: every partial sum is at most 255 * 256.
            {
                let v = &mut s.v16[pad..pad + n];
                let mut i = 0;
                while i + BLOCK <= n {
                    vertical_block::<BLOCK>(centre, &pairs[..r + 1], w, i, &mut v[i..i + BLOCK]);
                    i += BLOCK;
                }
                while i < n {
                    vertical_block::<1>(centre, &pairs[..r + 1], w, i, &mut v[i..i + 1]);
                    i += 1;
                }
            }
            reflect_columns(&mut s.v16, width, channels, r);
            let v = &s.v16;
            let mut i = 0;
            while i + BLOCK <= n {
                horizontal_block::<BLOCK>(v, pad, channels, w, i, &mut out[i..i + BLOCK]);
                i += BLOCK;
            }
            while i < n {
                horizontal_block::<1>(v, pad, channels, w, i, &mut out[i..i + 1]);
                i += 1;
            }
        }
        Kernel::Float(w) => {
            let r = w.len() - 1;
            let pad = r * channels;
            s.vf.resize(n + 2 * pad, 0.0);
            s.hf.resize(n, 0.0);
            {
                let acc = &mut s.vf[pad..pad + n];
                let (centre, w0) = (row(y), w[0]);
                for i in 0..n {
                    acc[i] = w0 * centre[i] as f32;
                }
                for (k, &wk) in w.iter().enumerate().skip(1) {
                    let (a, b) = (row(y - k as isize), row(y + k as isize));
                    for i in 0..n {
                        acc[i] += wk * (a[i] as f32 + b[i] as f32);
                    }
                }
            }
            reflect_columns(&mut s.vf, width, channels, r);
            let acc = &mut s.hf[..n];
            let v = &s.vf;
            let centre = &v[pad..pad + n];
            for i in 0..n {
                acc[i] = w[0] * centre[i];
            }
            for (k, &wk) in w.iter().enumerate().skip(1) {
                let (a, b) =
                    (&v[pad - k * channels..pad - k * channels + n], &v[pad + k * channels..pad + k * channels + n]);
                for i in 0..n {
                    acc[i] += wk * (a[i] + b[i]);
                }
            }
            for i in 0..n {
                out[i] = (acc[i] + 0.5).clamp(0.0, 255.0) as u8;
            }
        }
    }
}

/// Vertical fixed-point pass over pixels `i..i + L` of a row: `w[0] * centre + sum over k of
/// w[k] * (row(y - k) + row(y + k))`, exact in u16.
#[inline(always)]
fn vertical_block<const L: usize>(centre: &[u8], pairs: &[(&[u8], &[u8])], w: &[u16], i: usize, dst: &mut [u16]) {
    let c: &[u8; L] = centre[i..i + L].try_into().unwrap();
    let mut acc = [0u16; L];
    for j in 0..L {
        acc[j] = w[0] * c[j] as u16;
    }
    for (k, &wk) in w.iter().enumerate().skip(1) {
        let a: &[u8; L] = pairs[k].0[i..i + L].try_into().unwrap();
        let b: &[u8; L] = pairs[k].1[i..i + L].try_into().unwrap();
        for j in 0..L {
            acc[j] = acc[j].wrapping_add(wk.wrapping_mul(a[j] as u16 + b[j] as u16));
        }
    }
    // Keep 7 fraction bits, so that two values add up without overflow in the next pass.
    for j in 0..L {
        dst[j] = acc[j] >> 1;
    }
}

/// Horizontal fixed-point pass over pixels `i..i + L`: the vertical sums `v` (9.7 fixed
/// point, `pad` reflected values each side; mirrored pairs add up to at most 65280) times
/// weight/256, keeping the high half of each 16 x 16 bit product (`w[0] < 256`: a kernel with
/// `w[0] = 256` is Identity), rounded to u8.
#[inline(always)]
fn horizontal_block<const L: usize>(v: &[u16], pad: usize, channels: usize, w: &[u16], i: usize, dst: &mut [u8]) {
    let mulhi = |a: u16, w8: u16| ((a as u32 * w8 as u32) >> 16) as u16;
    let c: &[u16; L] = v[pad + i..pad + i + L].try_into().unwrap();
    let mut acc = [0u16; L];
    let w0 = w[0] << 8;
    for j in 0..L {
        acc[j] = mulhi(c[j], w0);
    }
    for (k, &wk) in w.iter().enumerate().skip(1) {
        let o = k * channels;
        let a: &[u16; L] = v[pad + i - o..pad + i - o + L].try_into().unwrap();
        let b: &[u16; L] = v[pad + i + o..pad + i + o + L].try_into().unwrap();
        let wk = wk << 8;
        for j in 0..L {
            acc[j] = acc[j].wrapping_add(mulhi(a[j] + b[j], wk));
        }
    }
    for j in 0..L {
        dst[j] = ((acc[j] as u32 + 64) >> 7) as u8;
    }
}

/// Fill the `r` pixels of padding on each side of a padded row by reflect-101.
#[inline(always)]
pub(crate) fn reflect_columns<T: Copy>(buf: &mut [T], width: usize, channels: usize, r: usize) {
    for j in 1..=r {
        let left = reflect101(-(j as isize), width);
        let right = reflect101((width - 1 + j) as isize, width);
        for ch in 0..channels {
            buf[(r - j) * channels + ch] = buf[(r + left) * channels + ch];
            buf[(r + width - 1 + j) * channels + ch] = buf[(r + right) * channels + ch];
        }
    }
}

multiversion! {
    fn blur_band(src: &[u8], width: usize, height: usize, channels: usize, y0: usize, kernel: &Kernel, out: &mut [u8]) {
        let n = width * channels;
        let mut s = BlurScratch::default();
        for (k, row) in out.chunks_exact_mut(n).enumerate() {
            blur_row(src, width, height, channels, (y0 + k) as isize, kernel, row, &mut s);
        }
    }
}

/// Rows per parallel task: enough tasks for work stealing, few enough to amortise set-up.
pub(crate) fn band_rows(height: usize, width: usize) -> usize {
    let tasks = rayon::current_num_threads().max(1) * 4;
    let by_tasks = height.div_ceil(tasks);
    // At least ~64 KB of pixels per task.
    by_tasks.max((1 << 16) / width.max(1)).clamp(1, height.max(1))
}

/// Check an interleaved 8-bit image buffer.
pub(crate) fn check_image(data: &[u8], width: usize, height: usize, channels: usize) -> Result<()> {
    if !(1..=4).contains(&channels) {
        return Err(KernelError::InvalidInput(format!("expected 1 to 4 channels, got {channels}")));
    }
    if width == 0 || height == 0 {
        return Err(KernelError::InvalidInput(format!("image is empty ({width}x{height})")));
    }
    if width >= (1 << 30) || height >= (1 << 30) {
        return Err(KernelError::InvalidInput(format!("image side too large ({width}x{height})")));
    }
    let need = width.checked_mul(height).and_then(|v| v.checked_mul(channels));
    if need != Some(data.len()) {
        return Err(KernelError::InvalidInput(format!(
            "pixel buffer has {} bytes, expected {width}x{height}x{channels}",
            data.len()
        )));
    }
    Ok(())
}

/// Gaussian blur of an interleaved 8-bit image (`channels` 1..=4, each blurred on its own).
///
/// ```
/// use vectile_kernels::edges::gaussian_blur;
/// let img = vec![100u8; 16 * 8];
/// assert_eq!(gaussian_blur(&img, 16, 8, 1, 1.5).unwrap(), img); // flat stays flat
/// ```
pub fn gaussian_blur(src: &[u8], width: usize, height: usize, channels: usize, sigma: f32) -> Result<Vec<u8>> {
    check_image(src, width, height, channels)?;
    let kernel = Kernel::gaussian(sigma)?;
    let n = width * channels;
    let mut out = vec![0u8; n * height];
    let rows = band_rows(height, width);
    out.par_chunks_mut(rows * n).enumerate().for_each(|(b, band)| {
        blur_band(src, width, height, channels, b * rows, &kernel, band);
    });
    Ok(out)
}

/// The fixed-point row blur with AVX2 intrinsics (LLVM's auto-vectorisation of the portable
/// version spills its accumulators). Same arithmetic, bit for bit.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::reflect_columns;
    use std::arch::x86_64::*;

    /// `centre`, `pairs[k]` = source rows y, (y - k, y + k); `v16`: scratch of n + 2 r c;
    /// `out`: n = width * channels bytes.
    #[target_feature(enable = "avx2")]
    #[allow(clippy::needless_range_loop, clippy::too_many_arguments)]
    pub(super) unsafe fn fixed_row(
        centre: &[u8],
        pairs: &[(&[u8], &[u8])],
        w: &[u16],
        v16: &mut [u16],
        width: usize,
        channels: usize,
        out: &mut [u8],
    ) {
        let r = w.len() - 1;
        let n = width * channels;
        let pad = r * channels;
        assert!(centre.len() >= n && out.len() >= n && v16.len() >= n + 2 * pad && pairs.len() == r + 1);
        assert!(pairs[1..].iter().all(|(a, b)| a.len() >= n && b.len() >= n));
        // Vertical: u8 -> u16, 16 pixels per register.
        let vt = v16.as_mut_ptr().add(pad);
        let mut i = 0;
        while i + 16 <= n {
            let c = _mm256_cvtepu8_epi16(_mm_loadu_si128(centre.as_ptr().add(i) as *const __m128i));
            let mut acc = _mm256_mullo_epi16(c, _mm256_set1_epi16(w[0] as i16));
            for k in 1..=r {
                let a = _mm256_cvtepu8_epi16(_mm_loadu_si128(pairs[k].0.as_ptr().add(i) as *const __m128i));
                let b = _mm256_cvtepu8_epi16(_mm_loadu_si128(pairs[k].1.as_ptr().add(i) as *const __m128i));
                acc = _mm256_add_epi16(acc, _mm256_mullo_epi16(_mm256_add_epi16(a, b), _mm256_set1_epi16(w[k] as i16)));
            }
            _mm256_storeu_si256(vt.add(i) as *mut __m256i, _mm256_srli_epi16(acc, 1));
            i += 16;
        }
        while i < n {
            let mut acc = w[0] * centre[i] as u16;
            for k in 1..=r {
                acc = acc.wrapping_add(w[k].wrapping_mul(pairs[k].0[i] as u16 + pairs[k].1[i] as u16));
            }
            *vt.add(i) = acc >> 1;
            i += 1;
        }
        reflect_columns(v16, width, channels, r);
        // Horizontal: 9.7 fixed point; mirrored pairs first (at most 65280, no overflow),
        // then x weight/256 (high half of the product), 32 pixels per step.
        let vp = v16.as_ptr().add(pad);
        let round = _mm256_set1_epi16(64);
        let mut i = 0;
        while i + 32 <= n {
            let w0 = _mm256_set1_epi16((w[0] << 8) as i16);
            let mut lo = _mm256_mulhi_epu16(_mm256_loadu_si256(vp.add(i) as *const __m256i), w0);
            let mut hi = _mm256_mulhi_epu16(_mm256_loadu_si256(vp.add(i + 16) as *const __m256i), w0);
            for k in 1..=r {
                let o = k * channels;
                let wk = _mm256_set1_epi16((w[k] << 8) as i16);
                let p0 = _mm256_add_epi16(
                    _mm256_loadu_si256(vp.add(i).sub(o) as *const __m256i),
                    _mm256_loadu_si256(vp.add(i + o) as *const __m256i),
                );
                let p1 = _mm256_add_epi16(
                    _mm256_loadu_si256(vp.add(i + 16).sub(o) as *const __m256i),
                    _mm256_loadu_si256(vp.add(i + 16 + o) as *const __m256i),
                );
                lo = _mm256_add_epi16(lo, _mm256_mulhi_epu16(p0, wk));
                hi = _mm256_add_epi16(hi, _mm256_mulhi_epu16(p1, wk));
            }
            let lo = _mm256_srli_epi16(_mm256_add_epi16(lo, round), 7);
            let hi = _mm256_srli_epi16(_mm256_add_epi16(hi, round), 7);
            // packus interleaves 128-bit lanes; permute them back into order.
            let packed = _mm256_permute4x64_epi64(_mm256_packus_epi16(lo, hi), 0b11_01_10_00);
            _mm256_storeu_si256(out.as_mut_ptr().add(i) as *mut __m256i, packed);
            i += 32;
        }
        let mulhi = |a: u16, w8: u16| ((a as u32 * w8 as u32) >> 16) as u16;
        while i < n {
            let mut acc = mulhi(*vp.add(i), w[0] << 8);
            for k in 1..=r {
                let o = k * channels;
                acc = acc.wrapping_add(mulhi(*vp.add(i).sub(o) + *vp.add(i + o), w[k] << 8));
            }
            out[i] = ((acc as u32 + 64) >> 7) as u8;
            i += 1;
        }
    }
}
