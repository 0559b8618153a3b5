//! Stage (b): the pixel graph of a skeleton. Nodes are line ends (one neighbour), isolated
//! pixels (dots) and junctions (an 8-connected cluster of pixels with three or more
//! neighbours is ONE node); chains are the runs of two-neighbour pixels between nodes, and
//! closed loops without any node.
//!
//! Canonical numbering: nodes in raster order of their first pixel; chains in the order they
//! are walked from the nodes (node order, then the neighbour ring N, NE, E, ...), then loops
//! by their smallest pixel. Everything depends only on the skeleton bits.

use super::skeleton::degree;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// An isolated skeleton pixel.
    Dot,
    /// A line end (one neighbour).
    End,
    /// A branching (a cluster of pixels with three or more neighbours).
    Junction,
}

#[derive(Clone, Debug)]
pub struct Node {
    pub kind: NodeKind,
    /// Pixel indices (row-major) of the cluster, ascending.
    pub pixels: Vec<u32>,
}

#[derive(Clone, Debug)]
pub struct Chain {
    /// Node at the start; `None` for a closed loop without nodes.
    pub a: Option<u32>,
    /// Node at the end; `None` for a closed loop without nodes.
    pub b: Option<u32>,
    /// The two-neighbour pixels from `a` to `b` (may be empty when two nodes touch).
    pub pixels: Vec<u32>,
}

#[derive(Clone, Debug, Default)]
pub struct PixelGraph {
    pub nodes: Vec<Node>,
    pub chains: Vec<Chain>,
}

const RING: [(isize, isize); 8] = [(0, -1), (1, -1), (1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1)];

#[inline]
fn neighbours(w: usize, h: usize, i: usize) -> impl Iterator<Item = usize> {
    let (x, y) = ((i % w) as isize, (i / w) as isize);
    RING.iter().filter_map(move |&(dx, dy)| {
        let (nx, ny) = (x + dx, y + dy);
        (nx >= 0 && ny >= 0 && (nx as usize) < w && (ny as usize) < h).then(|| ny as usize * w + nx as usize)
    })
}

/// Per-pixel state while building: 0 = background; else bits 0..3 = degree + 1, `NODE` for
/// pixels of a node, `SEEN` for chain pixels already walked.
const NODE: u8 = 0x40;
const SEEN: u8 = 0x80;

/// Node ids of node pixels, sorted by pixel for binary search (node pixels are few: ends and
/// junctions, so no image-sized id map is needed).
struct NodeIds(Vec<(u32, u32)>);

impl NodeIds {
    #[inline]
    fn get(&self, p: usize) -> u32 {
        let k = self.0.binary_search_by_key(&(p as u32), |e| e.0).expect("node pixel has an id");
        self.0[k].1
    }
}

/// Build the graph of skeleton `bits` (0/1, row-major `w` x `h`).
pub fn build(bits: &[u8], w: usize, h: usize) -> PixelGraph {
    let mut pixels: Vec<u32> = Vec::new();
    // Skeleton pixels are sparse: skip zero bytes eight at a time.
    let mut i = 0;
    while i < bits.len() {
        if i + 8 <= bits.len() && u64::from_ne_bytes(bits[i..i + 8].try_into().unwrap()) == 0 {
            i += 8;
            continue;
        }
        if bits[i] != 0 {
            pixels.push(i as u32);
        }
        i += 1;
    }
    let mut state = vec![0u8; bits.len()];
    for &p in &pixels {
        state[p as usize] = 1 + degree(bits, w, h, p as usize) as u8;
    }
    let deg = |state: &[u8], q: usize| (state[q] & 0x0f) as u32 - 1;
    let mut g = PixelGraph::default();
    let mut ids: Vec<(u32, u32)> = Vec::new();
    for &p in &pixels {
        let i = p as usize;
        let d = deg(&state, i);
        if d == 2 || state[i] & NODE != 0 {
            continue;
        }
        let id = g.nodes.len() as u32;
        let kind = match d {
            0 => NodeKind::Dot,
            1 => NodeKind::End,
            _ => NodeKind::Junction,
        };
        state[i] |= NODE;
        let mut cluster = vec![p];
        if kind == NodeKind::Junction {
            // Flood the 8-connected junction pixels into this node.
            let mut k = 0;
            while k < cluster.len() {
                let c = cluster[k] as usize;
                k += 1;
                for q in neighbours(w, h, c) {
                    if state[q] != 0 && state[q] & NODE == 0 && deg(&state, q) >= 3 {
                        state[q] |= NODE;
                        cluster.push(q as u32);
                    }
                }
            }
            cluster.sort_unstable();
        }
        ids.extend(cluster.iter().map(|&c| (c, id)));
        g.nodes.push(Node { kind, pixels: cluster });
    }
    ids.sort_unstable();
    let ids = NodeIds(ids);
    let mut touching = std::collections::BTreeSet::new();
    for n in 0..g.nodes.len() {
        let id = n as u32;
        for k in 0..g.nodes[n].pixels.len() {
            let start = g.nodes[n].pixels[k] as usize;
            for q in neighbours(w, h, start) {
                if state[q] == 0 {
                    continue;
                }
                if state[q] & NODE != 0 {
                    // Two nodes touch: one chain without pixels, recorded once per node pair.
                    let other = ids.get(q);
                    if id < other && touching.insert((id, other)) {
                        g.chains.push(Chain { a: Some(id), b: Some(other), pixels: Vec::new() });
                    }
                    continue;
                }
                if state[q] & SEEN != 0 {
                    continue;
                }
                let (chain_pixels, end) = walk(&mut state, w, h, &ids, start, q);
                g.chains.push(Chain { a: Some(id), b: end, pixels: chain_pixels });
            }
        }
    }
    // Loops: two-neighbour pixels not reached from any node, each walked from its smallest pixel.
    for &p in &pixels {
        let i = p as usize;
        if state[i] & (SEEN | NODE) != 0 {
            continue;
        }
        state[i] |= SEEN;
        // Go towards the smaller-index neighbour first (canonical orientation).
        let Some(first) = neighbours(w, h, i).filter(|&q| state[q] != 0).min() else { continue };
        let (mut chain_pixels, _) = walk(&mut state, w, h, &ids, i, first);
        chain_pixels.insert(0, p);
        g.chains.push(Chain { a: None, b: None, pixels: chain_pixels });
    }
    g
}

/// Walk two-neighbour pixels from `from` (already placed) to `q` onward until a node pixel
/// (returned as its id) or a pixel already walked (a closed loop).
fn walk(state: &mut [u8], w: usize, h: usize, ids: &NodeIds, from: usize, q: usize) -> (Vec<u32>, Option<u32>) {
    let mut out = Vec::new();
    let (mut prev, mut cur) = (from, q);
    loop {
        if state[cur] & NODE != 0 {
            return (out, Some(ids.get(cur)));
        }
        if state[cur] & SEEN != 0 {
            return (out, None);
        }
        state[cur] |= SEEN;
        out.push(cur as u32);
        // Prefer a node neighbour (other than where we came from) so a chain never steps past
        // the node it ends at; else the one unwalked neighbour.
        let mut next = None;
        for n in neighbours(w, h, cur) {
            if state[n] == 0 || n == prev {
                continue;
            }
            if state[n] & NODE != 0 && !(out.len() == 1 && n == from) {
                next = Some(n);
                break;
            }
            if next.is_none() && state[n] & SEEN == 0 {
                next = Some(n);
            }
        }
        match next {
            Some(n) => {
                prev = cur;
                cur = n;
            }
            None => return (out, None),
        }
    }
}
