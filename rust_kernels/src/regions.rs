//! Regions: 4-connected components of equal labels, with speckle merging.
//!
//! Region ids follow the raster order of each region's first pixel (top-to-bottom,
//! left-to-right), so they are deterministic. Transparent pixels (negative labels) belong to
//! no region and carry `NONE`.

use crate::color::{dist2, rgb_to_lab};
use crate::error::{KernelError, Result};
use crate::image::ImageView;
use crate::quantize::FxBuild;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

pub(crate) mod local;

/// Region id of a transparent pixel (and of everything outside the image).
pub const NONE: u32 = u32::MAX;

#[derive(Clone, Debug)]
pub struct Regions {
    pub width: usize,
    pub height: usize,
    /// Region id of every pixel (raster order), or NONE.
    pub map: Vec<u32>,
    /// Pixel count of each region.
    pub areas: Vec<u64>,
    /// Mean sRGB colour of each region's pixels (exact u64 sums, rounded).
    pub colors: Vec<[u8; 3]>,
    /// Palette label of each region (the label of the region that absorbed any speckles).
    pub labels: Vec<i32>,
}

#[inline]
pub(crate) fn find(parent: &mut [u32], mut i: u32) -> u32 {
    while parent[i as usize] != i {
        let p = parent[i as usize];
        parent[i as usize] = parent[p as usize];
        i = p;
    }
    i
}

/// A horizontal run of equal labels in one row: pixels `x0..x1` of row `y`.
#[derive(Clone, Copy)]
pub(crate) struct Run {
    pub y: u32,
    pub x0: u32,
    pub x1: u32,
    pub label: i32,
}

/// Runs of equal, non-negative labels in raster order, and the index of each row's first run.
pub(crate) fn runs(labels: &[i32], width: usize, height: usize) -> (Vec<Run>, Vec<usize>) {
    let mut out = Vec::new();
    let mut row_start = Vec::with_capacity(height + 1);
    for y in 0..height {
        row_start.push(out.len());
        let row = &labels[y * width..(y + 1) * width];
        let mut x = 0;
        while x < width {
            let l = row[x];
            let x0 = x;
            while x < width && row[x] == l {
                x += 1;
            }
            if l >= 0 {
                out.push(Run { y: y as u32, x0: x0 as u32, x1: x as u32, label: l });
            }
        }
    }
    row_start.push(out.len());
    (out, row_start)
}

/// Call `f(a, b)` for every pair of runs in consecutive rows that overlap horizontally.
pub(crate) fn for_each_vertical_contact(runs: &[Run], row_start: &[usize], mut f: impl FnMut(usize, usize)) {
    for y in 1..row_start.len() - 1 {
        let (mut i, ie) = (row_start[y - 1], row_start[y]);
        let (mut j, je) = (row_start[y], row_start[y + 1]);
        while i < ie && j < je {
            let (a, b) = (&runs[i], &runs[j]);
            if a.x0 < b.x1 && b.x0 < a.x1 {
                f(i, j);
            }
            if a.x1 <= b.x1 {
                i += 1;
            } else {
                j += 1;
            }
        }
    }
}

/// Connected components (4-connectivity) of runs; returns the component of every run,
/// numbered in raster order of each component's first pixel, and the component count.
pub(crate) fn components(runs: &[Run], row_start: &[usize]) -> (Vec<u32>, usize) {
    let mut parent: Vec<u32> = (0..runs.len() as u32).collect();
    for_each_vertical_contact(runs, row_start, |i, j| {
        if runs[i].label == runs[j].label {
            let a = find(&mut parent, i as u32);
            let b = find(&mut parent, j as u32);
            // The smaller run index (earlier in raster order) stays the root.
            if a < b {
                parent[b as usize] = a;
            } else if b < a {
                parent[a as usize] = b;
            }
        }
    });
    let mut comp = vec![NONE; runs.len()];
    let mut count = 0u32;
    for i in 0..runs.len() {
        let r = find(&mut parent, i as u32) as usize;
        if r == i {
            comp[i] = count;
            count += 1;
        } else {
            comp[i] = comp[r];
        }
    }
    (comp, count as usize)
}

