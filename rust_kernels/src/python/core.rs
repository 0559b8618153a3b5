//! Bindings of the single-image kernels: `trace`, `quantize`, `generate_paths`,
//! `fit_polyline`. Every call goes through `python::run` (GIL released, errors mapped, panics
//! caught).

use super::convert::{contiguous, image_dims, parse_layers, parse_mode, parse_scan, parse_strokes, stats_dict};
use super::{run, KernelInputError};
use crate::error::KernelError;
use crate::fit::FitOptions;
use crate::image::ImageView;
use crate::quantize::{quantize as quantize_kernel, QuantizeOptions};
use crate::trace::{trace_guided, trace_labels, TraceOptions};
use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray2, PyReadonlyArray3, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// Trace an (H, W, 3|4) uint8 image to SVG. Returns (svg_text, stats).
#[pyfunction]
#[pyo3(signature = (
    image, *, colors, seed, min_area, tolerance, corner_run, precision, layers, mode,
    threshold=None, weights=None, edges=None, denoise=0.0, noise=0.0, delta_e=0.0, background=None,
    local_merge=false, strokes="off", stroke_width_max=8.0,
))]
// One parameter per keyword argument of the Python signature.
#[allow(clippy::too_many_arguments)]
fn trace<'py>(
    py: Python<'py>,
    image: PyReadonlyArray3<'py, u8>,
    colors: usize,
    seed: u64,
    min_area: u64,
    tolerance: f64,
    corner_run: u32,
    precision: u32,
    layers: &str,
    mode: &str,
    threshold: Option<u8>,
    weights: Option<PyReadonlyArray2<'py, f32>>,
    edges: Option<PyReadonlyArray2<'py, f32>>,
    denoise: f32,
    noise: f32,
    delta_e: f32,
    background: Option<&str>,
    local_merge: bool,
    strokes: &str,
    stroke_width_max: f32,
) -> PyResult<(String, Bound<'py, PyDict>)> {
    let (h, w, c) = image_dims(&image);
    let data = contiguous(&image, "image")?;
    let wdata = weights.as_ref().map(|a| contiguous(a, "weights")).transpose()?;
    let edata = edges.as_ref().map(|a| contiguous(a, "edges")).transpose()?;
    let mode = parse_mode(mode)?;
    let opts = TraceOptions {
        colors,
        seed,
        min_area,
        fit: FitOptions { tolerance, corner_run },
        precision,
        layers: parse_layers(layers)?,
        mode,
        threshold,
        scan: parse_scan(denoise, noise, delta_e, background)?,
        local_merge,
        strokes: parse_strokes(strokes)?,
        stroke_width_max,
    };
    let (svg, stats) = run(py, || {
        let img = ImageView::new(data, w, h, c)?;
        trace_guided(&img, wdata, edata, &opts)
    })?;
    Ok((svg, stats_dict(py, &stats)?))
}

/// Quantize an (H, W, 3|4) uint8 image. Returns (palette (k, 3) uint8, labels (H, W) int32,
/// counts (k,) uint64); transparent pixels get label -1.
#[pyfunction]
#[pyo3(signature = (image, *, colors, seed=0, weights=None))]
fn quantize<'py>(
    py: Python<'py>,
    image: PyReadonlyArray3<'py, u8>,
    colors: usize,
    seed: u64,
    weights: Option<PyReadonlyArray2<'py, f32>>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let (h, w, c) = image_dims(&image);
    let data = contiguous(&image, "image")?;
    let wdata = weights.as_ref().map(|a| contiguous(a, "weights")).transpose()?;
    let q = run(py, || {
        let img = ImageView::new(data, w, h, c)?;
        quantize_kernel(&img, wdata, &QuantizeOptions { colors, seed, ..Default::default() })
    })?;
    let k = q.palette.len();
    let flat: Vec<u8> = q.palette.iter().flatten().copied().collect();
    let palette = PyArray1::from_vec(py, flat).reshape([k, 3])?.into_any();
    let labels = PyArray1::from_vec(py, q.labels).reshape([h, w])?.into_any();
    let counts = PyArray1::from_vec(py, q.counts).into_any();
    Ok((palette, labels, counts))
}

