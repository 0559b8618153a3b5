//! Flat-field correction: the white field of a scan (paper colour x lamp illumination) is
//! estimated from the pixels the palette calls paper and divided out, so paper under the lamp
//! and paper in its shadow become one colour, and ink keeps its colour wherever it lies.
//!
//! The field is smooth (a lamp's fall-off is a quadratic in x and y), so it is fitted as a
//! polynomial of degree [`DEGREE`] per channel, weighted least squares, on the means of the
//! cells of a grid fixed in image coordinates ([`CELL`] pixels square) that are wholly paper:
//! cells with any ink in them are left out, and with them the paper pixels that blur and JPEG
//! darkened next to ink. One robust refit drops cells far from the first fit (dirt, a paper-
//! coloured fill). Everything the fit reads is exact integer sums per cell, which decompose
//! over tiles: a tile adds its pixels into the cells it covers ([`accumulate`]), the sums of
//! all tiles are added ([`merge`], any order), and the fit runs once on the merged grid, so
//! the tiled and the whole-image tracer correct every pixel with the same field.
//!
//! Without enough paper (a map crop that shows no margin) there is no field: nothing is
//! corrected. The field is clamped to about the range of the cell means it was fitted on, so a
//! fit from paper in one corner does not extrapolate wildly across the rest of the page.

// Small fixed-size matrices (the normal equations, three channels) read clearest indexed.
#![allow(clippy::needless_range_loop)]

use super::Background;
use crate::error::{KernelError, Result};
use crate::image::ImageView;
use crate::quantize::{nearest_label, pack, FxBuild};
use crate::tiled::{LabelRule, TiledPalette};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Side (pixels) of the cells the paper is averaged over.
pub const CELL: usize = 16;

/// Degree of the fitted polynomial (2: a lamp's quadratic fall-off).
pub const DEGREE: usize = 2;

/// Number of monomials x^i y^j with i + j <= DEGREE.
const TERMS: usize = (DEGREE + 1) * (DEGREE + 2) / 2;

/// Fewest all-paper cells a field is fitted from.
pub const MIN_CELLS: usize = 16;

/// Cells whose mean is further than this many robust sigmas from the first fit are dropped.
const OUTLIER_SIGMAS: f64 = 3.0;

/// Least robust sigma (grey levels, summed over channels) of the outlier test.
const MIN_SIGMA: f64 = 1.0;

/// How far (share of the fitted cells' range) the field may extrapolate below the darkest
/// and above the lightest of them: the corners of a page lie beyond the last cell centres.
const CLAMP_MARGIN: f64 = 0.1;

/// Paper pixel sums of the cells of a rectangle of the grid: per cell the pixels of the image
/// in it that were seen, those that are paper, and their channel sums.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldSums {
    /// First cell column and row, and the number of each.
    pub cx0: usize,
    pub cy0: usize,
    pub cols: usize,
    pub rows: usize,
    /// Per cell, row-major: [pixels seen, paper pixels, sum r, sum g, sum b] of the paper.
    pub cells: Vec<[u64; 5]>,
}

/// The sums of the `width` x `height` pixels `rgb` (3 channels) placed at (`x0`, `y0`) of the
/// image; `paper(i)` says whether pixel `i` (raster order within the rectangle) is paper.
pub fn accumulate(
    rgb: &[u8],
    width: usize,
    height: usize,
    (x0, y0): (usize, usize),
    paper: impl Fn(usize) -> bool,
) -> FieldSums {
    if width == 0 || height == 0 {
        return FieldSums::default();
    }
    let (cx0, cy0) = (x0 / CELL, y0 / CELL);
    let cols = (x0 + width - 1) / CELL - cx0 + 1;
    let rows = (y0 + height - 1) / CELL - cy0 + 1;
    let mut cells = vec![[0u64; 5]; cols * rows];
    for y in 0..height {
        let row = ((y0 + y) / CELL - cy0) * cols;
        for x in 0..width {
            let i = y * width + x;
            let cell = &mut cells[row + (x0 + x) / CELL - cx0];
            cell[0] += 1;
            if paper(i) {
                cell[1] += 1;
                for k in 0..3 {
                    cell[2 + k] += rgb[3 * i + k] as u64;
                }
            }
        }
    }
    FieldSums { cx0, cy0, cols, rows, cells }
}

