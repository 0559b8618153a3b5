//! Python bindings of the tiled tracer (`vectile._kernels.tile_*`), one per stage of
//! `crate::tiled`. Stage results cross Python as opaque `bytes` (bincode), so Dask moves them
//! between tasks without knowing their shape. Every call goes through `python::run`.

use super::convert::{contiguous, image_dims, parse_layers, parse_mode, parse_scan, stats_dict};
use super::run;
use crate::fit::FitOptions;
use crate::image::ImageView;
use crate::tiled::{self, decode, encode, Grid, TileGeom};
use crate::trace::TraceOptions;
use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray3};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

fn bytes<'py>(py: Python<'py>, v: &[u8]) -> Bound<'py, PyBytes> {
    PyBytes::new(py, v)
}

fn geom(x0: usize, y0: usize, width: usize, height: usize) -> TileGeom {
    TileGeom { x0, y0, width, height }
}

/// Every blob of a list decoded (`what` names one in the error).
fn decode_all<T: for<'de> serde::Deserialize<'de>>(blobs: &[Vec<u8>], what: &str) -> crate::Result<Vec<T>> {
    blobs.iter().map(|b| decode(b, what)).collect()
}

/// Pass 0: histogram of one (h, w, 3|4) tile at (x0, y0) of a width x height image.
#[pyfunction]
#[pyo3(signature = (image, *, x0, y0, width, height, mode))]
fn tile_histogram<'py>(
    py: Python<'py>,
    image: PyReadonlyArray3<'py, u8>,
    x0: usize,
    y0: usize,
    width: usize,
    height: usize,
    mode: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    let (h, w, c) = image_dims(&image);
    let data = contiguous(&image, "image")?;
    let mode = parse_mode(mode)?;
    let out = run(py, || {
        Ok(encode(&tiled::tile_histogram(&ImageView::new(data, w, h, c)?, &geom(x0, y0, width, height), mode)?))
    })?;
    Ok(bytes(py, &out))
}

/// Several histograms (from `tile_histogram` or earlier merges) as one; see
/// `tiled::merge_histograms`.
#[pyfunction]
#[pyo3(signature = (hists))]
fn tile_histogram_merge<'py>(py: Python<'py>, hists: Vec<Vec<u8>>) -> PyResult<Bound<'py, PyBytes>> {
    let out = run(py, || {
        let hs: Vec<tiled::TileHistogram> = decode_all(&hists, "a tile histogram")?;
        Ok(encode(&tiled::merge_histograms(&hs)?))
    })?;
    Ok(bytes(py, &out))
}

/// The global palette from all tiles' histograms. Returns (palette state, palette (n, 3) uint8).
/// `delta_e` and `background` are the scan palette's (ΔE merge, paper); a transparent
/// background raises KernelNotOpaqueError (the tiled tracer cannot leave paper holes open).
#[pyfunction]
#[pyo3(signature = (hists, *, colors, seed, mode, threshold=None, delta_e=0.0, background=None))]
// One parameter per keyword argument of the Python signature.
#[allow(clippy::too_many_arguments)]
fn tile_palette<'py>(
    py: Python<'py>,
    hists: Vec<Vec<u8>>,
    colors: usize,
    seed: u64,
    mode: &str,
    threshold: Option<u8>,
    delta_e: f32,
    background: Option<&str>,
) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyAny>)> {
    let scan = parse_scan(0.0, 0.0, delta_e, background)?;
    let opts = TraceOptions { colors, seed, mode: parse_mode(mode)?, threshold, scan, ..Default::default() };
    let (state, palette) = run(py, || {
        let hs: Vec<tiled::TileHistogram> = decode_all(&hists, "a tile histogram")?;
        let p = tiled::palette_from_histograms(&hs, &opts)?;
        Ok((encode(&p), p.palette))
    })?;
    let k = palette.len();
    let flat: Vec<u8> = palette.into_iter().flatten().collect();
    Ok((bytes(py, &state), PyArray1::from_vec(py, flat).reshape([k, 3])?.into_any()))
}

