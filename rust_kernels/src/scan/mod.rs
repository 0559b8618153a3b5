//! The scan front end: what turns a scanned page (paper, sensor noise, JPEG artefacts) into
//! pixels the flat-colour pipeline can trace.
//!
//! `prepare` runs before quantization and is a pure pixel operation with a bounded `reach`:
//! a cleaned pixel depends only on the input within `reach` pixels of it. The tiled tracer
//! therefore cleans each tile from the tile plus a halo of `reach` pixels and gets exactly the
//! pixels the whole-image trace gets. Everything global (the image's noise level) is estimated
//! once by the caller and passed in `ScanOptions`, so every tile uses the same values.

pub mod background;
pub mod denoise;
pub mod field;
pub mod palette;

use crate::error::{KernelError, Result};
use crate::image::ImageView;
use denoise::{Params, Rect};
use serde::{Deserialize, Serialize};

/// What happens to the paper (the background colour of a scan).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Background {
    /// No paper detection: today's behaviour.
    #[default]
    Off,
    /// The paper is one flat shape in its own colour.
    Keep,
    /// The paper becomes pure white.
    White,
    /// The paper is not drawn.
    Transparent,
}

impl Background {
    /// The option string (`None` = off) as a `Background`.
    pub fn parse(s: Option<&str>) -> Result<Background> {
        match s {
            None => Ok(Background::Off),
            Some("keep") => Ok(Background::Keep),
            Some("white") => Ok(Background::White),
            Some("transparent") => Ok(Background::Transparent),
            Some(other) => Err(KernelError::InvalidOption(format!(
                "background must be 'keep', 'white' or 'transparent', got {other:?}"
            ))),
        }
    }
}

/// Options of the scan front end. The default turns every part off (today's pipeline).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ScanOptions {
    /// Strength of the edge-preserving denoise (0 = off); scales `noise`.
    pub denoise: f32,
    /// The image's estimated noise sigma in 8-bit units, estimated once per image.
    pub noise: f32,
    /// Palette colours closer than this CIELAB distance are one colour (0 = off).
    pub delta_e: f32,
    /// What happens to the paper.
    pub background: Background,
}

impl ScanOptions {
    /// Whether `prepare` changes pixels.
    pub fn cleans(&self) -> bool {
        self.denoise > 0.0
    }

    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(KernelError::InvalidOption(m));
        if !(self.denoise.is_finite() && (0.0..=10.0).contains(&self.denoise)) {
            return bad(format!("denoise must be in 0..=10, got {}", self.denoise));
        }
        if !(self.noise.is_finite() && (0.0..=255.0).contains(&self.noise)) {
            return bad(format!("noise must be in 0..=255, got {}", self.noise));
        }
        if !(self.delta_e.is_finite() && (0.0..=100.0).contains(&self.delta_e)) {
            return bad(format!("delta_e must be in 0..=100, got {}", self.delta_e));
        }
        Ok(())
    }
}

/// How far (pixels) beyond a pixel `prepare` reads: the halo a tile needs.
pub fn reach(opts: &ScanOptions) -> usize {
    match Params::for_strength(opts.denoise, opts.noise) {
        Ok(Some(p)) if opts.cleans() => p.reach(),
        _ => 0,
    }
}

/// The cleaned RGB pixels (3 channels, raster order), or None when `opts` cleans nothing.
pub fn prepare(img: &ImageView, opts: &ScanOptions) -> Result<Option<Vec<u8>>> {
    let all = Rect { x0: 0, y0: 0, width: img.width, height: img.height };
    prepare_window(img, all, (img.width, img.height), all, opts)
}

/// The cleaned RGB pixels of `core` (image coordinates, raster order), or None when `opts`
/// cleans nothing. `img` holds the pixels of `window` of a `size` = (width, height) image,
/// and the window must hold `core` grown by [`reach`] (clipped to the image): the result is
/// then exactly that rectangle of [`prepare`] on the whole image, which is how the tiled
/// tracer cleans a tile from the tile and its halo.
pub fn prepare_window(
    img: &ImageView,
    window: Rect,
    size: (usize, usize),
    core: Rect,
    opts: &ScanOptions,
) -> Result<Option<Vec<u8>>> {
    opts.validate()?;
    let Some(params) = Params::for_strength(opts.denoise, opts.noise)?.filter(|_| opts.cleans()) else {
        return Ok(None);
    };
    if img.has_transparency() {
        return Err(KernelError::InvalidInput("the scan front end needs an opaque image".into()));
    }
    let rgb: Vec<u8>;
    let img = if img.channels == 3 {
        *img
    } else {
        rgb = img.data.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
        ImageView::new(&rgb, img.width, img.height, 3)?
    };
    denoise::denoise_window(&img, window, size, core, &params).map(Some)
}