/// The sums of `parts` (tiles of a `width` x `height` image, any order) over the whole grid.
pub fn merge(parts: &[FieldSums], width: usize, height: usize) -> Result<FieldSums> {
    let (cols, rows) = (width.div_ceil(CELL), height.div_ceil(CELL));
    let mut cells = vec![[0u64; 5]; cols * rows];
    for p in parts {
        if p.cx0 + p.cols > cols || p.cy0 + p.rows > rows || p.cells.len() != p.cols * p.rows {
            return Err(KernelError::InvalidInput(format!(
                "field sums of cells ({}, {}) + {} x {} do not fit a {width} x {height} image",
                p.cx0, p.cy0, p.cols, p.rows
            )));
        }
        for r in 0..p.rows {
            for c in 0..p.cols {
                let (dst, src) = (&mut cells[(p.cy0 + r) * cols + p.cx0 + c], p.cells[r * p.cols + c]);
                for k in 0..5 {
                    dst[k] += src[k];
                }
            }
        }
    }
    Ok(FieldSums { cx0: 0, cy0: 0, cols, rows, cells })
}

/// A fitted white field and what it is divided into.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Field {
    pub width: usize,
    pub height: usize,
    /// Polynomial coefficients per channel (monomials in [`monomials`] order).
    pub coef: [[f64; TERMS]; 3],
    /// The field is clamped to [lo, hi] per channel (the fitted cells' range, widened by
    /// [`CLAMP_MARGIN`]).
    pub lo: [f64; 3],
    pub hi: [f64; 3],
    /// The colour the field becomes: white for `Background::White`, the paper's palette
    /// colour for `Keep`.
    pub target: [f64; 3],
}

/// Monomials x^i y^j (i + j <= DEGREE) of the normalised position (u, v) in -1..1.
fn monomials(u: f64, v: f64) -> [f64; TERMS] {
    let mut m = [0.0; TERMS];
    let mut k = 0;
    for d in 0..=DEGREE {
        for j in 0..=d {
            m[k] = u.powi((d - j) as i32) * v.powi(j as i32);
            k += 1;
        }
    }
    m
}

/// Normalised coordinate of pixel position `p` (a pixel centre, or a cell's mean) on a side of `n`.
fn norm(p: f64, n: usize) -> f64 {
    2.0 * p / n as f64 - 1.0
}

/// Solve the symmetric system `a x = b` (Gaussian elimination with partial pivoting); None
/// when it is singular (the cells do not span the polynomial: paper along a single line).
fn solve(mut a: [[f64; TERMS]; TERMS], mut b: [[f64; 3]; TERMS]) -> Option<[[f64; 3]; TERMS]> {
    let scale = (0..TERMS).map(|i| a[i][i].abs()).fold(0.0, f64::max);
    for col in 0..TERMS {
        let piv = (col..TERMS).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[piv][col].abs() <= 1e-12 * scale.max(f64::MIN_POSITIVE) {
            return None;
        }
        a.swap(col, piv);
        b.swap(col, piv);
        for r in col + 1..TERMS {
            let f = a[r][col] / a[col][col];
            for c in col..TERMS {
                a[r][c] -= f * a[col][c];
            }
            for k in 0..3 {
                b[r][k] -= f * b[col][k];
            }
        }
    }
    let mut x = [[0.0; 3]; TERMS];
    for r in (0..TERMS).rev() {
        for k in 0..3 {
            let s: f64 = (r + 1..TERMS).map(|c| a[r][c] * x[c][k]).sum();
            x[r][k] = (b[r][k] - s) / a[r][r];
        }
    }
    Some(x)
}

/// An all-paper cell: its centre (normalised), mean colour and pixel count.
struct Sample {
    m: [f64; TERMS],
    mean: [f64; 3],
    n: f64,
}

