//! Tiled tracing: the whole pipeline of `trace` on an image split into tiles, with output
//! byte-identical to `trace` on the whole image, in memory bounded by the tile size.
//!
//! Every global quantity of the single-array pipeline decomposes over tiles:
//! 1. `tile_histogram` (per tile) -> `palette_from_histograms` (one reduction): distinct colours
//!    with their count and first raster index, summed over tiles, are exactly the histogram
//!    `quantize` builds, so the palette and every pixel's label are the same (also the scan
//!    palette's merges and its paper, `scan::palette`, which read only that histogram).
//! 2. `tile_regions` (per tile): local 4-connected components with their first pixel's global
//!    raster index, area, colour sums and adjacencies, and the component ids along the tile's
//!    border. `seam_links` (per seam): components that continue across the seam (same label)
//!    and components that touch across it. `stitch` (one reduction): union-find over the seam
//!    links gives the global components; numbered by first pixel they get the ids `find_regions`
//!    gives, so speckle merging (`merge_graph`) runs on the same graph with the same ties.
//!    With `TraceOptions::local_merge` (`settle`, `stitch_local`), each tile instead runs the
//!    local merge rounds of `regions::local` itself and sends only the clusters a seam can
//!    reach (condensed stitch nodes) plus one entry per settled region: on noisy input the
//!    stitch's memory follows the seams and the output, not the number of speckles.
//! 3. `tile_arcs` (per tile, with a one-pixel ring of final region ids from the neighbours):
//!    the boundary cracks the tile owns, cut into edges at junctions; edges that end at the tile
//!    border are kept as pieces. Edges wholly inside the tile are fitted here.
//! 4. `assemble` (one reduction): pieces are joined at their exact integer end points into
//!    global edges, oriented and ordered as `boundary::build` would (open edges by their start
//!    junction, closed loops by their top-left crack), fitted once; outlines, shapes and the
//!    SVG follow as in `trace`.
//!
//! Ownership: a tile owns its pixels; the horizontal cracks on lattice rows `y0..y1` and the
//! vertical cracks on lattice columns `x0..x1` of its pixel span (plus the image's bottom and
//! right border cracks for the last row and column of tiles). Every crack has one owner.
//!
//! Limits: opaque images only (holes that hold transparency need a containment test against
//! whole outlines; for the same reason a scan's paper cannot be made transparent here, while
//! `delta_e` and a kept or white background decide from the merged histogram and trace in
//! tiles), no importance weights and no edge guidance (their float sums depend on
//! the order of addition).
//!
//! The centerline mode (`lines`) shares stage 1 and then thins each tile's colours in a
//! window of the skeleton's reach, and one reduction traces the gathered skeletons.
//!
//! Files, by stage: `grid` (the tile grid, a tile's place), `wire` (stage results as bytes),
//! `histogram` (1), `regions` and `settle` (2, per tile and per seam), `stitch` and
//! `stitch_local` (2, the reduction), `arcs` (3), `assemble` (4), `lines` (the centerline
//! mode), `reference` (all stages in one process).

mod arcs;
mod assemble;
mod grid;
mod histogram;
mod lines;
mod reference;
mod regions;
mod settle;
mod stitch;
mod stitch_local;
mod wire;

#[cfg(test)]
mod lines_tests;
#[cfg(test)]
mod tests;

pub use arcs::{tile_arcs, ArcEdge, Piece, TileArcs};
pub use assemble::assemble;
pub use grid::{Grid, TileGeom};
pub use histogram::{
    merge_histograms, palette_from_histograms, tile_histogram, LabelRule, TileHistogram, TiledPalette,
};
pub use lines::{
    assemble_lines, check_core, decode_strokes, encode_strokes, line_plan, line_reach, line_window, resolve_plan,
    runs_of, tile_fringe, tile_lines, trace_colour, write_lines, LinePlan, LineRuns, Runs, TileLines,
};
pub use reference::trace_tiled;
pub use regions::{seam_links, tile_regions, SeamLinks, TileBorder, TileRegions};
pub use stitch::{stitch, RegionTable, TileLinks};
pub use wire::{decode, encode};
