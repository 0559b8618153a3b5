//! Scan palettes: k-means clusters that mean one colour become one palette entry, and the
//! paper is found among them.
//!
//! Runs inside `quantize::fit_palette`, on the clusters k-means made from the histogram of
//! distinct colours, so the untiled and the tiled tracer (which sums per-tile histograms into
//! the same histogram) decide the same merges. Nothing here looks at pixel positions: every
//! decision comes from colour counts, which decompose over tiles.
//!
//! 1. **ΔE merge.** Clusters whose mean colours are closer than `delta_e` (CIE 1976 ΔE*ab, the
//!    Euclidean distance in CIELAB D65 that k-means itself minimises) become one: repeatedly
//!    the closest pair (ties: smallest cluster indices) merges into one cluster with the
//!    pixel-weighted mean colour (exact integer sums), until no two are closer than `delta_e`.
//!    `colors` is only the upper bound of the palette: k-means spends spare clusters on noise,
//!    paper grain and JPEG artefacts, and those clusters lie within a few ΔE of each other.
//! 2. **Blends.** A small cluster (under [`MIXTURE_MAX_SHARE`] of the pixels) whose colour
//!    lies within `delta_e` of the sRGB segment between two larger clusters is what blur,
//!    anti-aliasing and JPEG make along their common edges; it merges into the nearer of the
//!    two (smallest first). With the ΔE merge this is what sizes the palette: the same scan
//!    traced with `colors` 32 or 64 gets about the same palette.
//! 3. **Paper.** Ink only darkens paper, so the paper is the lightest merged cluster (highest
//!    L*, at least [`PAPER_MIN_L`]) that covers at least [`PAPER_MIN_SHARE`] of the pixels and
//!    has a paper's colour: white, grey or yellowed, never bluish, greenish or reddish
//!    ([`paper_coloured`]). (The cluster with the most pixels is not: on a scanned map crop
//!    that was the ocean, 1.64 M pixels against the paper margin's 1.33 M. A map scanned
//!    without its margin has no paper, and its pale sea must not become white.)
//! 4. **Lamp fall-off.** Uneven illumination scales the paper's linear RGB by a factor that
//!    varies slowly across the page, and k-means cuts that ramp into bands. A cluster whose
//!    luminance is within [`MAX_FALLOFF`] of the paper's and whose colour, scaled to the
//!    paper's luminance, is within `delta_e` (at least [`PAPER_MIN_DELTA_E`]) of the paper is
//!    paper under less (or more) light, and merges into it. This is a palette-level rule: a
//!    genuine neutral tint as light as shaded paper (e.g. a 75 % grey fill on white paper)
//!    cannot be told from it without looking at where its pixels are, and becomes paper too.

use crate::color::{dist2, rgbf_to_lab};

/// Least CIELAB lightness of the paper.
pub const PAPER_MIN_L: f32 = 55.0;

/// Least share of the opaque pixels a cluster needs to be the paper (so that a few bright
/// specks or highlights are not).
pub const PAPER_MIN_SHARE: f64 = 0.02;

/// Largest lamp fall-off (relative luminance lost at the darkest part of the page) that still
/// counts as the same paper; colours this much brighter than the paper count too.
pub const MAX_FALLOFF: f64 = 0.3;

/// The ΔE a cluster, scaled to the paper's luminance, may be from the paper when `delta_e` is
/// smaller (or off): the chroma of paper shifts a little with its shading.
pub const PAPER_MIN_DELTA_E: f32 = 4.0;

/// Whether a CIELAB colour can be paper: near neutral, or yellowed (b* up to 35, the cream of
/// old paper) with at most a slight red or green cast.
pub fn paper_coloured(lab: [f32; 3]) -> bool {
    (-8.0..=12.0).contains(&lab[1]) && (-6.0..=35.0).contains(&lab[2])
}

