//! Colour quantization: an exact palette when the image has at most `k` colours, otherwise
//! weighted k-means (k-means++ seeding, Lloyd iterations) in CIELAB.
//!
//! k-means runs on the histogram of distinct colours (weight = pixel count x optional
//! importance), which is exactly k-means over all pixels but much cheaper for flat art. When
//! there are many distinct colours they are first pooled into 15-bit bins (weighted mean
//! colour per bin); every pixel is still assigned to its nearest centre by its own colour.
//! Palette entries are the mean sRGB of their pixels, accumulated in u64, so regions of
//! billions of pixels average exactly.

use crate::color::{dist2, rgb_to_lab, rgbf_to_lab};
use crate::error::{KernelError, Result};
use crate::image::ImageView;
use crate::scan::palette::{merge_clusters, PaletteScan};
use rayon::prelude::*;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Label of a transparent pixel (no palette entry).
pub const TRANSPARENT: i32 = -1;

/// Above this many distinct colours, k-means runs on 15-bit colour bins.
const MAX_KMEANS_POINTS: usize = 8192;

#[derive(Clone, Debug)]
pub struct QuantizeOptions {
    /// Maximum palette size (1..=4096).
    pub colors: usize,
    pub seed: u64,
    pub max_iterations: usize,
    /// Stop when no centre moves further than this (LAB units).
    pub min_shift: f32,
    /// Scan palettes: ΔE merge of the clusters and paper detection (off by default).
    pub scan: PaletteScan,
}

impl Default for QuantizeOptions {
    fn default() -> Self {
        QuantizeOptions { colors: 16, seed: 0, max_iterations: 32, min_shift: 0.05, scan: PaletteScan::default() }
    }
}

#[derive(Clone, Debug)]
pub struct Quantized {
    /// Palette colours, most frequent first.
    pub palette: Vec<[u8; 3]>,
    /// Pixel count of each palette entry.
    pub counts: Vec<u64>,
    /// One label per pixel: an index into `palette`, or TRANSPARENT.
    pub labels: Vec<i32>,
    /// The paper's palette entry (only when `QuantizeOptions::scan` asks for it).
    pub paper: Option<i32>,
}

/// FxHash-style hasher for packed colour keys (fast, deterministic).
#[derive(Default)]
pub(crate) struct FxHasher(u64);

impl Hasher for FxHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(i as u64);
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

pub(crate) type FxBuild = BuildHasherDefault<FxHasher>;

#[inline]
pub(crate) fn pack(c: [u8; 3]) -> u32 {
    (c[0] as u32) << 16 | (c[1] as u32) << 8 | c[2] as u32
}

/// The inverse of [`pack`].
#[inline]
pub(crate) fn unpack(k: u32) -> [u8; 3] {
    [(k >> 16) as u8, (k >> 8) as u8, k as u8]
}

/// Distinct colours of an image with their pixel counts and summed importance weights.
pub(crate) struct Histogram {
    pub colors: Vec<[u8; 3]>,
    pub counts: Vec<u64>,
    pub weights: Vec<f64>,
    /// Per pixel: index into `colors`, or u32::MAX when transparent.
    pub index: Vec<u32>,
}

/// Pixels per histogram chunk. Fixed (not derived from the thread count), so that weight sums
/// are added in the same order on every machine and the output stays byte-identical.
const HISTOGRAM_CHUNK: usize = 1 << 16;

/// Histogram of pixels `start..end`; `index` holds chunk-local colour indices.
fn histogram_range(img: &ImageView, weights: Option<&[f32]>, start: usize, end: usize) -> Histogram {
    if img.channels == 3 && weights.is_none() {
        return histogram_range_rgb(img, start, end);
    }
    let mut map: HashMap<u32, u32, FxBuild> = HashMap::with_capacity_and_hasher(1024, FxBuild::default());
    let mut colors = Vec::new();
    let mut counts: Vec<u64> = Vec::new();
    let mut wsum: Vec<f64> = Vec::new();
    let mut index = vec![u32::MAX; end - start];
    let mut last_key = u32::MAX;
    let mut last_idx = 0u32;
    for (i, slot) in (start..end).zip(index.iter_mut()) {
        let Some(c) = img.rgb(i) else { continue };
        let key = pack(c);
        let idx = if key == last_key {
            last_idx
        } else {
            let next = colors.len() as u32;
            let idx = *map.entry(key).or_insert(next);
            if idx == next {
                colors.push(c);
                counts.push(0);
                wsum.push(0.0);
            }
            last_key = key;
            last_idx = idx;
            idx
        };
        *slot = idx;
        counts[idx as usize] += 1;
        wsum[idx as usize] += match weights {
            Some(w) => w[i] as f64,
            None => 1.0,
        };
    }
    Histogram { colors, counts, weights: wsum, index }
}

