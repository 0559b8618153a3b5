//! Tests of the boundary fitting.

use super::*;
use crate::regions::NONE;

fn closed(points: Vec<(i32, i32)>) -> Edge {
    Edge { points, left: NONE, right: 0, closed: true }
}

#[test]
fn rectangle_keeps_its_corners() {
    let e = closed(vec![(0, 0), (5, 0), (5, 3), (0, 3)]);
    let c = fit_edge(&e, &FitOptions::default());
    assert_eq!(c.start, Pt::new(0.0, 0.0));
    assert_eq!(c.end(), c.start);
    let mut corners: Vec<Pt> = c.segs.iter().map(|s| s.end()).collect();
    assert!(c.segs.iter().all(|s| matches!(s, Seg::Line(_))));
    corners.dedup();
    // Lines through the side midpoints collapse into the 4 sides.
    let on_outline = corners.iter().all(|p| p.x == 0.0 || p.x == 5.0 || p.y == 0.0 || p.y == 3.0);
    assert!(on_outline, "{corners:?}");
    for k in [Pt::new(5.0, 0.0), Pt::new(5.0, 3.0), Pt::new(0.0, 3.0)] {
        assert!(corners.contains(&k), "{corners:?}");
    }
}

#[test]
fn single_pixel_and_thin_line_are_caps() {
    let px = closed(vec![(0, 0), (1, 0), (1, 1), (0, 1)]);
    let pts = smooth_points(&px, 2, None);
    assert_eq!(pts.iter().filter(|p| p.1).count(), 4);
    let line = closed(vec![(0, 0), (10, 0), (10, 1), (0, 1)]);
    assert_eq!(smooth_points(&line, 2, None).iter().filter(|p| p.1).count(), 4);
}

#[test]
fn staircase_becomes_one_straight_line() {
    // Open edge: a 45-degree staircase from (0,0) to (6,6) between junctions.
    let mut points = vec![(0, 0)];
    for i in 0..6 {
        points.push((i + 1, i));
        points.push((i + 1, i + 1));
    }
    points.pop();
    points.push((6, 6));
    let e = Edge { points, left: 0, right: 1, closed: false };
    let c = fit_edge(&e, &FitOptions { tolerance: 0.6, corner_run: 2 });
    assert_eq!(c.start, Pt::new(0.0, 0.0));
    assert_eq!(c.end(), Pt::new(6.0, 6.0));
    assert!(c.segs.len() <= 2, "{:?}", c.segs);
}

#[test]
fn circle_fits_with_few_cubics_within_tolerance() {
    // Digital circle outline of radius 40 traced as a crack loop.
    let r = 40.0f64;
    let inside = |x: i32, y: i32| {
        let (cx, cy) = (x as f64 + 0.5 - 50.0, y as f64 + 0.5 - 50.0);
        cx * cx + cy * cy <= r * r
    };
    let map: Vec<u32> = (0..100 * 100).map(|i| if inside(i % 100, i / 100) { 1 } else { 0 }).collect();
    let g = crate::boundary::build(&map, 100, 100, 2);
    let e = g.edges.iter().find(|e| e.closed && (e.left == 1 || e.right == 1)).unwrap();
    let c = fit_edge(e, &FitOptions { tolerance: 0.5, corner_run: 2 });
    assert!(c.segs.len() <= 12, "{} segments", c.segs.len());
    assert_eq!(c.end(), c.start);
    // Sample the curve: every point lies within 1 px of the true circle.
    let mut from = c.start;
    for s in &c.segs {
        if let Seg::Cubic(c1, c2, to) = *s {
            for k in 0..=10 {
                let q = bezier(&[from, c1, c2, to], k as f64 / 10.0);
                let d = ((q.x - 50.0).powi(2) + (q.y - 50.0).powi(2)).sqrt();
                assert!((d - r).abs() < 1.0, "{d}");
            }
        }
        from = s.end();
    }
}

#[test]
fn turns_on_the_image_border_stay_fixed() {
    // A region's edge near the top-left corner of the image, between junctions (0,2) and (3,0):
    // a pixel step whose turns (0,1) and (1,0) lie on the border. Without the frame they are
    // smoothed; with it they stay, so the boundary keeps to the border (the outside is never
    // painted).
    let e = Edge { points: vec![(0, 2), (0, 1), (1, 1), (1, 0), (3, 0)], left: NONE, right: 0, closed: false };
    assert_eq!(smooth_points(&e, 2, None).iter().filter(|p| p.1).count(), 2);
    let c = fit_edge_in_frame(&e, &FitOptions::default(), Some((8, 8)));
    let ends: Vec<Pt> = c.segs.iter().map(|s| s.end()).collect();
    for k in [Pt::new(0.0, 1.0), Pt::new(1.0, 0.0), Pt::new(3.0, 0.0)] {
        assert!(ends.contains(&k), "{ends:?}");
    }
}

