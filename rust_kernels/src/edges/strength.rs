//! Canny strength maps: for every edge pixel, the largest `high` at which it stays an edge
//! when `low = ratio * high` (see `canny.rs`).

use super::canny::{neighbour_offsets, EDGE, WEAK};
use super::simd::multiversion;
use super::sobel::SOBEL_UNIT;
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// States of EDGE pixels while the strength map is built: swept (or being collected), on a
/// band's first or last row with an EDGE neighbour in the next band, and in a component left
/// for the sweep over the whole map.
const SEEN: u8 = 8;
const SEAM: u8 = 16;
const DEFERRED: u8 = 32;

/// Strength of every EDGE pixel of a padded state map (rows of `width + 2`, one padding row
/// above and below, padding NONE), normalised (`/ SOBEL_UNIT`, clipped to 1); 0 elsewhere.
/// Returns the edge map (255 on EDGE pixels, else 0) and the strength map, both `width *
/// height` in raster order. `m`: the suppressed magnitudes, `width * height` in raster order,
/// 0 wherever the state is NONE (so only WEAK pixels left out by hysteresis and the EDGE
/// pixels need writing: the strength map is built in place, with no dense pass over it).
/// EDGE pixels end up SEEN in `states`.
///
/// `s(p)` is the largest `T` at which `p` is a Canny edge for thresholds `(ratio T, T)`: as
/// `T` falls, pixel `q` *appears* (becomes a candidate) at `T = m(q) / ratio` and turns
/// *strong* at `T = m(q)`; a connected set of appeared pixels is kept from the moment it holds
/// a strong pixel. Only EDGE pixels can reach `s >= high` (every path pixel needs `m >= ratio
/// * high = low`), so the computation stays inside the EDGE set. It propagates levels between
/// neighbours until nothing changes (`Sweep::run`: a few passes over a component); components
/// that need more passes are swept once in decreasing order of magnitude (both event streams
/// follow that order), appeared pixels joined with a union-find, and when a set becomes kept,
/// at level `T`, each of its members that has no strength yet gets `T` (`Sweep::events`).
///
/// Sets never join across different 8-connected components of the EDGE set, so each
/// component is swept on its own (its pixels are close together, which keeps the union-find
/// and neighbour look-ups in cache). One band of rows per thread (`band_cuts`) sweeps its
/// components in parallel; a component that reaches into another band is swept afterwards, on
/// the whole map. (Few bands: every component across a seam waits for the sequential sweep.)
///
/// Returns the 0/255 edge map (empty unless `want_edges`) and the strength map (in `m`).
pub(super) fn strength_map(
    m: Vec<f32>,
    states: &mut [u8],
    width: usize,
    height: usize,
    ratio: f32,
    want_edges: bool,
) -> (Vec<u8>, Vec<f32>) {
    strength_map_in(m, states, width, height, ratio, want_edges, MAX_WORK)
}