/// `histogram_range` for the common case: opaque RGB pixels, no weights (weight = count).
fn histogram_range_rgb(img: &ImageView, start: usize, end: usize) -> Histogram {
    let mut map: HashMap<u32, u32, FxBuild> = HashMap::with_capacity_and_hasher(1024, FxBuild::default());
    let mut colors = Vec::new();
    let mut counts: Vec<u64> = Vec::new();
    let mut index = vec![0u32; end - start];
    let mut last_key = u32::MAX;
    let mut last_idx = 0u32;
    for (px, slot) in img.data[start * 3..end * 3].chunks_exact(3).zip(index.iter_mut()) {
        let key = (px[0] as u32) << 16 | (px[1] as u32) << 8 | px[2] as u32;
        if key != last_key {
            let next = colors.len() as u32;
            last_idx = *map.entry(key).or_insert(next);
            if last_idx == next {
                colors.push([px[0], px[1], px[2]]);
                counts.push(0);
            }
            last_key = key;
        }
        *slot = last_idx;
        counts[last_idx as usize] += 1;
    }
    let weights = counts.iter().map(|&c| c as f64).collect();
    Histogram { colors, counts, weights, index }
}

/// Distinct colours in order of first appearance (raster order), built in parallel over
/// fixed-size chunks and merged in chunk order.
pub(crate) fn histogram(img: &ImageView, weights: Option<&[f32]>) -> Histogram {
    let n = img.len();
    if n <= HISTOGRAM_CHUNK {
        return histogram_range(img, weights, 0, n);
    }
    let parts: Vec<Histogram> = (0..n.div_ceil(HISTOGRAM_CHUNK))
        .into_par_iter()
        .map(|c| histogram_range(img, weights, c * HISTOGRAM_CHUNK, ((c + 1) * HISTOGRAM_CHUNK).min(n)))
        .collect();
    let mut map: HashMap<u32, u32, FxBuild> = HashMap::with_capacity_and_hasher(4096, FxBuild::default());
    let (mut colors, mut counts, mut wsum) = (Vec::new(), Vec::new(), Vec::new());
    let mut remaps: Vec<Vec<u32>> = Vec::with_capacity(parts.len());
    for part in &parts {
        let mut remap = Vec::with_capacity(part.colors.len());
        for (j, c) in part.colors.iter().enumerate() {
            let next = colors.len() as u32;
            let idx = *map.entry(pack(*c)).or_insert(next);
            if idx == next {
                colors.push(*c);
                counts.push(0u64);
                wsum.push(0f64);
            }
            counts[idx as usize] += part.counts[j];
            wsum[idx as usize] += part.weights[j];
            remap.push(idx);
        }
        remaps.push(remap);
    }
    let mut index = vec![u32::MAX; n];
    index.par_chunks_mut(HISTOGRAM_CHUNK).zip(parts.par_iter().zip(remaps.par_iter())).for_each(
        |(out, (part, remap))| {
            for (o, &l) in out.iter_mut().zip(&part.index) {
                if l != u32::MAX {
                    *o = remap[l as usize];
                }
            }
        },
    );
    Histogram { colors, counts, weights: wsum, index }
}

/// Deterministic pseudo-random numbers (SplitMix64).
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[inline]
fn nearest(centres: &[[f32; 3]], p: [f32; 3]) -> (usize, f32) {
    let mut best = 0;
    let mut bd = f32::INFINITY;
    for (j, c) in centres.iter().enumerate() {
        let d = dist2(*c, p);
        if d < bd {
            bd = d;
            best = j;
        }
    }
    (best, bd)
}

