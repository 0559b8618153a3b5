//! Local speckle merging: a merge order in which the fate of a small region depends only on
//! the region itself and the components just outside it, so a tile can settle most of its
//! regions without seeing the rest of the image.
//!
//! The rule runs in synchronous rounds over clusters (round 0: the components). In round k
//! every cluster smaller than `min(min_area, 2^(k+1))` pixels (smallest first, in size
//! classes, so tiny speckles settle into their neighbours before those pick) picks one crack
//! on its outline: the one whose outside component (as found, before any merging) has the
//! colour closest (CIELAB) to the cluster's exact mean colour (a small component's own mean
//! colour, a large one's palette colour: see [`outside_colour`]), ties broken by the crack's
//! raster key; it joins the cluster across that crack. All picks of a round are applied at
//! once (a cluster of only small members may need more rounds). A merged cluster keeps the
//! label of its largest member (ties: the first in raster order), so a speckle never
//! relabels the region it joins. Rounds repeat until no cluster picks.
//!
//! A pick reads the picking cluster and the components across its cracks, never another
//! cluster's size or current colour. So a tile decides every pick of a cluster that lies
//! inside it, as long as nothing outside the tile can join that cluster and the small
//! components around it are whole. That is the tile mode: components on a seam are *open*
//! (their extent, colour and picks are not known here); a cluster next to an open component
//! that may be small defers its pick to the stitch; a closed cluster that touches an open
//! (or deferred) cluster which may pick this round (its local area is below the round's size
//! limit), or that joins an open cluster, becomes open in the next round. When a closed
//! cluster becomes part of an open one it goes to the stitch: as one node holding its state
//! at that round, which starts picking at that round, or folded into the group's large
//! member (see [`Late`]). Closed clusters at the end are final (settled) and need no stitch
//! work at all. The stitch runs the same rounds on the nodes of all tiles and reproduces the
//! single-image result exactly: nodes are exact round states, nothing open ever reaches a
//! settled cluster (it would have been opened), and a node's pick always lands on another
//! stitch node.

use super::{find, for_each_vertical_contact, mean_colours, Run, NONE};
use crate::color::{dist2, rgb_to_lab};
use crate::quantize::FxBuild;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Key of the crack right of global pixel `p` (`down` false) or below it (`down` true).
#[inline]
pub(crate) fn crack_key(p: u64, down: bool) -> u64 {
    2 * p + down as u64
}

/// Node `from` touches node `to` across cracks whose outside component (in `to`) has mean
/// colour `colour`, or, when not `known` (a component on a seam, whole only in the stitch),
/// is node `to` itself as it was before any merging; `crack` is the smallest such crack key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Contact {
    pub from: u32,
    pub to: u32,
    pub known: bool,
    pub colour: [u8; 3],
    pub crack: u64,
}

/// Sort contacts and keep the smallest crack per (from, to, outside colour).
pub(crate) fn dedup_contacts(c: &mut Vec<Contact>) {
    c.sort_unstable();
    c.dedup_by(|b, a| (a.from, a.to, a.known, a.colour) == (b.from, b.to, b.known, b.colour));
}

/// Directed contacts between different components of a run table, at `(x0, y0)` of an image
/// `width` pixels wide (crack keys are global). `g` holds each component's statistics and
/// whether it is open; see [`outside_colour`] for the colour each contact carries.
pub(crate) fn component_contacts(
    runs: &[Run],
    row_start: &[usize],
    comp: &[u32],
    g: &Graph,
    palette: &[[u8; 3]],
    min_area: u64,
    (x0, y0, width): (usize, usize, usize),
) -> Vec<Contact> {
    let global = |x: u32, y: u32| ((y0 + y as usize) * width + x0 + x as usize) as u64;
    let mut pairs: Vec<(u32, u32, u64)> = Vec::new();
    let mut push = |a: u32, b: u32, crack: u64| {
        if a != b {
            pairs.push((a.min(b), a.max(b), crack));
        }
    };
    for i in 1..runs.len() {
        let (a, b) = (&runs[i - 1], &runs[i]);
        if a.y == b.y && a.x1 == b.x0 {
            push(comp[i - 1], comp[i], crack_key(global(a.x1 - 1, a.y), false));
        }
    }
    for_each_vertical_contact(runs, row_start, |i, j| {
        let (a, b) = (&runs[i], &runs[j]);
        push(comp[i], comp[j], crack_key(global(a.x0.max(b.x0), a.y), true));
    });
    pairs.sort_unstable();
    pairs.dedup_by(|b, a| (a.0, a.1) == (b.0, b.1));
    let colours = mean_colours(&g.areas, &g.sums);
    let contact = |from: u32, to: u32, crack: u64| {
        let t = to as usize;
        let small = g.areas[t] < min_area;
        // A small component on a seam may be larger, and has another colour, in the whole image.
        let known = !(small && g.open.get(t).copied().unwrap_or(false));
        let colour = if !known {
            [0; 3]
        } else if small {
            colours[t]
        } else {
            palette[g.labels[t] as usize]
        };
        Contact { from, to, known, colour, crack }
    };
    let mut out = Vec::with_capacity(pairs.len() * 2);
    for (a, b, crack) in pairs {
        out.push(contact(a, b, crack));
        out.push(contact(b, a, crack));
    }
    out
}

