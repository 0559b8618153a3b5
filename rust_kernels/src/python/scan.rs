//! Bindings of the scan front end: `denoise` (a whole image), `tile_prepare` (a tile's core
//! cleaned from a window that holds it and its halo), `scan_reach` (that halo), and the
//! tiled flat field: `tile_field_sums` per tile, `tile_field` from all of them, `tile_flatten`
//! per tile. Every call goes through `python::run`.

use super::convert::{contiguous, image_dims};
use super::run;
use crate::error::KernelError;
use crate::image::ImageView;
use crate::scan::denoise::Rect;
use crate::scan::field::{self, Field, FieldSums};
use crate::scan::{self, ScanOptions};
use crate::tiled::{decode, encode, TiledPalette};
use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray3};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// The front end's options for a denoise strength and noise sigma (the rest off).
fn options(denoise: f32, noise: f32) -> ScanOptions {
    ScanOptions { denoise, noise, ..Default::default() }
}

/// An (h, w, 3) uint8 array of RGB pixels.
fn rgb_array(py: Python<'_>, data: Vec<u8>, h: usize, w: usize) -> PyResult<Bound<'_, PyAny>> {
    Ok(PyArray1::from_vec(py, data).reshape([h, w, 3])?.into_any())
}

/// Clean an opaque (H, W, 3|4) uint8 image with the edge-preserving denoise; returns the
/// (H, W, 3) RGB result (strength 0: the pixels unchanged, as RGB).
#[pyfunction]
#[pyo3(signature = (image, *, strength, noise))]
fn denoise<'py>(
    py: Python<'py>,
    image: PyReadonlyArray3<'py, u8>,
    strength: f32,
    noise: f32,
) -> PyResult<Bound<'py, PyAny>> {
    let (h, w, c) = image_dims(&image);
    let data = contiguous(&image, "image")?;
    let out = run(py, || {
        let img = ImageView::new(data, w, h, c)?;
        let opts = options(strength, noise);
        match scan::prepare(&img, &opts)? {
            Some(px) => Ok(px),
            None => {
                opts.validate()?;
                Ok((0..img.len()).flat_map(|i| img.rgb(i).unwrap_or([0, 0, 0])).collect())
            }
        }
    })?;
    rgb_array(py, out, h, w)
}

/// How far (pixels) beyond a pixel the front end reads with these settings: the halo a tile
/// needs (0 when it is off).
#[pyfunction]
#[pyo3(signature = (*, denoise, noise))]
fn scan_reach(denoise: f32, noise: f32) -> PyResult<usize> {
    let opts = options(denoise, noise);
    opts.validate()?;
    Ok(scan::reach(&opts))
}

/// The cleaned (core_height, core_width, 3) RGB pixels of a tile's core, from `window`: the
/// (h, w, 3|4) pixels at (x0, y0) of a width x height image, holding the core and its halo
/// of `scan_reach` pixels (clipped to the image). Equal to that rectangle of `denoise` on
/// the whole image.
#[pyfunction]
#[pyo3(signature = (
    window, *, x0, y0, width, height, core_x0, core_y0, core_width, core_height, denoise, noise,
))]
// One parameter per keyword argument of the Python signature.
#[allow(clippy::too_many_arguments)]
fn tile_prepare<'py>(
    py: Python<'py>,
    window: PyReadonlyArray3<'py, u8>,
    x0: usize,
    y0: usize,
    width: usize,
    height: usize,
    core_x0: usize,
    core_y0: usize,
    core_width: usize,
    core_height: usize,
    denoise: f32,
    noise: f32,
) -> PyResult<Bound<'py, PyAny>> {
    let (h, w, c) = image_dims(&window);
    let data = contiguous(&window, "window")?;
    let out = run(py, || {
        let img = ImageView::new(data, w, h, c)?;
        let win = Rect { x0, y0, width: w, height: h };
        let core = Rect { x0: core_x0, y0: core_y0, width: core_width, height: core_height };
        let opts = options(denoise, noise);
        scan::prepare_window(&img, win, (width, height), core, &opts)?.ok_or_else(|| {
            crate::error::KernelError::InvalidOption("tile_prepare needs a denoise strength above 0".into())
        })
    })?;
    rgb_array(py, out, core_height, core_width)
}

/// The flat-field sums of one (h, w, 3|4) tile at (x0, y0), its paper the pixels the
/// global `palette` (`tile_palette`'s state) labels paper (`scan::field::tile_sums`).
#[pyfunction]
#[pyo3(signature = (image, *, x0, y0, palette))]
fn tile_field_sums<'py>(
    py: Python<'py>,
    image: PyReadonlyArray3<'py, u8>,
    x0: usize,
    y0: usize,
    palette: &[u8],
) -> PyResult<Bound<'py, PyBytes>> {
    let (h, w, c) = image_dims(&image);
    let data = contiguous(&image, "image")?;
    let out = run(py, || {
        let p: TiledPalette = decode(palette, "the palette")?;
        Ok(encode(&field::tile_sums(&ImageView::new(data, w, h, c)?, (x0, y0), &p)))
    })?;
    Ok(PyBytes::new(py, &out))
}

/// The white field of a width x height image from every tile's `tile_field_sums` (any
/// order), or None when there is none (no paper, too little of it, a background that uses
/// none): `scan::field::tile_field`.
#[pyfunction]
#[pyo3(signature = (sums, *, width, height, palette))]
fn tile_field<'py>(
    py: Python<'py>,
    sums: Vec<Vec<u8>>,
    width: usize,
    height: usize,
    palette: &[u8],
) -> PyResult<Option<Bound<'py, PyBytes>>> {
    let out = run(py, || {
        let p: TiledPalette = decode(palette, "the palette")?;
        let parts = sums.iter().map(|b| decode(b, "flat-field sums")).collect::<crate::Result<Vec<FieldSums>>>()?;
        Ok(field::tile_field(&parts, width, height, &p)?.map(|f| encode(&f)))
    })?;
    Ok(out.map(|b| PyBytes::new(py, &b)))
}

/// One (h, w, 3) RGB tile at (x0, y0) with the white `field` (`tile_field`) divided out:
/// the same pixels the whole-image trace flattens there.
#[pyfunction]
#[pyo3(signature = (image, *, x0, y0, field))]
fn tile_flatten<'py>(
    py: Python<'py>,
    image: PyReadonlyArray3<'py, u8>,
    x0: usize,
    y0: usize,
    field: &[u8],
) -> PyResult<Bound<'py, PyAny>> {
    let (h, w, c) = image_dims(&image);
    let data = contiguous(&image, "image")?;
    let out = run(py, || {
        if c != 3 {
            return Err(KernelError::InvalidInput(format!("tile_flatten needs RGB pixels, got {c} channels")));
        }
        let f: Field = decode(field, "the flat field")?;
        let mut px = data.to_vec();
        f.apply(&mut px, w, (x0, y0));
        Ok(px)
    })?;
    rgb_array(py, out, h, w)
}

/// Register the scan functions on the `_kernels` module.
pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(denoise, m)?)?;
    m.add_function(wrap_pyfunction!(scan_reach, m)?)?;
    m.add_function(wrap_pyfunction!(tile_prepare, m)?)?;
    m.add_function(wrap_pyfunction!(tile_field_sums, m)?)?;
    m.add_function(wrap_pyfunction!(tile_field, m)?)?;
    m.add_function(wrap_pyfunction!(tile_flatten, m)?)?;
    Ok(())
}