/// Label image -> regions. Regions smaller than `min_area` pixels merge into their most
/// similar neighbour (LAB distance of mean colours; ties: larger area, then smaller id).
pub fn find_regions(img: &ImageView, labels: &[i32], min_area: u64) -> Result<Regions> {
    find_regions_guided(img, labels, min_area, None)
}

/// `find_regions`, with speckle merging guided by an edge strength map (`width * height`
/// values in [0, 1], e.g. Canny strength): a speckle prefers the neighbour it is least
/// separated from, `delta_E + EDGE_PENALTY * mean edge strength along their shared boundary`
/// (each crack between two pixels counts the larger strength of the two). `None` is
/// `find_regions`.
pub fn find_regions_guided(img: &ImageView, labels: &[i32], min_area: u64, edges: Option<&[f32]>) -> Result<Regions> {
    let (width, height) = (img.width, img.height);
    if labels.len() != width * height {
        return Err(KernelError::InvalidInput(format!(
            "labels have {} values, expected {width}x{height}",
            labels.len()
        )));
    }
    let (runs, row_start) = runs(labels, width, height);
    let (mut comp, count) = components(&runs, &row_start);
    let mut areas = vec![0u64; count];
    let mut sums = vec![[0u64; 3]; count];
    let mut region_label = vec![0i32; count];
    for (run, &c) in runs.iter().zip(&comp) {
        let c = c as usize;
        areas[c] += (run.x1 - run.x0) as u64;
        region_label[c] = run.label;
        // Pixels with a label are opaque: sum their colour channels directly.
        let ch = img.channels;
        let base = (run.y as usize * width + run.x0 as usize) * ch;
        let s = &mut sums[c];
        for px in img.data[base..base + (run.x1 - run.x0) as usize * ch].chunks_exact(ch) {
            s[0] += px[0] as u64;
            s[1] += px[1] as u64;
            s[2] += px[2] as u64;
        }
    }

    if min_area > 1 && count > 1 && areas.iter().any(|&a| a < min_area) {
        if let Some(e) = edges {
            if e.len() != width * height {
                return Err(KernelError::InvalidInput(format!(
                    "edge map has {} values, expected {width}x{height}",
                    e.len()
                )));
            }
        }
        let guide = edges.map(|e| boundary_strengths(&runs, &row_start, &comp, &areas, min_area, e, width));
        let relabel =
            merge_speckles(&runs, &row_start, &comp, &mut areas, &mut sums, &mut region_label, min_area, guide);
        for c in comp.iter_mut() {
            *c = relabel[*c as usize];
        }
    }
    let mut map = vec![NONE; width * height];
    for (run, &c) in runs.iter().zip(&comp) {
        let base = run.y as usize * width;
        map[base + run.x0 as usize..base + run.x1 as usize].fill(c);
    }
    let colors = mean_colours(&areas, &sums);
    Ok(Regions { width, height, map, areas, colors, labels: region_label })
}

