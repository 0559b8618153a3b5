//! Synthetic drawings: lines drawn as the set of pixels whose centre lies within half the
//! width of a polyline (round caps and joins), traced back and compared with the polyline.

use super::*;
use crate::fit::{Pt, Seg};

fn seg_dist(p: Pt, a: Pt, b: Pt) -> f64 {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let l2 = dx * dx + dy * dy;
    let t = if l2 > 0.0 { (((p.x - a.x) * dx + (p.y - a.y) * dy) / l2).clamp(0.0, 1.0) } else { 0.0 };
    ((p.x - a.x - t * dx).powi(2) + (p.y - a.y - t * dy).powi(2)).sqrt()
}

fn poly_dist(p: Pt, lines: &[Vec<Pt>]) -> f64 {
    lines.iter().flat_map(|l| l.windows(2).map(move |s| seg_dist(p, s[0], s[1]))).fold(f64::INFINITY, f64::min)
}

/// Rasterize polylines at `width` (round caps): ink where a pixel centre is within width/2.
fn draw(w: usize, h: usize, lines: &[Vec<Pt>], width: f64) -> Vec<u8> {
    (0..w * h)
        .map(|i| {
            let c = Pt::new((i % w) as f64 + 0.5, (i / w) as f64 + 0.5);
            (poly_dist(c, lines) < width / 2.0) as u8
        })
        .collect()
}

/// Points along a curve, `k` per segment.
fn sample(c: &Curve, k: usize) -> Vec<Pt> {
    let mut out = vec![c.start];
    let mut from = c.start;
    for s in &c.segs {
        for j in 1..=k {
            let u = j as f64 / k as f64;
            let v = 1.0 - u;
            out.push(match *s {
                Seg::Line(p) => Pt::new(from.x + (p.x - from.x) * u, from.y + (p.y - from.y) * u),
                Seg::Cubic(c1, c2, p) => Pt::new(
                    v * v * v * from.x + 3.0 * v * v * u * c1.x + 3.0 * v * u * u * c2.x + u * u * u * p.x,
                    v * v * v * from.y + 3.0 * v * v * u * c1.y + 3.0 * v * u * u * c2.y + u * u * u * p.y,
                ),
            });
        }
        from = s.end();
    }
    out
}

fn trace(mask: &[u8], w: usize, h: usize) -> Vec<Stroke> {
    centerlines(mask, w, h, &CenterlineOptions::default())
}

fn p(x: f64, y: f64) -> Pt {
    Pt::new(x, y)
}

#[test]
fn plus_is_one_crossing_and_two_paths() {
    for width in [1.0, 3.0, 6.0] {
        let lines = vec![vec![p(10.2, 40.3), p(70.1, 40.3)], vec![p(40.4, 10.2), p(40.4, 70.3)]];
        let m = draw(80, 80, &lines, width);
        let s = trace(&m, 80, 80);
        assert_eq!(s.len(), 2, "width {width}: {s:?}");
        // One crossing node with four branches, not two T's joined by a stub.
        let bits = skeleton::skeleton(&m, 80, 80, skeleton::thinning_iterations(16.0));
        let ink = ink::Ink { mask: &m, w: 80, h: 80, reach: 17 };
        let g = simplify::stroke_graph(&graph::build(&bits, 80, 80), &ink);
        let mut deg = vec![0; g.nodes.len()];
        for c in &g.chains {
            for e in [c.a, c.b].into_iter().flatten() {
                deg[e] += 1;
            }
        }
        assert_eq!(deg.iter().filter(|&&d| d >= 3).count(), 1, "width {width}: {deg:?}");
        assert!(deg.contains(&4), "width {width}: {deg:?}");
        for st in &s {
            assert!(!st.closed);
            for q in sample(&st.curve, 8) {
                assert!(poly_dist(q, &lines) < 0.75, "width {width}: {q:?}");
            }
        }
    }
}

#[test]
fn t_junction_is_two_paths() {
    for width in [1.0, 2.0, 5.0, 8.0] {
        let lines = vec![vec![p(10.2, 20.3), p(70.1, 20.3)], vec![p(40.4, 20.3), p(40.4, 70.2)]];
        let m = draw(80, 80, &lines, width);
        let s = trace(&m, 80, 80);
        assert_eq!(s.len(), 2, "width {width}: {s:?}");
        // The bar is one path from end to end.
        let bar = s.iter().find(|st| (st.curve.start.y - 20.3).abs() < 1.0 && (st.curve.end().y - 20.3).abs() < 1.0);
        let bar = bar.unwrap_or_else(|| panic!("width {width}: no bar in {s:?}"));
        let xs = [bar.curve.start.x, bar.curve.end().x];
        assert!((xs[0].min(xs[1]) - 10.2).abs() <= 1.0 && (xs[0].max(xs[1]) - 70.1).abs() <= 1.0, "{xs:?}");
    }
}

