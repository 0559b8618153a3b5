//! Stage (c): the stroke graph from the pixel graph. Junctions closer than the stroke width
//! merge into one node (an X is one crossing, not two T's joined by a stub) and move to
//! where their straight branches' lines meet (`refine_junctions`); spurs (a branch
//! from a junction to a line end shorter than the stroke width there) are thinning noise and
//! go; then at each junction the branches that continue each other (smallest turn, under
//! `MAX_TURN`) are paired, so a line crossing an X or passing a T stays one path.

use super::graph::{NodeKind, PixelGraph};
use super::ink::Ink;
use crate::fit::Pt;

/// Largest turn (degrees) at which two branches meeting at a junction are one line.
pub const MAX_TURN_DEG: f64 = 40.0;

#[derive(Clone, Debug)]
pub struct GNode {
    pub kind: NodeKind,
    pub pos: Pt,
    /// Radius of the largest ink disc on the node (the inscribed radius at a junction).
    pub radius: f64,
    /// Smallest pixel index of the node: its canonical key.
    pub key: u32,
}

#[derive(Clone, Debug)]
pub struct GChain {
    pub a: Option<usize>,
    pub b: Option<usize>,
    /// Pixel centres from `a` to `b` (node pixels excluded).
    pub pts: Vec<Pt>,
    /// Pixel indices matching `pts` (canonical keys).
    pub pixels: Vec<u32>,
}

#[inline]
pub fn dist(a: Pt, b: Pt) -> f64 {
    ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt()
}

/// One path through the stroke graph: chains in order, each walked forward (a -> b) or not.
#[derive(Clone, Debug)]
pub struct PathPlan {
    pub steps: Vec<(usize, bool)>,
    pub closed: bool,
}

pub struct StrokeGraph {
    pub nodes: Vec<GNode>,
    pub chains: Vec<GChain>,
    pub paths: Vec<PathPlan>,
    /// Nodes with no chain left: dots.
    pub dots: Vec<usize>,
}

struct Dsu(Vec<usize>);
impl Dsu {
    fn find(&mut self, x: usize) -> usize {
        let mut r = x;
        while self.0[r] != r {
            r = self.0[r];
        }
        let mut y = x;
        while self.0[y] != r {
            let n = self.0[y];
            self.0[y] = r;
            y = n;
        }
        r
    }
}

