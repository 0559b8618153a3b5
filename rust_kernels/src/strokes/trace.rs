//! The centerline mode of the whole-image trace: the palette as in colour mode, the
//! background (the paper when the scan front end finds it, else the colour covering most
//! pixels, or the transparency when transparent pixels are more) painted as one canvas
//! rectangle on an opaque image, and every other colour traced along its centerline and
//! written as strokes in that colour; ink too thick to be a line is filled beneath them
//! (`super::fills`).

use super::{centerlines, fills, CenterlineOptions, Stroke};
use crate::error::Result;
use crate::fit::Curve;
use crate::image::ImageView;
use crate::quantize::{quantize, QuantizeOptions, TRANSPARENT};
use crate::scan::palette::PaletteScan;
use crate::scan::Background;
use crate::svg::{write_svg, Shape, StrokeShape};
use crate::trace::{TraceOptions, TraceStats};
use rayon::prelude::*;

/// Trace `img` (already cleaned by the scan front end when its options are on) as strokes.
pub fn trace_centerline(img: &ImageView, weights: Option<&[f32]>, opts: &TraceOptions) -> Result<(String, TraceStats)> {
    let background = opts.scan.background;
    let scan = PaletteScan { delta_e: opts.scan.delta_e, paper: background != Background::Off };
    let q =
        quantize(img, weights, &QuantizeOptions { colors: opts.colors, seed: opts.seed, scan, ..Default::default() })?;
    let (w, h) = (img.width, img.height);
    let mut counts = vec![0usize; q.palette.len()];
    for &l in &q.labels {
        if l != TRANSPARENT {
            counts[l as usize] += 1;
        }
    }
    // The background: the paper, else the colour covering most pixels (the first on a tie),
    // unless transparent pixels are more: then the transparency is the background and every
    // colour is ink.
    let transparent = q.labels.len() - counts.iter().sum::<usize>();
    let bg = q.paper.map(|p| p as usize).or_else(|| {
        (0..counts.len()).max_by_key(|&k| (counts[k], std::cmp::Reverse(k))).filter(|&k| counts[k] > transparent)
    });
    // `faint[k]`: entry k is ink only as the core of a faint line (a pale blend whose pixels
    // do not lie beside its ink, `resolve_blends`). Such pixels never make ink thick: a wide
    // patch of them is shaded paper (a lamp's fall-off, a scanner's shadow), not ink to fill.
    let (owner, faint) = bg.map_or_else(
        || ((0..q.palette.len()).map(Some).collect(), vec![false; q.palette.len()]),
        |b| blend_owners_faint(&q.palette, &counts, b, &q.labels, w),
    );
    let cl = CenterlineOptions { max_width: opts.stroke_width_max, fit: opts.fit.clone() };
    let traced = |k: usize| Some(k) != bg && owner[k] == Some(k);
    // This colour's ink, with the anti-aliasing blends it owns.
    let mask_of = |k: usize, with_faint: bool| {
        let owned: Vec<bool> = owner.iter().zip(&faint).map(|(&o, &f)| o == Some(k) && (with_faint || !f)).collect();
        let mut mask: Vec<u8> = q.labels.iter().map(|&l| (l != TRANSPARENT && owned[l as usize]) as u8).collect();
        // Specks below half the fills' `min_area` go (a dot of a few pixels is a full stop
        // or an i's dot at small sizes); pinholes below `min_area` fill.
        drop_specks(&mut mask, w, h, (opts.min_area as usize).div_ceil(2), opts.min_area as usize);
        mask
    };
    let (rho, core) = (fills::thick_radius(opts.stroke_width_max), fills::min_core(opts.stroke_width_max));
    // Line art has no thick ink: each colour is thinned at once and its mask let go.
    let first: Vec<(Vec<Stroke>, Option<Vec<u8>>)> = (0..q.palette.len())
        .into_par_iter()
        .map(|k| {
            if !traced(k) {
                return (Vec::new(), None);
            }
            let mask = mask_of(k, true);
            let solid = if faint.iter().any(|&f| f) {
                fills::thick_fill(&mask_of(k, false), w, h, rho, core)
            } else {
                fills::thick_fill(&mask, w, h, rho, core)
            };
            match solid {
                None => (centerlines(&mask, w, h, &cl), None),
                thick => (Vec::new(), thick),
            }
        })
        .collect();
    let (per_colour, fill_masks) = if first.iter().any(|f| f.1.is_some()) {
        // Thick ink somewhere: every colour's thin rest is settled against all fills.
        let masks: Vec<Vec<u8>> = (0..q.palette.len())
            .into_par_iter()
            .map(|k| if traced(k) { mask_of(k, true) } else { Vec::new() })
            .collect();
        let thick: Vec<Option<Vec<u8>>> = first.into_iter().map(|f| f.1).collect();
        let paper = bg.map(|b| q.palette[b]);
        let (fill_masks, masks) = fills::settle(&|i| img.rgb(i), masks, thick, &q.palette, paper, w, h, rho);
        let per_colour = masks
            .par_iter()
            .zip(&fill_masks)
            .map(|(m, f)| {
                if m.is_empty() {
                    return Vec::new();
                }
                let mut s = centerlines(m, w, h, &cl);
                if let Some(f) = f {
                    fills::reach_fills(&mut s, f, w, h);
                }
                s
            })
            .collect();
        (per_colour, fill_masks)
    } else {
        (first.into_iter().map(|f| f.0).collect(), Vec::new())
    };
    let (fill_shapes, curves) = fills::fill_shapes(&fill_masks, &q.palette, w, h, opts);
    let opaque = !img.has_transparency();
    let canvas = match (bg, opaque, background) {
        (Some(_), true, Background::White) if q.paper.is_some() => Some([255, 255, 255]),
        (Some(b), true, bg_mode) if bg_mode != Background::Transparent => Some(q.palette[b]),
        _ => None,
    };
    Ok(centerline_svg(w, h, &q.palette, per_colour, canvas, (&fill_shapes, &curves), opts))
}