/// k-means++ seeding: each new centre drawn with probability proportional to weight x D^2.
fn seed_centres(points: &[[f32; 3]], w: &[f64], k: usize, rng: &mut SplitMix64) -> Vec<[f32; 3]> {
    let total: f64 = w.iter().sum();
    let pick = |weights: &mut dyn Iterator<Item = f64>, total: f64, rng: &mut SplitMix64| -> usize {
        let target = rng.next_f64() * total;
        let mut acc = 0.0;
        let mut last_positive = 0;
        for (i, x) in weights.enumerate() {
            if x > 0.0 {
                last_positive = i;
            }
            acc += x;
            if acc > target {
                return i;
            }
        }
        last_positive
    };
    let first = pick(&mut w.iter().copied(), total, rng);
    let mut centres = vec![points[first]];
    let mut d2: Vec<f64> = points.iter().map(|p| dist2(*p, points[first]) as f64).collect();
    while centres.len() < k {
        let total: f64 = d2.iter().zip(w).map(|(d, w)| d * w).sum();
        if total <= 0.0 {
            break; // every point coincides with a centre
        }
        let i = pick(&mut d2.iter().zip(w).map(|(d, w)| d * w), total, rng);
        let c = points[i];
        centres.push(c);
        for (d, p) in d2.iter_mut().zip(points) {
            *d = d.min(dist2(*p, c) as f64);
        }
    }
    centres
}

/// Weighted Lloyd iterations; returns the final centres.
fn lloyd(points: &[[f32; 3]], w: &[f64], mut centres: Vec<[f32; 3]>, opts: &QuantizeOptions) -> Vec<[f32; 3]> {
    let k = centres.len();
    for _ in 0..opts.max_iterations {
        let assign: Vec<usize> = if points.len() > 4096 {
            points.par_iter().map(|p| nearest(&centres, *p).0).collect()
        } else {
            points.iter().map(|p| nearest(&centres, *p).0).collect()
        };
        let mut sums = vec![[0f64; 3]; k];
        let mut ws = vec![0f64; k];
        for ((p, &a), &wi) in points.iter().zip(&assign).zip(w) {
            for c in 0..3 {
                sums[a][c] += p[c] as f64 * wi;
            }
            ws[a] += wi;
        }
        let mut max_shift = 0f32;
        for j in 0..k {
            if ws[j] > 0.0 {
                let c = [(sums[j][0] / ws[j]) as f32, (sums[j][1] / ws[j]) as f32, (sums[j][2] / ws[j]) as f32];
                max_shift = max_shift.max(dist2(c, centres[j]).sqrt());
                centres[j] = c;
            }
        }
        if max_shift < opts.min_shift {
            break;
        }
    }
    centres
}

/// Mean colour of each cluster from per-colour counts; exact integer sums.
pub(crate) fn cluster_means(colors: &[[u8; 3]], counts: &[u64], assign: &[u32], k: usize) -> (Vec<[f64; 3]>, Vec<u64>) {
    let mut sums = vec![[0u128; 3]; k];
    let mut n = vec![0u64; k];
    for ((c, &cnt), &a) in colors.iter().zip(counts).zip(assign) {
        let a = a as usize;
        for ch in 0..3 {
            sums[a][ch] += c[ch] as u128 * cnt as u128;
        }
        n[a] += cnt;
    }
    let means = sums
        .iter()
        .zip(&n)
        .map(|(s, &cnt)| {
            if cnt == 0 {
                [0.0; 3]
            } else {
                [s[0] as f64 / cnt as f64, s[1] as f64 / cnt as f64, s[2] as f64 / cnt as f64]
            }
        })
        .collect();
    (means, n)
}

/// A palette chosen from a colour histogram, and the rule that labels any colour.
#[derive(Clone, Debug)]
pub(crate) struct PaletteFit {
    pub palette: Vec<[u8; 3]>,
    pub counts: Vec<u64>,
    /// Label of each histogram colour.
    pub colour_label: Vec<i32>,
    /// k-means centres (LAB) when clustering ran: a colour's label is `remap[nearest centre]`.
    /// None when the palette is exact (every colour its own entry).
    pub centres: Option<Vec<[f32; 3]>>,
    pub remap: Vec<i32>,
    /// The paper's palette entry, when `QuantizeOptions::scan` asks for it and there is one.
    pub paper: Option<i32>,
}