/// What the scan palette does after k-means.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PaletteScan {
    /// Clusters closer than this ΔE*ab are one colour; 0 = off.
    pub delta_e: f32,
    /// Find the paper (and merge its shaded bands into it).
    pub paper: bool,
}

impl PaletteScan {
    /// Whether anything changes the k-means clusters (off = today's palette exactly).
    pub fn active(&self) -> bool {
        self.delta_e > 0.0 || self.paper
    }
}

/// The clusters after merging: `group[c]` is the merged cluster of k-means cluster `c`
/// (`0..count`), and `paper` the merged cluster of the paper, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Groups {
    pub group: Vec<u32>,
    pub count: usize,
    pub paper: Option<u32>,
}

/// A cluster being merged: exact channel sums of its pixels and its pixel count.
#[derive(Clone, Copy)]
struct Cluster {
    sum: [u128; 3],
    n: u64,
}

impl Cluster {
    fn mean(&self) -> [f64; 3] {
        let n = self.n.max(1) as f64;
        [self.sum[0] as f64 / n, self.sum[1] as f64 / n, self.sum[2] as f64 / n]
    }
    fn lab(&self) -> [f32; 3] {
        rgbf_to_lab(self.mean())
    }
}

/// Relative luminance (linear light, 0..1) of a floating-point sRGB colour (0..255).
fn luminance(rgb: [f64; 3]) -> f64 {
    let lin = linear(rgb);
    0.212_672_9 * lin[0] + 0.715_152_2 * lin[1] + 0.072_175 * lin[2]
}

/// Linear light (0..1) of a floating-point sRGB colour (0..255).
pub(crate) fn linear(rgb: [f64; 3]) -> [f64; 3] {
    rgb.map(|c| {
        let c = (c / 255.0).clamp(0.0, 1.0);
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    })
}

/// CIELAB (D65) of a linear-light RGB colour, not clipped to the sRGB gamut: a colour relit
/// beyond white keeps its hue (clipping would bleach a light blue into white).
fn lab_of_linear(lin: [f64; 3]) -> [f32; 3] {
    let f = |t: f64| if t > 216.0 / 24389.0 { t.cbrt() } else { (24389.0 / 27.0 * t + 16.0) / 116.0 };
    let [r, g, b] = lin;
    let x = (0.412_456_4 * r + 0.357_576_1 * g + 0.180_437_5 * b) / 0.950_47;
    let y = 0.212_672_9 * r + 0.715_152_2 * g + 0.072_175 * b;
    let z = (0.019_333_9 * r + 0.119_192 * g + 0.950_304_1 * b) / 1.088_83;
    let (fx, fy, fz) = (f(x), f(y), f(z));
    [(116.0 * fy - 16.0) as f32, (500.0 * (fx - fy)) as f32, (200.0 * (fy - fz)) as f32]
}

/// Union-find root.
fn root(parent: &mut [u32], mut i: u32) -> u32 {
    while parent[i as usize] != i {
        let p = parent[i as usize];
        parent[i as usize] = parent[p as usize];
        i = p;
    }
    i
}