/// Small clusters a tile folded into a stitch node whose cluster was already large when they
/// joined it: they add to that cluster from round `round` on (`u32::MAX`: none). A large
/// cluster never picks and always leads its group, so only its final colour and first pixel
/// see them; they need no node of their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Late {
    pub round: u32,
    pub area: u64,
    pub sums: [u64; 3],
    pub first: u64,
}

impl Default for Late {
    fn default() -> Self {
        Late { round: u32::MAX, area: 0, sums: [0; 3], first: u64::MAX }
    }
}

impl Late {
    /// Add `other` (the earlier round counts: the cluster is large from both on).
    pub(crate) fn add(&mut self, other: &Late) {
        self.round = self.round.min(other.round);
        self.area += other.area;
        for (acc, v) in self.sums.iter_mut().zip(other.sums) {
            *acc += v;
        }
        self.first = self.first.min(other.first);
    }
}

/// The graph the rounds run on: per node its first pixel (global raster index), area, exact
/// colour sums and label, the round from which it picks, whether it is open (tile mode), what
/// joins it late (empty or one per node), and the directed contacts between nodes.
#[derive(Clone, Debug, Default)]
pub(crate) struct Graph {
    pub first: Vec<u64>,
    pub areas: Vec<u64>,
    pub sums: Vec<[u64; 3]>,
    pub labels: Vec<i32>,
    pub start: Vec<u32>,
    pub open: Vec<bool>,
    pub late: Vec<Late>,
    pub contacts: Vec<Contact>,
}

/// A cluster's state when it was condensed into a stitch node.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Condensed {
    /// Small clusters folded into this node (tile mode).
    pub late: Late,
    pub round: u32,
    pub first: u64,
    pub area: u64,
    pub sums: [u64; 3],
    pub label: i32,
}

/// Result of the rounds: per node the root of its final cluster (the graph's vectors hold each
/// root's final state), and in tile mode the stitch nodes with each graph node's one (NONE
/// for nodes of settled clusters) and whether the node was folded into it (see [`Late`]).
pub(crate) struct Merged {
    pub root: Vec<u32>,
    pub condensed: Vec<Condensed>,
    pub slot: Vec<u32>,
    pub folded: Vec<bool>,
}

/// Mean colour of a cluster in CIELAB (the mean rounded to 8 bits first).
fn mean_lab(sum: &[u64; 3], area: u64) -> [f32; 3] {
    let a = area.max(1);
    let c = |s: u64| ((s + a / 2) / a).min(255) as u8;
    rgb_to_lab([c(sum[0]), c(sum[1]), c(sum[2])])
}

/// The colour a pick compares a cluster with, for the component across a crack: its own mean
/// colour when it is small (below `min_area`: a speckle, whose colour the palette does not
/// tell), else its palette colour (a large component's mean would take the whole image).
pub(crate) fn outside_colour(area: u64, sums: &[u64; 3], label: i32, palette: &[[u8; 3]], min_area: u64) -> [u8; 3] {
    if area < min_area {
        mean_colours(&[area], &[*sums])[0]
    } else {
        palette[label as usize]
    }
}