/// Simplify the pixel graph and pair branches into paths.
pub fn stroke_graph(g: &PixelGraph, ink: &Ink) -> StrokeGraph {
    // Merge junction clusters joined by a chain shorter than the stroke width there.
    let n = g.nodes.len();
    let mut dsu = Dsu((0..n).collect());
    let radius: Vec<f64> =
        g.nodes.iter().map(|nd| nd.pixels.iter().map(|&p| ink.radius(p)).fold(0.0, f64::max)).collect();
    let centre = |pixels: &[u32]| {
        let s = pixels.iter().fold((0.0, 0.0), |s, &p| {
            let c = ink.centre(p);
            (s.0 + c.x, s.1 + c.y)
        });
        Pt::new(s.0 / pixels.len() as f64, s.1 / pixels.len() as f64)
    };
    let pos0: Vec<Pt> = g.nodes.iter().map(|nd| centre(&nd.pixels)).collect();
    let mut merged_chain = vec![false; g.chains.len()];
    for (k, c) in g.chains.iter().enumerate() {
        let (Some(a), Some(b)) = (c.a, c.b) else { continue };
        let (a, b) = (a as usize, b as usize);
        if g.nodes[a].kind != NodeKind::Junction || g.nodes[b].kind != NodeKind::Junction {
            continue;
        }
        let len = c.pixels.len() as f64 + 1.0;
        if a != b && len <= 2.0 * radius[a].max(radius[b]) {
            let (ra, rb) = (dsu.find(a), dsu.find(b));
            if ra != rb {
                dsu.0[ra.max(rb)] = ra.min(rb);
            }
            merged_chain[k] = true;
        }
    }
    // New nodes: one per root, in order of the root (roots are the smallest member, so the
    // order stays the raster order of first pixels).
    let mut new_id = vec![usize::MAX; n];
    let mut nodes: Vec<GNode> = Vec::new();
    let mut members: Vec<Vec<u32>> = Vec::new();
    for i in 0..n {
        let r = dsu.find(i);
        if new_id[r] == usize::MAX {
            new_id[r] = nodes.len();
            nodes.push(GNode { kind: g.nodes[r].kind, pos: pos0[r], radius: radius[r], key: g.nodes[r].pixels[0] });
            members.push(Vec::new());
        }
        let id = new_id[r];
        new_id[i] = id;
        members[id].extend_from_slice(&g.nodes[i].pixels);
        nodes[id].radius = nodes[id].radius.max(radius[i]);
        nodes[id].key = nodes[id].key.min(g.nodes[i].pixels[0]);
    }
    for (id, m) in members.iter().enumerate() {
        nodes[id].pos = centre(m);
    }
    let mut chains: Vec<GChain> = Vec::with_capacity(g.chains.len());
    for (k, c) in g.chains.iter().enumerate() {
        if merged_chain[k] {
            continue;
        }
        let a = c.a.map(|a| new_id[a as usize]);
        let b = c.b.map(|b| new_id[b as usize]);
        // A chain from a merged node back to itself shorter than the width is a stub loop.
        if a.is_some() && a == b && c.pixels.len() as f64 <= 4.0 * nodes[a.unwrap()].radius {
            continue;
        }
        chains.push(GChain { a, b, pts: c.pixels.iter().map(|&p| ink.centre(p)).collect(), pixels: c.pixels.clone() });
    }
    // Nodes with no chain before pruning are dots (an isolated pixel or a small blob).
    let mut has_chain = vec![false; nodes.len()];
    for c in &chains {
        for e in [c.a, c.b].into_iter().flatten() {
            has_chain[e] = true;
        }
    }
    // Junctions first move to where their branches meet (spurs are too short to read a
    // line from), so a branch's length below is measured from the true join.
    let mut all: Vec<Vec<(usize, bool)>> = vec![Vec::new(); nodes.len()];
    for (k, c) in chains.iter().enumerate() {
        if let Some(a) = c.a {
            all[a].push((k, true));
        }
        if let Some(b) = c.b {
            all[b].push((k, false));
        }
    }
    refine_junctions(&mut nodes, &chains, &all, ink);
    let mut alive = vec![true; chains.len()];
    prune_spurs(&nodes, &chains, &mut alive, ink);
    let chains: Vec<GChain> = chains.into_iter().zip(&alive).filter(|(_, &a)| a).map(|(c, _)| c).collect();
    // Incident chain ends per node: (chain, at_start).
    let mut inc: Vec<Vec<(usize, bool)>> = vec![Vec::new(); nodes.len()];
    for (k, c) in chains.iter().enumerate() {
        if let Some(a) = c.a {
            inc[a].push((k, true));
        }
        if let Some(b) = c.b {
            inc[b].push((k, false));
        }
    }
    let mut dots = Vec::new();
    for (i, nd) in nodes.iter_mut().enumerate() {
        match inc[i].len() {
            0 if !has_chain[i] => {
                nd.kind = NodeKind::Dot;
                dots.push(i);
            }
            0 => {} // the end of a pruned spur
            1 => nd.kind = NodeKind::End,
            _ => {}
        }
    }
    // Pair branch ends at each node. link[2k + (0 at start | 1 at end)] = partner slot.
    let slot = |(k, at_start): (usize, bool)| 2 * k + (!at_start) as usize;
    let mut link = vec![usize::MAX; 2 * chains.len()];
    for (i, ends) in inc.iter().enumerate() {
        if ends.len() == 2 {
            let (s, t) = (slot(ends[0]), slot(ends[1]));
            if s != t {
                link[s] = t;
                link[t] = s;
            }
            continue;
        }
        if ends.len() < 3 {
            continue;
        }
        let reach = (2.0 * nodes[i].radius).max(3.0);
        let dirs: Vec<Pt> =
            ends.iter().map(|&(k, at_start)| leaving(&chains[k], at_start, nodes[i].pos, reach)).collect();
        let mut pairs: Vec<(f64, usize, usize)> = Vec::new();
        for p in 0..ends.len() {
            for q in p + 1..ends.len() {
                // Turn between arriving along -dirs[p] and leaving along dirs[q].
                let c = -(dirs[p].x * dirs[q].x + dirs[p].y * dirs[q].y);
                let turn = c.clamp(-1.0, 1.0).acos().to_degrees();
                if turn <= MAX_TURN_DEG {
                    pairs.push((turn, p, q));
                }
            }
        }
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        let mut used = vec![false; ends.len()];
        for (_, p, q) in pairs {
            if used[p] || used[q] {
                continue;
            }
            used[p] = true;
            used[q] = true;
            let (s, t) = (slot(ends[p]), slot(ends[q]));
            link[s] = t;
            link[t] = s;
        }
    }
    let paths = assemble(&chains, &link);
    StrokeGraph { nodes, chains, paths, dots }
}