#[test]
fn reversal_round_trips() {
    let c = Curve {
        start: Pt::new(0.0, 0.0),
        segs: vec![Seg::Line(Pt::new(1.0, 0.0)), Seg::Cubic(Pt::new(2.0, 0.0), Pt::new(3.0, 1.0), Pt::new(3.0, 2.0))],
    };
    let r = c.reversed();
    assert_eq!(r.start, Pt::new(3.0, 2.0));
    assert_eq!(r.segs[0], Seg::Cubic(Pt::new(3.0, 1.0), Pt::new(2.0, 0.0), Pt::new(1.0, 0.0)));
    assert_eq!(r.segs[1], Seg::Line(Pt::new(0.0, 0.0)));
    assert_eq!(r.reversed(), c);
}

/// Region 1 where `inside(x + 0.5, y + 0.5)` on a `w` x `h` grid: its boundary edges. The
/// boundary graph takes regions that are 4-connected, so region 1 is the largest 4-connected
/// set of inside pixels (a star's tip can end in pixels that touch only by a corner).
fn region_edges(w: usize, h: usize, inside: &impl Fn(f64, f64) -> bool) -> Vec<Edge> {
    let raw: Vec<bool> = (0..w * h).map(|i| inside((i % w) as f64 + 0.5, (i / w) as f64 + 0.5)).collect();
    let mut component = vec![usize::MAX; w * h];
    let mut sizes = Vec::new();
    for start in 0..w * h {
        if !raw[start] || component[start] != usize::MAX {
            continue;
        }
        let id = sizes.len();
        let (mut stack, mut size) = (vec![start], 0usize);
        component[start] = id;
        while let Some(i) = stack.pop() {
            size += 1;
            let (x, y) = (i % w, i / w);
            let near = [(x > 0, i.wrapping_sub(1)), (x + 1 < w, i + 1), (y > 0, i.wrapping_sub(w)), (y + 1 < h, i + w)];
            for (ok, j) in near {
                if ok && raw[j] && component[j] == usize::MAX {
                    component[j] = id;
                    stack.push(j);
                }
            }
        }
        sizes.push(size);
    }
    let largest = (0..sizes.len()).max_by_key(|&k| (sizes[k], std::cmp::Reverse(k)));
    let map: Vec<u32> = component.iter().map(|&c| (Some(c) == largest) as u32).collect();
    let g = crate::boundary::build(&map, w, h, 2);
    g.edges.into_iter().filter(|e| e.left == 1 || e.right == 1).collect()
}

/// Points every 1/40 of the way along each segment of `c`.
fn samples(c: &Curve) -> Vec<Pt> {
    let mut out = Vec::new();
    let mut from = c.start;
    for s in &c.segs {
        let b = match *s {
            Seg::Line(p) => [from, from, p, p],
            Seg::Cubic(c1, c2, p) => [from, c1, c2, p],
        };
        out.extend((0..=40).map(|k| bezier(&b, k as f64 / 40.0)));
        from = s.end();
    }
    out
}

/// A five-pointed star, `outer` and `inner` px from its centre `c`, turned by `turn` degrees:
/// its ten vertices and whether a pixel centre is inside.
fn star(outer: f64, inner: f64, turn: f64, c: Pt) -> (Vec<Pt>, impl Fn(f64, f64) -> bool) {
    let poly: Vec<Pt> = (0..10)
        .map(|k| {
            let a = (k as f64 * 36.0 - 90.0 + turn).to_radians();
            let r = if k % 2 == 0 { outer } else { inner };
            Pt::new(c.x + r * a.cos(), c.y + r * a.sin())
        })
        .collect();
    let vertices = poly.clone();
    let inside = move |x: f64, y: f64| {
        // Even-odd ray casting.
        let mut odd = false;
        for i in 0..10 {
            let (a, b) = (poly[i], poly[(i + 1) % 10]);
            if (a.y > y) != (b.y > y) && x < a.x + (y - a.y) * (b.x - a.x) / (b.y - a.y) {
                odd = !odd;
            }
        }
        odd
    };
    (vertices, inside)
}

