//! The reference driver: every stage in one process, in order, as the Dask flow runs them
//! across tasks. Tests compare its SVG with `trace`'s.
//!
//! With the scan front end on, a first stage cleans every tile from the tile and a halo of
//! `scan::reach` pixels (`scan::prepare_window`) into a second image, as the Dask flow writes
//! cleaned tiles into a second store, and every later stage reads the cleaned pixels. With a
//! keep or white background the paper's white field is then divided out of every tile
//! (`scan::field`) and the palette fitted again, as the Dask flow's flatten pass does.

use super::arcs::tile_arcs;
use super::assemble::assemble;
use super::grid::{Grid, TileGeom};
use super::histogram::{palette_from_histograms, tile_histogram, TileHistogram, TiledPalette};
use super::lines::{assemble_lines, line_plan, line_reach, line_window, resolve_plan, tile_fringe, tile_lines};
use super::regions::{seam_links, tile_regions};
use super::stitch::stitch;
use crate::error::Result;
use crate::image::ImageView;
use crate::scan::{self, denoise::Rect, field, Background, ScanOptions};
use crate::trace::{Mode, TraceOptions, TraceStats};

/// The whole tiled pipeline in one process, sequentially (tests and reference).
pub fn trace_tiled(img: &ImageView, tile: usize, opts: &TraceOptions) -> Result<(String, TraceStats)> {
    opts.validate()?;
    let grid = Grid::new(img.width, img.height, tile)?;
    let cleaned = clean_tiles(img, &grid, &opts.scan)?;
    let cleaned_view = cleaned.as_deref().map(|px| ImageView::new(px, img.width, img.height, 3)).transpose()?;
    let img = cleaned_view.as_ref().unwrap_or(img);
    let ch = img.channels;
    let crop = |i: usize| -> (Vec<u8>, TileGeom, usize, usize) {
        let (x0, y0, w, h) = grid.rect(i);
        crop_rect(img, x0, y0, w, h)
    };
    let hists = (0..grid.len())
        .map(|i| {
            let (d, g, w, h) = crop(i);
            tile_histogram(&ImageView::new(&d, w, h, ch)?, &g, opts.mode)
        })
        .collect::<Result<Vec<_>>>()?;
    if opts.mode == Mode::Centerline {
        // A transparent paper is the kept paper's palette without its canvas.
        let transparent = opts.scan.background == Background::Transparent;
        let kept = ScanOptions { background: Background::Keep, ..opts.scan.clone() };
        let palette = palette_from_histograms(
            &hists,
            &TraceOptions { scan: if transparent { kept } else { opts.scan.clone() }, ..opts.clone() },
        )?;
        return trace_lines(img, &grid, &hists, &palette, !transparent, opts);
    }
    let mut palette = palette_from_histograms(&hists, opts)?;
    // Keep and white: the white field from every tile's paper sums, each tile flattened, and
    // the palette again from the flattened tiles' histograms (the Dask flow's flatten pass).
    let sums = (0..grid.len())
        .map(|i| {
            let (d, g, w, h) = crop(i);
            Ok(field::tile_sums(&ImageView::new(&d, w, h, ch)?, (g.x0, g.y0), &palette))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut flat = None;
    if let Some(f) = field::tile_field(&sums, img.width, img.height, &palette)? {
        let mut px = vec![0u8; img.width * img.height * 3];
        let mut hists = Vec::new();
        for i in 0..grid.len() {
            let (mut d, g, w, h) = crop(i);
            f.apply(&mut d, w, (g.x0, g.y0));
            hists.push(tile_histogram(&ImageView::new(&d, w, h, 3)?, &g, opts.mode)?);
            for (r, row) in d.chunks_exact(3 * w).enumerate() {
                let at = 3 * ((g.y0 + r) * img.width + g.x0);
                px[at..at + 3 * w].copy_from_slice(row);
            }
        }
        palette = palette_from_histograms(&hists, opts)?;
        flat = Some(px);
    }
    let flat_view = flat.as_deref().map(|px| ImageView::new(px, img.width, img.height, 3)).transpose()?;
    let img = flat_view.as_ref().unwrap_or(img);
    let crop = |i: usize| -> (Vec<u8>, TileGeom, usize, usize) {
        let (x0, y0, w, h) = grid.rect(i);
        crop_rect(img, x0, y0, w, h)
    };
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

/// The pixels of the `w` x `h` rectangle at `(x0, y0)` of `img`, and its place.
fn crop_rect(img: &ImageView, x0: usize, y0: usize, w: usize, h: usize) -> (Vec<u8>, TileGeom, usize, usize) {
    let ch = img.channels;
    let mut data = Vec::with_capacity(w * h * ch);
    for y in y0..y0 + h {
        data.extend_from_slice(&img.data[(y * img.width + x0) * ch..(y * img.width + x0 + w) * ch]);
    }
    (data, TileGeom { x0, y0, width: img.width, height: img.height }, w, h)
}

/// The centerline mode's stages after the palette (`super::lines`): the plan, every tile's
/// lines from its window, the assembly.
fn trace_lines(
    img: &ImageView,
    grid: &Grid,
    hists: &[TileHistogram],
    palette: &TiledPalette,
    canvas: bool,
    opts: &TraceOptions,
) -> Result<(String, TraceStats)> {
    let mut plan = line_plan(hists, palette)?;
    if !plan.faint.is_empty() {
        let parts = (0..grid.len())
            .map(|i| {
                let core = grid.rect(i);
                let (x0, y0) = (core.0.saturating_sub(1), core.1.saturating_sub(1));
                let (x1, y1) = ((core.0 + core.2 + 1).min(img.width), (core.1 + core.3 + 1).min(img.height));
                let (d, g, w, h) = crop_rect(img, x0, y0, x1 - x0, y1 - y0);
                tile_fringe(&ImageView::new(&d, w, h, img.channels)?, &g, core, palette, &plan)
            })
            .collect::<Result<Vec<_>>>()?;
        plan = resolve_plan(plan, &parts)?;
    }
    let reach = line_reach(opts.stroke_width_max, opts.min_area);
    let tiles = (0..grid.len())
        .map(|i| {
            let core = grid.rect(i);
            let (x0, y0, w, h) = line_window(core.0, core.1, core.2, core.3, img.width, img.height, reach);
            let (d, g, w, h) = crop_rect(img, x0, y0, w, h);
            let window = ImageView::new(&d, w, h, img.channels)?;
            tile_lines(&window, &g, core, palette, &plan, opts.stroke_width_max, opts.min_area)
        })
        .collect::<Result<Vec<_>>>()?;
    assemble_lines(tiles, img.width, img.height, palette, &plan, canvas, opts)
}

/// The front-end stage: every tile's core cleaned from its window (the tile and a halo of
/// `scan::reach` pixels, clipped to the image), into one RGB image; None when it is off.
fn clean_tiles(img: &ImageView, grid: &Grid, opts: &scan::ScanOptions) -> Result<Option<Vec<u8>>> {
    if !opts.cleans() {
        return Ok(None);
    }
    let (w, ch) = (img.width, img.channels);
    let image = Rect { x0: 0, y0: 0, width: w, height: img.height };
    let mut out = vec![0u8; w * img.height * 3];
    for i in 0..grid.len() {
        let (x0, y0, tw, th) = grid.rect(i);
        let core = Rect { x0, y0, width: tw, height: th };
        let win = core.grown(scan::reach(opts), &image);
        let mut data = Vec::with_capacity(win.width * win.height * ch);
        for y in win.y0..win.y0 + win.height {
            data.extend_from_slice(&img.data[(y * w + win.x0) * ch..(y * w + win.x0 + win.width) * ch]);
        }
        let window = ImageView::new(&data, win.width, win.height, ch)?;
        let Some(px) = scan::prepare_window(&window, win, (w, img.height), core, opts)? else {
            return Ok(None);
        };
        for (row, y) in px.chunks_exact(tw * 3).zip(y0..) {
            out[(y * w + x0) * 3..(y * w + x0 + tw) * 3].copy_from_slice(row);
        }
    }
    Ok(Some(out))
}
