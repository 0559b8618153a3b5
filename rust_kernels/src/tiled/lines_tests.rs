//! The centerline mode in tiles against the whole-image trace: the same SVG for every tile
//! size, strokes crossing tile borders kept whole.

use super::lines::{line_plan, line_reach, line_window, tile_lines, Runs};
use super::*;
use crate::error::KernelError;
use crate::image::ImageView;
use crate::scan::{Background, ScanOptions};
use crate::trace::{trace, Mode, TraceOptions};

fn lcg(seed: &mut u64) -> u64 {
    *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    *seed >> 33
}

/// A white canvas to draw lines of a colour and width on (a round brush).
struct Canvas {
    w: usize,
    h: usize,
    px: Vec<u8>,
}

impl Canvas {
    fn new(w: usize, h: usize) -> Canvas {
        Canvas { w, h, px: vec![255; w * h * 3] }
    }
    fn dot(&mut self, cx: f64, cy: f64, width: f64, c: [u8; 3]) {
        let r = width / 2.0;
        let (x0, x1) = ((cx - r).floor().max(0.0) as usize, ((cx + r).ceil() as usize).min(self.w));
        let (y0, y1) = ((cy - r).floor().max(0.0) as usize, ((cy + r).ceil() as usize).min(self.h));
        for y in y0..y1 {
            for x in x0..x1 {
                let (dx, dy) = (x as f64 + 0.5 - cx, y as f64 + 0.5 - cy);
                if dx * dx + dy * dy <= r * r + 0.25 {
                    self.px[(y * self.w + x) * 3..][..3].copy_from_slice(&c);
                }
            }
        }
    }
    fn line(&mut self, a: (f64, f64), b: (f64, f64), width: f64, c: [u8; 3]) {
        let n = ((b.0 - a.0).hypot(b.1 - a.1) * 4.0).ceil().max(1.0) as usize;
        for k in 0..=n {
            let t = k as f64 / n as f64;
            self.dot(a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t, width, c);
        }
    }
    fn circle(&mut self, c: (f64, f64), r: f64, width: f64, col: [u8; 3]) {
        let n = (r * 8.0).ceil() as usize;
        for k in 0..n {
            let (t0, t1) =
                (k as f64 / n as f64 * std::f64::consts::TAU, (k + 1) as f64 / n as f64 * std::f64::consts::TAU);
            self.line((c.0 + r * t0.cos(), c.1 + r * t0.sin()), (c.0 + r * t1.cos(), c.1 + r * t1.sin()), width, col);
        }
    }
}

const INK: [u8; 3] = [20, 20, 30];
const RED: [u8; 3] = [200, 30, 30];
const BLUE: [u8; 3] = [30, 60, 200];

/// X, T and Y joins, circles and a zigzag "text", at widths 1 to 8, in three colours.
fn drawing(w: usize, h: usize) -> Canvas {
    let mut c = Canvas::new(w, h);
    let (fw, fh) = (w as f64, h as f64);
    c.line((3.0, 3.0), (fw - 4.0, fh - 4.0), 1.0, INK); // X
    c.line((fw - 4.0, 3.0), (3.0, fh - 4.0), 3.0, INK);
    c.line((5.0, fh * 0.5), (fw * 0.6, fh * 0.5), 2.0, RED); // T
    c.line((fw * 0.3, fh * 0.5), (fw * 0.3, fh - 6.0), 2.0, RED);
    c.circle((fw * 0.7, fh * 0.3), fh * 0.2, 4.0, BLUE);
    c.circle((fw * 0.25, fh * 0.25), 6.0, 8.0, INK);
    let mut x = 6.0;
    for (k, wd) in [1.0, 2.0, 3.0, 5.0, 6.0, 8.0].into_iter().enumerate() {
        let y = fh * 0.8;
        c.line((x, y), (x + 7.0, y - 10.0 - k as f64), wd, INK);
        c.line((x + 7.0, y - 10.0 - k as f64), (x + 14.0, y), wd, INK);
        c.dot(x + 7.0, y + 6.0, wd.max(2.0), BLUE);
        x += 18.0;
    }
    c
}

fn opts() -> TraceOptions {
    TraceOptions { mode: Mode::Centerline, colors: 8, ..Default::default() }
}

fn check(px: &[u8], w: usize, h: usize, opts: &TraceOptions, tiles: &[usize]) -> String {
    let img = ImageView::new(px, w, h, 3).unwrap();
    let (want, ws) = trace(&img, None, opts).unwrap();
    assert!(ws.paths > 0, "nothing traced");
    for &t in tiles {
        let (got, gs) = trace_tiled(&img, t, opts).unwrap();
        assert_eq!(gs.paths, ws.paths, "tile {t}");
        assert!(got == want, "tile {t}: tiled SVG differs\n--- untiled\n{want}\n--- tiled\n{got}");
    }
    want
}