/// How far the fitted outline of star `STARS[i]` passes from the pixel corner of its outline
/// nearest each of its ten vertices (even: tips, odd: notches).
fn star_misses(i: usize) -> Vec<f64> {
    let (outer, inner, turn, c) = STARS[i];
    let (vertices, inside) = star(outer, inner, turn, Pt::new(c.0, c.1));
    let edges = region_edges(64, 64, &inside);
    let curve: Vec<Pt> = edges.iter().flat_map(|e| samples(&fit_edge(e, &FitOptions::default()))).collect();
    let lattice: Vec<Pt> =
        edges.iter().flat_map(|e| e.points.iter().map(|&(x, y)| Pt::new(x as f64, y as f64))).collect();
    vertices
        .iter()
        .map(|v| {
            let q = *lattice.iter().min_by(|a, b| a.sub(*v).len().total_cmp(&b.sub(*v).len())).unwrap();
            curve.iter().map(|p| p.sub(q).len()).fold(f64::MAX, f64::min)
        })
        .collect()
}

#[test]
fn stars_keep_their_tips() {
    for i in 0..STARS.len() {
        let d = star_misses(i);
        for k in (0..10).step_by(2) {
            assert!(d[k] < 0.05, "star {i}, tip {k}: missed by {} px", d[k]);
        }
    }
}

#[test]
fn sharp_notches_are_kept() {
    // Notches of these stars end in pixel steps that the run-length rule alone smooths, 0.82
    // to 1.0 px inside the pixels' corner; the outline turns sharply there, so it is kept.
    for (i, k) in [(3, 9), (5, 1), (5, 5)] {
        let d = star_misses(i)[k];
        assert!(d < 0.05, "star {i}, notch {k}: missed by {d} px");
    }
}

const STARS: [(f64, f64, f64, (f64, f64)); 6] = [
    (22.0, 8.0, 0.0, (32.0, 32.0)),
    (22.0, 10.0, 7.0, (32.3, 31.6)),
    (20.0, 12.0, 13.0, (31.7, 32.2)),
    (24.0, 14.0, 3.0, (32.0, 32.5)),
    (18.0, 9.0, 20.0, (32.5, 32.0)),
    (21.0, 11.0, 29.0, (31.6, 32.4)),
];

#[test]
fn l_shape_keeps_its_concave_corner() {
    let inside = |x: f64, y: f64| (2.0..20.0).contains(&x) && (2.0..20.0).contains(&y) && (x < 8.0 || y > 14.0);
    let e = &region_edges(24, 24, &inside)[0];
    let ends: Vec<Pt> = fit_edge(e, &FitOptions::default()).segs.iter().map(|s| s.end()).collect();
    assert!(ends.contains(&Pt::new(8.0, 14.0)), "{ends:?}");
}

/// The furthest any sampled point of region 1's fitted outline lies from the polyline of its
/// smoothed points (the data the fit must stay within `tol` of).
fn deviation(w: usize, h: usize, inside: &impl Fn(f64, f64) -> bool, tol: f64) -> f64 {
    let mut worst = 0.0f64;
    for e in region_edges(w, h, inside) {
        let pts: Vec<Pt> = smooth_points(&e, 2, None).iter().map(|p| p.0).collect();
        let poly: Vec<Pt> = if e.closed { pts.iter().chain(pts.first()).copied().collect() } else { pts };
        for q in samples(&fit_edge(&e, &FitOptions { tolerance: tol, corner_run: 2 })) {
            let d = poly.windows(2).map(|w| segment_distance2(q, w[0], w[1])).fold(f64::MAX, f64::min).sqrt();
            worst = worst.max(d);
        }
    }
    worst
}

#[test]
fn curves_stay_within_tolerance_between_data_points() {
    // Wobbly blobs and stars at a loose tolerance: every sampled point of every fitted curve
    // lies within it (plus the sampling's slack), not only the data points (checked at the
    // points alone, a curve here bulged 1.25 px out).
    let tol = 1.0;
    let mut worst = 0.0f64;
    for k in 0..24 {
        let (ax, ay) = (9.0 + (k % 5) as f64 * 3.1, 7.0 + (k % 7) as f64 * 2.3);
        let (lobes, wob) = ((3 + k % 4) as f64, 0.1 * (k % 6) as f64);
        let inside = move |x: f64, y: f64| {
            let (dx, dy) = ((x - 32.3) / ax, (y - 31.8) / ay);
            (dx * dx + dy * dy).sqrt() <= 1.0 + wob * (lobes * dy.atan2(dx)).sin()
        };
        worst = worst.max(deviation(64, 64, &inside, tol));
    }
    for (outer, inner, turn, c) in STARS {
        let (_, inside) = star(outer, inner, turn, Pt::new(c.0, c.1));
        worst = worst.max(deviation(64, 64, &inside, tol));
    }
    assert!(worst <= tol + 0.05, "a curve passes {worst} px from the outline");
}