/// Run the rounds on `g` (its statistics become the clusters' at their roots). With
/// `track_open`, open nodes and what they may reach are left to the stitch (tile mode);
/// without, every node is decided (one image, or the stitch). `palette`: the global one.
pub(crate) fn merge_rounds(g: &mut Graph, palette: &[[u8; 3]], min_area: u64, track_open: bool) -> Merged {
    let n = g.areas.len();
    let mut parent: Vec<u32> = (0..n as u32).collect();
    // The uncompressed merge forest (each root's first parent): slots follow it down.
    let mut up: Vec<u32> = parent.clone();
    let mut condensed: Vec<Condensed> = Vec::new();
    let mut root_slot = vec![NONE; n];
    let mut root_fold = vec![false; n];
    // Per open cluster (at its root), one of its stitch nodes.
    let mut rep = vec![NONE; n];
    if track_open {
        for (i, slot) in root_slot.iter_mut().enumerate() {
            if g.open[i] {
                *slot = condensed.len() as u32;
                rep[i] = condensed.len() as u32;
                condensed.push(Condensed {
                    late: Late::default(),
                    round: 0,
                    first: g.first[i],
                    area: g.areas[i],
                    sums: g.sums[i],
                    label: g.labels[i],
                });
            }
        }
    }
    let max_start = g.start.iter().copied().max().unwrap_or(0);
    let mut live = std::mem::take(&mut g.contacts);
    let mut best: Vec<(f32, u64, u32)> = vec![(f32::INFINITY, u64::MAX, NONE); n];
    let mut touched = vec![false; n];
    let mut lab: Vec<[f32; 3]> = vec![[0.0; 3]; n];
    let mut lab_round = vec![u32::MAX; n];
    let mut late: Vec<(u32, u32)> =
        g.late.iter().enumerate().filter(|(_, l)| l.round != u32::MAX).map(|(i, l)| (l.round, i as u32)).collect();
    late.sort_unstable_by(|a, b| b.cmp(a));
    // Colours of the nodes before any merging, for contacts whose colour was not known where
    // they were found (only the stitch reads them: a tile defers such picks).
    let first_lab: Vec<[f32; 3]> = if track_open {
        Vec::new()
    } else {
        (0..n).map(|i| rgb_to_lab(outside_colour(g.areas[i], &g.sums[i], g.labels[i], palette, min_area))).collect()
    };
    let mut deferred = vec![false; n];
    let mut round = 0u32;
    loop {
        // Folded clusters join their (large) cluster at their round.
        while late.last().is_some_and(|&(r, _)| r <= round) {
            let (_, i) = late.pop().unwrap();
            let (r, l) = (find(&mut parent, i) as usize, g.late[i as usize]);
            g.areas[r] += l.area;
            for (acc, v) in g.sums[r].iter_mut().zip(l.sums) {
                *acc += v;
            }
            g.first[r] = g.first[r].min(l.first);
        }
        // Smallest first, in size classes: in round k only clusters under 2^(k+1) pixels pick.
        let limit = min_area.min(1u64 << (round + 1).min(63));
        let mut pickers: Vec<u32> = Vec::new();
        let mut opened: Vec<u32> = Vec::new();
        let mut deferring: Vec<u32> = Vec::new();
        live.retain(|c| {
            let ra = find(&mut parent, c.from);
            let rb = find(&mut parent, c.to);
            let a = ra as usize;
            // Inside one cluster, or from a large cluster (areas only grow): never again.
            if ra == rb || g.areas[a] >= min_area {
                return false;
            }
            if g.start[a] > round || g.areas[a] >= limit {
                return true;
            }
            if g.open[a] {
                let b = rb as usize;
                if track_open && !g.open[b] && !touched[b] {
                    touched[b] = true;
                    opened.push(rb);
                }
                return true;
            }
            if !c.known && track_open {
                // The component across is on a seam: only the stitch knows its colour.
                if !deferred[a] {
                    deferred[a] = true;
                    deferring.push(ra);
                }
                return true;
            }
            if lab_round[a] != round {
                lab_round[a] = round;
                lab[a] = mean_lab(&g.sums[a], g.areas[a]);
            }
            let outside = if c.known { rgb_to_lab(c.colour) } else { first_lab[c.to as usize] };
            let key = (dist2(lab[a], outside), c.crack, rb);
            if best[a].2 == NONE {
                pickers.push(ra);
            }
            if (key.0, key.1) < (best[a].0, best[a].1) {
                best[a] = key;
            }
            true
        });
        if !deferring.is_empty() {
            // Deferred clusters pick in the stitch: open now, and whatever they may pick
            // (their neighbours) with them.
            pickers.retain(|&r| !deferred[r as usize]);
            for &r in &deferring {
                best[r as usize] = (f32::INFINITY, u64::MAX, NONE);
                if !touched[r as usize] {
                    touched[r as usize] = true;
                    opened.push(r);
                }
            }
            for c in &live {
                let (ra, rb) = (find(&mut parent, c.from), find(&mut parent, c.to));
                if deferred[ra as usize] && ra != rb && !g.open[rb as usize] && !touched[rb as usize] {
                    touched[rb as usize] = true;
                    opened.push(rb);
                }
            }
            for &r in &deferring {
                deferred[r as usize] = false;
            }
        }
        if pickers.is_empty() && opened.is_empty() && round >= max_start && limit >= min_area && late.is_empty() {
            break;
        }
        // Round states of every cluster that changes, and whether it was closed.
        let mut involved: Vec<u32> = pickers.iter().flat_map(|&r| [r, best[r as usize].2]).collect();
        involved.extend(&opened);
        involved.sort_unstable();
        involved.dedup();
        let before: Vec<(u32, bool, Condensed)> = involved
            .iter()
            .map(|&r| {
                let i = r as usize;
                let state = Condensed {
                    late: Late::default(),
                    round,
                    first: g.first[i],
                    area: g.areas[i],
                    sums: g.sums[i],
                    label: g.labels[i],
                };
                (r, !g.open[i], state)
            })
            .collect();
        for &r in &opened {
            g.open[r as usize] = true;
            touched[r as usize] = false;
        }
        for &r in &pickers {
            let t = best[r as usize].2;
            best[r as usize] = (f32::INFINITY, u64::MAX, NONE);
            let (x, y) = (find(&mut parent, r), find(&mut parent, t));
            if x == y {
                continue;
            }
            let (keep, gone) = (x.min(y) as usize, x.max(y) as usize);
            parent[gone] = keep as u32;
            up[gone] = keep as u32;
            g.areas[keep] += g.areas[gone];
            let s = g.sums[gone];
            for (acc, v) in g.sums[keep].iter_mut().zip(s) {
                *acc += v;
            }
            g.first[keep] = g.first[keep].min(g.first[gone]);
            g.open[keep] |= g.open[gone];
            g.start[keep] = g.start[keep].min(g.start[gone]);
            if rep[keep] == NONE {
                rep[keep] = rep[gone];
            }
        }
        // Labels: the largest member of the round (ties: first in raster order).
        let lead_key = |c: &Condensed| (c.area, std::cmp::Reverse(c.first));
        let mut lead: HashMap<u32, Condensed, FxBuild> = HashMap::default();
        for &(r, _, state) in &before {
            let root = find(&mut parent, r);
            let e = lead.entry(root).or_insert(state);
            if lead_key(&state) > lead_key(e) {
                *e = state;
            }
        }
        for (root, state) in lead {
            g.labels[root as usize] = state.label;
        }
        if track_open {
            // Closed clusters that become part of an open one go to the stitch: condensed as
            // nodes, or folded into the group's large member (at most one: a group is a tree
            // of picks by small clusters) when it has one.
            let mut large: HashMap<u32, u32, FxBuild> = HashMap::default();
            for &(r, closed, state) in &before {
                let root = find(&mut parent, r);
                if !g.open[root as usize] || state.area < min_area {
                    continue;
                }
                let slot = if closed {
                    root_slot[r as usize] = condensed.len() as u32;
                    condensed.push(state);
                    root_slot[r as usize]
                } else {
                    rep[r as usize]
                };
                large.insert(root, slot);
            }
            for &(r, closed, state) in &before {
                let root = find(&mut parent, r);
                if !closed || !g.open[root as usize] || state.area >= min_area {
                    continue;
                }
                if let Some(&m) = large.get(&root) {
                    let fold = Late { round, area: state.area, sums: state.sums, first: state.first };
                    condensed[m as usize].late.add(&fold);
                    root_slot[r as usize] = m;
                    root_fold[r as usize] = true;
                } else {
                    root_slot[r as usize] = condensed.len() as u32;
                    condensed.push(state);
                }
                if rep[root as usize] == NONE {
                    rep[root as usize] = root_slot[r as usize];
                }
            }
            for (&root, &m) in &large {
                if rep[root as usize] == NONE {
                    rep[root as usize] = m;
                }
            }
        }
        round += 1;
    }
    let root: Vec<u32> = (0..n as u32).map(|i| find(&mut parent, i)).collect();
    let mut slot = vec![NONE; n];
    let mut folded = vec![false; n];
    if track_open {
        // A node's slot is that of its nearest condensed ancestor in the merge forest (nodes
        // of settled clusters have none).
        let mut resolved = vec![false; n];
        let mut path = Vec::new();
        for i in 0..n {
            let mut v = i as u32;
            let found = loop {
                let vi = v as usize;
                if root_slot[vi] != NONE {
                    break (root_slot[vi], root_fold[vi]);
                }
                if resolved[vi] || up[vi] == v {
                    break (slot[vi], folded[vi]);
                }
                path.push(v);
                v = up[vi];
            };
            for &p in &path {
                (slot[p as usize], folded[p as usize]) = found;
                resolved[p as usize] = true;
            }
            path.clear();
            if root_slot[i] != NONE {
                (slot[i], folded[i]) = (root_slot[i], root_fold[i]);
            }
            resolved[i] = true;
        }
    }
    Merged { root, condensed, slot, folded }
}