#[test]
fn tiled_centerlines_equal_untiled_at_every_tile_size() {
    let (w, h) = (150, 113);
    let c = drawing(w, h);
    check(&c.px, w, h, &opts(), &[16, 37, 64, 100, 1000]);
}

#[test]
fn tiled_centerlines_equal_untiled_at_other_widths_and_odd_tiles() {
    let (w, h) = (97, 81);
    let c = drawing(w, h);
    for max_width in [12.0, 16.0] {
        let o = TraceOptions { stroke_width_max: max_width, ..opts() };
        check(&c.px, w, h, &o, &[7, 16, 33]);
    }
    // At 2 and 5 px the 8 px lines and the solid ring are thick ink, filled by the untiled
    // trace and refused by the tiled one (typed: the caller traces the image whole).
    let img = ImageView::new(&c.px, w, h, 3).unwrap();
    for max_width in [2.0, 5.0] {
        let o = TraceOptions { stroke_width_max: max_width, ..opts() };
        assert!(trace(&img, None, &o).unwrap().0.matches(" fill=\"#").count() > 1, "fills at {max_width}");
        for t in [7, 33] {
            assert!(matches!(trace_tiled(&img, t, &o), Err(KernelError::NotTileable(_))), "tile {t}");
        }
    }
}

#[test]
fn tiled_centerlines_equal_untiled_on_a_noisy_scan() {
    let (w, h) = (120, 90);
    let mut c = drawing(w, h);
    let mut s = 11u64;
    for v in c.px.iter_mut() {
        *v = v.saturating_add((lcg(&mut s) % 24) as u8).saturating_sub(12);
    }
    let scan = ScanOptions { denoise: 2.0, noise: 6.0, delta_e: 8.0, background: Background::Keep };
    let o = TraceOptions { scan: scan.clone(), colors: 32, ..opts() };
    let svg = check(&c.px, w, h, &o, &[16, 37, 64]);
    let white = TraceOptions { scan: ScanOptions { background: Background::White, ..scan.clone() }, ..o.clone() };
    assert!(check(&c.px, w, h, &white, &[37]).contains("fill=\"#fff\""), "{svg}");
    let clear = TraceOptions { scan: ScanOptions { background: Background::Transparent, ..scan }, ..o };
    assert!(!check(&c.px, w, h, &clear, &[16, 37]).contains("<path d=\"M0 0"), "a transparent paper is not painted");
}

/// `c` drawn at 4x and averaged down: anti-aliased lines, whose blends join their ink.
fn antialiased(w: usize, h: usize) -> Vec<u8> {
    let big = {
        let mut c = Canvas::new(4 * w, 4 * h);
        let (fw, fh) = (4.0 * w as f64, 4.0 * h as f64);
        c.line((8.0, 8.0), (fw - 9.0, fh - 9.0), 6.0, INK);
        c.line((fw - 9.0, 8.0), (8.0, fh - 9.0), 12.0, INK);
        c.circle((fw * 0.6, fh * 0.4), fh * 0.25, 9.0, RED);
        c.line((20.0, fh * 0.7), (fw * 0.5, fh * 0.7), 16.0, BLUE);
        // Specks and a pinhole near tile borders.
        c.dot(fw * 0.3, fh * 0.2, 5.0, INK);
        c.dot(fw * 0.8, fh * 0.85, 30.0, INK);
        c.dot(fw * 0.8, fh * 0.85, 5.0, [255, 255, 255]);
        c
    };
    let mut px = vec![0u8; w * h * 3];
    for y in 0..h {
        for x in 0..w {
            for ch in 0..3 {
                let mut sum = 0u32;
                for dy in 0..4 {
                    for dx in 0..4 {
                        sum += big.px[((4 * y + dy) * 4 * w + 4 * x + dx) * 3 + ch] as u32;
                    }
                }
                px[(y * w + x) * 3 + ch] = ((sum + 8) / 16) as u8;
            }
        }
    }
    px
}

#[test]
fn tiled_centerlines_equal_untiled_with_antialiasing_specks_and_pinholes() {
    let (w, h) = (110, 90);
    let px = antialiased(w, h);
    for min_area in [1, 8, 30] {
        let o = TraceOptions { min_area, colors: 16, ..opts() };
        check(&px, w, h, &o, &[9, 16, 37]);
    }
    // Faint blends are there, tested against the pixels tile by tile.
    let img = ImageView::new(&px, w, h, 3).unwrap();
    let hist = tile_histogram(&img, &TileGeom { x0: 0, y0: 0, width: w, height: h }, Mode::Centerline).unwrap();
    let o = TraceOptions { colors: 16, ..opts() };
    let p = palette_from_histograms(std::slice::from_ref(&hist), &o).unwrap();
    assert!(!line_plan(&[hist], &p).unwrap().faint.is_empty());
}

