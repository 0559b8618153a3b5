//! Stage 2a with local merging (`TraceOptions::local_merge`): a tile runs the merge rounds of
//! `regions::local` on its own components and settles every cluster that nothing outside
//! can reach. Only the rest, condensed into stitch nodes, goes to the stitch: on noisy input
//! the stitch sees the clusters near the seams, not every speckle of every tile.
//!
//! A tile's slots: first the stitch nodes (the round each starts picking in `TileRegions::start`,
//! what was folded into each in `TileRegions::late`, their contacts in `TileRegions::contacts`),
//! then the settled regions (final, no contacts).

use super::grid::TileGeom;
use super::histogram::TiledPalette;
use super::regions::{Local, TileRegions};
use crate::image::ImageView;
use crate::regions::local::{component_contacts, dedup_contacts, merge_rounds, Contact, Graph};
use crate::regions::NONE;

/// Settle a tile's components: its regions as slots (see the module) and the slot of every
/// local component. `img` is the tile, `g` its place, `local` its components (labelled with
/// the global `palette`).
pub(super) fn settle(
    img: &ImageView,
    g: &TileGeom,
    palette: &TiledPalette,
    local: &Local,
    min_area: u64,
) -> (TileRegions, Vec<u32>) {
    let (w, h) = (img.width, img.height);
    let n = local.count;
    let mut gr = Graph {
        first: vec![u64::MAX; n],
        areas: vec![0; n],
        sums: vec![[0; 3]; n],
        labels: vec![0; n],
        start: vec![0; n],
        open: vec![false; n],
        late: Vec::new(),
        contacts: Vec::new(),
    };
    // Sides of the tile that are seams (the image border hides nothing).
    let (top, bottom) = (g.y0 > 0, g.y0 + h < g.height);
    let (left, right) = (g.x0 > 0, g.x0 + w < g.width);
    for (run, &c) in local.runs.iter().zip(&local.comp) {
        let c = c as usize;
        if gr.first[c] == u64::MAX {
            gr.first[c] = ((g.y0 + run.y as usize) * g.width + g.x0 + run.x0 as usize) as u64;
        }
        gr.areas[c] += (run.x1 - run.x0) as u64;
        gr.labels[c] = run.label;
        let y = run.y as usize;
        gr.open[c] |=
            (top && y == 0) || (bottom && y + 1 == h) || (left && run.x0 == 0) || (right && run.x1 as usize == w);
        let base = (y * w + run.x0 as usize) * img.channels;
        let s = &mut gr.sums[c];
        for px in img.data[base..base + (run.x1 - run.x0) as usize * img.channels].chunks_exact(img.channels) {
            s[0] += px[0] as u64;
            s[1] += px[1] as u64;
            s[2] += px[2] as u64;
        }
    }
    let contacts = if min_area > 1 && n > 1 {
        component_contacts(
            &local.runs,
            &local.row_start,
            &local.comp,
            &gr,
            &palette.palette,
            min_area,
            (g.x0, g.y0, g.width),
        )
    } else {
        Vec::new()
    };
    gr.contacts = contacts.clone();
    let merged = merge_rounds(&mut gr, &palette.palette, min_area, true);
    let nodes = merged.condensed.len();
    let mut out = TileRegions {
        first: merged.condensed.iter().map(|c| c.first).collect(),
        areas: merged.condensed.iter().map(|c| c.area).collect(),
        sums: merged.condensed.iter().map(|c| c.sums).collect(),
        labels: merged.condensed.iter().map(|c| c.label).collect(),
        pairs: Vec::new(),
        local: true,
        start: merged.condensed.iter().map(|c| c.round).collect(),
        late: merged.condensed.iter().map(|c| c.late).collect(),
        contacts: Vec::new(),
    };
    // Settled clusters, in component order (any fixed order does: the stitch sorts by first
    // pixel).
    let mut settled = vec![NONE; n];
    let mut slot = vec![NONE; n];
    for (c, slot) in slot.iter_mut().enumerate() {
        if merged.slot[c] != NONE {
            *slot = merged.slot[c];
            continue;
        }
        let r = merged.root[c] as usize;
        if settled[r] == NONE {
            settled[r] = out.areas.len() as u32;
            out.first.push(gr.first[r]);
            out.areas.push(gr.areas[r]);
            out.sums.push(gr.sums[r]);
            out.labels.push(gr.labels[r]);
        }
        *slot = settled[r];
    }
    // Contacts between stitch nodes (no stitch node ever picks a settled region; folded
    // clusters never pick again, but others may still pick them).
    out.contacts = contacts
        .into_iter()
        .filter(|c| !merged.folded[c.from as usize])
        .filter_map(|c| {
            let (a, b) = (slot[c.from as usize], slot[c.to as usize]);
            ((a as usize) < nodes && (b as usize) < nodes && a != b).then_some(Contact { from: a, to: b, ..c })
        })
        .collect();
    dedup_contacts(&mut out.contacts);
    (out, slot)
}