/// The SVG of a centerline trace (untiled and tiled alike): the `canvas` colour as one
/// rectangle (None: not painted), then the `fills` (shapes in paint order and the curves
/// their cycles index; `super::fills::fill_shapes`), then every palette entry's strokes
/// (`per_colour[k]` in `palette[k]`) in palette order, equal written widths of one colour
/// together. Stats: `regions` counts the fill shapes, `edges` their curves.
pub fn centerline_svg(
    width: usize,
    height: usize,
    palette: &[[u8; 3]],
    per_colour: Vec<Vec<Stroke>>,
    canvas: Option<[u8; 3]>,
    fills: (&[Shape], &[Curve]),
    opts: &TraceOptions,
) -> (String, TraceStats) {
    let scale = 10f64.powi(opts.precision as i32);
    let mut strokes: Vec<StrokeShape> = Vec::new();
    for (k, mut list) in per_colour.into_iter().enumerate() {
        // Strokes of one colour may be painted in any order: equal written widths together
        // share one path element.
        list.sort_by_key(|s| (s.width as f64 * scale).round() as i64);
        strokes.extend(list.into_iter().map(|stroke| StrokeShape { color: palette[k], stroke }));
    }
    let mut shapes: Vec<Shape> =
        canvas.map(|color| Shape { color, cycles: Vec::new(), canvas: true }).into_iter().collect();
    shapes.extend(fills.0.iter().cloned());
    let (svg, s) = write_svg(width, height, &shapes, fills.1, opts.layers, opts.precision, &strokes);
    let stats = TraceStats {
        palette: palette.len(),
        regions: fills.0.len(),
        edges: fills.1.len(),
        paths: strokes.len(),
        commands: s.commands,
        bytes: svg.len(),
        tolerance: opts.fit.tolerance,
    };
    (svg, stats)
}

/// Which palette entry's strokes each entry's pixels join: itself, another entry (`Some`),
/// or none (the background). An anti-aliased line's edge pixels are blends of the line's
/// colour and the background: traced apart they would become a second, paler line beside it.
/// An entry that lies on the segment from the background `bg` to another entry (within a
/// tenth of that segment's length) is such a blend: at least half ink joins that entry; a
/// paler one (down to `FAINT`) joins it when its pixels mostly do not touch that entry's
/// (the core of a faint line, such as a one-pixel line blurred by a scan, not the fringe of a
/// dark one), else the background. A scan's ink split into two shades is the same case: the
/// paler shade lies near the end of the segment to the darker. Other entries are colours of
/// their own. `counts` leaves out unused entries; `labels` (`w` wide) are the pixels' entries.
pub fn blend_owners(palette: &[[u8; 3]], counts: &[usize], bg: usize, labels: &[i32], w: usize) -> Vec<Option<usize>> {
    blend_owners_faint(palette, counts, bg, labels, w).0
}