/// `strength_map`, with components whose propagation needs more than `max_work` steps per
/// pixel after its two passes (see `Sweep::run`) left to the event sweep.
pub(super) fn strength_map_in(
    mut m: Vec<f32>,
    states: &mut [u8],
    width: usize,
    height: usize,
    ratio: f32,
    want_edges: bool,
    max_work: usize,
) -> (Vec<u8>, Vec<f32>) {
    let pw = width + 2;
    let cuts = band_cuts(states, width, height, rayon::current_num_threads().max(1));
    // Mark the EDGE pixels on both sides of each seam between bands that touch across it.
    let offsets = Offsets { padded: neighbour_offsets(pw), raster: neighbour_offsets(width), pw, width };
    for &y in &cuts[1..cuts.len() - 1] {
        // Image rows y - 1 (last of a band) and y (first of the next): padded rows y and y + 1.
        let (above, below) = ((y * pw + 1)..(y * pw + 1 + width), ((y + 1) * pw + 1)..((y + 1) * pw + 1 + width));
        for (p, q0) in above.zip(below) {
            if states[p] & (EDGE | SEAM) == 0 {
                continue;
            }
            for q in q0 - 1..=q0 + 1 {
                if states[q] & (EDGE | SEAM) != 0 {
                    states[p] = SEAM;
                    states[q] = SEAM;
                }
            }
        }
    }
    let interior = pw..pw * (height + 1);
    // The edge map is written band by band, each row once the band's sweep has passed it
    // (empty slices when it is not wanted).
    let mut edges: Vec<u8> = Vec::with_capacity(if want_edges { width * height } else { 0 });
    let mut bands = Vec::with_capacity(cuts.len() - 1);
    let (mut states_left, mut m_left) = (&mut states[interior.clone()], &mut m[..]);
    let mut edges_left = &mut edges.spare_capacity_mut()[..];
    for pair in cuts.windows(2) {
        let n = pair[1] - pair[0];
        let (s, s_rest) = std::mem::take(&mut states_left).split_at_mut(n * pw);
        let (mb, m_rest) = std::mem::take(&mut m_left).split_at_mut(n * width);
        let (e, e_rest) = std::mem::take(&mut edges_left).split_at_mut(if want_edges { n * width } else { 0 });
        bands.push((pair[0], s, mb, e));
        (states_left, m_left, edges_left) = (s_rest, m_rest, e_rest);
    }
    let deferred: Vec<usize> = bands
        .into_par_iter()
        .flat_map_iter(|(y0, states, m, edges)| {
            let mut region = Region::new(states.len(), pw);
            let seams = region.sweep_bands(states, m, edges, &offsets, ratio, max_work);
            seams.into_iter().map(move |p| p + y0 * pw)
        })
        .collect();
    // Components across seams, on the whole interior (its neighbours above and below are the
    // NONE padding rows). Their pixels are 255 in the edge map already (DEFERRED).
    if !deferred.is_empty() {
        let states = &mut states[interior];
        let mut region = Region::new(states.len(), pw);
        for p in deferred {
            if states[p] == DEFERRED {
                region.component(states, &mut m, p, &offsets, DEFERRED);
                region.sweep.run(&region.pixels, &region.links, &mut m, &offsets, ratio, max_work);
            }
        }
    }
    if want_edges {
        // SAFETY: the bands cover all `width * height` values and each wrote every one of its
        // own (`Region::sweep_bands`).
        unsafe { edges.set_len(width * height) };
    }
    (edges, m)
}

/// Rows sampled to share the sweep's work between bands.
const SAMPLE_STEP: usize = 4;
/// How far (rows) a cut may move from the balanced row to a row pair with fewer EDGE pixels.
const CUT_SLACK: usize = 8;

/// First rows of `bands` bands of rows, then `height`: about as many EDGE pixels (the sweep's
/// work) in each band, counted on every `SAMPLE_STEP`-th row, each cut then moved by up to
/// `CUT_SLACK` rows to where the fewest EDGE pixels lie on its two rows (fewer components
/// cross it, and those wait for the sequential sweep). Every band has at least one row.
fn band_cuts(states: &[u8], width: usize, height: usize, bands: usize) -> Vec<usize> {
    let pw = width + 2;
    let count = |y: usize| -> u32 {
        let row = &states[(y + 1) * pw + 1..(y + 1) * pw + 1 + width];
        // Byte counters over runs of 255 (they cannot overflow): vectorises.
        row.chunks(255).map(|run| run.iter().fold(0u8, |a, &s| a + (s == EDGE) as u8) as u32).sum()
    };
    let sampled: Vec<u32> =
        (0..height).step_by(SAMPLE_STEP).collect::<Vec<_>>().par_iter().map(|&y| count(y)).collect();
    let total: u64 = sampled.iter().map(|&c| c as u64).sum();
    let mut cuts = vec![0];
    let mut acc = 0u64;
    for (i, &c) in sampled.iter().enumerate() {
        let next = cuts.len() as u64;
        if next < bands as u64 && acc * bands as u64 >= next * total {
            let y = i * SAMPLE_STEP;
            let prev = cuts[cuts.len() - 1];
            let lo = y.saturating_sub(CUT_SLACK).max(prev + 1);
            let hi = (y + CUT_SLACK).min(height - 1);
            if let Some(best) = (lo..=hi).min_by_key(|&y| count(y - 1) + count(y)) {
                cuts.push(best);
            }
        }
        acc += c as u64;
    }
    cuts.push(height);
    cuts
}

