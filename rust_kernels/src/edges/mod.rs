//! Edge detection: separable Gaussian blur, Sobel gradients and Canny (interpolated
//! non-maximum suppression, double threshold, hysteresis, strength map).
//!
//! Images are interleaved 8-bit rasters with 1 to 4 channels, row-major, tightly packed.
//! Every kernel runs row-parallel (rayon, bands of rows), with AVX2 versions of the hot loops
//! chosen at run time (`simd`). Borders are reflect-101 throughout (see `blur`).

pub mod blur;
pub mod canny;
pub(crate) mod simd;
pub mod sobel;
mod strength;

pub use blur::{gaussian_blur, Kernel};
pub use canny::{canny, CannyOptions, CannyResult};
pub use sobel::{polar, sobel, SOBEL_UNIT};

#[cfg(test)]
mod tests;
