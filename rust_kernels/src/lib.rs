//! vectile kernels: raster-to-vector tracing in pure Rust.
//!
//! Pipeline for one image (see DESIGN.md section 1):
//! `quantize` (palette + labels) -> `regions` (components, speckle merging) ->
//! `boundary` (crack graph of shared edges) -> `fit` (each edge fitted once) -> `svg`.
//! `scan` cleans scanned pages before quantization. `trace` runs the whole pipeline. `tiled` runs the same pipeline tile by tile (stages a
//! Dask graph calls), `edges` holds the edge-detection kernels. The Python binding lives in
//! the `python` module folder behind the `python` feature, so `cargo test` needs no Python.

pub mod boundary;
pub mod color;
pub mod edges;
pub mod error;
pub mod fit;
pub mod image;
pub mod quantize;
pub mod regions;
pub mod scan;
pub mod strokes;
pub mod svg;
pub mod thin;
pub mod tiled;
pub mod trace;

#[cfg(feature = "python")]
mod python;

pub use error::{KernelError, Result};