/// Normalised strength (`m / SOBEL_UNIT`, clipped to 1) of a pixel's level `t` (Sobel units).
#[inline(always)]
fn normalised(t: f32) -> f32 {
    (t / SOBEL_UNIT).min(1.0)
}

multiversion! {
    /// One row of the edge map (255 where SEEN or DEFERRED, else 0; branch-free: vectorises;
    /// nothing where `edges` is empty: not wanted), and 0 in `m` for its WEAK pixels.
    fn finish_row(states: &[u8], edges: &mut [MaybeUninit<u8>], m: &mut [f32]) {
        for (e, &s) in edges.iter_mut().zip(states) {
            *e = MaybeUninit::new(if s & (SEEN | DEFERRED) != 0 { 255 } else { 0 });
        }
        // 8 states at a time: after the sweep they are 0, 1 (WEAK), 8 (SEEN) or 32 (DEFERRED),
        // so bit 0 of
        // each byte says WEAK; most words have none.
        let words = states[..m.len()].chunks_exact(8);
        let tail = words.remainder().len();
        for (c, word) in words.enumerate() {
            let bits = u64::from_le_bytes(word.try_into().unwrap()) & 0x0101_0101_0101_0101;
            if bits != 0 {
                // One bit per byte, gathered into the top byte (bit k: byte k).
                let mut mask = bits.wrapping_mul(0x0102_0408_1020_4080) >> 56;
                while mask != 0 {
                    m[c * 8 + mask.trailing_zeros() as usize] = 0.0;
                    mask &= mask - 1;
                }
            }
        }
        for x in m.len() - tail..m.len() {
            if states[x] == WEAK {
                m[x] = 0.0;
            }
        }
    }
}

/// Rows ahead of a pixel that `Region::component` prefetches.
const AHEAD: usize = 3;

/// Hint the CPU to bring the cache line at `p` into cache (no effect on the program's values;
/// `p` may lie outside any allocation: a prefetch never faults).
#[inline(always)]
fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching reads nothing the program sees and never faults.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p as *const i8)
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Neighbour offsets in the padded state map and in the raster magnitude map.
struct Offsets {
    padded: [isize; 8],
    raster: [isize; 8],
    pw: usize,
    width: usize,
}

impl Offsets {
    /// Index in the raster map (rows of `width`) of padded index `p` (rows of `width + 2`,
    /// starting with a row's left padding), for interior pixels.
    #[inline]
    fn raster(&self, p: usize) -> usize {
        (p / self.pw) * self.width + p % self.pw - 1
    }
}

/// A pixel of a component: (magnitude bits, index in the padded state map, index in the
/// raster magnitude map).
type Pixel = (u32, u32, u32);

/// The neighbours of a pixel in its component: how many, and their indices in the component.
type Links = (u8, [u32; 8]);

/// Components of one band of the padded state map (or of the whole interior): pixel indices
/// are relative to the band's first row, in both maps.
struct Region {
    sweep: Sweep,
    /// The current component, in the order its pixels were reached (each pixel after the one
    /// it was reached from), and the neighbours of each.
    pixels: Vec<Pixel>,
    links: Vec<Links>,
    /// Pixels (indices in the component) whose neighbours are still to be visited.
    stack: Vec<u32>,
}

