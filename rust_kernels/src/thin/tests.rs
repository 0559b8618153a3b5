use super::*;
use crate::trace::{trace, StrokeMode, TraceOptions};

/// A pale ground with a blue band, a dark anti-aliased line one pixel wide crossing both
/// (drawn by coverage: each pixel mixes the line colour by how much of it the line covers,
/// sampled 8 x 8), `w` x `h` pixels.
fn line_picture(w: usize, h: usize) -> Vec<u8> {
    let (ground, band, ink) = ([240.0, 236.0, 226.0], [58.0, 120.0, 194.0], [30.0, 30.0, 30.0]);
    // The line from (4, 6) to (w - 4, h - 8), 1 px wide.
    let (ax, ay, bx, by) = (4.0f64, 6.0f64, w as f64 - 4.0, h as f64 - 8.0);
    let (dx, dy) = (bx - ax, by - ay);
    let len = dx.hypot(dy);
    (0..w * h)
        .flat_map(|i| {
            let (x, y) = ((i % w) as f64, (i / w) as f64);
            let base: [f64; 3] = if y >= h as f64 / 2.0 { band } else { ground };
            let mut cov = 0.0;
            for sy in 0..8 {
                for sx in 0..8 {
                    let (px, py) = (x + (sx as f64 + 0.5) / 8.0, y + (sy as f64 + 0.5) / 8.0);
                    let t = (((px - ax) * dx + (py - ay) * dy) / (len * len)).clamp(0.0, 1.0);
                    if (px - ax - t * dx).hypot(py - ay - t * dy) <= 0.5 {
                        cov += 1.0 / 64.0;
                    }
                }
            }
            (0..3).map(move |c| (ink[c] * cov + base[c] * (1.0 - cov)).round() as u8)
        })
        .collect()
}

#[test]
fn hats_find_a_dark_line_and_not_a_wide_bar() {
    let (w, h) = (20, 9);
    // A 1 px dark line at x = 4 and a 10 px dark bar at x = 8..18 on white.
    let luma: Vec<f32> =
        (0..w * h).map(|i| if i % w == 4 || (8..18).contains(&(i % w)) { 0.0 } else { 255.0 }).collect();
    let (black, white) = detect::hats(&luma, w, h, detect::radius(3.0));
    let dark = detect::thin_mask(black, &white, w, h);
    let row: Vec<u8> = dark.mask[4 * w..5 * w].to_vec();
    assert_eq!(row[4], 1);
    assert!(row[8..18].iter().all(|&m| m == 0), "{row:?}");
}

#[test]
fn nearest_fill_continues_both_sides() {
    // 6 x 3: left half label 0, right half label 1, a vertical stroke over columns 2..4.
    let (w, h) = (6, 3);
    let labels: Vec<i32> = (0..w * h).map(|i| if i % w < 3 { 0 } else { 1 }).collect();
    let under: Vec<u8> = (0..w * h).map(|i| (2..4).contains(&(i % w)) as u8).collect();
    let mut l = labels.clone();
    let mut px = vec![0u8; w * h * 3];
    fill::continue_fills(&fill::nearest_fill(&under, &labels, w, h), &mut l, &mut px, 3);
    for y in 0..h {
        assert_eq!(&l[y * w..(y + 1) * w], &[0, 0, 0, 1, 1, 1]);
    }
}

#[test]
fn recentre_moves_onto_the_grey_centre() {
    // A vertical line covering columns 4 and 5 equally: its centre is x = 5.0, not the pixel
    // centre 4.5 a mask skeleton gives.
    let (w, h) = (10, 10);
    let response: Vec<f32> = (0..w * h).map(|i| if (4..6).contains(&(i % w)) { 100.0 } else { 0.0 }).collect();
    let owner = vec![0u32; w * h];
    let curve = Curve { start: Pt::new(4.5, 1.5), segs: vec![Seg::Line(Pt::new(4.5, 8.5))] };
    let own = centre::Own { response: &response, owner: &owner, stroke: 0, w, h };
    let c = centre::recentre(&curve, false, &own, 2.0);
    assert!((c.start.x - 5.0).abs() < 1e-6 && (c.end().x - 5.0).abs() < 1e-6, "{c:?}");
}

#[test]
fn a_one_pixel_line_becomes_one_dark_stroke_and_the_band_closes_under_it() {
    let (w, h) = (64, 40);
    let px = line_picture(w, h);
    let img = ImageView::new(&px, w, h, 3).unwrap();
    let base = TraceOptions { stroke_width_max: 3.0, ..Default::default() };
    let (off, off_stats) = trace(&img, None, &base).unwrap();
    assert!(!off.contains("stroke="), "{off}");
    let (svg, stats) = trace(&img, None, &TraceOptions { strokes: StrokeMode::Auto, ..base.clone() }).unwrap();
    let strokes: Vec<&str> = svg.lines().filter(|l| l.contains("stroke=")).collect();
    assert_eq!(strokes.len(), 1, "{svg}");
    // The line's own dark colour (ink #1e1e1e; its darkest pixel is a blend with the ground,
    // 88 % ink at best on this slope), about 1 px wide.
    assert!(dark_stroke(strokes[0]), "{}", strokes[0]);
    let width: f32 = strokes[0].split("stroke-width=\"").nth(1).unwrap().split('"').next().unwrap().parse().unwrap();
    assert!((0.7..=1.4).contains(&width), "{width}");
    // The band and the ground close under the line: two regions, fewer than without strokes.
    assert_eq!(stats.regions, 2, "{svg}");
    assert!(stats.regions < off_stats.regions);
    // On: every thin structure is a stroke (here also the sliver of ground between the line
    // and the band), the line among them.
    let (svg, stats) = trace(&img, None, &TraceOptions { strokes: StrokeMode::On, ..base }).unwrap();
    assert!(svg.lines().any(dark_stroke), "{svg}");
    assert!(stats.regions < off_stats.regions);
}

fn dark_stroke(line: &str) -> bool {
    line.split("stroke=\"#")
        .nth(1)
        .is_some_and(|hex| (0..3).all(|c| u8::from_str_radix(&hex[2 * c..2 * c + 2], 16).is_ok_and(|v| v < 0x30)))
}

#[test]
fn strokes_are_deterministic() {
    let (w, h) = (64, 40);
    let px = line_picture(w, h);
    let img = ImageView::new(&px, w, h, 3).unwrap();
    let opts = TraceOptions { strokes: StrokeMode::Auto, stroke_width_max: 3.0, ..Default::default() };
    assert_eq!(trace(&img, None, &opts).unwrap().0, trace(&img, None, &opts).unwrap().0);
}

use crate::fit::{Curve, Pt, Seg};