/// Merge the `k` clusters of histogram `colors` (pixel `counts`, cluster `assign` per colour)
/// as the module documentation says. Deterministic: the result depends only on the histogram
/// and the assignment, not on their order of arrival in tiles.
///
/// ```
/// use vectile_kernels::scan::palette::{merge_clusters, PaletteScan};
/// // Two shades of paper 2 ΔE apart and black ink: with ΔE 5 the shades are one colour.
/// let colors = [[240, 230, 200], [236, 226, 196], [10, 10, 10]];
/// let g = merge_clusters(&colors, &[50, 40, 10], &[0, 1, 2], 3, PaletteScan { delta_e: 5.0, paper: true });
/// assert_eq!((g.count, g.group[0] == g.group[1], g.paper), (2, true, Some(g.group[0])));
/// ```
pub fn merge_clusters(colors: &[[u8; 3]], counts: &[u64], assign: &[u32], k: usize, scan: PaletteScan) -> Groups {
    // Exact integer sums per cluster (means would round).
    let mut clusters = vec![Cluster { sum: [0; 3], n: 0 }; k];
    for ((c, &cnt), &a) in colors.iter().zip(counts).zip(assign) {
        let cl = &mut clusters[a as usize];
        for (acc, &v) in cl.sum.iter_mut().zip(c) {
            *acc += v as u128 * cnt as u128;
        }
        cl.n += cnt;
    }
    let mut parent: Vec<u32> = (0..k as u32).collect();
    let live: Vec<usize> = (0..k).filter(|&c| clusters[c].n > 0).collect();
    if scan.delta_e > 0.0 {
        merge_close(&mut clusters, &mut parent, &live, scan.delta_e);
        merge_mixtures(&mut clusters, &mut parent, &live, scan.delta_e);
    }
    let mut paper = None;
    if scan.paper {
        paper = find_paper(&clusters, &mut parent, &live);
        if let Some(p) = paper {
            merge_shaded_paper(&mut clusters, &mut parent, &live, p, scan.delta_e.max(PAPER_MIN_DELTA_E));
        }
    }
    // Merged clusters numbered by their smallest member, so the numbering is stable.
    let mut id = vec![u32::MAX; k];
    let mut count = 0u32;
    let group: Vec<u32> = (0..k as u32)
        .map(|c| {
            let r = root(&mut parent, c) as usize;
            if id[r] == u32::MAX {
                id[r] = count;
                count += 1;
            }
            id[r]
        })
        .collect();
    let paper = paper.map(|p| group[p]);
    Groups { group, count: count as usize, paper }
}

/// Agglomerative merging of the closest pair below `delta_e`, with each live cluster's
/// nearest live neighbour cached (recomputed only for rows that pointed at a merged pair).
fn merge_close(clusters: &mut [Cluster], parent: &mut [u32], live: &[usize], delta_e: f32) {
    let limit = delta_e * delta_e;
    let mut alive = live.to_vec();
    let mut lab: Vec<[f32; 3]> = clusters.iter().map(Cluster::lab).collect();
    // (squared distance, neighbour) per live cluster; ties by the smaller neighbour index.
    let nearest = |i: usize, alive: &[usize], lab: &[[f32; 3]]| -> (f32, usize) {
        let mut best = (f32::INFINITY, usize::MAX);
        for &j in alive {
            if j != i {
                let d = dist2(lab[i], lab[j]);
                if d < best.0 || (d == best.0 && j < best.1) {
                    best = (d, j);
                }
            }
        }
        best
    };
    let mut nn: Vec<(f32, usize)> = vec![(f32::INFINITY, usize::MAX); clusters.len()];
    for &i in &alive {
        nn[i] = nearest(i, &alive, &lab);
    }
    loop {
        // The closest pair: smallest distance, then smallest (i, j).
        let mut best: Option<(f32, usize, usize)> = None;
        for &i in &alive {
            let (d, j) = nn[i];
            let (a, b) = (i.min(j), i.max(j));
            if j != usize::MAX && best.is_none_or(|(bd, ba, bb)| d < bd || (d == bd && (a, b) < (ba, bb))) {
                best = Some((d, a, b));
            }
        }
        let Some((d, a, b)) = best else { break };
        if d >= limit {
            break;
        }
        // b joins a: the merged colour is the pixel-weighted mean.
        for ch in 0..3 {
            clusters[a].sum[ch] += clusters[b].sum[ch];
        }
        clusters[a].n += clusters[b].n;
        parent[b] = a as u32;
        alive.retain(|&x| x != b);
        lab[a] = clusters[a].lab();
        for &i in &alive {
            if i == a || nn[i].1 == a || nn[i].1 == b {
                nn[i] = nearest(i, &alive, &lab);
            } else {
                let d = dist2(lab[i], lab[a]);
                if d < nn[i].0 || (d == nn[i].0 && a < nn[i].1) {
                    nn[i] = (d, a);
                }
            }
        }
    }
}

