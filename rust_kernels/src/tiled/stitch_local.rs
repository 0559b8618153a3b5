//! Stage 2b with local merging: the stitch runs the merge rounds of `regions::local` on the
//! stitch nodes of all tiles (`super::settle`), joined over the seams; the settled regions of
//! every tile only take their place in the global numbering.

use super::regions::{SeamLinks, TileRegions};
use super::stitch::Stitched;
use crate::error::{KernelError, Result};
use crate::regions::local::{dedup_contacts, merge_rounds, Contact, Graph, Late};
use crate::regions::{find, NONE};

/// Per tile the final id of each slot, and the final regions' areas, colour sums and labels.
pub(super) fn stitch_local(
    seam_list: &[(usize, usize, bool)],
    tiles: &[TileRegions],
    seams: &[SeamLinks],
    palette: &[[u8; 3]],
    min_area: u64,
) -> Result<Stitched> {
    let bad = |m: &str| Err(KernelError::InvalidInput(m.into()));
    let mut offset = Vec::with_capacity(tiles.len());
    let mut total = 0u64;
    for t in tiles {
        let slots = t.areas.len();
        if t.first.len() != slots
            || t.sums.len() != slots
            || t.labels.len() != slots
            || t.start.len() > slots
            || t.late.len() != t.start.len()
        {
            return bad("tile regions have vectors of different lengths");
        }
        if t.labels.iter().any(|&l| l < 0 || l as usize >= palette.len()) {
            return bad("tile regions name a label the palette does not have");
        }
        let nodes = t.start.len() as u32;
        if t.contacts.iter().any(|c| c.from >= nodes || c.to >= nodes) {
            return bad("tile contacts name a node the tile does not have");
        }
        offset.push(total as u32);
        total += nodes as u64;
    }
    if total >= NONE as u64 {
        return Err(KernelError::InvalidInput(format!("{total} stitch nodes are too many for one image")));
    }
    let total = total as usize;
    // Seam unions first: parts of one component in several tiles are one node of round 0.
    let mut parent: Vec<u32> = (0..total as u32).collect();
    let node = |t: usize, c: u32| -> Result<u32> {
        if c as usize >= tiles[t].start.len() {
            return Err(KernelError::InvalidInput("seam links name a node the tile does not have".into()));
        }
        Ok(offset[t] + c)
    };
    for (&(a, b, _), s) in seam_list.iter().zip(seams) {
        for &(ca, cb) in &s.unions {
            let x = find(&mut parent, node(a, ca)?);
            let y = find(&mut parent, node(b, cb)?);
            if x != y {
                parent[x.max(y) as usize] = x.min(y);
            }
        }
    }
    let mut gid = vec![NONE; total];
    let mut g = Graph::default();
    for i in 0..total {
        let r = find(&mut parent, i as u32) as usize;
        if gid[r] == NONE {
            gid[r] = g.areas.len() as u32;
            g.first.push(u64::MAX);
            g.areas.push(0);
            g.sums.push([0; 3]);
            g.labels.push(0);
            g.start.push(u32::MAX);
            g.open.push(false);
            g.late.push(Late::default());
        }
        gid[i] = gid[r];
    }
    drop(parent);
    for (t, tile) in tiles.iter().enumerate() {
        for (s, &start) in tile.start.iter().enumerate() {
            let k = gid[offset[t] as usize + s] as usize;
            g.first[k] = g.first[k].min(tile.first[s]);
            g.areas[k] += tile.areas[s];
            for (acc, v) in g.sums[k].iter_mut().zip(tile.sums[s]) {
                *acc += v;
            }
            g.labels[k] = tile.labels[s];
            g.start[k] = g.start[k].min(start);
            g.late[k].add(&tile.late[s]);
        }
        let o = offset[t] as usize;
        g.contacts.extend(tile.contacts.iter().map(|c| Contact {
            from: gid[o + c.from as usize],
            to: gid[o + c.to as usize],
            ..*c
        }));
    }
    for (&(a, b, _), s) in seam_list.iter().zip(seams) {
        for &(ca, cb, crack) in &s.cracks {
            let (x, y) = (gid[node(a, ca)? as usize], gid[node(b, cb)? as usize]);
            if x != y {
                // Components on a seam: their colours come from the nodes before any merging.
                g.contacts.push(Contact { from: x, to: y, known: false, colour: [0; 3], crack });
                g.contacts.push(Contact { from: y, to: x, known: false, colour: [0; 3], crack });
            }
        }
    }
    dedup_contacts(&mut g.contacts);
    let merged = merge_rounds(&mut g, palette, min_area, false);
    // Final regions: the stitch clusters and every tile's settled regions, numbered by first
    // pixel. Each entry: (first pixel, tile or NONE for a cluster, slot or cluster root).
    let mut order: Vec<(u64, u32, u32)> = Vec::new();
    for (k, &r) in merged.root.iter().enumerate() {
        if r as usize == k {
            order.push((g.first[k], NONE, r));
        }
    }
    for (t, tile) in tiles.iter().enumerate() {
        for s in tile.start.len()..tile.areas.len() {
            order.push((tile.first[s], t as u32, s as u32));
        }
    }
    order.sort_unstable();
    let count = order.len();
    let (mut areas, mut sums, mut labels) =
        (Vec::with_capacity(count), Vec::with_capacity(count), Vec::with_capacity(count));
    let mut maps: Vec<Vec<u32>> = tiles.iter().map(|t| vec![NONE; t.areas.len()]).collect();
    let mut cluster_id = vec![NONE; g.areas.len()];
    for (id, &(_, t, s)) in order.iter().enumerate() {
        let s = s as usize;
        if t == NONE {
            cluster_id[s] = id as u32;
            areas.push(g.areas[s]);
            sums.push(g.sums[s]);
            labels.push(g.labels[s]);
        } else {
            let tile = &tiles[t as usize];
            maps[t as usize][s] = id as u32;
            areas.push(tile.areas[s]);
            sums.push(tile.sums[s]);
            labels.push(tile.labels[s]);
        }
    }
    drop(order);
    for (t, tile) in tiles.iter().enumerate() {
        for s in 0..tile.start.len() {
            maps[t][s] = cluster_id[merged.root[gid[offset[t] as usize + s] as usize] as usize];
        }
    }
    Ok((maps, areas, sums, labels))
}