/// `blend_owners`, and for each entry whether it joined its ink as a faint line's core.
fn blend_owners_faint(
    palette: &[[u8; 3]],
    counts: &[usize],
    bg: usize,
    labels: &[i32],
    w: usize,
) -> (Vec<Option<usize>>, Vec<bool>) {
    let (owner, faint) = blend_candidates(palette, counts, bg);
    let owner = resolve_blends(owner, &faint, |k, j| fringe_of(labels, w, k as i32, j as i32));
    let mut core = vec![false; palette.len()];
    for &(k, _) in &faint {
        core[k] = owner[k].is_some();
    }
    (owner, core)
}

/// `blend_owners` before the faint test (which reads the pixels; the tiled tracer counts it
/// per tile): the owners with every faint blend joining the background, and the faint
/// blends `(k, j)` (entry, the ink it would join).
pub fn blend_candidates(palette: &[[u8; 3]], counts: &[usize], bg: usize) -> (Vec<Option<usize>>, Vec<(usize, usize)>) {
    let b = palette[bg].map(|v| v as f64);
    let mut owner: Vec<Option<usize>> = (0..palette.len()).map(Some).collect();
    owner[bg] = None;
    let mut faint = Vec::new();
    for k in 0..palette.len() {
        if k == bg || counts[k] == 0 {
            continue;
        }
        let c = palette[k].map(|v| v as f64);
        let mut best: Option<(f64, usize, f64)> = None; // (squared length, entry, t)
        for j in 0..palette.len() {
            if j == bg || j == k || counts[j] == 0 {
                continue;
            }
            let e = palette[j].map(|v| v as f64);
            let d = [e[0] - b[0], e[1] - b[1], e[2] - b[2]];
            let len2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
            if len2 == 0.0 {
                continue;
            }
            let v = [c[0] - b[0], c[1] - b[1], c[2] - b[2]];
            let t = (v[0] * d[0] + v[1] * d[1] + v[2] * d[2]) / len2;
            let off = ((v[0] - t * d[0]).powi(2) + (v[1] - t * d[1]).powi(2) + (v[2] - t * d[2]).powi(2)).sqrt();
            // The darkest such entry along the direction is the ink; `t` is then the pixel's
            // ink coverage. Strictly nearer the background than `j`, so no two entries own
            // each other.
            let nearer = v[0] * v[0] + v[1] * v[1] + v[2] * v[2] < len2;
            if (0.0..1.0).contains(&t) && nearer && off <= 0.1 * len2.sqrt() && best.is_none_or(|(bl, _, _)| len2 > bl)
            {
                best = Some((len2, j, t));
            }
        }
        if let Some((_, j, t)) = best {
            owner[k] = (t >= 0.5).then_some(j);
            if (FAINT..0.5).contains(&t) {
                faint.push((k, j));
            }
        }
    }
    (owner, faint)
}

/// The rest of `blend_owners`: the faint blends that are not `fringe(k, j)` join `j`, and
/// chains of blends resolve to their ink.
pub fn resolve_blends(
    mut owner: Vec<Option<usize>>,
    faint: &[(usize, usize)],
    fringe: impl Fn(usize, usize) -> bool,
) -> Vec<Option<usize>> {
    // A paler blend is the fringe of its ink's lines when its pixels lie beside that ink,
    // and the core of a faint line (a one-pixel line blurred by a scan) when they do not.
    for &(k, j) in faint {
        if !fringe(k, j) {
            owner[k] = Some(j);
        }
    }
    // An entry owned by a blend (a chain of blends) is owned by that blend's owner.
    for k in 0..owner.len() {
        let mut o = owner[k];
        let mut steps = 0;
        while let Some(j) = o {
            if owner[j] == Some(j) || steps > owner.len() {
                break;
            }
            o = owner[j];
            steps += 1;
        }
        owner[k] = o;
    }
    owner
}

/// Smallest ink coverage of a blend that may still be a faint line's core.
const FAINT: f64 = 0.2;

