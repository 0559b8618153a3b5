//! Stage 2b, the stitch (one reduction): union-find over the seam links gives the global
//! regions, numbered as `find_regions` numbers them, then speckle merging on the global graph.

use super::grid::Grid;
use super::histogram::TiledPalette;
use super::regions::{SeamLinks, TileBorder, TileRegions, BOTTOM, LEFT, RIGHT, TOP};
use super::stitch_local::stitch_local;
use crate::error::{KernelError, Result};
use crate::regions::{find, mean_colours, merge_graph, NONE};
use crate::trace::TraceOptions;
use serde::{Deserialize, Serialize};

/// Per tile, from the stitch: the final region id of each local component, and the ring of
/// final ids around the tile (NONE outside the image).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct TileLinks {
    pub map: Vec<u32>,
    /// Row above and row below, `width + 2` values each (corners included).
    pub ring_top: Vec<u32>,
    pub ring_bottom: Vec<u32>,
    /// Column left and column right, `height` values each.
    pub ring_left: Vec<u32>,
    pub ring_right: Vec<u32>,
}

/// Per tile the final id of each local component (or slot), and the final regions' areas,
/// colour sums and labels.
pub(super) type Stitched = (Vec<Vec<u32>>, Vec<u64>, Vec<[u64; 3]>, Vec<i32>);

/// The final regions: colour per region id.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RegionTable {
    pub colours: Vec<[u8; 3]>,
    pub palette: usize,
}

/// Union-find over all tiles' components and speckle merging on the global region graph.
/// `tiles` and `borders` are in grid order, `seams` in `Grid::seams` order.
pub fn stitch(
    grid: &Grid,
    tiles: &[TileRegions],
    borders: &[TileBorder],
    seams: &[SeamLinks],
    palette: &TiledPalette,
    opts: &TraceOptions,
) -> Result<(Vec<TileLinks>, RegionTable)> {
    let seam_list = grid.seams();
    if tiles.len() != grid.len() || borders.len() != grid.len() || seams.len() != seam_list.len() {
        return Err(KernelError::InvalidInput(format!(
            "stitch needs {} tiles and {} seams, got {} tiles, {} borders, {} seams",
            grid.len(),
            seam_list.len(),
            tiles.len(),
            borders.len(),
            seams.len()
        )));
    }
    if tiles.iter().any(|t| t.local != opts.local_merge) {
        return Err(KernelError::InvalidInput(
            "tile regions were settled with another local_merge setting than the stitch's".into(),
        ));
    }
    let (maps, areas, sums, labels) = if opts.local_merge {
        stitch_local(&seam_list, tiles, seams, &palette.palette, opts.min_area)?
    } else {
        stitch_global(&seam_list, tiles, seams, opts.min_area)?
    };
    let mut colours = if palette.binary {
        labels.iter().map(|&l| palette.palette[l as usize]).collect()
    } else {
        mean_colours(&areas, &sums)
    };
    crate::scan::background::paint(&mut colours, &labels, &palette.palette, palette.paper, palette.background);
    // Final ids along every tile's border, then each tile's ring from its neighbours.
    let strips: Vec<[Vec<u32>; 4]> = borders
        .iter()
        .enumerate()
        .map(|(t, b)| {
            let m = &maps[t];
            if b.comps.iter().flatten().any(|&c| c != NONE && c as usize >= m.len()) {
                return Err(KernelError::InvalidInput("a tile border names a region the tile does not have".into()));
            }
            let f =
                |v: &Vec<u32>| v.iter().map(|&c| if c == NONE { NONE } else { m[c as usize] }).collect::<Vec<u32>>();
            Ok([f(&b.comps[0]), f(&b.comps[1]), f(&b.comps[2]), f(&b.comps[3])])
        })
        .collect::<Result<_>>()?;
    let (cols, rows) = (grid.cols() as isize, grid.rows() as isize);
    let tile_at = |r: isize, c: isize| -> Option<usize> {
        (r >= 0 && c >= 0 && r < rows && c < cols).then(|| (r * cols + c) as usize)
    };
    let mut links = Vec::with_capacity(tiles.len());
    for (t, map) in maps.into_iter().enumerate() {
        let (_, _, w, h) = grid.rect(t);
        let (r, c) = ((t / grid.cols()) as isize, (t % grid.cols()) as isize);
        let corner = |rr: isize, cc: isize, side: usize, last: bool| -> u32 {
            tile_at(rr, cc).map_or(NONE, |n| {
                let s = &strips[n][side];
                if last {
                    *s.last().unwrap()
                } else {
                    s[0]
                }
            })
        };
        let mut ring_top = vec![NONE; w + 2];
        ring_top[0] = corner(r - 1, c - 1, BOTTOM, true);
        if let Some(n) = tile_at(r - 1, c) {
            ring_top[1..=w].copy_from_slice(&strips[n][BOTTOM]);
        }
        ring_top[w + 1] = corner(r - 1, c + 1, BOTTOM, false);
        let mut ring_bottom = vec![NONE; w + 2];
        ring_bottom[0] = corner(r + 1, c - 1, TOP, true);
        if let Some(n) = tile_at(r + 1, c) {
            ring_bottom[1..=w].copy_from_slice(&strips[n][TOP]);
        }
        ring_bottom[w + 1] = corner(r + 1, c + 1, TOP, false);
        let ring_left = tile_at(r, c - 1).map_or(vec![NONE; h], |n| strips[n][RIGHT].clone());
        let ring_right = tile_at(r, c + 1).map_or(vec![NONE; h], |n| strips[n][LEFT].clone());
        links.push(TileLinks { map, ring_top, ring_bottom, ring_left, ring_right });
    }
    Ok((links, RegionTable { colours, palette: palette.palette.len() }))
}