/// Weighted least squares over `samples` (those `keep` says), per channel.
fn fit_poly(samples: &[Sample], keep: &[bool]) -> Option<[[f64; TERMS]; 3]> {
    let mut a = [[0.0; TERMS]; TERMS];
    let mut b = [[0.0; 3]; TERMS];
    for (s, _) in samples.iter().zip(keep).filter(|(_, &k)| k) {
        for i in 0..TERMS {
            for j in 0..TERMS {
                a[i][j] += s.n * s.m[i] * s.m[j];
            }
            for k in 0..3 {
                b[i][k] += s.n * s.m[i] * s.mean[k];
            }
        }
    }
    let x = solve(a, b)?;
    Some(std::array::from_fn(|k| std::array::from_fn(|i| x[i][k])))
}

fn eval(coef: &[f64; TERMS], m: &[f64; TERMS]) -> f64 {
    coef.iter().zip(m).map(|(c, x)| c * x).sum()
}

/// The field of a `width` x `height` image from its merged sums (see the module
/// documentation), divided into `target`; None without enough all-paper cells.
pub fn fit(sums: &FieldSums, width: usize, height: usize, target: [u8; 3]) -> Option<Field> {
    let mut samples = Vec::new();
    for r in 0..sums.rows {
        for c in 0..sums.cols {
            let cell = sums.cells[r * sums.cols + c];
            if cell[1] == 0 || cell[1] != cell[0] {
                continue;
            }
            let (cx, cy) = ((sums.cx0 + c) * CELL, (sums.cy0 + r) * CELL);
            // The cell's centre, clipped to the image.
            let mx = (cx as f64 + (cx + CELL).min(width) as f64) / 2.0;
            let my = (cy as f64 + (cy + CELL).min(height) as f64) / 2.0;
            let n = cell[1] as f64;
            samples.push(Sample {
                m: monomials(norm(mx, width), norm(my, height)),
                mean: [cell[2] as f64 / n, cell[3] as f64 / n, cell[4] as f64 / n],
                n,
            });
        }
    }
    if samples.len() < MIN_CELLS {
        return None;
    }
    let mut keep = vec![true; samples.len()];
    let mut coef = fit_poly(&samples, &keep)?;
    // Robust refit: residual of the channel sum, scaled by its median absolute deviation.
    let resid: Vec<f64> = samples.iter().map(|s| (0..3).map(|k| s.mean[k] - eval(&coef[k], &s.m)).sum()).collect();
    let mut abs: Vec<f64> = resid.iter().map(|r| r.abs()).collect();
    abs.sort_by(f64::total_cmp);
    // At least one grey level: on a noise-free page the deviations are rounding.
    let sigma = (1.4826 * abs[abs.len() / 2]).max(MIN_SIGMA);
    {
        for (k, r) in keep.iter_mut().zip(&resid) {
            *k = r.abs() <= OUTLIER_SIGMAS * sigma;
        }
        if keep.iter().filter(|&&k| k).count() >= MIN_CELLS {
            coef = fit_poly(&samples, &keep)?;
        }
    }
    let mut lo = [f64::INFINITY; 3];
    let mut hi = [0.0f64; 3];
    for (s, _) in samples.iter().zip(&keep).filter(|(_, &k)| k) {
        for k in 0..3 {
            lo[k] = lo[k].min(s.mean[k]);
            hi[k] = hi[k].max(s.mean[k]);
        }
    }
    if lo.iter().any(|&v| v < 1.0) {
        return None;
    }
    for k in 0..3 {
        lo[k] *= 1.0 - CLAMP_MARGIN;
        hi[k] = (hi[k] * (1.0 + CLAMP_MARGIN)).min(255.0);
    }
    Some(Field { width, height, coef, lo, hi, target: target.map(f64::from) })
}

impl Field {
    /// Correct the `width` x `height` RGB pixels `rgb` placed at (`x0`, `y0`) of the image:
    /// each channel times target / field, rounded and clipped. Per pixel, so any tiling
    /// gives the same pixels.
    pub fn apply(&self, rgb: &mut [u8], width: usize, (x0, y0): (usize, usize)) {
        if width == 0 {
            return;
        }
        rgb.par_chunks_mut(3 * width).enumerate().for_each(|(y, row)| {
            let v = norm((y0 + y) as f64 + 0.5, self.height);
            for (x, px) in row.chunks_exact_mut(3).enumerate() {
                let m = monomials(norm((x0 + x) as f64 + 0.5, self.width), v);
                for k in 0..3 {
                    let f = eval(&self.coef[k], &m).clamp(self.lo[k], self.hi[k]);
                    px[k] = (px[k] as f64 * self.target[k] / f).round().min(255.0) as u8;
                }
            }
        });
    }
}

