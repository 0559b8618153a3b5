//! The tile grid and where one tile lies in the image.

use crate::error::{KernelError, Result};
use crate::image::ImageView;

/// Where a tile lies in the image.
#[derive(Clone, Copy, Debug)]
pub struct TileGeom {
    pub x0: usize,
    pub y0: usize,
    /// Image size.
    pub width: usize,
    pub height: usize,
}

/// Check that a tile of `img`'s size fits at its place in the image.
pub(super) fn check_geom(img: &ImageView, g: &TileGeom) -> Result<()> {
    if g.x0 + img.width > g.width || g.y0 + img.height > g.height {
        return Err(KernelError::InvalidInput(format!(
            "tile {}x{} at ({}, {}) does not fit in a {}x{} image",
            img.width, img.height, g.x0, g.y0, g.width, g.height
        )));
    }
    Ok(())
}

/// The tile grid: tiles of `tile` x `tile` pixels (smaller at the right and bottom), numbered
/// in raster order.
#[derive(Clone, Copy, Debug)]
pub struct Grid {
    pub width: usize,
    pub height: usize,
    pub tile: usize,
}

impl Grid {
    pub fn new(width: usize, height: usize, tile: usize) -> Result<Grid> {
        if tile == 0 || width == 0 || height == 0 {
            return Err(KernelError::InvalidOption(format!(
                "tile size must be >= 1 and the image non-empty (tile {tile}, image {width}x{height})"
            )));
        }
        Ok(Grid { width, height, tile })
    }
    pub fn cols(&self) -> usize {
        self.width.div_ceil(self.tile)
    }
    pub fn rows(&self) -> usize {
        self.height.div_ceil(self.tile)
    }
    pub fn len(&self) -> usize {
        self.cols() * self.rows()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// (x0, y0, width, height) of tile `i`.
    pub fn rect(&self, i: usize) -> (usize, usize, usize, usize) {
        let (r, c) = (i / self.cols(), i % self.cols());
        let (x0, y0) = (c * self.tile, r * self.tile);
        (x0, y0, self.tile.min(self.width - x0), self.tile.min(self.height - y0))
    }
    /// The seams in a fixed order: for every tile in raster order, its right seam, then its
    /// bottom seam. Each is (tile a, tile b, vertical).
    pub fn seams(&self) -> Vec<(usize, usize, bool)> {
        let (cols, rows) = (self.cols(), self.rows());
        let mut out = Vec::new();
        for r in 0..rows {
            for c in 0..cols {
                let i = r * cols + c;
                if c + 1 < cols {
                    out.push((i, i + 1, true));
                }
                if r + 1 < rows {
                    out.push((i, i + cols, false));
                }
            }
        }
        out
    }
}