/// Pass 1: local regions of one tile. Returns (regions, border). `local_merge`: settle the
/// tile's speckles here with `min_area` (the stitch and `tile_arcs` must use the same two).
#[pyfunction]
#[pyo3(signature = (image, *, x0, y0, width, height, palette, local_merge=false, min_area=8))]
// One parameter per keyword argument of the Python signature.
#[allow(clippy::too_many_arguments)]
fn tile_regions<'py>(
    py: Python<'py>,
    image: PyReadonlyArray3<'py, u8>,
    x0: usize,
    y0: usize,
    width: usize,
    height: usize,
    palette: &[u8],
    local_merge: bool,
    min_area: u64,
) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
    let (h, w, c) = image_dims(&image);
    let data = contiguous(&image, "image")?;
    let (r, b) = run(py, || {
        let p: tiled::TiledPalette = decode(palette, "the palette")?;
        let img = ImageView::new(data, w, h, c)?;
        let (r, b) = tiled::tile_regions(&img, &geom(x0, y0, width, height), &p, local_merge.then_some(min_area))?;
        Ok((encode(&r), encode(&b)))
    })?;
    Ok((bytes(py, &r), bytes(py, &b)))
}

/// Links across the seam between two tiles' borders (`b` right of `a` when `vertical`, else below).
#[pyfunction]
#[pyo3(signature = (a, b, *, vertical))]
fn tile_seam<'py>(py: Python<'py>, a: &[u8], b: &[u8], vertical: bool) -> PyResult<Bound<'py, PyBytes>> {
    let out = run(py, || {
        let (a, b): (tiled::TileBorder, tiled::TileBorder) = (decode(a, "a tile border")?, decode(b, "a tile border")?);
        Ok(encode(&tiled::seam_links(&a, &b, vertical)?))
    })?;
    Ok(bytes(py, &out))
}

/// The seams of a grid in stitch order: [(tile a, tile b, vertical), ...].
#[pyfunction]
#[pyo3(signature = (*, width, height, tile))]
fn tile_seams(width: usize, height: usize, tile: usize) -> PyResult<Vec<(usize, usize, bool)>> {
    Ok(Grid::new(width, height, tile)?.seams())
}

/// Global regions from all tiles (grid order) and seams (`tile_seams` order). Returns
/// (per-tile links, region table).
#[pyfunction]
#[pyo3(signature = (regions, borders, seams, *, width, height, tile, palette, min_area, local_merge=false))]
// One parameter per keyword argument of the Python signature.
#[allow(clippy::too_many_arguments)]
fn tile_stitch<'py>(
    py: Python<'py>,
    regions: Vec<Vec<u8>>,
    borders: Vec<Vec<u8>>,
    seams: Vec<Vec<u8>>,
    width: usize,
    height: usize,
    tile: usize,
    palette: &[u8],
    min_area: u64,
    local_merge: bool,
) -> PyResult<(Vec<Bound<'py, PyBytes>>, Bound<'py, PyBytes>)> {
    let opts = TraceOptions { min_area, local_merge, ..Default::default() };
    let (links, table) = run(py, || {
        let grid = Grid::new(width, height, tile)?;
        let p: tiled::TiledPalette = decode(palette, "the palette")?;
        let r: Vec<tiled::TileRegions> = decode_all(&regions, "tile regions")?;
        drop(regions);
        let bo: Vec<tiled::TileBorder> = decode_all(&borders, "a tile border")?;
        let s: Vec<tiled::SeamLinks> = decode_all(&seams, "seam links")?;
        let (links, table) = tiled::stitch(&grid, &r, &bo, &s, &p, &opts)?;
        Ok((links.iter().map(encode).collect::<Vec<_>>(), encode(&table)))
    })?;
    Ok((links.iter().map(|l| bytes(py, l)).collect(), bytes(py, &table)))
}