/// The colour `bg` makes the paper: white for `White`, the paper's own `colour` for `Keep`;
/// None where the field is not used (no background, or a transparent one).
pub fn target(bg: Background, colour: [u8; 3]) -> Option<[u8; 3]> {
    match bg {
        Background::White => Some([255; 3]),
        Background::Keep => Some(colour),
        Background::Off | Background::Transparent => None,
    }
}

/// The flat-field corrected pixels of a whole opaque RGB image whose palette `labels` call
/// `paper` paper, or None when there is no field (see [`fit`]).
pub fn flatten(img: &ImageView, labels: &[i32], paper: i32, target: [u8; 3]) -> Option<Vec<u8>> {
    if img.channels != 3 {
        return None;
    }
    let sums = accumulate(img.data, img.width, img.height, (0, 0), |i| labels[i] == paper);
    let field = fit(&sums, img.width, img.height, target)?;
    let mut out = img.data.to_vec();
    field.apply(&mut out, img.width, (0, 0));
    Some(out)
}

/// A tile's sums for the tiled tracer: the `img` tile at (`x0`, `y0`), its paper the pixels
/// the global `palette` labels paper (as `quantize` labels them in the whole image). Empty
/// when the palette has no paper, its background uses no field, or the pixels are not RGB
/// (the whole-image tracer fits no field there either).
pub fn tile_sums(img: &ImageView, (x0, y0): (usize, usize), palette: &TiledPalette) -> FieldSums {
    let paper = match palette.paper {
        Some(p) if !palette.binary && img.channels == 3 && target(palette.background, [0; 3]).is_some() => p,
        _ => return FieldSums::default(),
    };
    let mut cache: HashMap<u32, bool, FxBuild> = HashMap::default();
    let is_paper: Vec<bool> = (0..img.len())
        .map(|i| {
            let c = [img.data[3 * i], img.data[3 * i + 1], img.data[3 * i + 2]];
            *cache.entry(pack(c)).or_insert_with(|| match &palette.rule {
                LabelRule::Nearest { centres, remap } => nearest_label(centres, remap, c) == paper,
                LabelRule::Table(t) => t.binary_search_by_key(&pack(c), |e| e.0).is_ok_and(|k| t[k].1 == paper),
                LabelRule::Threshold(_) => false,
            })
        })
        .collect();
    accumulate(img.data, img.width, img.height, (x0, y0), |i| is_paper[i])
}