/// Trace a label image (H, W) int32 with a palette (k, 3) uint8. Returns (svg_text, stats).
#[pyfunction]
#[pyo3(signature = (labels, palette, *, min_area, tolerance, corner_run, precision, layers))]
// One parameter per keyword argument of the Python signature.
#[allow(clippy::too_many_arguments)]
fn generate_paths<'py>(
    py: Python<'py>,
    labels: PyReadonlyArray2<'py, i32>,
    palette: PyReadonlyArray2<'py, u8>,
    min_area: u64,
    tolerance: f64,
    corner_run: u32,
    precision: u32,
    layers: &str,
) -> PyResult<(String, Bound<'py, PyDict>)> {
    let (h, w) = (labels.shape()[0], labels.shape()[1]);
    if palette.shape()[1] != 3 {
        return Err(KernelInputError::new_err("palette must have shape (k, 3)"));
    }
    let ldata = contiguous(&labels, "labels")?;
    let pal: Vec<[u8; 3]> = contiguous(&palette, "palette")?.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect();
    let opts = TraceOptions {
        min_area,
        fit: FitOptions { tolerance, corner_run },
        precision,
        layers: parse_layers(layers)?,
        ..Default::default()
    };
    let (svg, stats) = run(py, || trace_labels(ldata, w, h, &pal, &opts))?;
    Ok((svg, stats_dict(py, &stats)?))
}

/// Fit one boundary polyline: `points` (N, 2) int32 lattice points (pixel corners) where
/// consecutive points differ in exactly one coordinate (the start, every turn, the end).
/// Returns an (M, 7) float64 array of segments `[kind, c1x, c1y, c2x, c2y, x, y]` (kind 0 =
/// line, control points unused; 1 = cubic) and the start point.
#[pyfunction]
#[pyo3(signature = (points, *, closed, tolerance, corner_run=2))]
fn fit_polyline<'py>(
    py: Python<'py>,
    points: PyReadonlyArray2<'py, i32>,
    closed: bool,
    tolerance: f64,
    corner_run: u32,
) -> PyResult<(Bound<'py, PyAny>, (f64, f64))> {
    if points.shape()[1] != 2 || points.shape()[0] < 2 {
        return Err(KernelInputError::new_err("points must have shape (N, 2) with N >= 2"));
    }
    let flat = contiguous(&points, "points")?;
    let pts: Vec<(i32, i32)> = flat.chunks_exact(2).map(|c| (c[0], c[1])).collect();
    let curve = run(py, || {
        let n = pts.len();
        let segs = if closed { n } else { n - 1 };
        for k in 0..segs {
            let (a, b) = (pts[k], pts[(k + 1) % n]);
            if (a.0 == b.0) == (a.1 == b.1) {
                return Err(KernelError::InvalidInput(format!(
                    "points {k} and {} must differ in exactly one coordinate (an axis-aligned path)",
                    (k + 1) % n
                )));
            }
        }
        if !(tolerance.is_finite() && tolerance > 0.0) || corner_run == 0 {
            return Err(KernelError::InvalidOption("tolerance must be > 0 and corner_run >= 1".into()));
        }
        let edge = crate::boundary::Edge { points: pts.clone(), left: 0, right: 1, closed };
        Ok(crate::fit::fit_edge(&edge, &FitOptions { tolerance, corner_run }))
    })?;
    let mut rows: Vec<f64> = Vec::with_capacity(curve.segs.len() * 7);
    for s in &curve.segs {
        match *s {
            crate::fit::Seg::Line(p) => rows.extend([0.0, 0.0, 0.0, 0.0, 0.0, p.x, p.y]),
            crate::fit::Seg::Cubic(a, b, p) => rows.extend([1.0, a.x, a.y, b.x, b.y, p.x, p.y]),
        }
    }
    let m = curve.segs.len();
    let arr = PyArray1::from_vec(py, rows).reshape([m, 7])?.into_any();
    Ok((arr, (curve.start.x, curve.start.y)))
}

/// Register the single-image functions on the `_kernels` module.
pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(trace, m)?)?;
    m.add_function(wrap_pyfunction!(quantize, m)?)?;
    m.add_function(wrap_pyfunction!(generate_paths, m)?)?;
    m.add_function(wrap_pyfunction!(fit_polyline, m)?)?;
    Ok(())
}