/// Pass 2: the boundary edges one tile owns (complete edges fitted, border pieces raw).
/// `local_merge` and `min_area` as given to `tile_regions`.
#[pyfunction]
#[pyo3(signature = (
    image, *, x0, y0, width, height, palette, links, tolerance, corner_run, layers, local_merge=false, min_area=8,
))]
// One parameter per keyword argument of the Python signature.
#[allow(clippy::too_many_arguments)]
fn tile_arcs<'py>(
    py: Python<'py>,
    image: PyReadonlyArray3<'py, u8>,
    x0: usize,
    y0: usize,
    width: usize,
    height: usize,
    palette: &[u8],
    links: &[u8],
    tolerance: f64,
    corner_run: u32,
    layers: &str,
    local_merge: bool,
    min_area: u64,
) -> PyResult<Bound<'py, PyBytes>> {
    let (h, w, c) = image_dims(&image);
    let data = contiguous(&image, "image")?;
    let opts = TraceOptions {
        fit: FitOptions { tolerance, corner_run },
        layers: parse_layers(layers)?,
        local_merge,
        min_area,
        ..Default::default()
    };
    let out = run(py, || {
        opts.validate()?;
        let p: tiled::TiledPalette = decode(palette, "the palette")?;
        let l: tiled::TileLinks = decode(links, "tile links")?;
        Ok(encode(&tiled::tile_arcs(&ImageView::new(data, w, h, c)?, &geom(x0, y0, width, height), &p, &l, &opts)?))
    })?;
    Ok(bytes(py, &out))
}

/// Join, order, outline and write: returns (svg_text, stats) exactly as `trace` would.
#[pyfunction]
#[pyo3(signature = (arcs, table, *, width, height, tolerance, corner_run, precision, layers))]
// One parameter per keyword argument of the Python signature.
#[allow(clippy::too_many_arguments)]
fn tile_assemble<'py>(
    py: Python<'py>,
    arcs: Vec<Vec<u8>>,
    table: &[u8],
    width: usize,
    height: usize,
    tolerance: f64,
    corner_run: u32,
    precision: u32,
    layers: &str,
) -> PyResult<(String, Bound<'py, PyDict>)> {
    let opts = TraceOptions {
        fit: FitOptions { tolerance, corner_run },
        precision,
        layers: parse_layers(layers)?,
        ..Default::default()
    };
    let (svg, stats) = run(py, || {
        let t: tiled::RegionTable = decode(table, "the region table")?;
        let a: Vec<tiled::TileArcs> = decode_all(&arcs, "tile arcs")?;
        drop(arcs);
        tiled::assemble(a, &t, width, height, &opts)
    })?;
    Ok((svg, stats_dict(py, &stats)?))
}

/// Centerline mode: the window `tile_lines` reads for a tile, (x0, y0, w, h); see
/// `tiled::line_window` and `tiled::line_reach`.
#[pyfunction]
#[pyo3(signature = (*, x0, y0, w, h, width, height, max_width, min_area))]
// One parameter per keyword argument of the Python signature.
#[allow(clippy::too_many_arguments)]
fn tile_line_window(
    py: Python<'_>,
    x0: usize,
    y0: usize,
    w: usize,
    h: usize,
    width: usize,
    height: usize,
    max_width: f32,
    min_area: u64,
) -> PyResult<(usize, usize, usize, usize)> {
    run(py, || {
        tiled::check_core((x0, y0, w, h), width, height)?;
        Ok(tiled::line_window(x0, y0, w, h, width, height, tiled::line_reach(max_width, min_area)))
    })
}

/// Centerline mode: (the plan: background, blend owners, colours traced; the labels traced;
/// whether faint blends wait for `tile_line_fringe` and `tile_line_resolve`) from the
/// histograms the palette was made from; see `tiled::line_plan`.
#[pyfunction]
#[pyo3(signature = (hists, *, palette))]
fn tile_line_plan<'py>(
    py: Python<'py>,
    hists: Vec<Vec<u8>>,
    palette: &[u8],
) -> PyResult<(Bound<'py, PyBytes>, Vec<i32>, bool)> {
    let (plan, traced, pending) = run(py, || {
        let hs: Vec<tiled::TileHistogram> = decode_all(&hists, "a tile histogram")?;
        let p: tiled::TiledPalette = decode(palette, "the palette")?;
        let plan = tiled::line_plan(&hs, &p)?;
        Ok((encode(&plan), plan.traced.clone(), !plan.faint.is_empty()))
    })?;
    Ok((bytes(py, &plan), traced, pending))
}

