//! Stage (a): the skeleton of a binary mask, by Zhang-Suen thinning capped at a number of
//! iterations, then a staircase clean-up that leaves an 8-connected line one pixel thin.
//!
//! Reach: a sub-iteration picks candidates from the 3x3 neighbourhoods of the previous state
//! and removes them in four subfield passes, each re-reading 3x3 neighbourhoods, so it reaches
//! 4 pixels; after `k` iterations (2k sub-iterations) and the 4 clean-up passes, a skeleton bit
//! depends only on the mask within Chebyshev distance `8k + 4` of it. With `k = thinning_iterations(max_width)`, a
//! tile with a halo of at least `reach(max_width)` pixels gives exactly the untiled bits.

/// Zhang-Suen iterations needed to thin lines up to `max_width` pixels wide: each iteration
/// peels at most one pixel from each side.
pub fn thinning_iterations(max_width: f32) -> usize {
    (max_width.max(1.0) / 2.0).ceil() as usize + 1
}

/// The reach of `skeleton` in pixels (Chebyshev distance) for a given `max_width`.
pub fn reach(max_width: f32) -> usize {
    8 * thinning_iterations(max_width) + 4
}

/// Neighbour offsets in Zhang-Suen order P2..P9: N, NE, E, SE, S, SW, W, NW.
const RING: [(isize, isize); 8] = [(0, -1), (1, -1), (1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1)];

/// Bits of the 8 neighbours of `i` (bit k = RING[k]); outside the image counts as background.
#[inline]
pub(crate) fn ring_bits(bits: &[u8], w: usize, h: usize, i: usize) -> u8 {
    let (x, y) = (i % w, i / w);
    if x > 0 && y > 0 && x + 1 < w && y + 1 < h {
        // Interior: no bounds to check (the common case).
        let on = |j: usize| (bits[j] != 0) as u8;
        let (n, s) = (i - w, i + w);
        return on(n)
            | on(n + 1) << 1
            | on(i + 1) << 2
            | on(s + 1) << 3
            | on(s) << 4
            | on(s - 1) << 5
            | on(i - 1) << 6
            | on(n - 1) << 7;
    }
    let (x, y) = (x as isize, y as isize);
    let mut r = 0u8;
    for (k, &(dx, dy)) in RING.iter().enumerate() {
        let (nx, ny) = (x + dx, y + dy);
        if nx >= 0 && ny >= 0 && (nx as usize) < w && (ny as usize) < h && bits[ny as usize * w + nx as usize] != 0 {
            r |= 1 << k;
        }
    }
    r
}

/// A line's tip: one neighbour, or two that touch each other along the ring (the end of a
/// two-pixel diagonal line).
#[inline]
fn is_tip(r: u8) -> bool {
    let b = r.count_ones();
    b == 1 || (b == 2 && r & r.rotate_right(1) != 0)
}

/// Number of 0 -> 1 transitions around the ring (P2, P3, ..., P9, P2).
#[inline]
fn transitions(r: u8) -> u32 {
    (r & !r.rotate_right(1)).count_ones()
}

/// The skeleton of `mask` (nonzero = ink) as 0/1 bits, thinned for at most `max_iter`
/// iterations. Deterministic; only ink pixels are visited, so sparse drawings are cheap.
pub fn skeleton(mask: &[u8], w: usize, h: usize, max_iter: usize) -> Vec<u8> {
    // Ink is sparse in line art: zero bytes are skipped eight at a time.
    let mut bits = vec![0u8; mask.len()];
    let mut live: Vec<u32> = Vec::new();
    let mut i = 0;
    while i < mask.len() {
        if i + 8 <= mask.len() && u64::from_ne_bytes(mask[i..i + 8].try_into().unwrap()) == 0 {
            i += 8;
            continue;
        }
        if mask[i] != 0 {
            bits[i] = 1;
            live.push(i as u32);
        }
        i += 1;
    }
    // Tips of the mask itself (the ends of two-pixel diagonal lines, which Zhang-Suen would
    // eat from both ends) stay; tips that appear while thinning are steps of a thick line's
    // outline and go, or they would become spurs.
    let tip = |r: u8, i: usize| is_tip(r) && is_tip(ring_bits(mask, w, h, i));
    // `live`: the pixels still set, in raster order; rebuilt after each iteration.
    let mut removed: Vec<u32> = Vec::new();
    for _ in 0..max_iter {
        let mut changed = false;
        for step in 0..2 {
            removed.clear();
            for &p in &live {
                let i = p as usize;
                if bits[i] == 0 {
                    continue;
                }
                let r = ring_bits(&bits, w, h, i);
                let b = r.count_ones();
                if !(2..=6).contains(&b) || transitions(r) != 1 || tip(r, i) {
                    continue;
                }
                let on = |k: u32| r >> k & 1 != 0; // k: 0 = N, 2 = E, 4 = S, 6 = W
                let ok = if step == 0 {
                    !(on(2) && on(4) && (on(0) || on(6)))
                } else {
                    !(on(0) && on(6) && (on(2) || on(4)))
                };
                if ok {
                    removed.push(p);
                }
            }
            // Zhang-Suen removes its candidates all at once, which can cut a two-pixel
            // diagonal line or erase a 2x2 block. Remove them instead subfield by subfield
            // ((x mod 2, y mod 2): no two pixels of one subfield are neighbours), each
            // re-checked on the current bits: still not an end, and simple (its neighbours
            // stay one 8-connected group), so the topology is kept exactly.
            let mut gone = 0;
            for field in 0..4usize {
                for &p in &removed {
                    let i = p as usize;
                    if (i % w % 2) + 2 * (i / w % 2) != field {
                        continue;
                    }
                    let r = ring_bits(&bits, w, h, i);
                    if r.count_ones() >= 2 && !tip(r, i) && ring_components(r) == 1 {
                        bits[i] = 0;
                        gone += 1;
                    }
                }
            }
            changed |= gone > 0;
        }
        live.retain(|&p| bits[p as usize] != 0);
        if !changed {
            break;
        }
    }
    remove_staircase_corners(&mut bits, w, h, &live);
    bits
}