impl Region {
    fn new(len: usize, pw: usize) -> Region {
        let shift = pw + 1;
        Region {
            // Bit `p + shift` for pixel `p`: the neighbours of the first and last rows have
            // bits too (never set), and a 3-bit window never reads past the end.
            sweep: Sweep { appeared: vec![0; (len + 2 * shift).div_ceil(64) + 1], shift, ..Default::default() },
            pixels: Vec::new(),
            links: Vec::new(),
            stack: Vec::new(),
        }
    }

    /// The component of pixel `seed` into `self.pixels` and `self.links`: its 8-connected
    /// pixels whose state is in `mask`, marked SEEN, with their magnitudes (read here, once:
    /// the reads miss the cache; each pixel's magnitude in `m` is replaced by its index in the
    /// component, which is how its neighbours find it); whether it holds a SEAM pixel.
    /// Neighbours outside `states` are not followed.
    ///
    /// A SEEN neighbour is in the component: components are maximal, so no pixel of another
    /// (SEEN since its sweep) touches this one.
    fn component(&mut self, states: &mut [u8], m: &mut [f32], seed: usize, offsets: &Offsets, mask: u8) -> bool {
        self.pixels.clear();
        self.links.clear();
        let mut seam = states[seed] == SEAM;
        states[seed] = SEEN;
        let sm = offsets.raster(seed);
        self.pixels.push((m[sm].to_bits(), seed as u32, sm as u32));
        self.links.push((0, [0; 8]));
        m[sm] = f32::from_bits(0);
        self.stack.push(0);
        while let Some(i) = self.stack.pop() {
            let (_, p, pm) = self.pixels[i as usize];
            let (p, pm, i) = (p as usize, pm as usize, i as usize);
            // The search mostly runs down the rows (the seed is the component's first pixel):
            // fetch the magnitudes and states a few rows ahead, which otherwise miss the cache.
            prefetch(m.as_ptr().wrapping_add(pm + AHEAD * offsets.width));
            prefetch(states.as_ptr().wrapping_add(p + AHEAD * offsets.pw));
            let mut d = 0;
            for (&o, &om) in offsets.padded.iter().zip(&offsets.raster) {
                let q = p.wrapping_add_signed(o);
                if q >= states.len() {
                    continue;
                }
                let (v, qm) = (states[q], pm.wrapping_add_signed(om));
                if v & mask != 0 {
                    seam |= v == SEAM;
                    states[q] = SEEN;
                    let j = self.pixels.len() as u32;
                    self.pixels.push((m[qm].to_bits(), q as u32, qm as u32));
                    self.links.push((0, [0; 8]));
                    m[qm] = f32::from_bits(j);
                    self.stack.push(j);
                    self.links[i].1[d] = j;
                    d += 1;
                } else if v == SEEN {
                    self.links[i].1[d] = m[qm].to_bits();
                    d += 1;
                }
            }
            self.links[i].0 = d as u8;
        }
        seam
    }

    /// Sweep every component of EDGE pixels in a band but those holding a SEAM pixel: those
    /// are marked DEFERRED (their magnitudes back in `m`), and one pixel of each is returned.
    /// Writes the band's edge map (unless `edges` is empty: not wanted) and clears the
    /// magnitudes of its WEAK pixels (`finish_row`), each row as soon as the sweep has passed
    /// it, while its states are still in cache: a component's first pixel in raster order is
    /// its seed, so no later component touches the rows above the seed's.
    fn sweep_bands(
        &mut self,
        states: &mut [u8],
        m: &mut [f32],
        edges: &mut [MaybeUninit<u8>],
        offsets: &Offsets,
        ratio: f32,
        max_work: usize,
    ) -> Vec<usize> {
        let (pw, width) = (offsets.pw, offsets.width);
        let finish = |states: &[u8], m: &mut [f32], edges: &mut [MaybeUninit<u8>], rows: std::ops::Range<usize>| {
            for y in rows {
                // An empty `edges` (not wanted) stays empty.
                let e = if edges.is_empty() { &mut [][..] } else { &mut edges[y * width..(y + 1) * width] };
                let r = y * width..(y + 1) * width;
                finish_row(&states[y * pw + 1..y * pw + 1 + width], e, &mut m[r]);
            }
        };
        let mut deferred = Vec::new();
        let (mut start, mut done) = (0, 0);
        while let Some(i) = next_edge(states, start) {
            start = i + 1;
            finish(states, m, edges, done..i / pw);
            done = done.max(i / pw);
            if self.component(states, m, i, offsets, EDGE | SEAM) {
                // Swept later, on the whole map, from `i`.
                for &(v, p, pm) in &self.pixels {
                    states[p as usize] = DEFERRED;
                    m[pm as usize] = f32::from_bits(v);
                }
                deferred.push(i);
                continue;
            }
            self.sweep.run(&self.pixels, &self.links, m, offsets, ratio, max_work);
        }
        finish(states, m, edges, done..states.len() / pw);
        deferred
    }
}