/// Label of a colour under k-means `centres` and their `remap` to palette order (what
/// `quantize` assigns to a colour that was in its histogram).
pub(crate) fn nearest_label(centres: &[[f32; 3]], remap: &[i32], c: [u8; 3]) -> i32 {
    remap[nearest(centres, rgb_to_lab(c)).0]
}

/// The palette of a histogram: `colors` in order of first appearance (raster order), their
/// pixel `counts` and k-means `weights`. Shared by `quantize` and the tiled tracer, which
/// sums per-tile histograms into the same one.
pub(crate) fn fit_palette(colors: &[[u8; 3]], counts: &[u64], weights: &[f64], opts: &QuantizeOptions) -> PaletteFit {
    let ncol = colors.len();
    let mut centres_used = None;
    // Cluster of every distinct colour.
    let assign: Vec<u32> = if ncol <= opts.colors {
        (0..ncol as u32).collect()
    } else {
        // k-means points: distinct colours, or 15-bit bins of them when there are many.
        let (points, pw): (Vec<[f32; 3]>, Vec<f64>) = if ncol <= MAX_KMEANS_POINTS {
            (colors.iter().map(|c| rgb_to_lab(*c)).collect(), weights.to_vec())
        } else {
            let mut bins: HashMap<u32, ([f64; 3], f64), FxBuild> = HashMap::default();
            for (c, &w) in colors.iter().zip(weights) {
                let key = (c[0] as u32 >> 3) << 10 | (c[1] as u32 >> 3) << 5 | c[2] as u32 >> 3;
                let e = bins.entry(key).or_insert(([0.0; 3], 0.0));
                for (acc, &v) in e.0.iter_mut().zip(c) {
                    *acc += v as f64 * w.max(1e-12);
                }
                e.1 += w.max(1e-12);
            }
            let mut keys: Vec<u32> = bins.keys().copied().collect();
            keys.sort_unstable();
            keys.iter()
                .map(|k| {
                    let (s, w) = bins[k];
                    (rgbf_to_lab([s[0] / w, s[1] / w, s[2] / w]), w)
                })
                .unzip()
        };
        let mut rng = SplitMix64::new(opts.seed);
        let centres = seed_centres(&points, &pw, opts.colors, &mut rng);
        let centres = lloyd(&points, &pw, centres, opts);
        let assign = colors.par_iter().map(|c| nearest(&centres, rgb_to_lab(*c)).0 as u32).collect();
        centres_used = Some(centres);
        assign
    };

    let mut k = assign.iter().map(|&a| a as usize + 1).max().unwrap_or(0);
    // Scans: clusters that mean one colour become one (`scan::palette`); `centre_group` maps a
    // k-means centre (= cluster) to its merged cluster.
    let mut assign = assign;
    let mut centre_group: Option<Vec<u32>> = None;
    let mut paper = None;
    if opts.scan.active() {
        let g = merge_clusters(colors, counts, &assign, k, opts.scan);
        for a in assign.iter_mut() {
            *a = g.group[*a as usize];
        }
        k = g.count;
        paper = g.paper;
        centre_group = Some(g.group);
    }
    let (means, n) = cluster_means(colors, counts, &assign, k);
    // Palette order: most pixels first, ties by colour; drop empty clusters.
    let mut order: Vec<usize> = (0..k).filter(|&j| n[j] > 0).collect();
    let rounded: Vec<[u8; 3]> =
        means.iter().map(|m| [m[0].round() as u8, m[1].round() as u8, m[2].round() as u8]).collect();
    order.sort_by(|&a, &b| n[b].cmp(&n[a]).then(pack(rounded[a]).cmp(&pack(rounded[b]))).then(a.cmp(&b)));
    let mut remap = vec![0i32; k];
    for (new, &old) in order.iter().enumerate() {
        remap[old] = new as i32;
    }
    let palette = order.iter().map(|&j| rounded[j]).collect();
    let counts = order.iter().map(|&j| n[j]).collect();
    let colour_label: Vec<i32> = assign.iter().map(|&a| remap[a as usize]).collect();
    let paper = paper.map(|p| remap[p as usize]);
    if let Some(g) = centre_group {
        remap = g.iter().map(|&x| remap[x as usize]).collect();
    }
    PaletteFit { palette, counts, colour_label, centres: centres_used, remap, paper }
}

