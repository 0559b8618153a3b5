//! Canny strength maps: for every edge pixel, the largest `high` at which it stays an edge
//! when `low = ratio * high` (see `canny.rs`).

use super::canny::{neighbour_offsets, EDGE};

/// Strength (Sobel units) of every EDGE pixel of a padded state map; 0 elsewhere.
///
/// `s(p)` is the largest `T` at which `p` is a Canny edge for thresholds `(ratio T, T)`: as
/// `T` falls, pixel `q` *appears* (becomes a candidate) at `T = m(q) / ratio` and turns
/// *strong* at `T = m(q)`; a connected set of appeared pixels is kept from the moment it holds
/// a strong pixel. So the pixels are swept once in decreasing order of magnitude (both event
/// streams follow that order), appeared pixels are joined with a union-find, and when a set
/// becomes kept, at level `T`, each of its members that has no strength yet gets `T`. Only
/// EDGE pixels can reach `s >= high` (every path pixel needs `m >= ratio * high = low`), so
/// the sweep stays inside the EDGE set.
pub(super) fn strength_map(m: &[f32], states: &mut [u8], pw: usize, ratio: f32) -> Vec<f32> {
    // Sets never join across different 8-connected components of the EDGE set, so each
    // component is swept on its own: its pixels are close together, which keeps the
    // union-find and neighbour look-ups in cache.
    const SEEN: u32 = 8;
    let offsets = neighbour_offsets(pw);
    let mut s = vec![0f32; m.len()];
    let mut sweep =
        Sweep { rank_of: vec![NIL; m.len()], appeared: vec![0; m.len().div_ceil(64)], ..Default::default() };
    let mut component: Vec<usize> = Vec::new();
    let mut stack: Vec<usize> = Vec::new();
    for i in 0..states.len() {
        if states[i] != EDGE {
            continue;
        }
        component.clear();
        states[i] = SEEN as u8;
        stack.push(i);
        while let Some(p) = stack.pop() {
            component.push(p);
            for &o in &offsets {
                let q = p.wrapping_add_signed(o);
                if states[q] == EDGE {
                    states[q] = SEEN as u8;
                    stack.push(q);
                }
            }
        }
        sweep.run(&component, m, &offsets, ratio, &mut s);
    }
    s
}

const NIL: u32 = u32::MAX;

/// Scratch of the strength sweep over one component (see `strength_map`).
#[derive(Default)]
struct Sweep {
    /// Rank (position in `order`) of each pixel of the current component, NIL elsewhere.
    rank_of: Vec<u32>,
    /// One bit per pixel: appeared (a small map that stays in cache; `rank_of` is looked up
    /// only for appeared neighbours).
    appeared: Vec<u64>,
    /// (magnitude bits, pixel) by decreasing magnitude.
    order: Vec<(u32, u32)>,
    /// Union-find parent, whether the set is kept, and the linked list of members still
    /// waiting for a strength (head and tail per root), all by rank.
    parent: Vec<u32>,
    kept: Vec<bool>,
    head: Vec<u32>,
    tail: Vec<u32>,
    next: Vec<u32>,
}

impl Sweep {
    fn find(&mut self, mut i: u32) -> u32 {
        while self.parent[i as usize] != i {
            let p = self.parent[i as usize];
            self.parent[i as usize] = self.parent[p as usize];
            i = p;
        }
        i
    }

    /// Give every waiting member of set `r` the strength `t`.
    fn settle(&mut self, r: usize, t: f32, s: &mut [f32]) {
        let mut k = self.head[r];
        while k != NIL {
            s[self.order[k as usize].1 as usize] = t;
            k = self.next[k as usize];
        }
        self.head[r] = NIL;
    }

    fn run(&mut self, pixels: &[usize], m: &[f32], offsets: &[isize; 8], ratio: f32, s: &mut [f32]) {
        let n = pixels.len();
        self.order.clear();
        // Bit patterns of non-negative floats order like the values.
        self.order.extend(pixels.iter().map(|&p| (m[p].to_bits(), p as u32)));
        self.order.sort_unstable_by(|a, b| b.cmp(a));
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
        let mag = |order: &[(u32, u32)], k: usize| f32::from_bits(order[k].0);
        let appear = |order: &[(u32, u32)], k: usize| if ratio > 0.0 { mag(order, k) / ratio } else { f32::INFINITY };
        let (mut a, mut b) = (0usize, 0usize); // next pixel to appear, next to turn strong
        while b < n {
            // Appear events first at equal levels: a pixel must exist before it is strong.
            if a < n && appear(&self.order, a) >= mag(&self.order, b) {
                let k = a;
                a += 1;
                let p = self.order[k].1 as usize;
                self.rank_of[p] = k as u32;
                self.appeared[p / 64] |= 1 << (p % 64);
                let level = appear(&self.order, k);
                for &o in offsets {
                    let qp = p.wrapping_add_signed(o);
                    if self.appeared[qp / 64] & (1 << (qp % 64)) == 0 {
                        continue;
                    }
                    let q = self.rank_of[qp];
                    let (rp, rq) = (self.find(k as u32) as usize, self.find(q) as usize);
                    if rp == rq {
                        continue;
                    }
                    match (self.kept[rp], self.kept[rq]) {
                        (true, false) => self.settle(rq, level, s),
                        (false, true) => self.settle(rp, level, s),
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
                    self.settle(r, mag(&self.order, k), s);
                    self.kept[r] = true;
                }
            }
        }
        for &p in pixels {
            self.rank_of[p] = NIL;
            self.appeared[p / 64] = 0;
        }
    }
}