/// Move each junction of three or more branches to where its branches' lines meet. The
/// skeleton's branch cluster sits off the true join (thinning pulls a T's branch point
/// towards its stem and a Y's towards its widest gap), while each branch, read beyond the
/// junction's distortion (from one to about three radii out), runs straight at the join:
/// the point nearest to all those lines (least squares) is the join. Kept only when at
/// least three branches are straight there, their lines cross well (not all nearly
/// parallel) and the point lies in the ink near the cluster; otherwise the cluster's
/// centre stays.
fn refine_junctions(nodes: &mut [GNode], chains: &[GChain], inc: &[Vec<(usize, bool)>], ink: &Ink) {
    for (i, ends) in inc.iter().enumerate() {
        if ends.len() < 3 || nodes[i].kind != NodeKind::Junction {
            continue;
        }
        let (pos, r) = (nodes[i].pos, nodes[i].radius.max(0.5));
        let (near, far) = (r + 1.0, 3.0 * r + 3.0);
        // Normal equations of sum |(I - d d^T)(x - c)|^2 over the branch lines (c, d).
        let (mut a11, mut a12, mut a22, mut b1, mut b2) = (0.0, 0.0, 0.0, 0.0, 0.0);
        let mut lines = 0;
        for &(k, at_start) in ends {
            let c = &chains[k];
            let n = c.pts.len();
            let sel: Vec<Pt> = (0..n)
                .map(|j| c.pts[if at_start { j } else { n - 1 - j }])
                .skip_while(|&p| dist(p, pos) < near)
                .take_while(|&p| dist(p, pos) < far)
                .collect();
            if sel.len() < 3 || dist(sel[0], sel[sel.len() - 1]) < 2.0 {
                continue;
            }
            // The branch's line: through the points' mean along their principal direction.
            let m = sel.len() as f64;
            let mean = sel.iter().fold(Pt::new(0.0, 0.0), |s, p| Pt::new(s.x + p.x / m, s.y + p.y / m));
            let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
            for p in &sel {
                let (dx, dy) = (p.x - mean.x, p.y - mean.y);
                sxx += dx * dx;
                sxy += dx * dy;
                syy += dy * dy;
            }
            // A curved branch (a letter's bowl) has no line to read: its points stray from
            // their best line by more than a straight staircase's (about 0.3 px RMS).
            let minor = 0.5 * (sxx + syy) - (0.25 * (sxx - syy).powi(2) + sxy * sxy).sqrt();
            if minor / m > 0.16 {
                continue;
            }
            let theta = 0.5 * (2.0 * sxy).atan2(sxx - syy);
            let (dx, dy) = (theta.cos(), theta.sin());
            let (p11, p12, p22) = (1.0 - dx * dx, -dx * dy, 1.0 - dy * dy);
            a11 += p11;
            a12 += p12;
            a22 += p22;
            b1 += p11 * mean.x + p12 * mean.y;
            b2 += p12 * mean.x + p22 * mean.y;
            lines += 1;
        }
        let det = a11 * a22 - a12 * a12;
        // det is small when every line runs nearly the same way (no crossing to read).
        if lines < 3 || det < 0.1 * lines as f64 {
            continue;
        }
        let x = Pt::new((a22 * b1 - a12 * b2) / det, (a11 * b2 - a12 * b1) / det);
        if dist(x, pos) <= r + 1.0 && ink.at(x) {
            nodes[i].pos = x;
        }
    }
}

