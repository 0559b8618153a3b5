//! Thin structures on the image itself: the black-hat (dark lines on light ground) and
//! white-hat (light lines on dark ground) of the luma, with a square window just wider than
//! the widest line.
//!
//! The palette is no help here: an anti-aliased 1 px line is a run of blends that k-means
//! merges into the ground around it, so the line is found on the source pixels. A pixel's
//! responses depend only on the luma within `reach(max_width)` pixels (Chebyshev): the hats are
//! a max then a min filter (or min then max) of radius `radius(max_width)` each; a mask bit
//! reads the responses one pixel further.

use crate::image::ImageView;
use rayon::prelude::*;

/// Hat responses (luma levels, 0..255) above this seed a thin structure: the bench's thin-line
/// definition (a stroke pixel has a 5x5 hat response > 48).
pub const SEED_RESPONSE: f32 = 48.0;
/// Pixels next to a seed with a response above this join its structure: the anti-aliased rim
/// of a line, half of a seed's contrast.
pub const GROW_RESPONSE: f32 = 24.0;

/// Half-side of the square window of the hats for lines up to `max_width` px wide. An
/// anti-aliased line `w` px wide touches up to `ceil(w) + 1` pixels across, so the window
/// (2 r + 1 px) must be wider than that for the closing/opening to remove it.
pub fn radius(max_width: f32) -> usize {
    ((max_width.max(0.5).ceil() as usize) + 2) / 2
}

/// How far (Chebyshev pixels) the hats look from a pixel: a max and a min filter of `radius`.
pub fn reach(max_width: f32) -> usize {
    2 * radius(max_width)
}

/// Luma (Rec. 601) of every pixel as f32; transparent pixels read as white, as the bench
/// composites them.
pub fn luma_f32(img: &ImageView) -> Vec<f32> {
    (0..img.len())
        .into_par_iter()
        .map(|i| img.rgb(i).map_or(255.0, |c| 0.299 * c[0] as f32 + 0.587 * c[1] as f32 + 0.114 * c[2] as f32))
        .collect()
}

/// Running max (`max = true`) or min of a row-major field over a square window of radius `r`,
/// clamped at the border (the window shrinks there, as scipy's `mode="nearest"` behaves).
fn square_filter(v: &[f32], w: usize, h: usize, r: usize, max: bool) -> Vec<f32> {
    let pick = |a: f32, b: f32| if max { a.max(b) } else { a.min(b) };
    // Rows, then columns: a square window is separable for max and min.
    let mut rows = vec![0f32; v.len()];
    rows.par_chunks_mut(w).enumerate().for_each(|(y, out)| {
        let row = &v[y * w..(y + 1) * w];
        for (x, o) in out.iter_mut().enumerate() {
            let (a, b) = (x.saturating_sub(r), (x + r).min(w - 1));
            *o = row[a..=b].iter().copied().fold(row[x], pick);
        }
    });
    let mut out = vec![0f32; v.len()];
    out.par_chunks_mut(w).enumerate().for_each(|(y, o)| {
        let (a, b) = (y.saturating_sub(r), (y + r).min(h - 1));
        for (x, px) in o.iter_mut().enumerate() {
            let mut m = rows[y * w + x];
            for yy in a..=b {
                m = pick(m, rows[yy * w + x]);
            }
            *px = m;
        }
    });
    out
}

/// The two hat responses of a luma field: `(black_hat, white_hat)`, each >= 0.
///
/// ```
/// use vectile_kernels::thin::detect::hats;
/// // A dark vertical line one pixel wide on white, 7 x 3.
/// let luma: Vec<f32> = (0..21).map(|i| if i % 7 == 3 { 0.0 } else { 255.0 }).collect();
/// let (black, white) = hats(&luma, 7, 3, 1);
/// assert_eq!((black[3], black[0], white[3]), (255.0, 0.0, 0.0));
/// ```
pub fn hats(luma: &[f32], w: usize, h: usize, r: usize) -> (Vec<f32>, Vec<f32>) {
    let dil = square_filter(luma, w, h, r, true);
    let closing = square_filter(&dil, w, h, r, false);
    drop(dil);
    let ero = square_filter(luma, w, h, r, false);
    let opening = square_filter(&ero, w, h, r, true);
    let black = closing.iter().zip(luma).map(|(c, l)| (c - l).max(0.0)).collect();
    let white = luma.iter().zip(&opening).map(|(l, o)| (l - o).max(0.0)).collect();
    (black, white)
}

/// The thin structures of one polarity: which pixels, and their response.
#[derive(Clone, Debug)]
pub struct ThinMask {
    /// 1 where the pixel belongs to a thin structure of this polarity, else 0 (row-major).
    pub mask: Vec<u8>,
    /// The hat response of this polarity at every pixel (luma levels).
    pub response: Vec<f32>,
}

/// Thin pixels of one polarity: a pixel whose response beats the other polarity's and exceeds
/// `GROW_RESPONSE`, next to (8-neighbours, or itself) a pixel above `SEED_RESPONSE` (the rim of
/// an anti-aliased line joins its core, faint texture alone does not). Local: a mask bit reads
/// the responses within one pixel, so the whole detection reaches `reach(max_width) + 1` px.
pub fn thin_mask(response: Vec<f32>, other: &[f32], w: usize, h: usize) -> ThinMask {
    let candidate = |i: usize| response[i] > GROW_RESPONSE && response[i] > other[i];
    let seed = |i: usize| response[i] > SEED_RESPONSE && candidate(i);
    let mask = (0..w * h)
        .into_par_iter()
        .map(|i| {
            if !candidate(i) {
                return 0;
            }
            let (x, y) = (i % w, i / w);
            for yy in y.saturating_sub(1)..=(y + 1).min(h - 1) {
                for xx in x.saturating_sub(1)..=(x + 1).min(w - 1) {
                    if seed(yy * w + xx) {
                        return 1;
                    }
                }
            }
            0
        })
        .collect();
    ThinMask { mask, response }
}

/// Dark and light thin structures of an image for lines up to `max_width` px wide.
pub fn detect(img: &ImageView, max_width: f32) -> (ThinMask, ThinMask) {
    detect_luma(&luma_f32(img), img.width, img.height, max_width)
}

/// `detect` on a luma field (`luma_f32`) of `w` x `h` pixels.
pub fn detect_luma(luma: &[f32], w: usize, h: usize, max_width: f32) -> (ThinMask, ThinMask) {
    let (black, white) = hats(luma, w, h, radius(max_width));
    let dark = thin_mask(black.clone(), &white, w, h);
    let light = thin_mask(white, &black, w, h);
    (dark, light)
}