#[cfg(test)]
mod tests {
    use crate::image::ImageView;
    use crate::regions::find_regions_local;

    fn image(labels: &[i32], colours: &[[u8; 3]]) -> Vec<u8> {
        labels.iter().flat_map(|&l| colours[l as usize]).collect()
    }

    #[test]
    fn speckle_joins_the_closest_colour_across_its_outline() {
        // A one-pixel speckle (label 2) between red (left) and blue (right, three sides): its
        // colour is closer to red, so it joins red although blue surrounds it more.
        let (w, h) = (6, 3);
        let mut labels = vec![0i32; w * h];
        for y in 0..h {
            for x in 3..w {
                labels[y * w + x] = 1;
            }
        }
        labels[w + 3] = 2;
        let palette = [[150, 0, 0], [0, 0, 255], [200, 30, 0]];
        let px = image(&labels, &palette);
        let img = ImageView::new(&px, w, h, 3).unwrap();
        let r = find_regions_local(&img, &labels, &palette, 2).unwrap();
        assert_eq!(r.areas.len(), 2);
        assert_eq!(r.map[w + 3], r.map[0]);
        assert_eq!(r.areas, vec![10, 8]);
        // The merged region keeps the label of its largest member.
        assert_eq!(r.labels, vec![0, 1]);
    }