/// Per tile the final id of each local component, and the final regions' areas, colour sums
/// and labels: union-find over the seams, then `merge_graph` on the global region graph.
fn stitch_global(
    seam_list: &[(usize, usize, bool)],
    tiles: &[TileRegions],
    seams: &[SeamLinks],
    min_area: u64,
) -> Result<Stitched> {
    let mut offset = Vec::with_capacity(tiles.len() + 1);
    let mut total = 0u64;
    for t in tiles {
        offset.push(total as u32);
        total += t.areas.len() as u64;
    }
    if total >= NONE as u64 {
        return Err(KernelError::InvalidInput(format!("{total} components are too many for one image")));
    }
    let total = total as usize;
    let mut parent: Vec<u32> = (0..total as u32).collect();
    for (&(a, b, _), s) in seam_list.iter().zip(seams) {
        for &(ca, cb) in &s.unions {
            if ca as usize >= tiles[a].areas.len() || cb as usize >= tiles[b].areas.len() {
                return Err(KernelError::InvalidInput("seam links name a component the tile does not have".into()));
            }
            let x = find(&mut parent, offset[a] + ca);
            let y = find(&mut parent, offset[b] + cb);
            if x != y {
                parent[x.max(y) as usize] = x.min(y);
            }
        }
    }
    // Global components, numbered by first pixel (the ids `find_regions` gives).
    let mut first = vec![u64::MAX; total];
    for (t, tile) in tiles.iter().enumerate() {
        for (l, &f) in tile.first.iter().enumerate() {
            let r = find(&mut parent, offset[t] + l as u32) as usize;
            first[r] = first[r].min(f);
        }
    }
    let mut roots: Vec<(u64, u32)> =
        (0..total).filter(|&g| parent[g] == g as u32).map(|g| (first[g], g as u32)).collect();
    drop(first);
    roots.sort_unstable();
    let count = roots.len();
    let mut id = vec![NONE; total];
    for (k, &(_, g)) in roots.iter().enumerate() {
        id[g as usize] = k as u32;
    }
    drop(roots);
    for g in 0..total {
        let r = find(&mut parent, g as u32);
        id[g] = id[r as usize];
    }
    drop(parent);
    let mut areas = vec![0u64; count];
    let mut sums = vec![[0u64; 3]; count];
    let mut labels = vec![0i32; count];
    let mut pairs: Vec<(u32, u32)> = Vec::new();
    for (t, tile) in tiles.iter().enumerate() {
        let o = offset[t] as usize;
        for l in 0..tile.areas.len() {
            let r = id[o + l] as usize;
            areas[r] += tile.areas[l];
            for (acc, v) in sums[r].iter_mut().zip(tile.sums[l]) {
                *acc += v;
            }
            labels[r] = tile.labels[l];
        }
        for &(a, b) in &tile.pairs {
            let (x, y) = (id[o + a as usize], id[o + b as usize]);
            if x != y {
                pairs.push((x.min(y), x.max(y)));
            }
        }
    }
    for (&(a, b, _), s) in seam_list.iter().zip(seams) {
        for &(ca, cb) in &s.touches {
            let (x, y) = (id[offset[a] as usize + ca as usize], id[offset[b] as usize + cb as usize]);
            if x != y {
                pairs.push((x.min(y), x.max(y)));
            }
        }
    }
    pairs.sort_unstable();
    pairs.dedup();
    // Speckle merging exactly as `find_regions` decides it.
    let relabel: Option<Vec<u32>> = (min_area > 1 && count > 1 && areas.iter().any(|&a| a < min_area))
        .then(|| merge_graph(&pairs, &mut areas, &mut sums, &mut labels, min_area, None));
    drop(pairs);
    let final_id = |g: usize| -> u32 {
        let r = id[g];
        relabel.as_ref().map_or(r, |m| m[r as usize])
    };
    let maps = tiles
        .iter()
        .enumerate()
        .map(|(t, tile)| (0..tile.areas.len()).map(|l| final_id(offset[t] as usize + l)).collect())
        .collect();
    Ok((maps, areas, sums, labels))
}