/// `find_regions` with the local merge order of [`local`]: a region smaller than `min_area`
/// joins the neighbour across the crack whose colour (a small component's mean, a large
/// one's `palette[label]`) is closest to its mean, in rounds, so that tiles can settle their
/// speckles themselves.
pub fn find_regions_local(img: &ImageView, labels: &[i32], palette: &[[u8; 3]], min_area: u64) -> Result<Regions> {
    let (width, height) = (img.width, img.height);
    if labels.len() != width * height {
        return Err(KernelError::InvalidInput(format!(
            "labels have {} values, expected {width}x{height}",
            labels.len()
        )));
    }
    if let Some(&bad) = labels.iter().find(|&&l| l >= palette.len() as i32) {
        return Err(KernelError::InvalidInput(format!(
            "label {bad} has no palette entry (palette has {})",
            palette.len()
        )));
    }
    let (runs, row_start) = runs(labels, width, height);
    let (comp, count) = components(&runs, &row_start);
    let mut g = local::Graph {
        first: vec![u64::MAX; count],
        areas: vec![0; count],
        sums: vec![[0; 3]; count],
        labels: vec![0; count],
        start: vec![0; count],
        open: vec![false; count],
        late: Vec::new(),
        contacts: Vec::new(),
    };
    for (run, &c) in runs.iter().zip(&comp) {
        let c = c as usize;
        if g.first[c] == u64::MAX {
            g.first[c] = (run.y as usize * width + run.x0 as usize) as u64;
        }
        g.areas[c] += (run.x1 - run.x0) as u64;
        g.labels[c] = run.label;
        let ch = img.channels;
        let base = (run.y as usize * width + run.x0 as usize) * ch;
        let s = &mut g.sums[c];
        for px in img.data[base..base + (run.x1 - run.x0) as usize * ch].chunks_exact(ch) {
            s[0] += px[0] as u64;
            s[1] += px[1] as u64;
            s[2] += px[2] as u64;
        }
    }
    if min_area > 1 && count > 1 {
        g.contacts = local::component_contacts(&runs, &row_start, &comp, &g, palette, min_area, (0, 0, width));
    }
    let merged = local::merge_rounds(&mut g, palette, min_area, false);
    // Survivors numbered by first pixel: components are, so a root's smallest member id is its
    // order; roots are visited in component order and numbered on first sight.
    let mut id = vec![NONE; count];
    let (mut areas, mut sums, mut region_labels) = (Vec::new(), Vec::new(), Vec::new());
    for c in 0..count {
        let r = merged.root[c] as usize;
        if id[r] == NONE {
            id[r] = areas.len() as u32;
            areas.push(g.areas[r]);
            sums.push(g.sums[r]);
            region_labels.push(g.labels[r]);
        }
    }
    let mut map = vec![NONE; width * height];
    for (run, &c) in runs.iter().zip(&comp) {
        let base = run.y as usize * width;
        map[base + run.x0 as usize..base + run.x1 as usize].fill(id[merged.root[c as usize] as usize]);
    }
    let colors = mean_colours(&areas, &sums);
    Ok(Regions { width, height, map, areas, colors, labels: region_labels })
}

/// Mean sRGB colour of each region from exact channel sums.
pub(crate) fn mean_colours(areas: &[u64], sums: &[[u64; 3]]) -> Vec<[u8; 3]> {
    areas
        .iter()
        .zip(sums)
        .map(|(&a, s)| {
            let a = a.max(1);
            [((s[0] + a / 2) / a) as u8, ((s[1] + a / 2) / a) as u8, ((s[2] + a / 2) / a) as u8]
        })
        .collect()
}

/// LAB of a region's mean colour, rounded to 8 bits first (table lookup instead of powf;
/// the rounding is far below what changes a merge decision).
fn mean_lab(sum: &[u64; 3], area: u64) -> [f32; 3] {
    let a = area.max(1);
    let c = |s: u64| ((s + a / 2) / a).min(255) as u8;
    rgb_to_lab([c(sum[0]), c(sum[1]), c(sum[2])])
}

/// Weight of the mean edge strength (0..1) of a shared boundary against the LAB distance of
/// two regions when a speckle picks the neighbour to merge into: a boundary of strength 0.3
/// counts like 30 LAB units.
pub const EDGE_PENALTY: f32 = 100.0;

/// (sum of crack strengths, crack count) per pair of regions, key (smaller id, larger id).
pub(crate) type PairStrengths = HashMap<(u32, u32), (f32, u32), FxBuild>;

#[inline]
fn pair(a: u32, b: u32) -> (u32, u32) {
    (a.min(b), a.max(b))
}