#[test]
fn the_window_covers_the_cleaning_beyond_the_skeleton() {
    // With min_area 200 a 1-pixel line of 150 pixels is kept (more than 100, half of it) and
    // one of 80 is a speck; a window of the skeleton's reach alone (20 pixels at width 2)
    // would see only a piece of the long line and drop it.
    let (w, h) = (200, 60);
    let mut c = Canvas::new(w, h);
    c.line((20.5, 20.5), (170.5, 20.5), 1.0, INK);
    c.line((20.5, 45.5), (100.5, 45.5), 1.0, INK);
    let o = TraceOptions { min_area: 200, stroke_width_max: 2.0, ..opts() };
    let svg = check(&c.px, w, h, &o, &[16, 37]);
    assert_eq!(svg.lines().filter(|l| l.contains("stroke=")).count(), 1, "{svg}");
}

#[test]
fn a_line_across_many_tiles_is_one_stroke() {
    let (w, h) = (200, 60);
    let mut c = Canvas::new(w, h);
    c.line((5.0, 10.0), (190.0, 50.0), 3.0, INK);
    c.circle((150.0, 15.0), 10.0, 2.0, RED);
    let svg = check(&c.px, w, h, &opts(), &[16]);
    let strokes: Vec<&str> = svg.lines().filter(|l| l.contains("stroke=")).collect();
    assert_eq!(strokes.len(), 2, "{svg}");
    assert!(strokes.iter().all(|l| l.matches('M').count() == 1 && !l.contains('m')), "one subpath per line: {svg}");
}

#[test]
fn windows_start_on_even_pixels_and_cover_the_reach() {
    let r = line_reach(8.0, 10);
    assert_eq!(r, crate::strokes::skeleton::reach(8.0) + 11);
    for (x0, y0) in [(0, 0), (37, 74), (111, 5), (200, 201)] {
        let (wx0, wy0, ww, wh) = line_window(x0, y0, 37, 37, 260, 250, r);
        assert_eq!((wx0 % 2, wy0 % 2), (0, 0));
        assert!(x0 - wx0 >= r.min(x0) && y0 - wy0 >= r.min(y0));
        assert_eq!((wx0 + ww).min(260), (x0 + 37 + r).min(260));
        assert_eq!((wy0 + wh).min(250), (y0 + 37 + r).min(250));
    }
}

#[test]
fn a_wrong_window_is_refused() {
    let (w, h) = (64, 64);
    let c = drawing(w, h);
    let img = ImageView::new(&c.px, w, h, 3).unwrap();
    let hist = tile_histogram(&img, &TileGeom { x0: 0, y0: 0, width: w, height: h }, Mode::Centerline).unwrap();
    let p = palette_from_histograms(std::slice::from_ref(&hist), &opts()).unwrap();
    let plan = line_plan(&[hist], &p).unwrap();
    // The whole image is not the window of a 16-pixel tile at (32, 32) with reach 20 + 9.
    let geom = TileGeom { x0: 0, y0: 0, width: w, height: h };
    let err = tile_lines(&img, &geom, (32, 32, 16, 16), &p, &plan, 2.0, 8).unwrap_err();
    assert!(err.to_string().contains("line window"), "{err}");
    let err = tile_lines(&img, &geom, (60, 0, 16, 16), &p, &plan, 2.0, 8).unwrap_err();
    assert!(err.to_string().contains("does not fit"), "{err}");
}

#[test]
fn runs_round_trip_and_refuse_bad_bytes() {
    let want = [(0u32, 0u32, 1u32), (0, 5, 9), (3, 2, 300), (3, 301, 302), (70000, 1 << 20, (1 << 20) + 7)];
    let mut r = Runs::default();
    for &(y, a, b) in &want {
        r.push(y, a, b);
    }
    assert!(r.len() < 12 * want.len() / 2, "{} bytes", r.len());
    let mut got = Vec::new();
    r.each(|y, a, b| {
        got.push((y, a, b));
        Ok(())
    })
    .unwrap();
    assert_eq!(got, want);
    // Cut short (a varint's continuation byte last) and too large values are refused.
    let cut: Runs = decode(&encode(&vec![0x80u8; 3]), "runs").unwrap();
    assert!(cut.each(|_, _, _| Ok(())).is_err());
    let huge: Runs = decode(&encode(&vec![0xffu8, 0xff, 0xff, 0xff, 0x7f, 0, 1]), "runs").unwrap();
    assert!(huge.each(|_, _, _| Ok(())).is_err());
}
