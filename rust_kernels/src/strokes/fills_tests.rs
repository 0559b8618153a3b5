//! Thick ink in the centerline mode: the distance transform against brute force, line art
//! (crossings and corners of the widest lines) never filled, a solid disc with lines leaving
//! it filled while the lines stay strokes reaching it.

use super::fills::*;
use super::{centerlines, CenterlineOptions};

/// A deterministic pseudo-random mask (an LCG), about a third set.
fn noise(w: usize, h: usize) -> Vec<u8> {
    let mut s: u64 = 12345;
    (0..w * h)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 33) % 3 == 0) as u8
        })
        .collect()
}

#[test]
fn distance_transform_is_exact() {
    let (w, h) = (37, 23);
    let m = noise(w, h);
    let d = edt_sq(w, h, |i| m[i] != 0);
    for (i, &di) in d.iter().enumerate() {
        let (x, y) = ((i % w) as i64, (i / w) as i64);
        let best = (0..w * h)
            .filter(|&j| m[j] != 0)
            .map(|j| ((j % w) as i64 - x).pow(2) + ((j / w) as i64 - y).pow(2))
            .min()
            .unwrap();
        assert_eq!(di, best as f64, "pixel ({x}, {y})");
    }
    assert!(edt_sq(4, 3, |_| false).iter().all(|&v| v >= 1e19));
}

/// Ink where a pixel centre lies within `r` of segment a-b.
fn segment(m: &mut [u8], w: usize, a: (f64, f64), b: (f64, f64), r: f64) {
    for (i, v) in m.iter_mut().enumerate() {
        let (px, py) = ((i % w) as f64 + 0.5, (i / w) as f64 + 0.5);
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let t = (((px - a.0) * dx + (py - a.1) * dy) / (dx * dx + dy * dy)).clamp(0.0, 1.0);
        if (px - a.0 - t * dx).hypot(py - a.1 - t * dy) < r {
            *v = 1;
        }
    }
}

#[test]
fn crossings_and_corners_of_the_widest_lines_are_not_filled() {
    let (w, h) = (120, 120);
    let max_width = 8.0;
    let mut m = vec![0u8; w * h];
    segment(&mut m, w, (10.0, 60.0), (110.0, 60.0), 4.0); // X crossing
    segment(&mut m, w, (60.0, 10.0), (60.0, 110.0), 4.0);
    segment(&mut m, w, (10.0, 10.0), (100.0, 100.0), 4.0); // a third line through it
    segment(&mut m, w, (10.0, 110.0), (40.0, 80.0), 4.0);
    assert_eq!(thick_fill(&m, w, h, thick_radius(max_width), min_core(max_width)), None);
}

#[test]
fn a_solid_disc_is_filled_and_its_lines_stay_strokes() {
    let (w, h) = (160, 100);
    let mut m = vec![0u8; w * h];
    for (i, v) in m.iter_mut().enumerate() {
        let (px, py) = ((i % w) as f64 + 0.5, (i / w) as f64 + 0.5);
        if (px - 50.0).hypot(py - 50.0) < 22.0 {
            *v = 1;
        }
    }
    segment(&mut m, w, (70.0, 50.0), (150.0, 50.0), 1.5); // a 3 px line leaving the disc
    let max_width = 8.0;
    let fill = thick_fill(&m, w, h, thick_radius(max_width), min_core(max_width)).expect("the disc is thick");
    // The disc's inside is filled, the line far from it is not.
    assert_eq!(fill[50 * w + 50], 1);
    assert!((90..150).all(|x| fill[50 * w + x] == 0));
    let (fills, rest) =
        settle(&|_| None, vec![m.clone()], vec![Some(fill)], &[[0, 0, 0]], None, w, h, thick_radius(8.0));
    let fill = fills[0].as_ref().expect("a fill");
    // Fill and strokes' ink part the ink: nothing is lost, nothing is both.
    for i in 0..w * h {
        assert_eq!(m[i], fill[i] | rest[0][i], "pixel {i}");
        assert_eq!(fill[i] & rest[0][i], 0);
    }
    let mut s = centerlines(&rest[0], w, h, &CenterlineOptions { max_width, ..Default::default() });
    assert_eq!(s.len(), 1, "{s:?}");
    reach_fills(&mut s, fill, w, h);
    // The stroke's round cap now reaches into the disc (edge at x = 72), its far end is the
    // line's end.
    let (a, b) = (s[0].curve.start, s[0].curve.end());
    let (near, far) = if a.x < b.x { (a, b) } else { (b, a) };
    let r = f64::from(s[0].width) / 2.0;
    assert!((1.5..=3.5).contains(&s[0].width), "{}", s[0].width);
    assert!(near.x - r <= 71.0 && (near.y - 50.0).abs() < 0.5, "{near:?}");
    assert!((far.x + r - 151.5).abs() < 1.0, "{far:?}");
}
