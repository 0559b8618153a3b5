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

/// Build the graph of skeleton `bits` (0/1, row-major `w` x `h`).
pub fn build(bits: &[u8], w: usize, h: usize) -> PixelGraph {
    let pixels: Vec<u32> = (0..bits.len()).filter(|&i| bits[i] != 0).map(|i| i as u32).collect();
    // node_of[i] = node id + 1 for node pixels, 0 otherwise (a zeroed allocation is cheap).
    let mut node_of = vec![0u32; bits.len()];
    let mut deg = std::collections::HashMap::with_capacity(pixels.len());
    for &p in &pixels {
        deg.insert(p, degree(bits, w, h, p as usize));
    }
    let mut g = PixelGraph::default();
    for &p in &pixels {
        let i = p as usize;
        let d = deg[&p];
        if d == 2 || node_of[i] != 0 {
            continue;
        }
        let id = g.nodes.len() as u32 + 1;
        let kind = match d {
            0 => NodeKind::Dot,
            1 => NodeKind::End,
            _ => NodeKind::Junction,
        };
        node_of[i] = id;
        let mut cluster = vec![p];
        if kind == NodeKind::Junction {
            // Flood the 8-connected junction pixels into this node.
            let mut k = 0;
            while k < cluster.len() {
                let c = cluster[k] as usize;
                k += 1;
                for q in neighbours(w, h, c) {
                    if bits[q] != 0 && node_of[q] == 0 && deg[&(q as u32)] >= 3 {
                        node_of[q] = id;
                        cluster.push(q as u32);
                    }
                }
            }
            cluster.sort_unstable();
        }
        g.nodes.push(Node { kind, pixels: cluster });
    }
    let mut visited = vec![false; bits.len()];
    let mut touching = std::collections::HashSet::new();
    for n in 0..g.nodes.len() {
        let id = n as u32 + 1;
        for k in 0..g.nodes[n].pixels.len() {
            let start = g.nodes[n].pixels[k] as usize;
            for q in neighbours(w, h, start) {
                if bits[q] == 0 || node_of[q] == id {
                    continue;
                }
                if node_of[q] != 0 {
                    // Two nodes touch: one chain without pixels, recorded once per node pair.
                    let other = node_of[q];
                    if id < other && touching.insert((id, other)) {
                        g.chains.push(Chain { a: Some(id - 1), b: Some(other - 1), pixels: Vec::new() });
                    }
                    continue;
                }
                if visited[q] {
                    continue;
                }
                let (chain_pixels, end) = walk(bits, w, h, &node_of, &mut visited, start, q);
                g.chains.push(Chain { a: Some(n as u32), b: end.map(|e| e - 1), pixels: chain_pixels });
            }
        }
    }
    // Loops: two-neighbour pixels not reached from any node, each walked from its smallest pixel.
    for &p in &pixels {
        let i = p as usize;
        if visited[i] || node_of[i] != 0 {
            continue;
        }
        visited[i] = true;
        // Go towards the smaller-index neighbour first (canonical orientation).
        let Some(first) = neighbours(w, h, i).filter(|&q| bits[q] != 0).min() else { continue };
        let (mut chain_pixels, _) = walk(bits, w, h, &node_of, &mut visited, i, first);
        chain_pixels.insert(0, p);
        g.chains.push(Chain { a: None, b: None, pixels: chain_pixels });
    }
    g
}

/// Walk two-neighbour pixels from `from` (already placed) to `q` onward until a node pixel
/// (returned as its id + 1) or a pixel already walked (a closed loop).
fn walk(
    bits: &[u8],
    w: usize,
    h: usize,
    node_of: &[u32],
    visited: &mut [bool],
    from: usize,
    q: usize,
) -> (Vec<u32>, Option<u32>) {
    let mut out = Vec::new();
    let (mut prev, mut cur) = (from, q);
    loop {
        if node_of[cur] != 0 {
            return (out, Some(node_of[cur]));
        }
        if visited[cur] {
            return (out, None);
        }
        visited[cur] = true;
        out.push(cur as u32);
        // Prefer a node neighbour (other than where we came from) so a chain never steps past
        // the node it ends at; else the one unvisited neighbour.
        let mut next = None;
        for n in neighbours(w, h, cur) {
            if bits[n] == 0 || n == prev {
                continue;
            }
            if node_of[n] != 0 && !(out.len() == 1 && n == from) {
                next = Some(n);
                break;
            }
            if next.is_none() && !visited[n] {
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
