//! The boundary graph on small label maps: edges, junctions, islands, diagonal pixels, outlines,
//! holes and transparency.

use super::*;

fn graph(map: &[u32], w: usize, h: usize) -> BoundaryGraph {
    let n = map.iter().filter(|&&v| v != NONE).map(|&v| v as usize + 1).max().unwrap_or(0);
    build(map, w, h, n)
}

/// The lattice polygon of a cycle (consecutive duplicates removed).
fn polygon(g: &BoundaryGraph, cycle: &[HalfEdge]) -> Vec<(i32, i32)> {
    let mut out: Vec<(i32, i32)> = Vec::new();
    for he in cycle {
        let e = &g.edges[he.edge as usize];
        let mut pts = e.points.clone();
        if e.closed {
            pts.push(pts[0]);
        }
        if !he.forward {
            pts.reverse();
        }
        for p in pts {
            if out.last() != Some(&p) {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn single_pixel_is_one_closed_edge() {
    let g = graph(&[0], 1, 1);
    assert_eq!(g.edges.len(), 1);
    let e = &g.edges[0];
    assert!(e.closed);
    assert_eq!(e.points, vec![(0, 0), (1, 0), (1, 1), (0, 1)]);
    assert_eq!((e.left, e.right), (NONE, 0));
    assert_eq!(g.outlines[0].outer, vec![HalfEdge { edge: 0, forward: false }]);
    assert_eq!(g.outlines[0].filled_area, 1);
}

#[test]
fn island_with_hole() {
    // 0 surrounds 1: region 0 has an outer boundary and one hole; region 1 only an outer.
    #[rustfmt::skip]
    let map = [
        0, 0, 0, 0,
        0, 1, 1, 0,
        0, 1, 1, 0,
        0, 0, 0, 0,
    ];
    let g = graph(&map, 4, 4);
    assert_eq!(g.edges.len(), 2);
    assert!(g.edges.iter().all(|e| e.closed));
    assert_eq!(g.outlines[0].holes.len(), 1);
    assert_eq!(g.outlines[0].filled_area, 16);
    assert_eq!(g.outlines[1].filled_area, 4);
    // The shared edge is used once by each side, in opposite directions.
    assert_eq!(g.outlines[0].holes[0][0].edge, g.outlines[1].outer[0].edge);
    assert_ne!(g.outlines[0].holes[0][0].forward, g.outlines[1].outer[0].forward);
    assert_eq!(cycle_area2(&g.edges, &g.outlines[0].holes[0]), 8);
}

#[test]
fn three_regions_share_junction_edges() {
    #[rustfmt::skip]
    let map = [
        0, 0, 1, 1,
        0, 0, 1, 1,
        2, 2, 2, 2,
    ];
    let g = graph(&map, 4, 3);
    // Junctions: (2,0) top border, (0,2) left border, (4,2) right border, (2,2) inner.
    // Every edge is owned by two different sides.
    for e in &g.edges {
        assert_ne!(e.left, e.right);
        assert!(!e.closed);
    }
    // The edge between 0 and 1 is the vertical crack x=2 from y=0 to y=2.
    let e01 = g.edges.iter().find(|e| (e.left.min(e.right), e.left.max(e.right)) == (0, 1)).unwrap();
    let mut pts = e01.points.clone();
    pts.sort();
    assert_eq!(pts, vec![(2, 0), (2, 2)]);
    assert_eq!(polygon(&g, &g.outlines[0].outer).len(), 5); // 4 corners + junction (2,2)... closed walk
    for (r, area) in [(0, 4), (1, 4), (2, 4)] {
        assert_eq!(g.outlines[r].filled_area, area);
        assert!(g.outlines[r].holes.is_empty());
    }
}

#[test]
fn diagonal_pixels_stay_apart() {
    // Saddle: regions 0 and 3 touch only at a corner; 1 and 2 are the other diagonal.
    #[rustfmt::skip]
    let map = [
        0, 1,
        2, 3,
    ];
    let g = graph(&map, 2, 2);
    for r in 0..4 {
        assert_eq!(g.outlines[r].filled_area, 1, "region {r}");
        assert!(g.outlines[r].holes.is_empty());
    }
    // Same region on both diagonals (connected around): 0 touches itself diagonally at (2,2).
    #[rustfmt::skip]
    let map = [
        0, 0, 0, 0,
        0, 1, 0, 0,
        0, 0, 2, 0,
        0, 0, 0, 0,
    ];
    let g = graph(&map, 4, 4);
    // For 4-connected region 0 the two diagonal pixels form one (figure-eight) hole.
    assert_eq!(g.outlines[0].holes.len(), 1);
    assert_eq!(g.outlines[0].filled_area, 16);
    assert_eq!(cycle_area2(&g.edges, &g.outlines[0].holes[0]), 4);
    assert_eq!(g.outlines[1].filled_area, 1);
    assert_eq!(g.outlines[2].filled_area, 1);
}

#[test]
fn holes_holding_transparency_are_found() {
    // Region 0 is a ring with two holes: one transparent pixel, one holding region 1,
    // and region 1 itself holds a transparent pixel inside ring 0's second hole.
    #[rustfmt::skip]
    let map = [
        0, 0, 0, 0, 0, 0, 0, 0,
        0, NONE, 0, 1, 1, 1, 0, 0,
        0, 0, 0, 1, NONE, 1, 0, 0,
        0, 0, 0, 1, 1, 1, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0,
    ];
    let g = graph(&map, 8, 5);
    let t = transparent_holes(&g, &map);
    assert_eq!(t[0], vec![true, true]);
    assert_eq!(t[1], vec![true]);
    let opaque = [0, 0, 0, 0, 1, 0, 0, 0, 0];
    let g = graph(&opaque, 3, 3);
    assert_eq!(transparent_holes(&g, &opaque), vec![vec![false], vec![]]);
    assert!(cycle_contains_pixel(&g.edges, &g.outlines[0].outer, 0, 0));
    assert!(!cycle_contains_pixel(&g.edges, &g.outlines[1].outer, 0, 0));
}

#[test]
fn opaque_outline_surrounds_all_regions() {
    // Two regions side by side with a transparent pixel inside region 0 and one at a corner.
    #[rustfmt::skip]
    let map = [
        0, 0, 0, 1, NONE,
        0, NONE, 0, 1, 1,
        0, 0, 0, 1, 1,
    ];
    let g = graph(&map, 5, 3);
    let areas: Vec<i64> = g.opaque.iter().map(|c| cycle_area2(&g.edges, c)).collect();
    // One outer boundary (13 pixels + the enclosed hole = 14) and one hole of 1 pixel.
    assert_eq!(areas, vec![-28, 2]);
    // Four regions meeting at a saddle point: one outline around all of them.
    let g = graph(&[0, 1, 2, 3], 2, 2);
    assert_eq!(g.opaque.iter().map(|c| cycle_area2(&g.edges, c)).collect::<Vec<_>>(), vec![-8]);
}

#[test]
fn transparent_pixels_are_outside() {
    let map = [0, NONE, 0, 0];
    let g = graph(&map, 2, 2);
    assert_eq!(g.outlines[0].filled_area, 3);
    assert!(g.edges.iter().all(|e| e.left == 0 || e.right == 0));
}

/// Exhaustive check on small random maps: the outlines of all regions add up to exactly
/// the image (filled areas minus holes equal pixel counts).
#[test]
fn outline_areas_match_pixel_counts() {
    let mut seed = 12345u64;
    let mut rnd = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for trial in 0..300 {
        let (w, h) = (1 + (rnd() % 9) as usize, 1 + (rnd() % 9) as usize);
        let labels: Vec<i32> = (0..w * h).map(|_| (rnd() % 3) as i32 - (trial % 2 == 0) as i32).collect();
        // Regions = 4-connected components of labels (negative = NONE).
        let px: Vec<u8> = labels.iter().flat_map(|&l| [l.max(0) as u8; 3]).collect();
        let img = crate::image::ImageView::new(&px, w, h, 3).unwrap();
        let regions = crate::regions::find_regions(&img, &labels, 1).unwrap();
        let g = build(&regions.map, w, h, regions.areas.len());
        for (r, o) in g.outlines.iter().enumerate() {
            let outer = -cycle_area2(&g.edges, &o.outer);
            let holes: i64 = o.holes.iter().map(|c| cycle_area2(&g.edges, c)).sum();
            assert!(outer > 0);
            assert_eq!((outer - holes) / 2, regions.areas[r] as i64, "trial {trial} region {r} {labels:?}");
        }
    }
}
