//! Arguments in and results out: numpy views as slices, option strings as enums, trace
//! statistics as a dict. Shared by every binding file.

use super::{KernelInputError, KernelOptionError};
use crate::scan::{Background, ScanOptions};
use crate::svg::Layers;
use crate::trace::{Mode, StrokeMode, TraceStats};
use numpy::{PyReadonlyArray3, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// The array's data in place; `what` names it in the error when it is not C-contiguous.
pub(super) fn contiguous<'a, T: numpy::Element, D: numpy::ndarray::Dimension>(
    a: &'a numpy::PyReadonlyArray<'_, T, D>,
    what: &str,
) -> PyResult<&'a [T]> {
    a.as_slice().map_err(|_| KernelInputError::new_err(format!("{what} must be a C-contiguous array")))
}

/// (height, width, channels) of an (H, W, C) image.
pub(super) fn image_dims(image: &PyReadonlyArray3<'_, u8>) -> (usize, usize, usize) {
    let s = image.shape();
    (s[0], s[1], s[2])
}

/// The `layers` option string as [`Layers`].
pub(super) fn parse_layers(s: &str) -> PyResult<Layers> {
    match s {
        "stacked" => Ok(Layers::Stacked),
        "cutout" => Ok(Layers::Cutout),
        _ => Err(KernelOptionError::new_err(format!("layers must be 'stacked' or 'cutout', got {s:?}"))),
    }
}

/// The `mode` option string as [`Mode`].
pub(super) fn parse_mode(mode: &str) -> PyResult<Mode> {
    match mode {
        "color" => Ok(Mode::Color),
        "binary" => Ok(Mode::Binary),
        "centerline" => Ok(Mode::Centerline),
        _ => Err(KernelOptionError::new_err(format!("mode must be 'color', 'binary' or 'centerline', got {mode:?}"))),
    }
}

/// The `strokes` keyword as a [`StrokeMode`].
pub(super) fn parse_strokes(strokes: &str) -> PyResult<StrokeMode> {
    StrokeMode::parse(strokes).map_err(|e| KernelOptionError::new_err(e.to_string()))
}

/// The scan front end's keywords as [`ScanOptions`] (checked by `TraceOptions::validate`).
pub(super) fn parse_scan(denoise: f32, noise: f32, delta_e: f32, background: Option<&str>) -> PyResult<ScanOptions> {
    let background = Background::parse(background).map_err(|e| KernelOptionError::new_err(e.to_string()))?;
    Ok(ScanOptions { denoise, noise, delta_e, background })
}

/// Trace statistics as the dict the Python layer reports.
pub(super) fn stats_dict<'py>(py: Python<'py>, s: &TraceStats) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("palette", s.palette)?;
    d.set_item("regions", s.regions)?;
    d.set_item("edges", s.edges)?;
    d.set_item("paths", s.paths)?;
    d.set_item("commands", s.commands)?;
    d.set_item("bytes", s.bytes)?;
    d.set_item("tolerance", s.tolerance)?;
    Ok(d)
}