/// Index of the first EDGE or SEAM state in `states[start..]` (scans 32 states at a time).
#[inline]
fn next_edge(states: &[u8], start: usize) -> Option<usize> {
    let hit = |v: u8| v & (EDGE | SEAM) != 0;
    let mut i = start;
    while i < states.len() && i % 32 != 0 {
        if hit(states[i]) {
            return Some(i);
        }
        i += 1;
    }
    for chunk in states[i..].chunks(32) {
        if chunk.iter().fold(0, |a, &v| a | v) & (EDGE | SEAM) != 0 {
            return chunk.iter().position(|&v| hit(v)).map(|k| i + k);
        }
        i += chunk.len();
    }
    None
}

/// Steps per pixel of a component that its propagation may take after its two passes (thin
/// edges need none) before the event sweep takes over (see `Sweep::run`).
const MAX_WORK: usize = 4;

const NIL: u32 = u32::MAX;

/// Scratch of the strength sweep over one component (see `strength_map`).
#[derive(Default)]
struct Sweep {
    /// One bit per pixel of the region, at `p + shift`: appeared (a small map that stays in
    /// cache; the rank, kept in `m` meanwhile, is looked up only for appeared neighbours).
    appeared: Vec<u64>,
    shift: usize,
    /// The component's pixels by decreasing magnitude.
    order: Vec<Pixel>,
    /// Union-find parent, whether the set is kept, and the linked list of members still
    /// waiting for a strength (head and tail per root), all by rank.
    parent: Vec<u32>,
    kept: Vec<bool>,
    head: Vec<u32>,
    tail: Vec<u32>,
    next: Vec<u32>,
    /// The strength of each pixel, by rank.
    level: Vec<f32>,
    /// The strength found so far and the level at which it appears (bits), by index in the
    /// component (see `run`).
    found: Vec<u32>,
    appears: Vec<u32>,
    /// Pixels (indices in the component) whose level has risen since they last spread it.
    stack: Vec<u32>,
}

impl Sweep {
    /// Bits `bit..bit + 3` of `appeared`.
    #[inline(always)]
    fn window(&self, bit: usize) -> u32 {
        let (w, s) = (bit / 64, bit % 64);
        let pair = (self.appeared[w + 1] as u128) << 64 | self.appeared[w] as u128;
        (pair >> s) as u32 & 0b111
    }

    fn find(&mut self, mut i: u32) -> u32 {
        while self.parent[i as usize] != i {
            let p = self.parent[i as usize];
            self.parent[i as usize] = self.parent[p as usize];
            i = p;
        }
        i
    }

    /// Give every waiting member of set `r` the strength `t`.
    fn settle(&mut self, r: usize, t: f32) {
        let mut k = self.head[r];
        while k != NIL {
            self.level[k as usize] = t;
            k = self.next[k as usize];
        }
        self.head[r] = NIL;
    }

