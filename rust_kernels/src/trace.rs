//! The whole pipeline for one image: palette -> regions -> boundary graph -> fitted edges -> SVG.

use crate::boundary::{self, BoundaryGraph};
use crate::error::{KernelError, Result};
use crate::fit::{fit_edge_in_frame, Curve, FitOptions};
use crate::image::ImageView;
use crate::quantize::{quantize, QuantizeOptions, TRANSPARENT};
use crate::regions::{find_regions, find_regions_guided, find_regions_local, Regions};
use crate::scan::background::{drop_paper, paint};
use crate::scan::palette::PaletteScan;
use crate::scan::{self, field, Background, ScanOptions};
use crate::svg::{write_svg, Layers, Shape, StrokeShape};
use crate::thin;
use rayon::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Colour quantization with k-means in CIELAB.
    Color,
    /// Two colours: black where luma is below a threshold (Otsu's when none is given), else white.
    Binary,
    /// Line art as strokes: the palette as in `Color`, every colour but the background traced
    /// along its centerline (`crate::strokes`) and written as stroked paths.
    Centerline,
}

/// The stroke layer of a colour trace: thin structures (at most `stroke_width_max` pixels
/// wide) written as stroked centerlines on top of the fills, which continue underneath them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StrokeMode {
    /// No stroke layer: fills only.
    #[default]
    Off,
    /// Every thin structure becomes a stroke.
    On,
    /// Strokes where they measurably help.
    Auto,
}

impl StrokeMode {
    /// `"off"`, `"on"` or `"auto"`.
    pub fn parse(name: &str) -> Result<StrokeMode> {
        match name {
            "off" => Ok(StrokeMode::Off),
            "on" => Ok(StrokeMode::On),
            "auto" => Ok(StrokeMode::Auto),
            _ => Err(KernelError::InvalidOption(format!("strokes must be 'auto', 'on' or 'off', got {name:?}"))),
        }
    }
}

/// Default widest structure, in pixels, that the stroke layer and the centerline mode treat as
/// a line.
pub const DEFAULT_STROKE_WIDTH_MAX: f32 = 8.0;

#[derive(Clone, Debug)]
pub struct TraceOptions {
    pub colors: usize,
    pub seed: u64,
    /// Regions smaller than this many pixels merge into their most similar neighbour.
    pub min_area: u64,
    pub fit: FitOptions,
    /// Decimal digits of coordinates (0..=4).
    pub precision: u32,
    pub layers: Layers,
    pub mode: Mode,
    /// Binary mode threshold on luma 0..255; None = Otsu.
    pub threshold: Option<u8>,
    /// The scan front end (denoise, palette merging, paper); off by default.
    pub scan: ScanOptions,
    /// Merge speckles in the local order of `regions::local` (a speckle joins the neighbour
    /// whose colour is closest to its mean: a small neighbour's own mean, a large one's
    /// palette colour), which tiles settle themselves so the tiled tracer's memory stays
    /// bounded on noisy input. Off: the global smallest-first
    /// order of `find_regions`. Not combined with an edge guide.
    pub local_merge: bool,
    /// The stroke layer of colour mode (off by default).
    pub strokes: StrokeMode,
    /// Widest structure, in pixels, traced as a stroke (stroke layer and centerline mode).
    pub stroke_width_max: f32,
}