pub fn quantize(img: &ImageView, weights: Option<&[f32]>, opts: &QuantizeOptions) -> Result<Quantized> {
    if opts.colors == 0 || opts.colors > 4096 {
        return Err(KernelError::InvalidOption(format!("colors must be in 1..=4096, got {}", opts.colors)));
    }
    if let Some(w) = weights {
        if w.len() != img.len() {
            return Err(KernelError::InvalidInput(format!(
                "weights have {} values, expected one per pixel ({})",
                w.len(),
                img.len()
            )));
        }
        if w.iter().any(|x| !x.is_finite() || *x < 0.0) {
            return Err(KernelError::InvalidInput("weights must be finite and >= 0".into()));
        }
    }
    let hist = histogram(img, weights);
    if hist.colors.is_empty() {
        // Fully transparent image.
        return Ok(Quantized { palette: vec![], counts: vec![], labels: vec![TRANSPARENT; img.len()], paper: None });
    }
    let fit = fit_palette(&hist.colors, &hist.counts, &hist.weights, opts);
    let colour_label = &fit.colour_label;
    let labels =
        hist.index.par_iter().map(|&i| if i == u32::MAX { TRANSPARENT } else { colour_label[i as usize] }).collect();
    Ok(Quantized { palette: fit.palette, counts: fit.counts, labels, paper: fit.paper })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img(data: &[u8], w: usize, h: usize, c: usize) -> ImageView<'_> {
        ImageView::new(data, w, h, c).unwrap()
    }

    #[test]
    fn exact_palette_when_few_colours() {
        // 3 colours, k = 4: palette is exactly those colours, most frequent first.
        let px: Vec<u8> = [[10, 20, 30], [10, 20, 30], [200, 0, 0], [10, 20, 30], [0, 255, 0], [200, 0, 0]]
            .iter()
            .flatten()
            .copied()
            .collect();
        let q = quantize(&img(&px, 3, 2, 3), None, &QuantizeOptions { colors: 4, ..Default::default() }).unwrap();
        assert_eq!(q.palette, vec![[10, 20, 30], [200, 0, 0], [0, 255, 0]]);
        assert_eq!(q.counts, vec![3, 2, 1]);
        assert_eq!(q.labels, vec![0, 0, 1, 0, 2, 1]);
    }

    #[test]
    fn transparent_pixels_get_no_label() {
        let px = [255, 0, 0, 255, 0, 0, 255, 0, 9, 9, 9, 255, 0, 0, 255, 100];
        let q = quantize(&img(&px, 2, 2, 4), None, &QuantizeOptions::default()).unwrap();
        // Equal counts: ties are ordered by colour value.
        assert_eq!(q.labels, vec![1, TRANSPARENT, 0, TRANSPARENT]);
        assert_eq!(q.palette, vec![[9, 9, 9], [255, 0, 0]]);
    }

    /// Two well separated clusters of noisy colours: k-means finds both means.
    #[test]
    fn kmeans_recovers_clusters_deterministically() {
        let mut rng = SplitMix64::new(7);
        let mut px = Vec::new();
        for i in 0..20_000 {
            let base: [i32; 3] = if i % 3 == 0 { [200, 40, 40] } else { [30, 60, 220] };
            for b in base {
                px.push((b + (rng.next_u64() % 21) as i32 - 10).clamp(0, 255) as u8);
            }
        }
        let im = img(&px, 200, 100, 3);
        let opts = QuantizeOptions { colors: 2, ..Default::default() };
        let q = quantize(&im, None, &opts).unwrap();
        assert_eq!(q.palette.len(), 2);
        let close = |a: [u8; 3], b: [i32; 3]| (0..3).all(|c| (a[c] as i32 - b[c]).abs() <= 1);
        assert!(close(q.palette[0], [30, 60, 220]), "{:?}", q.palette);
        assert!(close(q.palette[1], [200, 40, 40]), "{:?}", q.palette);
        assert_eq!(q.counts, vec![13_333, 6_667]);
        let again = quantize(&im, None, &opts).unwrap();
        assert_eq!(q.labels, again.labels);
        assert_eq!(q.palette, again.palette);
    }

    #[test]
    fn importance_weights_pull_palette_towards_details() {
        // 95 % light grey, 4 % mid grey, 1 % black detail; k = 2.
        let mut px = Vec::new();
        let mut weights = Vec::new();
        for i in 0..10_000 {
            let (v, w) = if i < 9_500 {
                (220, 1.0)
            } else if i < 9_900 {
                (150, 1.0)
            } else {
                (0, 200.0)
            };
            px.extend([v, v, v]);
            weights.push(w);
        }
        let im = img(&px, 100, 100, 3);
        let opts = QuantizeOptions { colors: 2, ..Default::default() };
        let plain = quantize(&im, None, &opts).unwrap();
        let weighted = quantize(&im, Some(&weights), &opts).unwrap();
        // Without weights the black detail is lost in the mid-grey cluster; with them it keeps its own.
        assert!(plain.palette.iter().all(|c| c[0] > 20), "{:?}", plain.palette);
        assert!(weighted.palette.contains(&[0, 0, 0]), "{:?}", weighted.palette);
    }

    #[test]
    fn many_colours_use_bins_and_stay_exact_in_mean() {
        // A smooth gradient with > MAX_KMEANS_POINTS distinct colours.
        let (w, h) = (256, 64);
        let mut px = Vec::new();
        for y in 0..h {
            for x in 0..w {
                px.extend([x as u8, (y * 4) as u8, ((x + y) % 256) as u8]);
            }
        }
        let q = quantize(&img(&px, w, h, 3), None, &QuantizeOptions { colors: 8, ..Default::default() }).unwrap();
        assert_eq!(q.palette.len(), 8);
        assert_eq!(q.counts.iter().sum::<u64>(), (w * h) as u64);
        assert!(q.labels.iter().all(|&l| (0..8).contains(&l)));
    }

    #[test]
    fn means_of_huge_clusters_are_exact() {
        // 10^8 pixels of (255, 255, 254) and 10^8 of (255, 255, 255) in one cluster:
        // an f32 accumulator would drift; the u128 sums give exactly 254.5 -> 254.5.
        let colors = [[255, 255, 254], [255, 255, 255], [1, 2, 3]];
        let counts = [100_000_000u64, 100_000_000, 300_000_000];
        let (means, n) = cluster_means(&colors, &counts, &[0, 0, 1], 2);
        assert_eq!(n, vec![200_000_000, 300_000_000]);
        assert_eq!(means[0], [255.0, 255.0, 254.5]);
        assert_eq!(means[1], [1.0, 2.0, 3.0]);
    }

    #[test]
    fn chunked_histogram_matches_sequential() {
        let (w, h) = (300, 700); // > HISTOGRAM_CHUNK pixels
        let px: Vec<u8> =
            (0..w * h).flat_map(|i| [(i % 7 * 30) as u8, (i / w % 5 * 50) as u8, (i % 3) as u8]).collect();
        let im = img(&px, w, h, 3);
        let par = histogram(&im, None);
        let seq = histogram_range(&im, None, 0, w * h);
        // The RGB fast path agrees with the general path (weights all 1).
        let ones = vec![1f32; w * h];
        let general = histogram_range(&im, Some(&ones), 0, w * h);
        assert_eq!(general.colors, seq.colors);
        assert_eq!(general.index, seq.index);
        assert_eq!(general.weights, seq.weights);
        assert_eq!(par.colors, seq.colors);
        assert_eq!(par.counts, seq.counts);
        assert_eq!(par.index, seq.index);
    }

    #[test]
    fn bad_options_are_errors() {
        let px = [0u8; 12];
        let im = img(&px, 2, 2, 3);
        assert!(quantize(&im, None, &QuantizeOptions { colors: 0, ..Default::default() }).is_err());
        assert!(quantize(&im, Some(&[1.0, 1.0]), &QuantizeOptions::default()).is_err());
        assert!(quantize(&im, Some(&[1.0, f32::NAN, 1.0, 1.0]), &QuantizeOptions::default()).is_err());
    }
}