    /// Normalised strengths of one component (`pixels`, each with its neighbours in `links`),
    /// written over `m` (which holds each pixel's index in the component).
    ///
    /// With `a(x) = m(x) / ratio` (the level at which `x` appears), `s(p) = max over q of
    /// min(m(q), B(p, q))` where `B` is the largest, over 8-connected paths from `p` to `q`,
    /// of the smallest `a` on the path (ends included). Splitting a path after its first step
    /// gives `s(p) = max(m(p), min(a(p), max over neighbours n of s(n)))` (`a(p) >= m(p)`
    /// as `ratio <= 1`), whose least solution above `m` is `s`. So starting from `s = m`,
    /// raising pixels to the right-hand side reaches `s` and then nothing rises any more. In
    /// the order pixels were reached (each after the one it was reached from), a backward pass
    /// carries the levels up the search tree and a forward pass down it: on a thin edge (a
    /// tree) that is all. Where edges close loops, a pixel that rises in the forward pass
    /// also raises its earlier neighbours, which spread their new levels from a stack. A
    /// component that needs more than `max_work` such steps per pixel goes to the event sweep
    /// (`events`), which finds the same values in `O(n log n)`. Every value is some `m(x)` or
    /// `a(x)`, computed as in the event sweep, and max / min are exact, so both give the same
    /// bits.
    fn run(
        &mut self,
        pixels: &[Pixel],
        links: &[Links],
        m: &mut [f32],
        offsets: &Offsets,
        ratio: f32,
        max_work: usize,
    ) {
        // When every pixel appears before the strongest turns strong (all magnitudes within a
        // factor 1 / ratio of the largest), the whole component is kept at the largest
        // magnitude: every pixel gets that level.
        // Bit patterns of non-negative floats order like the values.
        let (lo, hi) = pixels.iter().fold((u32::MAX, 0), |(lo, hi), &(v, _, _)| (lo.min(v), hi.max(v)));
        let (lo, hi) = (f32::from_bits(lo), f32::from_bits(hi));
        if ratio <= 0.0 || lo / ratio >= hi {
            let s = normalised(hi);
            for &(_, _, pm) in pixels {
                m[pm as usize] = s;
            }
            return;
        }
        // Levels as bit patterns (integer max / min order them like the values).
        self.found.clear();
        self.found.extend(pixels.iter().map(|&(v, _, _)| v));
        self.appears.clear();
        self.appears.extend(pixels.iter().map(|&(v, _, _)| (f32::from_bits(v) / ratio).to_bits()));
        let (found, appears) = (&mut self.found[..], &self.appears[..]);
        // Raise pixel `i`; whether it rose.
        let raise = |found: &mut [u32], i: usize| -> bool {
            let (d, link) = &links[i];
            let best = link[..*d as usize].iter().fold(0, |b, &j| b.max(found[j as usize]));
            let level = best.min(appears[i]);
            let rose = level > found[i];
            if rose {
                found[i] = level;
            }
            rose
        };
        let n = pixels.len();
        for i in (0..n).rev() {
            raise(found, i);
        }
        // Forward: a pixel that rises is pulled from by its later neighbours in this pass and
        // pushes its level to the earlier ones (rarely: never on a tree), which then go on
        // the stack; from there, levels spread until nothing rises.
        self.stack.clear();
        for i in 0..n {
            if raise(found, i) {
                let (d, link) = &links[i];
                for &j in link[..*d as usize].iter().filter(|&&j| (j as usize) < i) {
                    let level = found[i].min(appears[j as usize]);
                    if level > found[j as usize] {
                        found[j as usize] = level;
                        self.stack.push(j);
                    }
                }
            }
        }
        let mut budget = max_work * n;
        while let Some(i) = self.stack.pop() {
            if budget == 0 {
                self.stack.clear();
                return self.events(pixels, m, offsets, ratio);
            }
            budget -= 1;
            let (d, link) = &links[i as usize];
            for &j in &link[..*d as usize] {
                let level = found[i as usize].min(appears[j as usize]);
                if level > found[j as usize] {
                    found[j as usize] = level;
                    self.stack.push(j);
                }
            }
        }
        for (&(_, _, pm), &s) in pixels.iter().zip(found.iter()) {
            m[pm as usize] = normalised(f32::from_bits(s));
        }
    }

