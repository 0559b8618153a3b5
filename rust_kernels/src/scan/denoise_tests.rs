//! The denoise against itself on windows, across thread counts, and on what it must clean
//! and keep.

use super::*;
use crate::scan::{prepare, prepare_window, reach, ScanOptions};

fn lcg(seed: &mut u64) -> u64 {
    *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    *seed >> 33
}

/// Roughly Gaussian noise (sum of four uniforms), sigma about `sigma`.
fn gauss(seed: &mut u64, sigma: f64) -> f64 {
    let s: f64 = (0..4).map(|_| (lcg(seed) % 1000) as f64 / 1000.0 - 0.5).sum();
    s * sigma * 3f64.sqrt()
}

/// A scan-like page: paper with noise, a dark 1 px line, a dark 2 px line, a coloured disc.
fn page(w: usize, h: usize, seed: u64, sigma: f64, ch: usize) -> Vec<u8> {
    let mut s = seed;
    let mut px = Vec::with_capacity(w * h * ch);
    for y in 0..h {
        for x in 0..w {
            let (dx, dy) = (x as f64 - w as f64 * 0.6, y as f64 - h as f64 * 0.5);
            let c: [f64; 3] = if x == w / 4 || y == h / 3 || y == h / 3 + 5 || y == h / 3 + 6 {
                [30.0, 30.0, 40.0]
            } else if dx * dx + dy * dy < (w.min(h) as f64 / 5.0).powi(2) {
                [200.0, 60.0, 50.0]
            } else {
                [240.0, 232.0, 205.0]
            };
            for v in c {
                px.push((v + gauss(&mut s, sigma)).round().clamp(0.0, 255.0) as u8);
            }
            if ch == 4 {
                px.push(if lcg(&mut s) % 13 == 0 { 0 } else { 255 });
            }
        }
    }
    px
}

fn params(sigma: f32) -> Params {
    Params::for_strength(2.0, sigma).unwrap().unwrap()
}

fn crop_of(px: &[u8], w: usize, r: Rect, ch: usize) -> Vec<u8> {
    crop(px, Rect { x0: 0, y0: 0, width: w, height: px.len() / ch / w }, r, ch)
}

#[test]
fn every_window_with_its_halo_gives_the_whole_image_values() {
    let mut s = 3u64;
    for case in 0..40 {
        let (w, h) = (1 + (lcg(&mut s) % 45) as usize, 1 + (lcg(&mut s) % 45) as usize);
        let ch = if case % 4 == 3 { 4 } else { 3 };
        let px = page(w, h, case, 7.0, ch);
        let img = ImageView::new(&px, w, h, ch).unwrap();
        let p = params(6.0);
        let whole = denoise(&img, &p).unwrap();
        let image = Rect { x0: 0, y0: 0, width: w, height: h };
        for _ in 0..12 {
            // Cores from 1 px up; windows their halo exactly, or a few pixels more.
            let (x0, y0) = ((lcg(&mut s) % w as u64) as usize, (lcg(&mut s) % h as u64) as usize);
            let cw = 1 + (lcg(&mut s) % (w - x0).min(12) as u64) as usize;
            let chh = 1 + (lcg(&mut s) % (h - y0).min(12) as u64) as usize;
            let core = Rect { x0, y0, width: cw, height: chh };
            let extra = (lcg(&mut s) % 3) as usize;
            let window = core.grown(p.reach() + extra, &image);
            let wpx = crop_of(&px, w, window, ch);
            let wimg = ImageView::new(&wpx, window.width, window.height, ch).unwrap();
            let got = denoise_window(&wimg, window, (w, h), core, &p).unwrap();
            assert_eq!(got, crop_of(&whole, w, core, ch), "case {case}: {w}x{h}, core {core:?}, window {window:?}");
        }
    }
}

#[test]
fn a_window_without_the_whole_halo_is_refused() {
    let (w, h) = (30, 20);
    let px = page(w, h, 1, 5.0, 3);
    let p = params(5.0);
    let image = Rect { x0: 0, y0: 0, width: w, height: h };
    let core = Rect { x0: 10, y0: 8, width: 5, height: 4 };
    let window = core.grown(p.reach() - 1, &image);
    let wpx = crop_of(&px, w, window, 3);
    let wimg = ImageView::new(&wpx, window.width, window.height, 3).unwrap();
    let err = denoise_window(&wimg, window, (w, h), core, &p).unwrap_err();
    assert!(matches!(err, KernelError::InvalidInput(_)), "{err:?}");
    // A window that claims to lie outside the image.
    let err = denoise_window(&wimg, Rect { x0: 25, ..window }, (w, h), core, &p).unwrap_err();
    assert!(matches!(err, KernelError::InvalidInput(_)), "{err:?}");
}

#[test]
fn the_result_does_not_depend_on_the_thread_count() {
    let (w, h) = (157, 203); // several bands, a partial last one
    for ch in [3, 4] {
        let px = page(w, h, 9, 8.0, ch);
        let img = ImageView::new(&px, w, h, ch).unwrap();
        let run = |threads| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| denoise(&img, &params(8.0)).unwrap())
        };
        let one = run(1);
        assert_eq!(one, run(3));
        assert_eq!(one, run(8));
    }
}