    #[test]
    fn small_neighbours_compare_by_their_own_mean() {
        // A one-pixel speckle (label 1, colour 100) beside a large region (label 0, colour 90)
        // and a three-pixel one (label 2, whose palette colour is 90 too but whose pixels are
        // 104): a small neighbour counts with its own mean, closer to the speckle than 90.
        let (w, h) = (5, 3);
        #[rustfmt::skip]
        let labels = [
            0, 0, 0, 0, 0,
            0, 0, 1, 2, 2,
            0, 0, 0, 0, 2,
        ];
        let mut px = vec![90u8; w * h * 3];
        for i in [8usize, 9, 14] {
            px[i * 3..i * 3 + 3].fill(104);
        }
        px[7 * 3..7 * 3 + 3].fill(100);
        let palette = [[90, 90, 90], [100, 100, 100], [90, 90, 90]];
        let img = ImageView::new(&px, w, h, 3).unwrap();
        let r = find_regions_local(&img, &labels, &palette, 4).unwrap();
        assert_eq!(r.map[7], r.map[8], "the speckle joins the small lighter region");
        assert_ne!(r.map[7], r.map[6]);
    }

    #[test]
    fn equal_colours_tie_on_the_first_crack() {
        // A speckle between two regions of the same label: the first crack in raster order
        // (above it) decides.
        let (w, h) = (3, 3);
        #[rustfmt::skip]
        let labels = [
            0, 0, 0,
            1, 2, 1,
            1, 1, 1,
        ];
        let palette = [[10, 10, 10], [10, 10, 10], [90, 90, 90]];
        let px = image(&labels, &palette);
        let img = ImageView::new(&px, w, h, 3).unwrap();
        let r = find_regions_local(&img, &labels, &palette, 2).unwrap();
        assert_eq!(r.map[4], r.map[0]);
        assert_eq!(r.areas, vec![4, 5]);
    }

    #[test]
    fn clusters_of_speckles_merge_in_rounds_until_min_area() {
        // A checkerboard: every region is one pixel and every neighbour is small.
        let (w, h) = (7, 5);
        let labels: Vec<i32> = (0..w * h).map(|i| ((i % w + i / w) % 2) as i32).collect();
        let palette = [[0, 0, 0], [255, 255, 255]];
        let px = image(&labels, &palette);
        let img = ImageView::new(&px, w, h, 3).unwrap();
        for min_area in [2, 4, 9] {
            let r = find_regions_local(&img, &labels, &palette, min_area).unwrap();
            assert!(r.areas.iter().all(|&a| a >= min_area), "{min_area}: {:?}", r.areas);
            assert_eq!(r.areas.iter().sum::<u64>(), (w * h) as u64);
            let merged: Vec<i32> = r.map.iter().map(|&v| v as i32).collect();
            let (runs, row_start) = crate::regions::runs(&merged, w, h);
            let (_, n) = crate::regions::components(&runs, &row_start);
            assert_eq!(n, r.areas.len(), "every merged region is connected");
        }
    }
}