/// Edge strength along the boundaries between regions, for every pair where one side is a
/// speckle (only those pairs can matter to merging).
fn boundary_strengths(
    runs: &[Run],
    row_start: &[usize],
    comp: &[u32],
    areas: &[u64],
    min_area: u64,
    edges: &[f32],
    width: usize,
) -> PairStrengths {
    let mut out = PairStrengths::default();
    let small = |c: u32| areas[c as usize] < min_area;
    let mut add = |a: u32, b: u32, s: f32| {
        if a != b && (small(a) || small(b)) {
            let e = out.entry(pair(a, b)).or_insert((0.0, 0));
            e.0 += s;
            e.1 += 1;
        }
    };
    for i in 1..runs.len() {
        let (a, b) = (&runs[i - 1], &runs[i]);
        if a.y == b.y && a.x1 == b.x0 {
            let base = a.y as usize * width;
            add(comp[i - 1], comp[i], edges[base + a.x1 as usize - 1].max(edges[base + b.x0 as usize]));
        }
    }
    for_each_vertical_contact(runs, row_start, |i, j| {
        let (a, b) = (&runs[i], &runs[j]);
        if comp[i] == comp[j] || !(small(comp[i]) || small(comp[j])) {
            return;
        }
        let (up, down) = (a.y as usize * width, b.y as usize * width);
        for x in a.x0.max(b.x0) as usize..a.x1.min(b.x1) as usize {
            add(comp[i], comp[j], edges[up + x].max(edges[down + x]));
        }
    });
    out
}

/// Merge small regions into neighbours. Survivors are renumbered in first-pixel order; the
/// statistics vectors are replaced by the survivors' and the old-to-new id map is returned.
// The run table and the per-region statistics are separate slices that the single-image and
// tiled paths build differently; bundling them would only move the list into a struct.
#[allow(clippy::too_many_arguments)]
fn merge_speckles(
    runs: &[Run],
    row_start: &[usize],
    comp: &[u32],
    areas: &mut Vec<u64>,
    sums: &mut Vec<[u64; 3]>,
    labels: &mut Vec<i32>,
    min_area: u64,
    guide: Option<PairStrengths>,
) -> Vec<u32> {
    let pairs = region_pairs(runs, row_start, comp);
    merge_graph(&pairs, areas, sums, labels, min_area, guide)
}

/// Adjacent pairs of different components (smaller id first), sorted and distinct: neighbouring
/// runs in a row, overlapping runs in consecutive rows.
pub(crate) fn region_pairs(runs: &[Run], row_start: &[usize], comp: &[u32]) -> Vec<(u32, u32)> {
    let mut pairs: Vec<(u32, u32)> = Vec::new();
    let mut push = |a: u32, b: u32| {
        if a != b {
            let p = (a.min(b), a.max(b));
            if pairs.last() != Some(&p) {
                pairs.push(p);
            }
        }
    };
    for i in 1..runs.len() {
        let (a, b) = (&runs[i - 1], &runs[i]);
        if a.y == b.y && a.x1 == b.x0 {
            push(comp[i - 1], comp[i]);
        }
    }
    for_each_vertical_contact(runs, row_start, |i, j| push(comp[i], comp[j]));
    pairs.sort_unstable();
    pairs.dedup();
    pairs
}