#[test]
fn noise_goes_and_thin_lines_and_edges_stay() {
    let (w, h) = (120, 90);
    let sigma = 6.0;
    let px = page(w, h, 5, sigma as f64, 3);
    let img = ImageView::new(&px, w, h, 3).unwrap();
    let out = denoise(&img, &params(sigma)).unwrap();
    let at = |v: &[u8], x: usize, y: usize, c: usize| v[(y * w + x) * 3 + c] as f64;
    // Paper away from the lines and the disc: its spread shrinks several times.
    let spread = |v: &[u8]| {
        let vals: Vec<f64> = (60..85).flat_map(|y| (5..25).map(move |x| (x, y))).map(|(x, y)| at(v, x, y, 1)).collect();
        let m = vals.iter().sum::<f64>() / vals.len() as f64;
        (vals.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / vals.len() as f64).sqrt()
    };
    let (before, after) = (spread(&px), spread(&out));
    assert!(after < before / 3.0, "paper spread {before:.2} -> {after:.2}");
    // The 1 px vertical line (x = w/4) and the 2 px horizontal one (y = h/3 + 5, + 6) stay
    // dark against paper, away from crossings.
    for y in [10, 50, 80] {
        assert!(at(&out, w / 4, y, 1) < 80.0, "1 px line at y {y}: {}", at(&out, w / 4, y, 1));
        assert!(at(&out, w / 4 + 2, y, 1) > 200.0, "paper beside the line at y {y}");
    }
    for x in [5, 45, 110] {
        for y in [h / 3 + 5, h / 3 + 6] {
            assert!(at(&out, x, y, 1) < 80.0, "2 px line at ({x}, {y}): {}", at(&out, x, y, 1));
        }
    }
    // The disc's edge stays a step: two pixels inside red, two outside paper.
    let (cx, cy, r) = (w as f64 * 0.6, h as f64 * 0.5, h as f64 / 5.0);
    let (xi, xo) = ((cx + r - 2.0) as usize, (cx + r + 2.0) as usize);
    assert!(at(&out, xi, cy as usize, 1) < 100.0 && at(&out, xo, cy as usize, 1) > 200.0);
}

#[test]
fn transparent_pixels_are_kept_and_ignored() {
    let (w, h) = (40, 30);
    let px = page(w, h, 2, 6.0, 4);
    let img = ImageView::new(&px, w, h, 4).unwrap();
    let out = denoise(&img, &params(6.0)).unwrap();
    for i in 0..w * h {
        if px[i * 4 + 3] < ALPHA_OPAQUE_MIN {
            assert_eq!(&out[i * 4..i * 4 + 4], &px[i * 4..i * 4 + 4]);
        }
        assert_eq!(out[i * 4 + 3], px[i * 4 + 3]);
    }
    // A transparent pixel's colour does not leak: recolouring them changes nothing else.
    let mut other = px.clone();
    for i in 0..w * h {
        if px[i * 4 + 3] < ALPHA_OPAQUE_MIN {
            other[i * 4] ^= 0xff;
        }
    }
    let out2 = denoise(&ImageView::new(&other, w, h, 4).unwrap(), &params(6.0)).unwrap();
    let opaque =
        |v: &[u8]| v.chunks_exact(4).filter(|p| p[3] >= ALPHA_OPAQUE_MIN).flatten().copied().collect::<Vec<_>>();
    assert_eq!(opaque(&out), opaque(&out2));
}

#[test]
fn the_front_end_options() {
    let (w, h) = (25, 19);
    let px = page(w, h, 4, 5.0, 3);
    let img = ImageView::new(&px, w, h, 3).unwrap();
    let off = ScanOptions::default();
    assert_eq!(reach(&off), 0);
    assert_eq!(prepare(&img, &off).unwrap(), None);
    let on = ScanOptions { denoise: 2.0, noise: 5.0, ..Default::default() };
    assert_eq!(reach(&on), 2 * RADIUS * PASSES);
    assert_eq!(prepare(&img, &on).unwrap(), Some(denoise(&img, &params(5.0)).unwrap()));
    // A clean image (noise 0) comes back unchanged.
    let clean = ScanOptions { denoise: 2.0, noise: 0.0, ..Default::default() };
    assert_eq!(prepare(&img, &clean).unwrap(), Some(px.clone()));
    // The window form through the options, and RGBA in (opaque), RGB out.
    let rgba: Vec<u8> = px.chunks_exact(3).flat_map(|p| [p[0], p[1], p[2], 255]).collect();
    let rimg = ImageView::new(&rgba, w, h, 4).unwrap();
    let all = Rect { x0: 0, y0: 0, width: w, height: h };
    let core = Rect { x0: 3, y0: 4, width: 7, height: 2 };
    let window = core.grown(reach(&on), &all);
    let wpx = crop_of(&rgba, w, window, 4);
    let got = prepare_window(&ImageView::new(&wpx, window.width, window.height, 4).unwrap(), window, (w, h), core, &on)
        .unwrap()
        .unwrap();
    assert_eq!(got, crop_of(&prepare(&rimg, &on).unwrap().unwrap(), w, core, 3));
    // Out-of-range settings are option errors.
    for bad in [ScanOptions { denoise: -1.0, ..on.clone() }, ScanOptions { noise: f32::NAN, ..on.clone() }] {
        assert!(matches!(prepare(&img, &bad), Err(KernelError::InvalidOption(_))));
    }
}