impl Default for TraceOptions {
    fn default() -> Self {
        TraceOptions {
            colors: 16,
            seed: 0,
            min_area: 8,
            fit: FitOptions::default(),
            precision: 1,
            layers: Layers::Stacked,
            mode: Mode::Color,
            threshold: None,
            scan: ScanOptions::default(),
            local_merge: false,
            strokes: StrokeMode::Off,
            stroke_width_max: DEFAULT_STROKE_WIDTH_MAX,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct TraceStats {
    pub palette: usize,
    pub regions: usize,
    pub edges: usize,
    pub paths: usize,
    pub commands: usize,
    pub bytes: usize,
    /// The fitting tolerance used (cutout layers cap it at CUTOUT_MAX_TOLERANCE).
    pub tolerance: f64,
}

impl TraceOptions {
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(KernelError::InvalidOption(m));
        if self.colors == 0 || self.colors > 4096 {
            return bad(format!("colors must be in 1..=4096, got {}", self.colors));
        }
        if !(self.fit.tolerance.is_finite() && self.fit.tolerance > 0.0 && self.fit.tolerance <= 100.0) {
            return bad(format!("tolerance must be in (0, 100] pixels, got {}", self.fit.tolerance));
        }
        if self.fit.corner_run == 0 {
            return bad("corner_run must be >= 1".into());
        }
        if self.precision > 4 {
            return bad(format!("precision must be in 0..=4 digits, got {}", self.precision));
        }
        if !(self.stroke_width_max.is_finite() && self.stroke_width_max >= 1.0 && self.stroke_width_max <= 64.0) {
            return bad(format!("stroke_width_max must be in [1, 64] pixels, got {}", self.stroke_width_max));
        }
        self.scan.validate()
    }
}

/// Luma (Rec. 601 weights) of an sRGB colour, rounded.
#[inline]
pub(crate) fn luma(c: [u8; 3]) -> u8 {
    ((c[0] as u32 * 299 + c[1] as u32 * 587 + c[2] as u32 * 114 + 500) / 1000) as u8
}

/// Binary labels: 0 = dark, 1 = light, TRANSPARENT for transparent pixels.
fn binary_labels(img: &ImageView, threshold: Option<u8>) -> Vec<i32> {
    let luma: Vec<Option<u8>> = (0..img.len()).map(|i| img.rgb(i).map(luma)).collect();
    let t = threshold.unwrap_or_else(|| {
        let mut hist = [0u64; 256];
        for v in luma.iter().flatten() {
            hist[*v as usize] += 1;
        }
        otsu(&hist)
    });
    luma.iter().map(|v| v.map_or(TRANSPARENT, |v| (v > t) as i32)).collect()
}

/// Otsu's threshold: pixels <= t are dark.
pub fn otsu(hist: &[u64; 256]) -> u8 {
    let total: u64 = hist.iter().sum();
    let sum_all: f64 = hist.iter().enumerate().map(|(i, &h)| i as f64 * h as f64).sum();
    let (mut w0, mut sum0, mut best, mut best_t) = (0u64, 0f64, -1f64, 127u8);
    // Thresholds 0..=254: t = 255 would put every pixel on the dark side.
    for (t, &count) in hist.iter().enumerate().take(255) {
        w0 += count;
        sum0 += t as f64 * count as f64;
        let w1 = total - w0;
        if w0 == 0 || w1 == 0 {
            continue;
        }
        let (m0, m1) = (sum0 / w0 as f64, (sum_all - sum0) / w1 as f64);
        let between = w0 as f64 * w1 as f64 * (m0 - m1) * (m0 - m1);
        if between > best {
            best = between;
            best_t = t as u8;
        }
    }
    best_t
}

/// Fit every edge once (in parallel; the result order is the edge order). Turns on the image
/// border stay fixed.
pub fn fit_all(graph: &BoundaryGraph, fit: &FitOptions) -> Vec<Curve> {
    let frame = Some((graph.width as i32, graph.height as i32));
    graph.edges.par_iter().map(|e| fit_edge_in_frame(e, fit, frame)).collect()
}

/// Cutout shapes must tile the plane exactly. Fitted curves stay within the tolerance of the
/// staircase-smoothed boundary; above half a pixel, curves of different edges that run a pixel
/// apart could cross, so cutout layers fit with at most this tolerance.
pub const CUTOUT_MAX_TOLERANCE: f64 = 0.5;

/// The fitting options a trace uses (cutout layers cap the tolerance).
pub fn effective_fit(opts: &TraceOptions) -> FitOptions {
    let mut fit = opts.fit.clone();
    if opts.layers == Layers::Cutout {
        fit.tolerance = fit.tolerance.min(CUTOUT_MAX_TOLERANCE);
    }
    fit
}

/// Shapes in paint order for the chosen layer style (stacked: largest filled area first, a
/// region inside another's hole is always smaller). `open_holes` (per region, per hole) marks
/// holes that contain transparent pixels: stacked layers keep those open instead of filling them.
pub fn shapes(
    graph: &BoundaryGraph,
    colours: &[[u8; 3]],
    layers: Layers,
    opaque: bool,
    open_holes: Option<&[Vec<bool>]>,
) -> Vec<Shape> {
    let n = graph.outlines.len();
    match layers {
        Layers::Cutout => (0..n)
            .map(|r| {
                let o = &graph.outlines[r];
                let mut cycles = vec![o.outer.clone()];
                cycles.extend(o.holes.iter().cloned());
                Shape { color: colours[r], cycles, canvas: false }
            })
            .collect(),
        Layers::Stacked => {
            // Largest filled area first: a region inside another's hole is always smaller.
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by(|&a, &b| graph.outlines[b].filled_area.cmp(&graph.outlines[a].filled_area).then(a.cmp(&b)));
            order
                .iter()
                .enumerate()
                .map(|(k, &r)| {
                    // The first (largest) region paints everything that is opaque: the whole
                    // canvas, or the outline of all regions together. Every other region is
                    // painted on top, so no gap or anti-aliasing seam can show through.
                    if k == 0 {
                        return Shape { color: colours[r], cycles: graph.opaque.clone(), canvas: opaque };
                    }
                    let o = &graph.outlines[r];
                    let mut cycles = vec![o.outer.clone()];
                    if let Some(open) = open_holes {
                        cycles.extend(o.holes.iter().zip(&open[r]).filter(|(_, &t)| t).map(|(c, _)| c.clone()));
                    }
                    Shape { color: colours[r], cycles, canvas: false }
                })
                .collect()
        }
    }
}

/// Regions -> SVG text and stats; `strokes` are painted over the fills in their order.
pub fn regions_to_svg(
    img_w: usize,
    img_h: usize,
    regions: &Regions,
    colours: &[[u8; 3]],
    opaque: bool,
    opts: &TraceOptions,
    strokes: &[StrokeShape],
) -> (String, TraceStats) {
    let graph = boundary::build(&regions.map, img_w, img_h, regions.areas.len());
    let fit = effective_fit(opts);
    let curves = fit_all(&graph, &fit);
    let open_holes =
        (!opaque && opts.layers == Layers::Stacked).then(|| boundary::transparent_holes(&graph, &regions.map));
    let shapes = shapes(&graph, colours, opts.layers, opaque, open_holes.as_deref());
    let (svg, s) = write_svg(img_w, img_h, &shapes, &curves, opts.layers, opts.precision, strokes);
    let stats = TraceStats {
        palette: 0,
        regions: regions.areas.len(),
        edges: graph.edges.len(),
        paths: s.paths,
        commands: s.commands,
        bytes: svg.len(),
        tolerance: fit.tolerance,
    };
    (svg, stats)
}

/// Trace an image into SVG.
pub fn trace(img: &ImageView, weights: Option<&[f32]>, opts: &TraceOptions) -> Result<(String, TraceStats)> {
    trace_guided(img, weights, None, opts)
}

/// `trace`, with speckle merging guided by an edge strength map (see `find_regions_guided`).
pub fn trace_guided(
    img: &ImageView,
    weights: Option<&[f32]>,
    edges: Option<&[f32]>,
    opts: &TraceOptions,
) -> Result<(String, TraceStats)> {
    opts.validate()?;
    // A scan is traced from its cleaned pixels (the same ones the tiled tracer cleans per tile).
    let cleaned = scan::prepare(img, &opts.scan)?;
    let cleaned_view = cleaned.as_deref().map(|px| ImageView::new(px, img.width, img.height, 3)).transpose()?;
    let img = cleaned_view.as_ref().unwrap_or(img);
    let background = opts.scan.background;
    let mut flattened: Option<Vec<u8>> = None;
    let (mut labels, palette, paper, binary) = match opts.mode {
        Mode::Color => {
            let scan = PaletteScan { delta_e: opts.scan.delta_e, paper: background != Background::Off };
            let qopts = QuantizeOptions { colors: opts.colors, seed: opts.seed, scan, ..Default::default() };
            let q = quantize(img, weights, &qopts)?;
            // Keep and white: the paper's white field (lamp fall-off) divided out, and the
            // palette fitted again on the flat page (`scan::field`).
            let target = q.paper.and_then(|p| field::target(background, q.palette[p as usize]));
            flattened = match (q.paper, target) {
                (Some(p), Some(t)) => field::flatten(img, &q.labels, p, t),
                _ => None,
            };
            match &flattened {
                Some(px) => {
                    let q = quantize(&ImageView::new(px, img.width, img.height, 3)?, weights, &qopts)?;
                    (q.labels, q.palette, q.paper, false)
                }
                None => (q.labels, q.palette, q.paper, false),
            }
        }
        Mode::Centerline => return crate::strokes::trace::trace_centerline(img, weights, opts),
        // Binary: the light side is the paper.
        Mode::Binary => (
            binary_labels(img, opts.threshold),
            vec![[0u8, 0, 0], [255, 255, 255]],
            (background != Background::Off).then_some(1),
            true,
        ),
    };
    let flattened_view = flattened.as_deref().map(|px| ImageView::new(px, img.width, img.height, 3)).transpose()?;
    let img = flattened_view.as_ref().unwrap_or(img);
    let find = |img: &ImageView, labels: &[i32]| {
        if opts.local_merge {
            if edges.is_some() {
                return Err(KernelError::InvalidOption("local_merge does not take an edge guide (edges)".into()));
            }
            find_regions_local(img, labels, &palette, opts.min_area)
        } else {
            find_regions_guided(img, labels, opts.min_area, edges)
        }
    };
    // The stroke layer (colour mode): thin structures become strokes, and the fills continue
    // under them (pixels and labels) before regions are found. Auto judges each stroke
    // against the regions of the fills alone (and keeps those when no stroke is kept).
    let layered = opts.mode == Mode::Color && opts.strokes != StrokeMode::Off;
    let alone = (layered && opts.strokes == StrokeMode::Auto).then(|| find(img, &labels)).transpose()?;
    let mut strokes = Vec::new();
    let mut continued = None;
    if layered {
        let layer = thin::stroke_layer(img, &labels, alone.as_ref(), &thin::LayerOptions::of(opts));
        if !layer.strokes.is_empty() {
            let mut px = img.data.to_vec();
            thin::fill::continue_fills(&layer.from, &mut labels, &mut px, img.channels);
            continued = Some(px);
            strokes = layer.strokes;
        }
    }
    let mut regions = match (&continued, alone) {
        (Some(px), _) => find(&ImageView::new(px, img.width, img.height, img.channels)?, &labels)?,
        (None, Some(alone)) => alone,
        (None, None) => find(img, &labels)?,
    };
    drop(labels);
    // Colour mode: each region gets the mean colour of its pixels. Binary: pure black/white.
    let mut colours: Vec<[u8; 3]> =
        if binary { regions.labels.iter().map(|&l| palette[l as usize]).collect() } else { regions.colors.clone() };
    let mut opaque = !img.has_transparency();
    paint(&mut colours, &regions.labels, &palette, paper, background);
    if let (Some(p), Background::Transparent) = (paper, background) {
        drop_paper(&mut regions, &mut colours, p);
        opaque = false;
    }
    let (svg, mut stats) = regions_to_svg(img.width, img.height, &regions, &colours, opaque, opts, &strokes);
    stats.palette = palette.len();
    Ok((svg, stats))
}

/// Trace a label image with a given palette (labels < 0 are transparent).
pub fn trace_labels(
    labels: &[i32],
    width: usize,
    height: usize,
    palette: &[[u8; 3]],
    opts: &TraceOptions,
) -> Result<(String, TraceStats)> {
    opts.validate()?;
    if labels.len() != width * height || width == 0 || height == 0 {
        return Err(KernelError::InvalidInput(format!("labels must be a non-empty {width}x{height} array")));
    }
    if let Some(&bad) = labels.iter().find(|&&l| l >= palette.len() as i32) {
        return Err(KernelError::InvalidInput(format!(
            "label {bad} has no palette entry (palette has {})",
            palette.len()
        )));
    }
    // Region colours come from the palette; build the RGB image the region finder reads.
    let rgb: Vec<u8> = labels.iter().flat_map(|&l| if l < 0 { [0, 0, 0] } else { palette[l as usize] }).collect();
    let img = ImageView::new(&rgb, width, height, 3)?;
    let regions = find_regions(&img, labels, opts.min_area)?;
    let colours: Vec<[u8; 3]> = regions.labels.iter().map(|&l| palette[l as usize]).collect();
    let opaque = labels.iter().all(|&l| l >= 0);
    let (svg, mut stats) = regions_to_svg(width, height, &regions, &colours, opaque, opts, &[]);
    stats.palette = palette.len();
    Ok((svg, stats))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_rectangles_cutout_is_exact() {
        // Left 3 columns red, right 2 blue, 4 rows.
        let (w, h) = (5, 4);
        let px: Vec<u8> = (0..w * h).flat_map(|i| if i % w < 3 { [255, 0, 0] } else { [0, 0, 255] }).collect();
        let img = ImageView::new(&px, w, h, 3).unwrap();
        let opts = TraceOptions { layers: Layers::Cutout, min_area: 1, ..Default::default() };
        let (svg, stats) = trace(&img, None, &opts).unwrap();
        assert_eq!(stats.regions, 2);
        assert_eq!(stats.paths, 2);
        assert!(svg.contains("fill=\"#f00\""), "{svg}");
        assert!(svg.contains("fill=\"#00f\""), "{svg}");
        // Both shapes are rectangles: only h/v commands.
        for line in svg.lines().filter(|l| l.starts_with("<path")) {
            let d = line.split('"').nth(1).unwrap();
            assert!(!d.contains('c') && !d.contains('l'), "{d}");
        }
    }

    #[test]
    fn stacked_background_fills_canvas() {
        let (w, h) = (6, 6);
        let px: Vec<u8> = (0..w * h)
            .flat_map(
                |i| if (2..4).contains(&(i % w)) && (2..4).contains(&(i / w)) { [0, 0, 0] } else { [255, 255, 255] },
            )
            .collect();
        let img = ImageView::new(&px, w, h, 3).unwrap();
        let (svg, stats) = trace(&img, None, &TraceOptions { min_area: 1, ..Default::default() }).unwrap();
        assert_eq!(stats.paths, 2);
        assert!(svg.contains("<path d=\"M0 0v6h6v-6z\" fill=\"#fff\"/>"), "{svg}");
        assert!(svg.contains("<path d=\"M2 2v2h2v-2z\" fill=\"#000\"/>"), "{svg}");
    }

    #[test]
    fn stacked_same_colour_as_background_is_painted() {
        // red | blue | red: the right red band is merged into the canvas path and must add to it.
        let px: Vec<u8> = (0..5).flat_map(|i| if i == 2 { [0, 0, 255] } else { [255, 0, 0] }).collect();
        let img = ImageView::new(&px, 5, 1, 3).unwrap();
        let (svg, _) = trace(&img, None, &TraceOptions { min_area: 1, colors: 2, ..Default::default() }).unwrap();
        let red = svg.lines().find(|l| l.contains("#f00")).unwrap();
        // Two counter-clockwise subpaths: the canvas and the right band.
        assert!(red.starts_with("<path d=\"M0 0v1h5v-1zm3 1h2v-1h-2z\""), "{svg}");
    }

    #[test]
    fn stacked_keeps_transparent_holes_open() {
        // A ring around a transparent pixel: the hole must stay in the stacked path.
        let px: Vec<u8> = (0..9).flat_map(|i| if i == 4 { [0, 0, 0, 0] } else { [9, 9, 9, 255] }).collect();
        let img = ImageView::new(&px, 3, 3, 4).unwrap();
        let (svg, _) = trace(&img, None, &TraceOptions { min_area: 1, ..Default::default() }).unwrap();
        assert!(svg.contains("<path d=\"M0 0v3h3v-3zm1 1h1v1h-1z\""), "{svg}");
        // Two regions and a transparent corner: the first shape is the union of both regions.
        let px: Vec<u8> = [[9, 9, 9, 255], [9, 9, 9, 255], [200, 0, 0, 255], [0, 0, 0, 0]].concat();
        let img = ImageView::new(&px, 2, 2, 4).unwrap();
        let (svg, stats) = trace(&img, None, &TraceOptions { min_area: 1, ..Default::default() }).unwrap();
        assert_eq!(stats.paths, 2, "{svg}");
        assert!(svg.contains("<path d=\"M0 1v1h1v-1h1v-1h-2z\" fill=\"#090909\"/>"), "{svg}");
    }

    #[test]
    fn binary_mode_and_otsu() {
        let mut hist = [0u64; 256];
        hist[20] = 100;
        hist[220] = 100;
        let t = otsu(&hist);
        assert!((20..220).contains(&t));
        let px: Vec<u8> = (0..16).flat_map(|i| if i < 8 { [30, 30, 30] } else { [200, 210, 190] }).collect();
        let img = ImageView::new(&px, 4, 4, 3).unwrap();
        let (svg, stats) =
            trace(&img, None, &TraceOptions { mode: Mode::Binary, min_area: 1, ..Default::default() }).unwrap();
        assert_eq!(stats.palette, 2);
        assert!(svg.contains("#000") && svg.contains("#fff"), "{svg}");
    }

    #[test]
    fn deterministic_output() {
        let mut seed = 99u64;
        let px: Vec<u8> = (0..64 * 48 * 3)
            .map(|_| {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (seed >> 56) as u8
            })
            .collect();
        let img = ImageView::new(&px, 64, 48, 3).unwrap();
        let opts = TraceOptions::default();
        let a = trace(&img, None, &opts).unwrap().0;
        let b = trace(&img, None, &opts).unwrap().0;
        assert_eq!(a, b);
    }

    /// Yellowed paper under a lamp falling off by 20 % from left to right, with noise, and a
    /// black square of ink in the middle.
    fn shaded_page(w: usize, h: usize) -> Vec<u8> {
        let mut seed = 3u64;
        (0..w * h)
            .flat_map(|i| {
                let (x, y) = (i % w, i / w);
                let ink = (w / 3..2 * w / 3).contains(&x) && (h / 3..2 * h / 3).contains(&y);
                let light = 1.0 - 0.2 * x as f64 / w as f64;
                [245.0, 232.0, 196.0].map(|c: f64| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    let noise = ((seed >> 33) % 11) as f64 - 5.0;
                    if ink { 12.0 + noise.abs() } else { c * light + noise }.round().clamp(0.0, 255.0) as u8
                })
            })
            .collect()
    }

    #[test]
    fn scan_paper_is_one_flat_colour() {
        let (w, h) = (90, 60);
        let px = shaded_page(w, h);
        let img = ImageView::new(&px, w, h, 3).unwrap();
        let base = TraceOptions { colors: 16, min_area: 8, layers: Layers::Cutout, ..Default::default() };
        // Without scan options k-means cuts the shaded paper into bands of several colours.
        let (plain, ps) = trace(&img, None, &base).unwrap();
        assert!(ps.palette >= 8 && ps.regions > 3, "{ps:?}");
        let paths = |svg: &str| svg.lines().filter(|l| l.starts_with("<path")).count();
        for (background, paper_fill) in [(Background::Keep, None), (Background::White, Some("#fff"))] {
            let scan = ScanOptions { delta_e: 6.0, background, ..Default::default() };
            let (svg, s) = trace(&img, None, &TraceOptions { scan, ..base.clone() }).unwrap();
            // Paper and ink: two palette entries, and in cutout layers one path per colour.
            assert_eq!(s.palette, 2, "{background:?}: {s:?}");
            assert_eq!(paths(&svg), 2, "{svg}");
            if let Some(fill) = paper_fill {
                assert!(svg.contains(&format!("fill=\"{fill}\"")), "{svg}");
            }
        }
        assert!(paths(&plain) > 2);
        // Transparent: only the ink is drawn, a square.
        let scan = ScanOptions { delta_e: 6.0, background: Background::Transparent, ..Default::default() };
        let (svg, s) =
            trace(&img, None, &TraceOptions { scan: scan.clone(), layers: Layers::Stacked, ..base.clone() }).unwrap();
        assert_eq!((s.regions, paths(&svg)), (1, 1), "{svg}");
        assert!(svg.contains("M30 20v20h30v-20z"), "{svg}");
        // All paper and transparent: an empty picture, not an error.
        let blank: Vec<u8> = (0..64).flat_map(|_| [240u8, 230, 200]).collect();
        let img = ImageView::new(&blank, 8, 8, 3).unwrap();
        let (svg, s) = trace(&img, None, &TraceOptions { scan, ..base }).unwrap();
        assert_eq!((s.regions, paths(&svg)), (0, 0), "{svg}");
    }

    #[test]
    fn invalid_options_are_errors() {
        let px = [0u8; 3];
        let img = ImageView::new(&px, 1, 1, 3).unwrap();
        let mut o = TraceOptions::default();
        o.fit.tolerance = 0.0;
        assert!(matches!(trace(&img, None, &o), Err(KernelError::InvalidOption(_))));
        let o = TraceOptions { precision: 9, ..Default::default() };
        assert!(trace(&img, None, &o).is_err());
        assert!(trace_labels(&[3], 1, 1, &[[0, 0, 0]], &TraceOptions::default()).is_err());
    }
}