/// Centerline mode, per tile: the faint blends' pixel counts (total, touching their ink);
/// `image` holds the tile at (x0, y0) of w x h and its ring, at (window_x0, window_y0).
#[pyfunction]
#[pyo3(signature = (image, *, x0, y0, w, h, window_x0, window_y0, width, height, palette, plan))]
// One parameter per keyword argument of the Python signature.
#[allow(clippy::too_many_arguments)]
fn tile_line_fringe<'py>(
    py: Python<'py>,
    image: PyReadonlyArray3<'py, u8>,
    x0: usize,
    y0: usize,
    w: usize,
    h: usize,
    window_x0: usize,
    window_y0: usize,
    width: usize,
    height: usize,
    palette: &[u8],
    plan: &[u8],
) -> PyResult<Vec<(u64, u64)>> {
    let (ih, iw, c) = image_dims(&image);
    let data = contiguous(&image, "image")?;
    run(py, || {
        let p: tiled::TiledPalette = decode(palette, "the palette")?;
        let plan: tiled::LinePlan = decode(plan, "the line plan")?;
        let img = ImageView::new(data, iw, ih, c)?;
        tiled::tile_fringe(&img, &geom(window_x0, window_y0, width, height), (x0, y0, w, h), &p, &plan)
    })
}

/// Centerline mode: the plan resolved from every tile's `tile_line_fringe` counts; returns
/// (plan, labels traced).
#[pyfunction]
#[pyo3(signature = (plan, counts))]
fn tile_line_resolve<'py>(
    py: Python<'py>,
    plan: &[u8],
    counts: Vec<Vec<(u64, u64)>>,
) -> PyResult<(Bound<'py, PyBytes>, Vec<i32>)> {
    let (plan, traced) = run(py, || {
        let plan: tiled::LinePlan = decode(plan, "the line plan")?;
        let plan = tiled::resolve_plan(plan, &counts)?;
        Ok((encode(&plan), plan.traced.clone()))
    })?;
    Ok((bytes(py, &plan), traced))
}

/// Centerline mode, per tile: `image` is the `tile_line_window` of the tile at (x0, y0) of
/// w x h pixels, at (window_x0, window_y0); returns the tile's ink and skeleton runs.
#[pyfunction]
#[pyo3(signature = (
    image, *, x0, y0, w, h, window_x0, window_y0, width, height, palette, plan, max_width, min_area,
))]
// One parameter per keyword argument of the Python signature.
#[allow(clippy::too_many_arguments)]
fn tile_lines<'py>(
    py: Python<'py>,
    image: PyReadonlyArray3<'py, u8>,
    x0: usize,
    y0: usize,
    w: usize,
    h: usize,
    window_x0: usize,
    window_y0: usize,
    width: usize,
    height: usize,
    palette: &[u8],
    plan: &[u8],
    max_width: f32,
    min_area: u64,
) -> PyResult<Bound<'py, PyBytes>> {
    let (ih, iw, c) = image_dims(&image);
    let data = contiguous(&image, "image")?;
    let opts = TraceOptions { stroke_width_max: max_width, min_area, ..Default::default() };
    let out = run(py, || {
        opts.validate()?;
        let p: tiled::TiledPalette = decode(palette, "the palette")?;
        let plan: tiled::LinePlan = decode(plan, "the line plan")?;
        let img = ImageView::new(data, iw, ih, c)?;
        let window = geom(window_x0, window_y0, width, height);
        Ok(encode(&tiled::tile_lines(&img, &window, (x0, y0, w, h), &p, &plan, max_width, min_area)?))
    })?;
    Ok(bytes(py, &out))
}