/// Most pixels (share of all) a blend of two other colours may have and still be dropped.
pub const MIXTURE_MAX_SHARE: f64 = 0.01;

/// Drop blends: a small cluster whose colour lies (within `delta_e`) on the sRGB segment
/// between two larger clusters is what blur, anti-aliasing and JPEG make along their common
/// edges, not a colour of its own; it merges into the nearer of the two. Smallest first.
fn merge_mixtures(clusters: &mut [Cluster], parent: &mut [u32], live: &[usize], delta_e: f32) {
    let total: u64 = live.iter().map(|&c| clusters[c].n).sum();
    let mut alive: Vec<usize> = live.iter().copied().filter(|&c| root(parent, c as u32) as usize == c).collect();
    let mut small: Vec<usize> =
        alive.iter().copied().filter(|&c| (clusters[c].n as f64) < MIXTURE_MAX_SHARE * total as f64).collect();
    small.sort_by_key(|&c| (clusters[c].n, c));
    let limit = delta_e * delta_e;
    // Means and their LAB, updated as clusters grow.
    let mut mean: Vec<[f64; 3]> = clusters.iter().map(Cluster::mean).collect();
    let mut lab: Vec<[f32; 3]> = mean.iter().map(|&m| rgbf_to_lab(m)).collect();
    // One ΔE*ab spans at most about 4 sRGB units (steepest near black: 255 x 12.92 / 903.3 =
    // 3.6 units per L*), so a blend more than twice that times `delta_e` from the segment in
    // sRGB cannot be within `delta_e` of it in LAB: a cheap test before the exact one.
    let srgb_limit = (8.0 * delta_e as f64).powi(2);
    for m in small {
        let (pm, lm) = (mean[m], lab[m]);
        // The best (distance to the segment, nearer end) over pairs of larger clusters.
        let mut best: Option<(f32, usize)> = None;
        for (i, &a) in alive.iter().enumerate() {
            if a == m || clusters[a].n <= clusters[m].n {
                continue;
            }
            for &b in &alive[i + 1..] {
                if b == m || clusters[b].n <= clusters[m].n {
                    continue;
                }
                let (pa, pb) = (mean[a], mean[b]);
                let ab: [f64; 3] = std::array::from_fn(|k| pb[k] - pa[k]);
                let len2: f64 = ab.iter().map(|v| v * v).sum();
                if len2 == 0.0 {
                    continue;
                }
                let t = (0..3).map(|k| (pm[k] - pa[k]) * ab[k]).sum::<f64>() / len2;
                if !(0.0..=1.0).contains(&t) {
                    continue;
                }
                let on: [f64; 3] = std::array::from_fn(|k| pa[k] + t * ab[k]);
                if (0..3).map(|k| (on[k] - pm[k]).powi(2)).sum::<f64>() > srgb_limit {
                    continue;
                }
                let d = dist2(lm, rgbf_to_lab(on));
                let near = if dist2(lm, lab[a]) <= dist2(lm, lab[b]) { a } else { b };
                if d < limit && best.is_none_or(|(bd, _)| d < bd) {
                    best = Some((d, near));
                }
            }
        }
        if let Some((_, into)) = best {
            for ch in 0..3 {
                clusters[into].sum[ch] += clusters[m].sum[ch];
            }
            clusters[into].n += clusters[m].n;
            parent[m] = into as u32;
            alive.retain(|&x| x != m);
            mean[into] = clusters[into].mean();
            lab[into] = rgbf_to_lab(mean[into]);
        }
    }
}

