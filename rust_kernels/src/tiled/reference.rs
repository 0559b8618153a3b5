//! The reference driver: every stage in one process, in order, as the Dask flow runs them
//! across tasks. Tests compare its SVG with `trace`'s.

use super::arcs::tile_arcs;
use super::assemble::assemble;
use super::grid::{Grid, TileGeom};
use super::histogram::{palette_from_histograms, tile_histogram};
use super::regions::{seam_links, tile_regions};
use super::stitch::stitch;
use crate::error::Result;
use crate::image::ImageView;
use crate::trace::{TraceOptions, TraceStats};

/// The whole tiled pipeline in one process, sequentially (tests and reference).
pub fn trace_tiled(img: &ImageView, tile: usize, opts: &TraceOptions) -> Result<(String, TraceStats)> {
    opts.validate()?;
    let grid = Grid::new(img.width, img.height, tile)?;
    let ch = img.channels;
    let crop = |i: usize| -> (Vec<u8>, TileGeom, usize, usize) {
        let (x0, y0, w, h) = grid.rect(i);
        let mut data = Vec::with_capacity(w * h * ch);
        for y in y0..y0 + h {
            data.extend_from_slice(&img.data[(y * img.width + x0) * ch..(y * img.width + x0 + w) * ch]);
        }
        (data, TileGeom { x0, y0, width: img.width, height: img.height }, w, h)
    };
    let hists = (0..grid.len())
        .map(|i| {
            let (d, g, w, h) = crop(i);
            tile_histogram(&ImageView::new(&d, w, h, ch)?, &g, opts.mode)
        })
        .collect::<Result<Vec<_>>>()?;
    let palette = palette_from_histograms(&hists, opts)?;
    let (regions, borders): (Vec<_>, Vec<_>) = (0..grid.len())
        .map(|i| {
            let (d, g, w, h) = crop(i);
            tile_regions(&ImageView::new(&d, w, h, ch)?, &g, &palette, opts.local_merge.then_some(opts.min_area))
        })
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .unzip();
    let seams =
        grid.seams().iter().map(|&(a, b, v)| seam_links(&borders[a], &borders[b], v)).collect::<Result<Vec<_>>>()?;
    let (links, table) = stitch(&grid, &regions, &borders, &seams, &palette, opts)?;
    let arcs = (0..grid.len())
        .map(|i| {
            let (d, g, w, h) = crop(i);
            tile_arcs(&ImageView::new(&d, w, h, ch)?, &g, &palette, &links[i], opts)
        })
        .collect::<Result<Vec<_>>>()?;
    assemble(arcs, &table, img.width, img.height, opts)
}
