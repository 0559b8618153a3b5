//! The Python binding `vectile._kernels`: convert, release the GIL, compute, convert back.
//!
//! Arrays arrive as C-contiguous numpy views (the Python layer guarantees that) and are read
//! in place (`convert`). Every call runs through [`run`], which releases the GIL, turns kernel
//! errors into Python exceptions and never lets a Rust panic reach Python. The functions live
//! by subject: `core` (trace, quantize, generate_paths, fit_polyline), `edges` (blur, Sobel,
//! Canny), `tiled` (one function per stage of `crate::tiled`).

mod convert;
mod core;
mod edges;
mod scan;
mod tiled;

use crate::error::KernelError;
use pyo3::create_exception;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;

// The extension's allocator: keeps freed pages for reuse, where glibc malloc unmaps and
// re-faults every large buffer on each call.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

create_exception!(_kernels, KernelInputError, PyValueError, "The image or label data is unusable.");
create_exception!(_kernels, KernelOptionError, PyValueError, "An option is out of range.");
create_exception!(
    _kernels,
    KernelNotOpaqueError,
    KernelInputError,
    "The tiled tracer was given an image with transparent pixels (trace it untiled)."
);
create_exception!(
    _kernels,
    KernelNotTileableError,
    KernelInputError,
    "The tiled tracer met input it cannot trace in tiles, such as thick ink in centerline mode (trace it untiled)."
);

impl From<KernelError> for PyErr {
    fn from(e: KernelError) -> PyErr {
        match e {
            KernelError::InvalidInput(m) => KernelInputError::new_err(m),
            KernelError::InvalidOption(m) => KernelOptionError::new_err(m),
            KernelError::NotOpaque(m) => KernelNotOpaqueError::new_err(m),
            KernelError::NotTileable(m) => KernelNotTileableError::new_err(m),
        }
    }
}

/// Release the GIL around `work`, map errors, and catch panics.
pub(crate) fn run<T: Send>(py: Python<'_>, work: impl FnOnce() -> Result<T, KernelError> + Send) -> PyResult<T> {
    let out = py.detach(|| std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)));
    match out {
        Ok(r) => r.map_err(PyErr::from),
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(PyRuntimeError::new_err(format!("internal error in vectile kernels: {msg}")))
        }
    }
}

#[pymodule]
fn _kernels(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("KernelInputError", m.py().get_type::<KernelInputError>())?;
    m.add("KernelOptionError", m.py().get_type::<KernelOptionError>())?;
    m.add("KernelNotOpaqueError", m.py().get_type::<KernelNotOpaqueError>())?;
    m.add("KernelNotTileableError", m.py().get_type::<KernelNotTileableError>())?;
    self::core::register(m)?;
    edges::register(m)?;
    scan::register(m)?;
    tiled::register(m)?;
    Ok(())
}