/// The paper: the lightest merged cluster with at least `PAPER_MIN_SHARE` of the pixels
/// (ties: the smaller index). Returns its root.
fn find_paper(clusters: &[Cluster], parent: &mut [u32], live: &[usize]) -> Option<usize> {
    let total: u64 = live.iter().map(|&c| clusters[c].n).sum();
    let mut best: Option<(f32, usize)> = None;
    for &c in live {
        if root(parent, c as u32) as usize != c || (clusters[c].n as f64) < PAPER_MIN_SHARE * total as f64 {
            continue;
        }
        let lab = clusters[c].lab();
        let l = lab[0];
        if l >= PAPER_MIN_L && paper_coloured(lab) && best.is_none_or(|(bl, _)| l > bl) {
            best = Some((l, c));
        }
    }
    best.map(|b| b.1)
}

/// Merge into the paper every cluster that is the paper under another amount of light.
fn merge_shaded_paper(clusters: &mut [Cluster], parent: &mut [u32], live: &[usize], paper: usize, delta_e: f32) {
    let reference = clusters[paper].mean();
    let (y_paper, lab_paper) = (luminance(reference), rgbf_to_lab(reference));
    if y_paper <= 0.0 {
        return;
    }
    let mut shaded = Vec::new();
    for &c in live {
        if root(parent, c as u32) as usize != c || c == paper {
            continue;
        }
        let mean = clusters[c].mean();
        let ratio = luminance(mean) / y_paper;
        if !(1.0 - MAX_FALLOFF..=1.0 / (1.0 - MAX_FALLOFF)).contains(&ratio) {
            continue;
        }
        // The cluster's colour under the paper's light: linear RGB divided by the ratio.
        let relit = lab_of_linear(linear(mean).map(|v| v / ratio));
        if dist2(relit, lab_paper) < delta_e * delta_e {
            shaded.push(c);
        }
    }
    for c in shaded {
        for ch in 0..3 {
            clusters[paper].sum[ch] += clusters[c].sum[ch];
        }
        clusters[paper].n += clusters[c].n;
        parent[c] = paper as u32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(colors: &[[u8; 3]], counts: &[u64], scan: PaletteScan) -> Groups {
        let assign: Vec<u32> = (0..colors.len() as u32).collect();
        merge_clusters(colors, counts, &assign, colors.len(), scan)
    }

    #[test]
    fn off_changes_nothing() {
        let colors = [[200, 200, 200], [201, 200, 200], [0, 0, 0]];
        let g = groups(&colors, &[1, 1, 1], PaletteScan::default());
        assert_eq!(g, Groups { group: vec![0, 1, 2], count: 3, paper: None });
    }

    #[test]
    fn close_colours_merge_and_far_ones_stay() {
        // Four greys 1 ΔE apart chain into one only through the weighted means; red stays.
        let colors = [[120, 120, 120], [122, 122, 122], [124, 124, 124], [200, 0, 0], [126, 126, 126]];
        let g = groups(&colors, &[10, 10, 10, 10, 10], PaletteScan { delta_e: 3.0, paper: false });
        assert_eq!(g.count, 2, "{g:?}");
        assert_eq!(g.group, vec![0, 0, 0, 1, 0]);
        // Below the threshold nothing merges.
        let g = groups(&colors, &[10, 10, 10, 10, 10], PaletteScan { delta_e: 0.5, paper: false });
        assert_eq!(g.count, 5);
    }

    #[test]
    fn merge_order_is_by_distance_not_by_index() {
        // a-b 4 ΔE apart, b-c 1 ΔE: with threshold 4.5, b and c merge first, and their mean
        // (heavy c) is then too far from a.
        let a = [100u8, 100, 100];
        let b = [110u8, 110, 110];
        let c = [112u8, 112, 112];
        let la = rgbf_to_lab([100.0; 3]);
        let lb = rgbf_to_lab([110.0; 3]);
        let lc = rgbf_to_lab([112.0; 3]);
        let t = dist2(la, lb).sqrt() + 0.1;
        assert!(dist2(lb, lc).sqrt() < t && dist2(la, lc).sqrt() > t);
        let g = groups(&[a, b, c], &[1, 1, 100], PaletteScan { delta_e: t, paper: false });
        assert_eq!(g.group, vec![0, 1, 1]);
    }

    #[test]
    fn paper_is_the_lightest_colour_with_a_share() {
        // A light blue-grey ocean with more pixels than the paper; a white speck (0.4 %).
        let colors = [[20, 20, 20], [245, 235, 200], [255, 255, 255], [200, 205, 190]];
        let g = groups(&colors, &[900, 500, 10, 1100], PaletteScan { delta_e: 0.0, paper: true });
        assert_eq!(g.paper, Some(g.group[1]));
        // No light colour: no paper.
        let g = groups(&[[20, 20, 20], [30, 60, 200]], &[5, 5], PaletteScan { delta_e: 0.0, paper: true });
        assert_eq!(g.paper, None);
    }

    #[test]
    fn shaded_paper_bands_join_the_paper_and_ink_does_not() {
        // Yellowed paper under 0 %, 10 % and 20 % less light, a red and a black ink.
        let paper = [245.0, 232.0, 196.0];
        let encode = |c: f64| 255.0 * if c <= 0.003_130_8 { c * 12.92 } else { 1.055 * c.powf(1.0 / 2.4) - 0.055 };
        let shade = |s: f64| -> [u8; 3] { linear(paper).map(|v| encode(v * s).round() as u8) };
        let colors = [shade(1.0), shade(0.9), shade(0.8), [200, 30, 30], [15, 15, 15], shade(0.5)];
        let g = groups(&colors, &[500, 400, 300, 50, 50, 20], PaletteScan { delta_e: 3.0, paper: true });
        let p = g.paper.unwrap();
        assert_eq!(&g.group[..3], &[p, p, p], "{g:?}");
        // Ink and a half-lit mixture are not paper.
        assert!(g.group[3..].iter().all(|&x| x != p), "{g:?}");
        assert_eq!(g.count, 4);
    }

    #[test]
    fn small_blends_join_the_nearer_end_and_small_colours_stay() {
        // Red and white with two edge blends (0.5 % each), and a small green that is no blend.
        let colors = [[200, 20, 20], [255, 255, 255], [228, 138, 138], [210, 80, 80], [20, 160, 40]];
        let g = groups(&colors, &[4000, 6000, 50, 50, 50], PaletteScan { delta_e: 6.0, paper: false });
        assert_eq!(g.group[2], g.group[1], "{g:?}"); // nearer white
        assert_eq!(g.group[3], g.group[0], "{g:?}"); // nearer red
        assert_eq!(g.count, 3);
        // The same blend with 2 % of the pixels is a colour of its own.
        let g = groups(&colors, &[4000, 6000, 250, 50, 50], PaletteScan { delta_e: 6.0, paper: false });
        assert_eq!(g.count, 4, "{g:?}");
    }

    #[test]
    fn a_pale_blue_sea_is_not_paper() {
        assert!(paper_coloured(crate::color::rgb_to_lab([245, 232, 196])));
        assert!(paper_coloured(crate::color::rgb_to_lab([250, 250, 250])));
        assert!(!paper_coloured(crate::color::rgb_to_lab([190, 215, 240])));
        assert!(!paper_coloured(crate::color::rgb_to_lab([200, 235, 190])));
    }

    #[test]
    fn a_light_blue_is_not_shaded_white_paper() {
        // A pale blue sea (L* 90, b* -15) on white paper: as light as paper under a 24 % lamp
        // fall-off, but blue; relit to the paper's luminance it is still 15 ΔE from white.
        let colors = [[255, 255, 255], [211, 228, 255]];
        let g = groups(&colors, &[100, 120], PaletteScan { delta_e: 8.0, paper: true });
        assert_eq!(g.count, 2, "{g:?}");
        assert_eq!(g.paper, Some(g.group[0]));
    }
}