    /// `run` by a sweep over the pixels by decreasing magnitude (see `strength_map`), for
    /// components with magnitudes spread over more than a factor 1 / ratio (`ratio > 0`).
    fn events(&mut self, pixels: &[Pixel], m: &mut [f32], offsets: &Offsets, ratio: f32) {
        let n = pixels.len();
        self.order.clear();
        self.order.extend_from_slice(pixels);
        self.order.sort_unstable_by(|a, b| b.cmp(a));
        // Each pixel's rank, kept in `m` (its magnitude is in `order` now).
        for (k, &(_, _, pm)) in self.order.iter().enumerate() {
            m[pm as usize] = f32::from_bits(k as u32);
        }
        self.parent.clear();
        self.parent.extend(0..n as u32);
        self.kept.clear();
        self.kept.resize(n, false);
        self.head.clear();
        self.head.extend(0..n as u32);
        self.tail.clear();
        self.tail.extend(0..n as u32);
        self.next.clear();
        self.next.resize(n, NIL);
        self.level.clear();
        self.level.resize(n, 0.0);
        let mag = |order: &[Pixel], k: usize| f32::from_bits(order[k].0);
        let appear = |order: &[Pixel], k: usize| mag(order, k) / ratio;
        let (mut a, mut b) = (0usize, 0usize); // next pixel to appear, next to turn strong
        while b < n {
            // Appear events first at equal levels: a pixel must exist before it is strong.
            if a < n && appear(&self.order, a) >= mag(&self.order, b) {
                let k = a;
                a += 1;
                let (_, p, pm) = self.order[k];
                let (p, pm) = (p as usize, pm as usize);
                let bit = p + self.shift;
                self.appeared[bit / 64] |= 1 << (bit % 64);
                let level = appear(&self.order, k);
                // The appeared neighbours as a mask in the order of `offsets` (a few word reads
                // instead of a branch per neighbour).
                let row = self.window(bit - 1); // left, the pixel itself, right
                let mut near = self.window(bit - offsets.pw - 1)
                    | (row & 1) << 3
                    | (row >> 2) << 4
                    | self.window(bit + offsets.pw - 1) << 5;
                while near != 0 {
                    let i = near.trailing_zeros() as usize;
                    near &= near - 1;
                    // An appeared neighbour is in this component: its rank is in `m`.
                    let q = m[pm.wrapping_add_signed(offsets.raster[i])].to_bits();
                    let (rp, rq) = (self.find(k as u32) as usize, self.find(q) as usize);
                    if rp == rq {
                        continue;
                    }
                    match (self.kept[rp], self.kept[rq]) {
                        (true, false) => self.settle(rq, level),
                        (false, true) => self.settle(rp, level),
                        _ => {}
                    }
                    // Join: rq's waiting list goes after rp's, and rp becomes the root.
                    if self.head[rq] != NIL {
                        if self.head[rp] == NIL {
                            self.head[rp] = self.head[rq];
                        } else {
                            let t = self.tail[rp] as usize;
                            self.next[t] = self.head[rq];
                        }
                        self.tail[rp] = self.tail[rq];
                    }
                    self.kept[rp] |= self.kept[rq];
                    self.parent[rq] = rp as u32;
                }
            } else {
                let k = b;
                b += 1;
                let r = self.find(k as u32) as usize;
                if !self.kept[r] {
                    self.settle(r, mag(&self.order, k));
                    self.kept[r] = true;
                }
            }
        }
        for (&(_, p, pm), &t) in self.order.iter().zip(&self.level) {
            m[pm as usize] = normalised(t);
            self.appeared[(p as usize + self.shift) / 64] = 0;
        }
    }
}
