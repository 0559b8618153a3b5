//! Centerline tracing: the ink of a binary mask becomes strokes (a fitted centerline, open or
//! closed, and a width), for line art, drawings and handwriting.
//!
//! Four stages. (a) is local with a stated reach, so the tiled tracer can run it per tile
//! with a halo; (b)-(d) work on the skeleton's graph (a chain's decisions depend on the
//! whole chain) and read the mask only near the skeleton:
//! (a) `skeleton`: Zhang-Suen thinning capped at `skeleton::thinning_iterations(max_width)`
//!     iterations plus a staircase clean-up. **Reach**: a skeleton bit depends only on the
//!     mask within `skeleton::reach(max_width) = 8 * (ceil(max_width / 2) + 1) + 4` pixels
//!     (Chebyshev), so a tile with a halo of at least that gives exactly the untiled bits;
//! (b) `graph`: nodes (ends, dots, junction clusters) and pixel chains from the skeleton bits;
//! (c) `simplify`: close junctions merged and moved to where their straight branches' lines
//!     meet, spurs pruned, branches paired through junctions into paths; radii are read from
//!     the mask within `ceil(max_width) + 1` pixels of a skeleton pixel;
//! (d) `geometry`: points centred on the ink's cross-section, ends extended to the ink's end,
//!     corners kept, lines and cubic Beziers fitted (`FitOptions`), one width per stroke;
//!     cross-sections and line ends read the mask within `2 * max_width + 2` pixels of the
//!     skeleton, a dot's blob within a disc of `max_width`.
//!
//! Coordinates are pixel units with (0, 0) the top-left corner of the image: pixel (x, y)
//! has its centre at (x + 0.5, y + 0.5).
//!
//! Canonical output: an open stroke runs from its end with the smaller pixel index (row-major)
//! to the larger; strokes are ordered by the smallest pixel index of their start. The result
//! does not depend on thread count and is byte-identical for the same input and options.

pub mod fills;
pub mod geometry;
pub mod graph;
pub mod ink;
pub mod simplify;
pub mod skeleton;
pub mod trace;

#[cfg(test)]
mod fills_tests;
#[cfg(test)]
mod tests;

use crate::fit::{Curve, FitOptions};

/// Options of `centerlines`.
#[derive(Clone, Debug)]
pub struct CenterlineOptions {
    /// The widest line (pixels) thinned to a centerline; thicker ink keeps a core of
    /// unthinned pixels. Sets the reach of the skeleton (see the module docs).
    pub max_width: f32,
    /// Fitting of the centerlines: `tolerance` is the largest distance (pixels) between the
    /// fitted curve and the centred skeleton points.
    pub fit: FitOptions,
}

impl Default for CenterlineOptions {
    fn default() -> Self {
        CenterlineOptions { max_width: 16.0, fit: FitOptions { tolerance: 0.5, corner_run: 2 } }
    }
}

/// One traced line: its fitted centerline (open unless `closed`), and its width in pixels.
/// A dot is an open stroke of zero length (drawn as a round cap).
#[derive(Clone, Debug, PartialEq)]
pub struct Stroke {
    pub curve: Curve,
    pub closed: bool,
    pub width: f32,
}

/// Centerlines of the ink of `mask` (row-major, width*height, nonzero = ink). Deterministic.
///
/// ```
/// use vectile_kernels::strokes::{centerlines, CenterlineOptions};
/// // A horizontal line 3 px wide from x = 2 to x = 28 on a 30 x 9 image.
/// let (w, h) = (30, 9);
/// let mask: Vec<u8> = (0..w * h).map(|i| ((3..6).contains(&(i / w)) && (2..28).contains(&(i % w))) as u8).collect();
/// let s = centerlines(&mask, w, h, &CenterlineOptions::default());
/// assert_eq!(s.len(), 1);
/// assert!((s[0].width - 3.0).abs() < 0.5);
/// ```
pub fn centerlines(mask: &[u8], width: usize, height: usize, opts: &CenterlineOptions) -> Vec<Stroke> {
    assert_eq!(mask.len(), width * height, "mask must hold width * height pixels");
    if width == 0 || height == 0 {
        return Vec::new();
    }
    let bits = skeleton::skeleton(mask, width, height, skeleton::thinning_iterations(opts.max_width));
    centerlines_from_skeleton(&bits, mask, width, height, opts)
}

/// Stages (b)-(d) of `centerlines`, from the skeleton `bits` that stage (a) makes of `mask`
/// (the tiled tracer thins tiles and gathers their bits, `crate::tiled::lines`).
pub fn centerlines_from_skeleton(
    bits: &[u8],
    mask: &[u8],
    width: usize,
    height: usize,
    opts: &CenterlineOptions,
) -> Vec<Stroke> {
    let pixel_graph = graph::build(bits, width, height);
    let ink = ink::Ink { mask, w: width, h: height, reach: opts.max_width.max(1.0).ceil() as usize + 1 };
    let mut g = simplify::stroke_graph(&pixel_graph, &ink);
    simplify::canonical(&mut g);
    geometry::strokes(&g, &ink, opts.max_width, &opts.fit)
}
