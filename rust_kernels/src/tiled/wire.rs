//! Stage results as bytes: compact bincode, so Dask can move them between tasks without
//! knowing their shape.

use crate::error::{KernelError, Result};
use serde::{Deserialize, Serialize};

/// Encode a stage's result (compact binary, for passing between Dask tasks).
pub fn encode<T: Serialize>(v: &T) -> Vec<u8> {
    bincode::serialize(v).expect("in-memory serialization cannot fail")
}

/// Decode a stage's result; `what` names it in the error when the bytes are not one.
pub fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8], what: &str) -> Result<T> {
    bincode::deserialize(bytes).map_err(|e| KernelError::InvalidInput(format!("{what} is not valid tiling data: {e}")))
}