#[test]
fn ring_is_one_closed_path() {
    for width in [1.0, 3.0, 7.0] {
        let ring: Vec<Pt> = (0..=64)
            .map(|k| {
                let a = k as f64 / 64.0 * std::f64::consts::TAU;
                p(50.2 + 30.0 * a.cos(), 50.3 + 30.0 * a.sin())
            })
            .collect();
        let m = draw(100, 100, &[ring], width);
        let s = trace(&m, 100, 100);
        assert_eq!(s.len(), 1, "width {width}: {s:?}");
        assert!(s[0].closed);
        for q in sample(&s[0].curve, 8) {
            let r = ((q.x - 50.2).powi(2) + (q.y - 50.3).powi(2)).sqrt();
            assert!((r - 30.0).abs() < 0.75, "width {width}: r {r}");
        }
        assert!((s[0].width as f64 - width).abs() <= 1.0, "width {width}: {}", s[0].width);
    }
}

#[test]
fn lines_of_width_1_to_8_sit_on_the_centre_and_reach_their_ends() {
    for width in 1..=8 {
        let wf = width as f64;
        // A horizontal, a vertical and a sloped line, each on its own image.
        // Axis-parallel lines on the raster's own centre (between two pixel rows for even
        // widths), a little off it to break ties; a sloped line anywhere.
        let c = if width % 2 == 1 { 0.55 } else { 0.05 };
        for (a, b) in [
            (p(10.2, 20.0 + c), p(90.1, 20.0 + c)),
            (p(20.0 + c, 10.3), p(20.0 + c, 70.2)),
            (p(10.0, 12.0), p(85.0, 47.0)),
        ] {
            let m = draw(100, 80, &[vec![a, b]], wf);
            let s = trace(&m, 100, 80);
            assert_eq!(s.len(), 1, "width {width} {a:?}-{b:?}: {s:?}");
            let st = &s[0];
            // Distance from the infinite line: the ends are checked apart.
            let (dx, dy) = (b.x - a.x, b.y - a.y);
            let off = |q: Pt| ((q.x - a.x) * dy - (q.y - a.y) * dx).abs() / (dx * dx + dy * dy).sqrt();
            for q in sample(&st.curve, 8) {
                assert!(off(q) <= 0.5, "width {width} {a:?}-{b:?}: {q:?} off by {}", off(q));
            }
            let (s0, s1) = (st.curve.start, st.curve.end());
            let ends_ok = |x: Pt, y: Pt| dist(x, a) <= 1.0 && dist(y, b) <= 1.0;
            assert!(ends_ok(s0, s1) || ends_ok(s1, s0), "width {width}: ends {s0:?} {s1:?} vs {a:?} {b:?}");
            assert!((st.width as f64 - wf).abs() <= 1.0, "width {width}: measured {}", st.width);
        }
    }
}

fn dist(a: Pt, b: Pt) -> f64 {
    ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt()
}

#[test]
fn dots_are_kept() {
    let (w, h) = (20, 20);
    let mut m = vec![0u8; w * h];
    m[5 * w + 5] = 1;
    for (x, y) in [(12, 12), (13, 12), (12, 13), (13, 13)] {
        m[y * w + x] = 1;
    }
    let s = trace(&m, w, h);
    assert_eq!(s.len(), 2, "{s:?}");
    let first = &s[0];
    assert_eq!(first.curve.start, p(5.5, 5.5));
    assert!(first.width >= 1.0);
    assert!(dist(s[1].curve.start, p(13.0, 13.0)) <= 0.75, "{s:?}");
}

#[test]
fn deterministic_and_canonical() {
    let lines = vec![
        vec![p(5.0, 5.0), p(60.0, 50.0), p(90.0, 10.0)],
        vec![p(10.0, 60.0), p(95.0, 60.0)],
        vec![p(50.0, 20.0), p(50.0, 75.0)],
    ];
    let m = draw(100, 80, &lines, 3.0);
    let a = trace(&m, 100, 80);
    let b = trace(&m, 100, 80);
    assert_eq!(a, b);
    assert!(!a.is_empty());
    // Open strokes run from their smaller raster position.
    for st in a.iter().filter(|s| !s.closed) {
        let key = |q: Pt| (q.y.floor() as i64, q.x.floor() as i64);
        assert!(key(st.curve.start) <= key(st.curve.end()), "{st:?}");
    }
}