/// Unit direction in which chain `k` leaves the node at `pos` (its start when `at_start`),
/// measured to the chain point about `reach` away.
fn leaving(c: &GChain, at_start: bool, pos: Pt, reach: f64) -> Pt {
    let mut far = None;
    let n = c.pts.len();
    for j in 0..n {
        let p = c.pts[if at_start { j } else { n - 1 - j }];
        far = Some(p);
        if dist(p, pos) >= reach {
            break;
        }
    }
    let far = far.unwrap_or(pos);
    let d = dist(far, pos);
    if d > 0.0 {
        Pt::new((far.x - pos.x) / d, (far.y - pos.y) / d)
    } else {
        Pt::new(0.0, 0.0)
    }
}

/// The point of chain `c` about `reach` from `pos` along it, leaving the node at its start
/// when `at_start` (its last point when it is shorter).
fn point_along(c: &GChain, at_start: bool, pos: Pt, reach: f64) -> Option<Pt> {
    let n = c.pts.len();
    let mut out = None;
    for j in 0..n {
        let p = c.pts[if at_start { j } else { n - 1 - j }];
        out = Some(p);
        if dist(p, pos) >= reach {
            break;
        }
    }
    out
}

/// Whether the short branch `spur` (to the line end `end`) of a three-branch junction is the
/// tip of a sharp corner: the two other branches, continued as straight lines from where
/// they leave the junction's distortion, meet at the branch's end (the 1's flag meeting its
/// stem at the top). A real short line (an n's stem above its arch) leaves the corner of its
/// two neighbours' lines behind.
fn ends_at_apex(nodes: &[GNode], chains: &[GChain], at: &[usize], j: usize, spur: usize, end: usize) -> bool {
    let pos = nodes[j].pos;
    let r = nodes[j].radius.max(0.5);
    let tip = nodes[end].pos;
    let len = dist(tip, pos);
    // Only short branches: up to a few widths (a corner of 20 degrees puts its tip about
    // three widths from where the skeleton branches).
    if len > 8.0 * r + 3.0 {
        return false;
    }
    let legs: Vec<usize> = at.iter().copied().filter(|&k| k != spur).collect();
    if legs.len() != 2 {
        return false;
    }
    let reach = (2.0 * r).max(3.0) + len;
    let mut lines = Vec::new();
    for &k in &legs {
        let c = &chains[k];
        let s = c.a == Some(j);
        let (Some(p1), Some(p2)) = (point_along(c, s, pos, reach), point_along(c, s, pos, 2.0 * reach)) else {
            return false;
        };
        if dist(p1, p2) < 1.0 {
            return false;
        }
        lines.push((p1, p2));
    }
    let ((a1, a2), (b1, b2)) = (lines[0], lines[1]);
    let (u, v) = (Pt::new(a1.x - a2.x, a1.y - a2.y), Pt::new(b1.x - b2.x, b1.y - b2.y));
    let den = u.x * v.y - u.y * v.x;
    let (lu, lv) = ((u.x * u.x + u.y * u.y).sqrt(), (v.x * v.x + v.y * v.y).sqrt());
    if den.abs() < 0.1 * lu * lv {
        return false; // nearly parallel legs: no corner
    }
    let wv = Pt::new(b1.x - a1.x, b1.y - a1.y);
    let t = (wv.x * v.y - wv.y * v.x) / den;
    let apex = Pt::new(a1.x + u.x * t, a1.y + u.y * t);
    // The legs must run towards the apex (it lies beyond the junction, on the tip's side).
    t > 0.0 && dist(apex, tip) <= r.max(1.0) + 1.0
}

/// Longest branch (pixels, junction centre to line end) that is a spur at a junction of
/// radius `r`: such a branch reaches from the junction little further than to the ink's edge
/// (a bump of the outline, a corner of a thick line), while a real line leaves the junction's
/// disc by more than its own width.
fn spur_limit(r: f64) -> f64 {
    r + (0.5 * r).max(1.0) + 1.0
}