/// Whether most pixels labelled `k` touch (8-neighbourhood) a pixel labelled `j`.
fn fringe_of(labels: &[i32], w: usize, k: i32, j: i32) -> bool {
    let h = labels.len() / w.max(1);
    let (mut total, mut touching) = (0usize, 0usize);
    for (i, &l) in labels.iter().enumerate() {
        if l != k {
            continue;
        }
        total += 1;
        let (x, y) = ((i % w) as isize, (i / w) as isize);
        let near = RING8.iter().any(|&(dx, dy)| {
            let (nx, ny) = (x + dx, y + dy);
            nx >= 0 && ny >= 0 && (nx as usize) < w && (ny as usize) < h && labels[ny as usize * w + nx as usize] == j
        });
        touching += near as usize;
    }
    2 * touching >= total
}

const RING8: [(isize, isize); 8] = [(0, -1), (1, -1), (1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1)];
const RING4: [(isize, isize); 4] = [(0, -1), (1, 0), (0, 1), (-1, 0)];

/// The 8-connected ink component of `start`, read up to `cap` pixels; `seen` marks what was read.
fn component(mask: &[u8], w: usize, h: usize, start: usize, cap: usize, seen: &mut [bool]) -> Vec<usize> {
    let value = mask[start];
    let ring = &RING8;
    let mut out = vec![start];
    seen[start] = true;
    let mut k = 0;
    while k < out.len() && out.len() < cap {
        let p = out[k];
        k += 1;
        let (x, y) = ((p % w) as isize, (p / w) as isize);
        for &(dx, dy) in ring {
            let (nx, ny) = (x + dx, y + dy);
            if nx < 0 || ny < 0 || nx as usize >= w || ny as usize >= h {
                continue;
            }
            let q = ny as usize * w + nx as usize;
            if !seen[q] && mask[q] == value {
                seen[q] = true;
                out.push(q);
            }
        }
    }
    out
}

/// Remove ink specks smaller than `min_speck` pixels and fill holes in the ink smaller than
/// `min_hole`: quantization noise, which would become dots and little loops. Holes are searched
/// from the background pixels next to ink, each search stopping after `min_hole` pixels or
/// at a pixel already known to lie in a large background component, so the paper costs
/// little.
pub fn drop_specks(mask: &mut [u8], w: usize, h: usize, min_speck: usize, min_hole: usize) {
    if min_speck <= 1 && min_hole <= 1 {
        return;
    }
    let mut seen = vec![false; mask.len()];
    let ink: Vec<usize> = (0..mask.len()).filter(|&i| mask[i] != 0).collect();
    let mut specks = Vec::new();
    for &i in &ink {
        if !seen[i] {
            let c = component(mask, w, h, i, usize::MAX, &mut seen);
            if c.len() < min_speck {
                specks.extend(c);
            }
        }
    }
    // Background state: 0 unknown, 1 in a large component (or on the image border's), and
    // stamps >= 2 for the search that is running.
    let mut state = vec![0u32; mask.len()];
    let mut stamp = 1u32;
    let mut holes = Vec::new();
    for &i in &ink {
        let (x, y) = ((i % w) as isize, (i / w) as isize);
        for &(dx, dy) in &RING4 {
            let (nx, ny) = (x + dx, y + dy);
            if nx < 0 || ny < 0 || nx as usize >= w || ny as usize >= h {
                continue;
            }
            let q = ny as usize * w + nx as usize;
            if mask[q] != 0 || state[q] != 0 {
                continue;
            }
            stamp += 1;
            let mut found = vec![q];
            state[q] = stamp;
            let mut large = false;
            let mut k = 0;
            'search: while k < found.len() {
                let p = found[k];
                k += 1;
                let (px, py) = ((p % w) as isize, (p / w) as isize);
                for &(ex, ey) in &RING4 {
                    let (mx, my) = (px + ex, py + ey);
                    if mx < 0 || my < 0 || mx as usize >= w || my as usize >= h {
                        large = true; // open to the image border: not a hole
                        break 'search;
                    }
                    let r = my as usize * w + mx as usize;
                    if mask[r] != 0 || state[r] == stamp {
                        continue;
                    }
                    if state[r] == 1 || found.len() + 1 >= min_hole {
                        large = true;
                        break 'search;
                    }
                    state[r] = stamp;
                    found.push(r);
                }
            }
            if large {
                for p in found {
                    state[p] = 1;
                }
            } else {
                holes.extend(found);
            }
        }
    }
    for p in specks {
        mask[p] = 0;
    }
    for p in holes {
        mask[p] = 1;
    }
}