/// Speckle merging on the region graph: `pairs` (sorted, distinct, smaller id first) are the
/// adjacencies of regions numbered in first-pixel order. The statistics vectors are replaced
/// by the survivors' (renumbered in first-pixel order) and the old-to-new id map is returned.
/// Also used by the tiled tracer on the graph stitched from all tiles.
pub(crate) fn merge_graph(
    pairs: &[(u32, u32)],
    areas: &mut Vec<u64>,
    sums: &mut Vec<[u64; 3]>,
    labels: &mut Vec<i32>,
    min_area: u64,
    mut guide: Option<PairStrengths>,
) -> Vec<u32> {
    let count = areas.len();
    let mut adj: Vec<Vec<u32>> = vec![Vec::new(); count];
    for &(a, b) in pairs {
        adj[a as usize].push(b);
        adj[b as usize].push(a);
    }

    let mut parent: Vec<u32> = (0..count as u32).collect();
    let mut lab: Vec<[f32; 3]> = (0..count).map(|r| mean_lab(&sums[r], areas[r])).collect();
    let mut heap: BinaryHeap<Reverse<(u64, u32)>> =
        (0..count).filter(|&r| areas[r] < min_area).map(|r| Reverse((areas[r], r as u32))).collect();
    while let Some(Reverse((area, r))) = heap.pop() {
        let ru = r as usize;
        if parent[ru] != r || areas[ru] != area || area >= min_area {
            continue; // stale entry
        }
        // Most similar live neighbour.
        let neighbours = std::mem::take(&mut adj[ru]);
        let mut best: Option<(f32, Reverse<u64>, u32)> = None;
        let mut live = Vec::with_capacity(neighbours.len());
        for &nb in &neighbours {
            let nr = find(&mut parent, nb);
            if nr == r {
                continue;
            }
            live.push(nr);
            let mut d = dist2(lab[ru], lab[nr as usize]);
            if let Some(g) = &guide {
                let (sum, n) = g.get(&pair(r, nr)).copied().unwrap_or((0.0, 0));
                let e = if n > 0 { sum / n as f32 } else { 0.0 };
                d = d.sqrt() + EDGE_PENALTY * e;
            }
            let key = (d, Reverse(areas[nr as usize]), nr);
            if best.is_none_or(|b| key < b) {
                best = Some(key);
            }
        }
        let Some((_, _, t)) = best else {
            adj[ru] = live;
            continue; // isolated (e.g. surrounded by transparency): keep it
        };
        let tu = t as usize;
        if let Some(g) = &mut guide {
            // The merged region's boundary with each of r's neighbours adds r's.
            for &x in &live {
                if x != t {
                    if let Some(v) = g.remove(&pair(r, x)) {
                        let e = g.entry(pair(t, x)).or_insert((0.0, 0));
                        e.0 += v.0;
                        e.1 += v.1;
                    }
                }
            }
        }
        parent[ru] = t;
        areas[tu] += area;
        let merged = sums[ru];
        for (acc, v) in sums[tu].iter_mut().zip(merged) {
            *acc += v;
        }
        lab[tu] = mean_lab(&sums[tu], areas[tu]);
        adj[tu].extend(live.into_iter().filter(|&x| x != t));
        if areas[tu] < min_area {
            heap.push(Reverse((areas[tu], t)));
        }
    }

    // Survivors, numbered by their smallest member id (= first pixel order).
    let mut new_id = vec![NONE; count];
    let mut root_of = vec![0u32; count];
    let mut next = 0u32;
    for (r, slot) in root_of.iter_mut().enumerate() {
        let root = find(&mut parent, r as u32);
        *slot = root;
        if new_id[root as usize] == NONE {
            new_id[root as usize] = next;
            next += 1;
        }
    }
    let n = next as usize;
    let mut new_areas = vec![0u64; n];
    let mut new_sums = vec![[0u64; 3]; n];
    let mut new_labels = vec![0i32; n];
    for r in 0..count {
        if root_of[r] as usize == r {
            let id = new_id[r] as usize;
            new_areas[id] = areas[r];
            new_sums[id] = sums[r];
            new_labels[id] = labels[r];
        }
    }
    *areas = new_areas;
    *sums = new_sums;
    *labels = new_labels;
    (0..count).map(|r| new_id[root_of[r] as usize]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rgb_from_labels(labels: &[i32], colours: &[[u8; 3]]) -> Vec<u8> {
        labels.iter().flat_map(|&l| if l < 0 { [0, 0, 0] } else { colours[l as usize] }).collect()
    }

    #[test]
    fn four_connectivity_and_raster_ids() {
        // Diagonal 1s are separate regions under 4-connectivity.
        #[rustfmt::skip]
        let labels = [
            1, 0, 0,
            0, 1, 0,
            0, 0, 1,
        ];
        let colours = [[0, 0, 0], [255, 255, 255]];
        let px = rgb_from_labels(&labels, &colours);
        let img = ImageView::new(&px, 3, 3, 3).unwrap();
        let r = find_regions(&img, &labels, 1).unwrap();
        // The zeros form two components (they touch only diagonally at the centre's corners).
        assert_eq!(r.map, vec![0, 1, 1, 2, 3, 1, 2, 2, 4]);
        assert_eq!(r.areas, vec![1, 3, 3, 1, 1]);
        assert_eq!(r.colors[1], [0, 0, 0]);
        assert_eq!(r.labels, vec![1, 0, 0, 1, 1]);
    }

    #[test]
    fn transparent_pixels_are_none() {
        let labels = [0, -1, 0, 0];
        let px = vec![9u8; 12];
        let img = ImageView::new(&px, 2, 2, 3).unwrap();
        let r = find_regions(&img, &labels, 1).unwrap();
        assert_eq!(r.map, vec![0, NONE, 0, 0]);
    }

    #[test]
    fn speckles_merge_into_most_similar_neighbour() {
        // Left half dark red, right half blue, one orange-ish pixel inside the red half,
        // touching only red: it must merge into red even though blue is bigger overall.
        let (w, h) = (8, 4);
        let mut labels = vec![0i32; w * h];
        for y in 0..h {
            for x in 4..w {
                labels[y * w + x] = 1;
            }
        }
        labels[w + 3] = 2; // touches red (left/up/down) and blue (right)
        let colours = [[150, 0, 0], [0, 0, 255], [200, 30, 0]];
        let px = rgb_from_labels(&labels, &colours);
        let img = ImageView::new(&px, w, h, 3).unwrap();
        let r = find_regions(&img, &labels, 2).unwrap();
        assert_eq!(r.areas.len(), 2);
        assert_eq!(r.map[w + 3], r.map[0]);
        assert_eq!(r.areas[r.map[0] as usize], 16);
        assert_eq!(r.labels[r.map[0] as usize], 0);
        // The merged region's colour is the mean of all its pixels.
        let c = r.colors[r.map[0] as usize];
        assert_eq!(c, [((150 * 15 + 200) as f64 / 16.0).round() as u8, 2, 0]);
    }

    #[test]
    fn edge_guided_speckle_avoids_strong_boundaries() {
        // A one-pixel speckle between a left and a right region, slightly closer in colour to
        // the left one; a strong edge along its left side sends it right instead.
        let (w, h) = (6, 3);
        let mut labels = vec![0i32; w * h];
        for y in 0..h {
            for x in 3..w {
                labels[y * w + x] = 1;
            }
        }
        labels[w + 3] = 2; // (3, 1): touches left (x = 2) on one side, right on three sides
        let colours = [[100, 100, 100], [120, 120, 120], [105, 105, 105]];
        let px = rgb_from_labels(&labels, &colours);
        let img = ImageView::new(&px, w, h, 3).unwrap();
        let plain = find_regions(&img, &labels, 2).unwrap();
        assert_eq!(plain.map[w + 3], plain.map[0], "unguided: the most similar colour wins");
        assert_eq!(find_regions_guided(&img, &labels, 2, None).unwrap().map, plain.map);
        let mut edges = vec![0f32; w * h];
        edges[w + 2] = 0.8; // strong edge on the crack between (2, 1) and (3, 1)
        let guided = find_regions_guided(&img, &labels, 2, Some(&edges)).unwrap();
        assert_eq!(guided.map[w + 3], guided.map[w + 4]);
        assert!(find_regions_guided(&img, &labels, 2, Some(&edges[1..])).is_err());
    }

    #[test]
    fn isolated_speckle_inside_transparency_is_kept() {
        let labels = [-1, -1, -1, -1, 0, -1, -1, -1, -1];
        let px = vec![50u8; 27];
        let img = ImageView::new(&px, 3, 3, 3).unwrap();
        let r = find_regions(&img, &labels, 10).unwrap();
        assert_eq!(r.areas, vec![1]);
    }

    #[test]
    fn cascading_merges_reach_min_area() {
        // A checkerboard of 2 labels: every region is one pixel; with min_area 4 all merge
        // until every region has >= 4 pixels (or one region remains).
        let (w, h) = (6, 6);
        let labels: Vec<i32> = (0..w * h).map(|i| ((i % w + i / w) % 2) as i32).collect();
        let colours = [[0, 0, 0], [255, 255, 255]];
        let px = rgb_from_labels(&labels, &colours);
        let img = ImageView::new(&px, w, h, 3).unwrap();
        let r = find_regions(&img, &labels, 4).unwrap();
        assert!(r.areas.iter().all(|&a| a >= 4), "{:?}", r.areas);
        assert_eq!(r.areas.iter().sum::<u64>(), 36);
        // Every region is connected: recompute components on the merged map.
        let merged: Vec<i32> = r.map.iter().map(|&v| v as i32).collect();
        let (runs, row_start) = runs(&merged, w, h);
        let (_, n) = components(&runs, &row_start);
        assert_eq!(n, r.areas.len());
    }
}
