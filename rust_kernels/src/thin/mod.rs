//! The stroke layer of a colour trace (`--strokes`): thin structures found on the source,
//! traced along their centerline as strokes, and the fills continued underneath them.
//!
//! 1. `detect`: dark and light thin structures, from the black- and white-hat of the luma with
//!    a square window just wider than `max_width` (the line is found on the source pixels,
//!    where quantization would blend an anti-aliased 1 px line into its ground).
//! 2. `crate::strokes::centerlines` of each polarity's mask, moved by `centre` onto the middle
//!    of the line's grey levels (a mask puts them on pixel centres).
//! 3. `footprint`: each stroke owns the pixels nearest to it (within `max_width / 2 + 1.5` px);
//!    its colour is the source pixel of strongest response there (the line's own colour,
//!    not a blend of it with the ground), its width the ink it carries: the coverage of each
//!    footprint pixel (its response over the contrast of the line's colour with the ground
//!    there) summed and spread along the centerline with round caps, widened where a
//!    renderer would draw it as a hairline (`footprint::written_width`).
//! 4. Auto: a stroke is kept when it explains its footprint better than the fills: the
//!    squared RGB error of the source against the stroke (coverage of a box filter across it)
//!    drawn over the continued fill (the mean colour of the region the nearest outside pixel
//!    falls in) is below the error against the regions the fills alone would draw, by more
//!    than `AUTO_MARGIN` per footprint pixel. On: every stroke is kept.
//! 5. `fill`: the mask pixels of the kept strokes take the colour and label of a pixel outside
//!    them before regions are found: the fill on both sides along the row or column where
//!    those agree, else the nearest; so the fill continues under the stroke and an edge it
//!    crosses runs on straight.
//!
//! Reach: a mask bit reads the source within `detect::reach(max_width) + 1` px; the strokes
//! add the centerline's own reach (`crate::strokes`). Strokes are off in tiles until the tiled
//! tracer runs this stage with a halo.

pub mod centre;
pub mod detect;
pub mod fill;
pub mod footprint;

#[cfg(test)]
mod tests;

use crate::fit::FitOptions;
use crate::image::ImageView;
use crate::quantize::TRANSPARENT;
use crate::regions::{Regions, NONE as REGION_NONE};
use crate::strokes::{centerlines, CenterlineOptions, Stroke};
use crate::svg::StrokeShape;
use footprint::{axis_share, coverage, dist2, flatten, ink_width, length, mix, owners, written_width, NONE};

/// Options of `stroke_layer`.
#[derive(Clone, Debug)]
pub struct LayerOptions {
    /// The widest structure (px) taken for a line.
    pub max_width: f32,
    /// Fitting of the centerlines.
    pub fit: FitOptions,
}

impl LayerOptions {
    /// The stroke layer a trace asks for (`stroke_width_max` and the trace's fitting).
    pub fn of(opts: &crate::trace::TraceOptions) -> LayerOptions {
        LayerOptions { max_width: opts.stroke_width_max, fit: opts.fit.clone() }
    }
}

/// Auto mode keeps a stroke when it lowers the squared RGB error (levels^2, summed over the
/// channels) of its footprint by more than this per footprint pixel: a stroke costs bytes,
/// so one that changes next to nothing is left out.
pub const AUTO_MARGIN: f64 = 3.0;

/// The stroke layer: strokes in paint order (light lines, then dark ones), the pixels the
/// fills continue under (nonzero: the mask pixels of a kept stroke), and for every pixel the
/// one it is continued from (itself outside `under`; see `fill::across`).
#[derive(Clone, Debug, Default)]
pub struct Layer {
    pub strokes: Vec<StrokeShape>,
    pub under: Vec<u8>,
    pub from: Vec<usize>,
}

/// One polarity's strokes with their footprints.
struct Candidates {
    strokes: Vec<Stroke>,
    lines: Vec<Vec<(f64, f64)>>,
    owner: Vec<u32>,
    dist: Vec<f32>,
    mask: Vec<u8>,
    response: Vec<f32>,
    /// Dark lines on light ground (black-hat), else light on dark (white-hat).
    dark: bool,
}