/// At a junction of three branches, the longest branch `spur` that is the spur thinning
/// leaves at the outer corner of a thick line's corner: it runs from the junction to the
/// corner's apex, `r / sin(angle / 2)` away for legs meeting at `angle`, so sharp corners
/// leave long spurs. A real third line is longer than that by more than its width.
fn corner_spur_limit(nodes: &[GNode], chains: &[GChain], at: &[usize], j: usize, spur: usize, ink: &Ink) -> f64 {
    let pos = nodes[j].pos;
    let r = nodes[j].radius;
    // The ink narrows along a corner spur towards the apex (to about half the legs' radius
    // half-way), while a real line keeps its width: only a narrowing branch is a spur here.
    let sp = &chains[spur].pixels;
    if sp.len() < 2 {
        return 0.0;
    }
    let leg_radius = at
        .iter()
        .filter(|&&k| k != spur && !chains[k].pixels.is_empty())
        .map(|&k| {
            let c = &chains[k];
            let i = (3.0 * r) as usize;
            let px = if c.a == Some(j) {
                c.pixels[i.min(c.pixels.len() - 1)]
            } else {
                c.pixels[c.pixels.len() - 1 - i.min(c.pixels.len() - 1)]
            };
            ink.radius(px)
        })
        .fold(f64::INFINITY, f64::min);
    if ink.radius(sp[sp.len() / 2]) >= 0.75 * leg_radius {
        return 0.0;
    }
    let reach = (3.0 * r).max(4.0);
    let legs: Vec<Pt> =
        at.iter().filter(|&&k| k != spur).map(|&k| leaving(&chains[k], chains[k].a == Some(j), pos, reach)).collect();
    if legs.len() != 2 {
        return 0.0;
    }
    let cos = (legs[0].x * legs[1].x + legs[0].y * legs[1].y).clamp(-1.0, 1.0);
    let half = 0.5 * cos.acos().max(10f64.to_radians());
    r / half.sin() + r.max(1.0) + 1.0
}