/// The field of a `width` x `height` image from every tile's [`tile_sums`] (any order), as
/// [`flatten`] fits it on the whole image; None where that fits none.
pub fn tile_field(parts: &[FieldSums], width: usize, height: usize, palette: &TiledPalette) -> Result<Option<Field>> {
    let Some(t) = palette.paper.and_then(|p| target(palette.background, palette.palette[p as usize])) else {
        return Ok(None);
    };
    let parts: Vec<FieldSums> = parts.iter().filter(|p| !p.cells.is_empty()).cloned().collect();
    Ok(fit(&merge(&parts, width, height)?, width, height, t))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Yellowed paper under a lamp falling off by up to 20 % (quadratic around a point off
    /// centre, as the bench's scan model), with a black and a red block of ink.
    fn page(w: usize, h: usize) -> (Vec<u8>, Vec<bool>, Vec<[f64; 3]>) {
        let paper = [240.0, 228.0, 196.0];
        let (lx, ly) = (0.4 * w as f64, 0.35 * h as f64);
        let r2max = (w as f64 - lx).powi(2) + (h as f64 - ly).powi(2);
        let mut rgb = vec![0u8; w * h * 3];
        let mut is_paper = vec![true; w * h];
        let mut light = Vec::new();
        for y in 0..h {
            for x in 0..w {
                let i = y * w + x;
                let l = 1.0 - 0.2 * ((x as f64 + 0.5 - lx).powi(2) + (y as f64 + 0.5 - ly).powi(2)) / r2max;
                light.push(paper.map(|p| p * l));
                let ink = if (20..60).contains(&x) && (30..50).contains(&y) {
                    [0.0, 0.0, 0.0]
                } else if (100..140).contains(&x) && (90..130).contains(&y) {
                    [0.8, 0.1, 0.1]
                } else {
                    [1.0; 3]
                };
                is_paper[i] = ink == [1.0; 3];
                for k in 0..3 {
                    rgb[3 * i + k] = (paper[k] * l * ink[k]).round() as u8;
                }
            }
        }
        (rgb, is_paper, light)
    }

    #[test]
    fn a_known_falloff_is_recovered() {
        let (w, h) = (200, 160);
        let (rgb, is_paper, light) = page(w, h);
        let sums = accumulate(&rgb, w, h, (0, 0), |i| is_paper[i]);
        let field = fit(&sums, w, h, [255; 3]).expect("a field");
        // The fitted field is the lamp within one grey level everywhere on the page.
        let mut worst = 0.0f64;
        for y in 0..h {
            for x in 0..w {
                let m = monomials(norm(x as f64 + 0.5, w), norm(y as f64 + 0.5, h));
                for k in 0..3 {
                    let f = eval(&field.coef[k], &m).clamp(field.lo[k], field.hi[k]);
                    worst = worst.max((f - light[y * w + x][k]).abs());
                }
            }
        }
        assert!(worst < 1.0, "field off by {worst}");
        // Corrected: paper is white everywhere, the red ink one colour across its block.
        let mut out = rgb.clone();
        field.apply(&mut out, w, (0, 0));
        for (i, &p) in is_paper.iter().enumerate() {
            if p {
                assert!(out[3 * i..3 * i + 3].iter().all(|&v| v >= 253), "{:?}", &out[3 * i..3 * i + 3]);
            }
        }
        let red = |x: usize, y: usize| out[3 * (y * w + x)];
        assert!(red(100, 90).abs_diff(red(139, 129)) <= 1);
        assert!(red(100, 90).abs_diff(204) <= 2, "{}", red(100, 90));
    }

    #[test]
    fn tiles_add_up_to_the_whole_image() {
        let (w, h) = (200, 160);
        let (rgb, is_paper, _) = page(w, h);
        let whole = merge(&[accumulate(&rgb, w, h, (0, 0), |i| is_paper[i])], w, h).unwrap();
        for tile in [1usize, 7, 16, 33] {
            let mut parts = Vec::new();
            for ty in (0..h).step_by(tile) {
                for tx in (0..w).step_by(tile) {
                    let (tw, th) = (tile.min(w - tx), tile.min(h - ty));
                    let mut px = Vec::new();
                    let mut pp = Vec::new();
                    for y in ty..ty + th {
                        px.extend_from_slice(&rgb[3 * (y * w + tx)..3 * (y * w + tx + tw)]);
                        pp.extend_from_slice(&is_paper[y * w + tx..y * w + tx + tw]);
                    }
                    parts.push(accumulate(&px, tw, th, (tx, ty), |i| pp[i]));
                }
            }
            parts.reverse();
            assert_eq!(merge(&parts, w, h).unwrap(), whole, "tile {tile}");
        }
        assert!(merge(&[accumulate(&rgb, w, h, (16, 0), |i| is_paper[i])], w, h).is_err());
    }

    #[test]
    fn no_paper_no_field() {
        let (w, h) = (64, 64);
        let rgb = vec![90u8; w * h * 3];
        let sums = accumulate(&rgb, w, h, (0, 0), |_| false);
        assert_eq!(fit(&sums, w, h, [255; 3]), None);
        // A few paper cells are not enough either.
        let sums = accumulate(&rgb, w, h, (0, 0), |i| i % w < 16 && i / w < 16);
        assert_eq!(fit(&sums, w, h, [255; 3]), None);
    }
}