/// The stroke layer of `img` whose palette labels are `labels` (TRANSPARENT < 0). With
/// `fills` (auto mode: the regions the fills alone would draw), only the strokes that explain
/// their footprint better than those fills are kept; without, every stroke is.
// The pixel loops index several per-pixel arrays (owner, distance, mask, response, luma) at once.
#[allow(clippy::needless_range_loop)]
pub fn stroke_layer(img: &ImageView, labels: &[i32], fills: Option<&Regions>, opts: &LayerOptions) -> Layer {
    let (w, h) = (img.width, img.height);
    let luma = detect::luma_f32(img);
    let (dark, light) = detect::detect_luma(&luma, w, h, opts.max_width);
    if dark.mask.iter().chain(&light.mask).all(|&m| m == 0) {
        return Layer::default();
    }
    let copts = CenterlineOptions { max_width: opts.max_width + 1.0, fit: opts.fit.clone() };
    let reach = opts.max_width as f64 / 2.0 + 1.5;
    let candidates: Vec<Candidates> = [(light, false), (dark, true)]
        .into_iter()
        .map(|(t, is_dark)| {
            let mut mask = t.mask;
            for (m, &l) in mask.iter_mut().zip(labels) {
                if l == TRANSPARENT {
                    *m = 0;
                }
            }
            let traced = centerlines(&mask, w, h, &copts);
            let lines: Vec<Vec<(f64, f64)>> = traced.iter().map(|s| flatten(&s.curve)).collect();
            let owner = owners(&lines, w, h, reach).owner;
            let strokes: Vec<Stroke> = traced
                .into_iter()
                .enumerate()
                .map(|(k, s)| {
                    let own = centre::Own { response: &t.response, owner: &owner, stroke: k as u32, w, h };
                    let curve = centre::recentre(&s.curve, s.closed, &own, s.width as f64 / 2.0 + 1.0);
                    Stroke { curve, ..s }
                })
                .collect();
            let lines: Vec<Vec<(f64, f64)>> = strokes.iter().map(|s| flatten(&s.curve)).collect();
            let footprints = owners(&lines, w, h, reach);
            Candidates {
                strokes,
                lines,
                owner: footprints.owner,
                dist: footprints.dist,
                mask,
                response: t.response,
                dark: is_dark,
            }
        })
        .collect();
    // Auto: the fills continued under every candidate, to judge each stroke against.
    let src = fills.map(|_| {
        let all: Vec<u8> =
            (0..w * h).map(|i| candidates.iter().any(|c| c.mask[i] != 0 && c.owner[i] != NONE) as u8).collect();
        fill::nearest_fill(&all, labels, w, h)
    });
    let rgb = |i: usize| img.rgb(i).map(|c| [c[0] as f32, c[1] as f32, c[2] as f32]);
    let fill = |f: &Regions, i: usize| {
        let r = f.map[i];
        (r != REGION_NONE).then(|| f.colors[r as usize].map(|v| v as f32))
    };
    let mut layer = Layer { strokes: Vec::new(), under: vec![0u8; w * h], from: Vec::new() };
    for c in &candidates {
        let n = c.strokes.len();
        // Per stroke: its strongest response on the mask, and where (the line's own colour).
        let mut best: Vec<Option<(f32, usize)>> = vec![None; n];
        for i in 0..w * h {
            let k = c.owner[i];
            if k != NONE && c.mask[i] != 0 && best[k as usize].is_none_or(|(b, _)| c.response[i] > b) {
                best[k as usize] = Some((c.response[i], i));
            }
        }
        // The ink it carries: each footprint pixel within 1.5 px of the ink the centerline
        // found adds its coverage by the line, its response over the contrast between the
        // line's colour and the ground there (the closing, or opening, of the luma), so a line
        // crossing grounds of other contrast keeps one width.
        let line_luma: Vec<Option<f32>> = best.iter().map(|b| b.map(|(_, at)| luma[at])).collect();
        let mut ink = vec![0f64; n];
        for i in 0..w * h {
            let k = c.owner[i];
            if k == NONE || c.dist[i] > c.strokes[k as usize].width / 2.0 + 1.5 {
                continue;
            }
            let Some(line) = line_luma[k as usize] else { continue };
            let r = c.response[i];
            let ground = if c.dark { luma[i] + r } else { luma[i] - r };
            let contrast = (ground - line).abs();
            if contrast > detect::GROW_RESPONSE {
                ink[k as usize] += (r / contrast).min(1.0) as f64;
            }
        }
        let shapes: Vec<Option<StrokeShape>> = (0..n)
            .map(|k| {
                let (_, at) = best[k]?;
                let colour = img.rgb(at)?;
                let area = ink_width(ink[k], length(&c.lines[k]));
                let width = written_width(area, axis_share(&c.lines[k])).min(opts.max_width as f64 + 1.0) as f32;
                (width > 0.0).then(|| StrokeShape { color: colour, stroke: Stroke { width, ..c.strokes[k].clone() } })
            })
            .collect();
        // Auto: the error of each footprint with the stroke drawn over the fill continued
        // underneath, and with the fills alone.
        let mut with = vec![0f64; n];
        let mut alone = vec![0f64; n];
        let mut count = vec![0f64; n];
        if let (Some(f), Some(src)) = (fills, &src) {
            for i in 0..w * h {
                let k = c.owner[i];
                if k == NONE {
                    continue;
                }
                let Some(s) = &shapes[k as usize] else { continue };
                let (Some(px), Some(under), Some(now)) = (rgb(i), fill(f, src[i]), fill(f, i)) else {
                    continue;
                };
                let drawn = mix(s.color.map(|v| v as f32), under, coverage(c.dist[i], s.stroke.width));
                with[k as usize] += dist2(px, drawn) as f64;
                alone[k as usize] += dist2(px, now) as f64;
                count[k as usize] += 1.0;
            }
        }
        let keep: Vec<bool> = (0..n)
            .map(|k| shapes[k].is_some() && (fills.is_none() || with[k] + AUTO_MARGIN * count[k] < alone[k]))
            .collect();
        for i in 0..w * h {
            let k = c.owner[i];
            if k != NONE && keep[k as usize] && c.mask[i] != 0 {
                layer.under[i] = 1;
            }
        }
        layer.strokes.extend(shapes.into_iter().zip(&keep).filter(|(_, &k)| k).filter_map(|(s, _)| s));
    }
    layer.from = fill::across(&layer.under, labels, w, h, opts.max_width as usize + 3);
    layer
}