/// Remove the corner pixel of each 4-connected step (a pixel whose two set 4-neighbours are
/// perpendicular and 8-adjacent to each other) where that keeps the line connected, so every
/// line pixel has at most two neighbours and junctions are true branchings. Done in four
/// subfields ((x mod 2, y mod 2)); pixels of one subfield are never neighbours, so removing
/// them together cannot break a connection, and the result does not depend on visiting order.
fn remove_staircase_corners(bits: &mut [u8], w: usize, h: usize, live: &[u32]) {
    for field in 0..4usize {
        let mut removed = Vec::new();
        for &p in live {
            let i = p as usize;
            if bits[i] == 0 || (i % w % 2) + 2 * (i / w % 2) != field {
                continue;
            }
            let r = ring_bits(bits, w, h, i);
            let on = |k: u32| r >> k & 1 != 0;
            let l_shape = (on(0) && on(2)) || (on(2) && on(4)) || (on(4) && on(6)) || (on(6) && on(0));
            if l_shape && ring_components(r) == 1 {
                removed.push(i);
            }
        }
        for i in removed {
            bits[i] = 0;
        }
    }
}

/// Number of 8-connected groups among the set neighbours of a pixel (bits as `ring_bits`):
/// ring neighbours touch, and so do two 4-neighbours around a corner (N and E).
pub(crate) fn ring_components(r: u8) -> u32 {
    let mut seen = 0u8;
    let mut groups = 0;
    for start in 0..8u32 {
        if r >> start & 1 == 0 || seen >> start & 1 != 0 {
            continue;
        }
        groups += 1;
        let mut stack = [0u32; 8];
        let mut top = 1;
        stack[0] = start;
        seen |= 1 << start;
        while top > 0 {
            top -= 1;
            let k = stack[top];
            let mut next = [(k + 1) % 8, (k + 7) % 8, 8, 8];
            if k % 2 == 0 {
                next[2] = (k + 2) % 8;
                next[3] = (k + 6) % 8;
            }
            for n in next {
                if n < 8 && r >> n & 1 != 0 && seen >> n & 1 == 0 {
                    seen |= 1 << n;
                    stack[top] = n;
                    top += 1;
                }
            }
        }
    }
    groups
}

/// Number of set 8-neighbours of every pixel of `bits` at `i`.
#[inline]
pub(crate) fn degree(bits: &[u8], w: usize, h: usize, i: usize) -> u32 {
    ring_bits(bits, w, h, i).count_ones()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(w: usize, h: usize, y0: usize, y1: usize, x0: usize, x1: usize) -> Vec<u8> {
        (0..w * h).map(|i| ((y0..y1).contains(&(i / w)) && (x0..x1).contains(&(i % w))) as u8).collect()
    }

    #[test]
    fn thick_bar_thins_to_one_pixel_line() {
        let (w, h) = (40, 20);
        let m = bar(w, h, 6, 13, 5, 35);
        let s = skeleton(&m, w, h, thinning_iterations(8.0));
        let n = s.iter().filter(|&&b| b != 0).count();
        assert!(n > 20, "{n}");
        // One line along the middle row, plus at most short branches to the corners.
        assert!((0..w * h).all(|i| s[i] == 0 || m[i] != 0));
        let middle = (0..w).filter(|&x| s[9 * w + x] != 0).count();
        assert!(middle >= 20, "{middle}");
        assert!(n <= middle + 4 * 4, "{n} pixels");
    }

    #[test]
    fn diagonal_staircase_is_8_thin() {
        // A 4-connected diagonal staircase: corners go, the line stays connected.
        let (w, h) = (12, 12);
        let mut m = vec![0u8; w * h];
        for k in 1..10 {
            m[k * w + k] = 1;
            m[k * w + k + 1] = 1;
        }
        let s = skeleton(&m, w, h, 3);
        for i in 0..w * h {
            if s[i] != 0 {
                assert!(degree(&s, w, h, i) <= 2, "pixel {i}");
            }
        }
        let art: Vec<String> = (0..h)
            .map(|y| {
                (0..w)
                    .map(|x| {
                        if s[y * w + x] != 0 {
                            "#"
                        } else if m[y * w + x] != 0 {
                            "+"
                        } else {
                            "."
                        }
                    })
                    .collect()
            })
            .collect();
        assert!(s.iter().filter(|&&b| b != 0).count() >= 9, "{}", art.join("\n"));
    }
}