#[test]
fn specks_go_and_pinholes_fill() {
    let (w, h) = (20, 12);
    let mut m = vec![0u8; w * h];
    // A 3-pixel-high bar with a one-pixel hole, a two-pixel speck, and a 2x2 dot in a corner
    // open to the border (not a hole of anything).
    for y in 4..7 {
        for x in 3..17 {
            m[y * w + x] = 1;
        }
    }
    m[5 * w + 8] = 0;
    m[10 * w + 2] = 1;
    m[10 * w + 3] = 1;
    let mut cleaned = m.clone();
    super::trace::drop_specks(&mut cleaned, w, h, 3, 4);
    assert_eq!(cleaned[5 * w + 8], 1, "pinhole filled");
    assert_eq!(cleaned[10 * w + 2] + cleaned[10 * w + 3], 0, "speck removed");
    assert_eq!(cleaned.iter().map(|&v| v as usize).sum::<usize>(), 14 * 3);
    // min_area 1 changes nothing.
    let mut same = m.clone();
    super::trace::drop_specks(&mut same, w, h, 1, 1);
    assert_eq!(same, m);
}

#[test]
fn anti_aliasing_blends_join_their_line_or_the_paper() {
    let palette = [[255, 255, 255], [0, 0, 0], [110, 110, 110], [220, 220, 220], [200, 0, 0], [220, 110, 110]];
    let counts = [1000, 300, 50, 60, 200, 20];
    let owner = super::trace::blend_owners(&palette, &counts, 0, &[0; 16], 4);
    // Paper; black; dark grey is mostly ink (black's); light grey mostly paper; red its own;
    // pink half red.
    assert_eq!(owner, vec![None, Some(1), Some(1), None, Some(4), Some(4)]);
}

#[test]
fn sharp_corners_are_one_path() {
    // A "1": a flag meeting the stem at its top at about 35 degrees, and a V at 40 degrees.
    for width in [2.0, 3.0, 5.0] {
        let one = vec![vec![p(30.3, 40.2), p(50.2, 10.3), p(50.2, 90.4)]];
        let m = draw(100, 100, &one, width);
        let s = trace(&m, 100, 100);
        assert_eq!(s.len(), 1, "width {width}: {s:?}");
        let vee = vec![vec![p(20.3, 10.2), p(40.1, 80.3), p(62.4, 12.2)]];
        let m = draw(100, 100, &vee, width);
        let s = trace(&m, 100, 100);
        assert_eq!(s.len(), 1, "width {width}: {s:?}");
        // The corner's point lies within a width of the true apex.
        let apex = p(40.1, 80.3);
        let near = sample(&s[0].curve, 8).into_iter().map(|q| dist(q, apex)).fold(f64::INFINITY, f64::min);
        assert!(near <= width, "width {width}: corner {near} px from the apex: {:?}", s[0]);
    }
}

/// Distance from `p` to the nearest of many points along a curve.
fn curve_dist(c: &Curve, p: Pt) -> f64 {
    sample(c, 20_000)
        .into_iter()
        .map(|q| ((q.x - p.x).powi(2) + (q.y - p.y).powi(2)).sqrt())
        .fold(f64::INFINITY, f64::min)
}

#[test]
fn t_stem_ends_on_the_bar_where_the_lines_meet() {
    // A T at several widths: the stem stops on the bar's fitted curve (within half a pixel:
    // no visible gap or overshoot), within a pixel of where the drawn lines meet.
    for width in [1.0, 2.0, 3.0, 5.0] {
        let (w, h) = (80, 70);
        let bar = vec![Pt::new(10.0, 20.3), Pt::new(70.0, 20.3)];
        let stem = vec![Pt::new(40.4, 20.3), Pt::new(40.4, 60.0)];
        let mask = draw(w, h, &[bar, stem], width);
        let s = centerlines(&mask, w, h, &CenterlineOptions::default());
        assert_eq!(s.len(), 2, "width {width}: {s:?}");
        let reaches_down = |k: &Stroke| k.curve.segs.iter().any(|g| g.end().y > 50.0) || k.curve.start.y > 50.0;
        let (long, short) = if reaches_down(&s[1]) { (&s[0], &s[1]) } else { (&s[1], &s[0]) };
        let ends = [short.curve.start, short.curve.segs.last().unwrap().end()];
        let top = if ends[0].y < ends[1].y { ends[0] } else { ends[1] };
        assert!(curve_dist(&long.curve, top) < 0.5, "width {width}: stem end {top:?} off the bar");
        assert!((top.x - 40.4).abs() < 1.0 && (top.y - 20.3).abs() < 1.0, "width {width}: join at {top:?}");
    }
}