/// Remove spurs: chains from a junction to a line end shorter than the stroke width at the
/// junction. Repeated until nothing changes (a removed spur may leave a new one); when every
/// branch of a junction is a spur, the longest stays.
fn prune_spurs(nodes: &[GNode], chains: &[GChain], alive: &mut [bool], ink: &Ink) {
    for _ in 0..4 {
        let mut deg = vec![0usize; nodes.len()];
        for (c, _) in chains.iter().zip(alive.iter()).filter(|(_, &a)| a) {
            for e in [c.a, c.b].into_iter().flatten() {
                deg[e] += 1;
            }
        }
        // Alive chains at each node (a chain from a node to itself is listed twice).
        let mut at: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
        for (k, c) in chains.iter().enumerate().filter(|&(k, _)| alive[k]) {
            for e in [c.a, c.b].into_iter().flatten() {
                at[e].push(k);
            }
        }
        // Spur candidates per junction: (length, chain).
        let mut cand: Vec<Vec<(f64, usize)>> = vec![Vec::new(); nodes.len()];
        for (k, c) in chains.iter().enumerate() {
            if !alive[k] {
                continue;
            }
            let (Some(a), Some(b)) = (c.a, c.b) else { continue };
            for (j, e) in [(a, b), (b, a)] {
                if deg[j] >= 3 && deg[e] == 1 && nodes[j].kind == NodeKind::Junction {
                    // Counted in pixel steps from the junction's cluster (a merged junction's
                    // centre can lie a few pixels from where the spur leaves it).
                    let len = c.pixels.len() as f64 + 1.0;
                    if len < spur_limit(nodes[j].radius)
                        || (deg[j] == 3 && len < corner_spur_limit(nodes, chains, &at[j], j, k, ink))
                        || (deg[j] == 3 && ends_at_apex(nodes, chains, &at[j], j, k, e))
                    {
                        cand[j].push((len, k));
                    }
                }
            }
        }
        let mut changed = false;
        for (j, mut cs) in cand.into_iter().enumerate() {
            if cs.is_empty() {
                continue;
            }
            cs.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            // When every branch is a spur (a small blob), the longest stays.
            let keep = if cs.len() >= deg[j] { 1 } else { 0 };
            for &(_, k) in &cs[..cs.len() - keep] {
                if alive[k] {
                    alive[k] = false;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
}

/// Follow the pairing links into paths: open paths from each unpaired chain end first (in
/// chain order), then the remaining chains form closed paths.
fn assemble(chains: &[GChain], link: &[usize]) -> Vec<PathPlan> {
    let mut used = vec![false; chains.len()];
    let mut paths = Vec::new();
    let walk_from = |start_slot: usize, used: &mut Vec<bool>| {
        let mut steps = Vec::new();
        let mut s = start_slot;
        loop {
            let k = s / 2;
            if used[k] {
                return (steps, true);
            }
            used[k] = true;
            let forward = s % 2 == 0;
            steps.push((k, forward));
            let exit = if forward { 2 * k + 1 } else { 2 * k };
            let next = link[exit];
            if next == usize::MAX {
                return (steps, false);
            }
            s = next;
        }
    };
    for k in 0..chains.len() {
        for s in [2 * k, 2 * k + 1] {
            let open_end = link[s] == usize::MAX && !(chains[k].a.is_none() && chains[k].b.is_none());
            if open_end && !used[k] {
                let (steps, _) = walk_from(s, &mut used);
                paths.push(PathPlan { steps, closed: false });
            }
        }
    }
    for k in 0..chains.len() {
        if !used[k] {
            let (steps, _) = walk_from(2 * k, &mut used);
            paths.push(PathPlan { steps, closed: true });
        }
    }
    paths
}

/// Pixel key of where a path starts and ends: the end node's key, or for a chain end
/// without a node, its end pixel.
pub fn end_keys(g: &StrokeGraph, plan: &PathPlan) -> (u32, u32) {
    let key_at = |k: usize, at_start: bool| {
        let c = &g.chains[k];
        let node = if at_start { c.a } else { c.b };
        match node {
            Some(n) => g.nodes[n].key,
            None => {
                let px = if at_start { c.pixels.first() } else { c.pixels.last() };
                px.copied().unwrap_or(u32::MAX)
            }
        }
    };
    let (k0, f0) = plan.steps[0];
    let (k1, f1) = plan.steps[plan.steps.len() - 1];
    (key_at(k0, f0), key_at(k1, !f1))
}

/// Canonical orientation and order of the paths: an open path runs from its smaller end key
/// to the larger; a closed path through nodes starts at its node with the smallest key and
/// leaves it along the chain whose first pixel is smaller; paths sorted by start key (then
/// end key, then the smallest pixel of their first chain).
pub fn canonical(g: &mut StrokeGraph) {
    let reverse = |plan: &mut PathPlan| {
        plan.steps.reverse();
        for s in plan.steps.iter_mut() {
            s.1 = !s.1;
        }
    };
    let mut paths = std::mem::take(&mut g.paths);
    for plan in paths.iter_mut() {
        if !plan.closed {
            let (a, b) = end_keys(g, plan);
            if b < a {
                reverse(plan);
            }
            continue;
        }
        let entry = |&(k, f): &(usize, bool)| {
            let c = &g.chains[k];
            if f {
                c.a
            } else {
                c.b
            }
        };
        if entry(&plan.steps[0]).is_none() {
            continue; // a loop without nodes already starts at its smallest pixel
        }
        let best = (0..plan.steps.len()).min_by_key(|&j| (g.nodes[entry(&plan.steps[j]).unwrap()].key, j)).unwrap();
        plan.steps.rotate_left(best);
        let first_px = |&(k, f): &(usize, bool)| {
            let c = &g.chains[k];
            (if f { c.pixels.first() } else { c.pixels.last() }).copied().unwrap_or(u32::MAX)
        };
        let out_px = first_px(&plan.steps[0]);
        let last = plan.steps[plan.steps.len() - 1];
        let back_px = first_px(&(last.0, !last.1));
        if back_px < out_px {
            // Reversed, the path still starts at the same node (it is closed).
            reverse(plan);
        }
    }
    let mut keyed: Vec<((u32, u32, u32), PathPlan)> = paths
        .into_iter()
        .map(|p| {
            let (a, b) = end_keys(g, &p);
            let c = &g.chains[p.steps[0].0];
            let first = c.pixels.iter().copied().min().unwrap_or(u32::MAX);
            ((a, b, first), p)
        })
        .collect();
    keyed.sort_by_key(|(k, _)| *k);
    g.paths = keyed.into_iter().map(|(_, p)| p).collect();
}
