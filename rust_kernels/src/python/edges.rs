//! Python bindings of the edge kernels (`vectile._kernels.gaussian_blur`, `sobel`, `canny`).
//!
//! Images arrive as C-contiguous (H, W, C) uint8 arrays (C = 1..=4; the Python layer reshapes
//! (H, W) to (H, W, 1)); results are new numpy arrays that take over the Rust buffers without
//! a copy. Every call goes through `python::run` (GIL released, errors mapped, panics caught).

use super::convert::{contiguous, image_dims};
use super::run;
use crate::edges;
use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray3};
use pyo3::prelude::*;

/// Gaussian blur of an (H, W, C) uint8 image; returns an (H, W, C) uint8 array.
#[pyfunction]
#[pyo3(signature = (image, *, sigma))]
fn gaussian_blur<'py>(py: Python<'py>, image: PyReadonlyArray3<'py, u8>, sigma: f32) -> PyResult<Bound<'py, PyAny>> {
    let (h, w, c) = image_dims(&image);
    let data = contiguous(&image, "image")?;
    let out = run(py, || edges::gaussian_blur(data, w, h, c, sigma))?;
    Ok(PyArray1::from_vec(py, out).reshape([h, w, c])?.into_any())
}

/// Sobel gradients of an (H, W, C) uint8 image (strongest channel per pixel). Returns
/// (gx, gy) int16 (H, W), plus (magnitude, direction) float32 (H, W) when `polar` is true.
#[pyfunction]
#[pyo3(signature = (image, *, polar=false))]
fn sobel<'py>(py: Python<'py>, image: PyReadonlyArray3<'py, u8>, polar: bool) -> PyResult<Bound<'py, PyAny>> {
    let (h, w, c) = image_dims(&image);
    let data = contiguous(&image, "image")?;
    let (gx, gy, mag) = run(py, || {
        let (gx, gy) = edges::sobel(data, w, h, c)?;
        let mag = if polar { Some(edges::polar(&gx, &gy)) } else { None };
        Ok((gx, gy, mag))
    })?;
    let gx = PyArray1::from_vec(py, gx).reshape([h, w])?.into_any();
    let gy = PyArray1::from_vec(py, gy).reshape([h, w])?.into_any();
    Ok(match mag {
        None => (gx, gy).into_pyobject(py)?.into_any(),
        Some((m, d)) => {
            let m = PyArray1::from_vec(py, m).reshape([h, w])?.into_any();
            let d = PyArray1::from_vec(py, d).reshape([h, w])?.into_any();
            (gx, gy, m, d).into_pyobject(py)?.into_any()
        }
    })
}

/// Canny edges of an (H, W, C) uint8 image. Thresholds are normalised gradient magnitudes
/// (1 = a black-to-white step); None = automatic. Returns (edges uint8 (H, W) 0/255 or None
/// when `edges` is false, strength float32 (H, W) or None, low, high).
#[pyfunction]
#[pyo3(signature = (image, *, sigma, low=None, high=None, strength=false, edges=true))]
#[allow(clippy::type_complexity)]
fn canny<'py>(
    py: Python<'py>,
    image: PyReadonlyArray3<'py, u8>,
    sigma: f32,
    low: Option<f32>,
    high: Option<f32>,
    strength: bool,
    edges: bool,
) -> PyResult<(Option<Bound<'py, PyAny>>, Option<Bound<'py, PyAny>>, f32, f32)> {
    let (h, w, c) = image_dims(&image);
    let data = contiguous(&image, "image")?;
    let opts = edges::CannyOptions { sigma, low, high, strength, edges };
    let r = run(py, || edges::canny(data, w, h, c, &opts))?;
    let e = if edges { Some(PyArray1::from_vec(py, r.edges).reshape([h, w])?.into_any()) } else { None };
    let s = if strength { Some(PyArray1::from_vec(py, r.strength).reshape([h, w])?.into_any()) } else { None };
    Ok((e, s, r.low, r.high))
}

/// Register the edge functions on the `_kernels` module.
pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(gaussian_blur, m)?)?;
    m.add_function(wrap_pyfunction!(sobel, m)?)?;
    m.add_function(wrap_pyfunction!(canny, m)?)?;
    Ok(())
}