/// Centerline mode, one colour: its strokes (bytes for `tile_lines_write`) from every tile's
/// lines (`tile_lines`' results, any order); see `tiled::trace_colour`.
#[pyfunction]
#[pyo3(signature = (tiles, *, label, width, height, max_width, tolerance, corner_run))]
// One parameter per keyword argument of the Python signature.
#[allow(clippy::too_many_arguments)]
fn tile_lines_colour<'py>(
    py: Python<'py>,
    tiles: Vec<Vec<u8>>,
    label: i32,
    width: usize,
    height: usize,
    max_width: f32,
    tolerance: f64,
    corner_run: u32,
) -> PyResult<Bound<'py, PyBytes>> {
    let opts =
        TraceOptions { fit: FitOptions { tolerance, corner_run }, stroke_width_max: max_width, ..Default::default() };
    let out = run(py, || {
        // Only this colour's runs are kept from each tile.
        let mut mine: Vec<tiled::TileLines> = Vec::new();
        for blob in &tiles {
            let t: tiled::TileLines = decode(blob, "tile lines")?;
            mine.push(tiled::TileLines { colours: t.colours.into_iter().filter(|c| c.label == label).collect() });
        }
        drop(tiles);
        let parts = tiled::runs_of(&mine, label);
        Ok(tiled::encode_strokes(&tiled::trace_colour(&parts, width, height, &opts)?))
    })?;
    Ok(bytes(py, &out))
}

/// Centerline mode, the reduction: the SVG from the strokes of the colours `labels`
/// (`tile_lines_colour`'s, in the same order); returns (svg_text, stats) exactly as `trace`
/// would. `canvas` false: the background is not painted (a transparent paper).
#[pyfunction]
#[pyo3(signature = (colours, labels, *, width, height, palette, plan, tolerance, precision, layers, canvas=true))]
// One parameter per keyword argument of the Python signature.
#[allow(clippy::too_many_arguments)]
fn tile_lines_write<'py>(
    py: Python<'py>,
    colours: Vec<Vec<u8>>,
    labels: Vec<i32>,
    width: usize,
    height: usize,
    palette: &[u8],
    plan: &[u8],
    tolerance: f64,
    precision: u32,
    layers: &str,
    canvas: bool,
) -> PyResult<(String, Bound<'py, PyDict>)> {
    let opts = TraceOptions {
        fit: FitOptions { tolerance, ..Default::default() },
        precision,
        layers: parse_layers(layers)?,
        ..Default::default()
    };
    let (svg, stats) = run(py, || {
        let p: tiled::TiledPalette = decode(palette, "the palette")?;
        let plan: tiled::LinePlan = decode(plan, "the line plan")?;
        if colours.len() != labels.len() {
            return Err(crate::error::KernelError::InvalidInput(format!(
                "{} stroke lists for {} labels",
                colours.len(),
                labels.len()
            )));
        }
        let mut per_colour: Vec<Vec<crate::strokes::Stroke>> = vec![Vec::new(); p.palette.len()];
        for (blob, &k) in colours.iter().zip(&labels) {
            let slot = per_colour.get_mut(k as usize).filter(|_| k >= 0).ok_or_else(|| {
                crate::error::KernelError::InvalidInput(format!("label {k} of a palette of {}", p.palette.len()))
            })?;
            *slot = tiled::decode_strokes(blob)?;
        }
        tiled::write_lines(width, height, &p, plan.background.filter(|_| canvas), per_colour, &opts)
    })?;
    Ok((svg, stats_dict(py, &stats)?))
}

/// Register the tiled-stage functions on the `_kernels` module.
pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(tile_histogram, m)?)?;
    m.add_function(wrap_pyfunction!(tile_histogram_merge, m)?)?;
    m.add_function(wrap_pyfunction!(tile_palette, m)?)?;
    m.add_function(wrap_pyfunction!(tile_regions, m)?)?;
    m.add_function(wrap_pyfunction!(tile_seam, m)?)?;
    m.add_function(wrap_pyfunction!(tile_seams, m)?)?;
    m.add_function(wrap_pyfunction!(tile_stitch, m)?)?;
    m.add_function(wrap_pyfunction!(tile_arcs, m)?)?;
    m.add_function(wrap_pyfunction!(tile_assemble, m)?)?;
    m.add_function(wrap_pyfunction!(tile_line_window, m)?)?;
    m.add_function(wrap_pyfunction!(tile_line_plan, m)?)?;
    m.add_function(wrap_pyfunction!(tile_line_fringe, m)?)?;
    m.add_function(wrap_pyfunction!(tile_line_resolve, m)?)?;
    m.add_function(wrap_pyfunction!(tile_lines, m)?)?;
    m.add_function(wrap_pyfunction!(tile_lines_colour, m)?)?;
    m.add_function(wrap_pyfunction!(tile_lines_write, m)?)?;
    Ok(())
}
