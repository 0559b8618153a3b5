use super::blur::{reflect101, Kernel};
use super::*;

fn lcg(seed: &mut u64) -> u8 {
    *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (*seed >> 56) as u8
}

fn noise(w: usize, h: usize, c: usize, seed: u64) -> Vec<u8> {
    let mut s = seed;
    (0..w * h * c).map(|_| lcg(&mut s)).collect()
}

/// Float reference blur (reflect-101), rounded.
fn blur_reference(src: &[u8], w: usize, h: usize, c: usize, sigma: f64) -> Vec<u8> {
    let r = (((6.0 * sigma + 1.0).round() as usize) | 1) / 2;
    let g: Vec<f64> = (0..=r).map(|k| (-((k * k) as f64) / (2.0 * sigma * sigma)).exp()).collect();
    let total = g[0] + 2.0 * g[1..].iter().sum::<f64>();
    let g: Vec<f64> = g.iter().map(|v| v / total).collect();
    let mut tmp = vec![0f64; w * h * c];
    for y in 0..h {
        for x in 0..w * c {
            let mut acc = 0.0;
            for k in -(r as isize)..=r as isize {
                acc += g[k.unsigned_abs()] * src[reflect101(y as isize + k, h) * w * c + x] as f64;
            }
            tmp[y * w * c + x] = acc;
        }
    }
    let mut out = vec![0u8; w * h * c];
    for y in 0..h {
        for x in 0..w {
            for ch in 0..c {
                let mut acc = 0.0;
                for k in -(r as isize)..=r as isize {
                    acc += g[k.unsigned_abs()] * tmp[(y * w + reflect101(x as isize + k, w)) * c + ch];
                }
                out[(y * w + x) * c + ch] = acc.round() as u8;
            }
        }
    }
    out
}

#[test]
fn reflect101_indices() {
    let got: Vec<usize> = (-3..8).map(|i| reflect101(i, 5)).collect();
    assert_eq!(got, vec![3, 2, 1, 0, 1, 2, 3, 4, 3, 2, 1]);
    assert_eq!(reflect101(-7, 1), 0);
    assert_eq!(reflect101(-13, 3), 1); // radius larger than the image
}

#[test]
fn kernel_weights_sum_to_one() {
    for sigma in [0.5f32, 1.0, 1.4, 2.0, 3.0] {
        let Kernel::Fixed(w) = Kernel::gaussian(sigma).unwrap() else { panic!("sigma {sigma}") };
        assert_eq!(w[0] as u32 + 2 * w[1..].iter().map(|&v| v as u32).sum::<u32>(), 256);
        assert!(w.windows(2).all(|p| p[0] >= p[1]), "{w:?}");
    }
    assert_eq!(Kernel::gaussian(0.0).unwrap(), Kernel::Identity);
    assert!(matches!(Kernel::gaussian(5.0).unwrap(), Kernel::Float(_)));
    assert!(Kernel::gaussian(-1.0).is_err() && Kernel::gaussian(f32::NAN).is_err());
}

#[test]
fn blur_matches_float_reference_and_preserves_mean() {
    for (sigma, c) in [(0.8f32, 1), (1.4, 1), (2.5, 3), (6.0, 1), (1.0, 4)] {
        let (w, h) = (37, 23);
        let img = noise(w, h, c, 7);
        let got = gaussian_blur(&img, w, h, c, sigma).unwrap();
        let want = blur_reference(&img, w, h, c, sigma as f64);
        let worst = got.iter().zip(&want).map(|(&a, &b)| (a as i32 - b as i32).abs()).max().unwrap();
        assert!(worst <= 1, "sigma {sigma}: off by {worst}");
        let mean = |v: &[u8]| v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64;
        // Reflect-101 keeps the mean only approximately near borders; a periodic-ish check:
        assert!((mean(&got) - mean(&img)).abs() < 1.0, "sigma {sigma}");
    }
    // Flat stays flat, exactly, whatever sigma.
    for sigma in [0.3f32, 1.4, 3.0, 9.0] {
        let img = vec![201u8; 19 * 11 * 3];
        assert_eq!(gaussian_blur(&img, 19, 11, 3, sigma).unwrap(), img);
    }
    // Tiny images (sides of 1 and 2 pixels) work.
    for (w, h) in [(1, 1), (1, 5), (2, 2), (5, 1)] {
        let img = noise(w, h, 1, 3);
        assert_eq!(gaussian_blur(&img, w, h, 1, 2.0).unwrap().len(), w * h);
    }
}

#[test]
fn sobel_of_ramps() {
    let (w, h) = (9, 6);
    // Horizontal ramp 5 per pixel: gx = 4 * (2 * 5) = 40 inside; reflect-101 gives 0 at the
    // left and right border columns; gy = 0 everywhere.
    let img: Vec<u8> = (0..w * h).map(|i| (i % w) as u8 * 5).collect();
    let (gx, gy) = sobel(&img, w, h, 1).unwrap();
    for y in 0..h {
        for x in 0..w {
            let want = if x == 0 || x == w - 1 { 0 } else { 40 };
            assert_eq!(gx[y * w + x], want, "({x}, {y})");
            assert_eq!(gy[y * w + x], 0);
        }
    }
    // Vertical ramp: gy = 40, gx = 0.
    let img: Vec<u8> = (0..w * h).map(|i| (i / w) as u8 * 5).collect();
    let (gx, gy) = sobel(&img, w, h, 1).unwrap();
    assert!(gx.iter().all(|&v| v == 0));
    assert_eq!(gy[2 * w + 4], 40);
    let (m, d) = polar(&gx, &gy);
    assert_eq!(m[2 * w + 4], 40.0);
    assert!((d[2 * w + 4] - std::f32::consts::FRAC_PI_2).abs() < 1e-6);
    // Extremes stay in range: a black/white step gives exactly 1020.
    let img: Vec<u8> = (0..w * h).map(|i| if i % w < 4 { 0 } else { 255 }).collect();
    let (gx, _) = sobel(&img, w, h, 1).unwrap();
    assert_eq!(gx[w + 4], 1020);
}

#[test]
fn sobel_colour_takes_strongest_channel() {
    let (w, h) = (6, 4);
    // Red steps up by 30 at x = 3, blue steps down by 100 at x = 3.
    let img: Vec<u8> = (0..w * h).flat_map(|i| if i % w < 3 { [0u8, 50, 200] } else { [30, 50, 100] }).collect();
    let (gx, gy) = sobel(&img, w, h, 3).unwrap();
    assert_eq!(gx[w + 3], -400);
    assert_eq!(gy[w + 3], 0);
}

fn step(w: usize, h: usize, at: usize, lo: u8, hi: u8) -> Vec<u8> {
    (0..w * h).map(|i| if i % w < at { lo } else { hi }).collect()
}

fn edge_columns(edges: &[u8], w: usize, y: usize) -> Vec<usize> {
    (0..w).filter(|&x| edges[y * w + x] != 0).collect()
}

#[test]
fn step_edge_is_one_pixel_wide_at_the_step() {
    let (w, h) = (24, 16);
    for sigma in [0.0f32, 1.0, 1.4, 2.0] {
        for (lo, hi) in [(20u8, 220u8), (220, 20)] {
            let img = step(w, h, 12, lo, hi);
            let opts = CannyOptions { sigma, low: Some(0.05), high: Some(0.1), strength: false, edges: true };
            let r = canny(&img, w, h, 1, &opts).unwrap();
            for y in 0..h {
                assert_eq!(edge_columns(&r.edges, w, y), vec![11], "sigma {sigma} row {y}");
            }
        }
    }
    // Horizontal step: the top pixel of the pair.
    let img: Vec<u8> = (0..20 * 10).map(|i| if i / 20 < 5 { 0 } else { 255 }).collect();
    let r = canny(
        &img,
        20,
        10,
        1,
        &CannyOptions { sigma: 1.4, low: Some(0.05), high: Some(0.1), strength: false, edges: true },
    )
    .unwrap();
    for x in 0..20 {
        let ys: Vec<usize> = (0..10).filter(|&y| r.edges[y * 20 + x] != 0).collect();
        assert_eq!(ys, vec![4], "column {x}");
    }
}

#[test]
fn diagonal_edge_is_thin_and_connected() {
    let (w, h) = (40, 40);
    // A disc: its boundary turns through every direction.
    let img: Vec<u8> = (0..w * h)
        .map(|i| {
            let (x, y) = ((i % w) as f64 - 19.5, (i / w) as f64 - 19.5);
            if x * x + y * y < 14.0 * 14.0 {
                230
            } else {
                30
            }
        })
        .collect();
    let r = canny(
        &img,
        w,
        h,
        1,
        &CannyOptions { sigma: 1.4, low: Some(0.05), high: Some(0.1), strength: false, edges: true },
    )
    .unwrap();
    let count = r.edges.iter().filter(|&&e| e != 0).count();
    // A thin 8-connected circle of radius ~14 has about 8 * 14 / sqrt(2) ~ 80 pixels; a
    // two-pixel-wide one would have twice that.
    assert!((60..=110).contains(&count), "{count} edge pixels");
    // No 2 x 2 block is all edge (thinness).
    for y in 0..h - 1 {
        for x in 0..w - 1 {
            let block = [y * w + x, y * w + x + 1, (y + 1) * w + x, (y + 1) * w + x + 1];
            assert!(block.iter().any(|&i| r.edges[i] == 0), "thick at ({x}, {y})");
        }
    }
}

#[test]
fn hysteresis_keeps_weak_pixels_connected_to_strong_ones() {
    let (w, h) = (30, 20);
    // Left line (x = 4/5): contrast fading from 200 (strong) at the top to 48 (weak) at the
    // bottom, one straight line.
    // Right line (x = 21/22): weak contrast only, 7 pixels away from anything strong.
    let img: Vec<u8> = (0..w * h)
        .map(|i| {
            let (x, y) = (i % w, i / w);
            match x {
                5..15 => 200 - 8 * y as u8,
                22.. => 50,
                _ => 0,
            }
        })
        .collect();
    let opts = CannyOptions { sigma: 0.0, low: Some(0.15), high: Some(0.5), strength: false, edges: true };
    let r = canny(&img, w, h, 1, &opts).unwrap();
    for y in 0..h {
        assert!(r.edges[y * w + 4] == 255 || r.edges[y * w + 5] == 255, "left line broken at row {y}");
        assert!(r.edges[y * w + 21] == 0 && r.edges[y * w + 22] == 0, "weak-only line kept at row {y}");
    }
    // With low = high the weak part goes.
    let r = canny(&img, w, h, 1, &CannyOptions { low: Some(0.5), ..opts }).unwrap();
    let on = |y: usize| r.edges[y * w + 4] == 255 || r.edges[y * w + 5] == 255;
    assert!(on(3) && !on(15) && !on(19));
}

#[test]
fn automatic_thresholds() {
    // Flat: no edges at all.
    let r = canny(&vec![77u8; 30 * 20], 30, 20, 1, &CannyOptions::default()).unwrap();
    assert!(r.edges.iter().all(|&e| e == 0));
    assert!((r.high - 1.0 / SOBEL_UNIT).abs() < 1e-9 && (r.low - 0.4 * r.high).abs() < 1e-9);
    // Noise: high is the 70th percentile of the magnitude of the blurred image.
    let (w, h) = (64, 48);
    let img = noise(w, h, 1, 11);
    let r = canny(&img, w, h, 1, &CannyOptions { sigma: 1.0, ..Default::default() }).unwrap();
    let blurred = gaussian_blur(&img, w, h, 1, 1.0).unwrap();
    let (gx, gy) = sobel(&blurred, w, h, 1).unwrap();
    let (mut m, _) = polar(&gx, &gy);
    m.sort_by(f32::total_cmp);
    let q = m[(0.7 * (w * h) as f64).ceil() as usize - 1] / SOBEL_UNIT;
    assert!(r.high >= q && r.high <= q + 1.0 / SOBEL_UNIT, "{} vs {q}", r.high);
    assert!((r.low - 0.4 * r.high).abs() < 1e-7);
    // Only high given: low = 0.4 high.
    let r = canny(&img, w, h, 1, &CannyOptions { high: Some(0.2), ..Default::default() }).unwrap();
    assert!((r.low - 0.08).abs() < 1e-7);
}

#[test]
fn strength_thresholds_reproduce_canny() {
    let (w, h) = (70, 50);
    for c in [1usize, 3] {
        let mut img = noise(w, h, c, 5);
        // Add structure: a bright rectangle.
        for y in 10..35 {
            for x in 15..50 {
                for ch in 0..c {
                    img[(y * w + x) * c + ch] = img[(y * w + x) * c + ch] / 4 + 180;
                }
            }
        }
        let ratio = 0.4f32;
        let eps = 1e-4f32;
        let full = canny(
            &img,
            w,
            h,
            c,
            &CannyOptions { sigma: 1.2, low: Some(ratio * eps), high: Some(eps), strength: true, edges: true },
        )
        .unwrap();
        assert!(full.strength.iter().all(|&v| (0.0..=1.0).contains(&v)));
        for t in [0.0123f32, 0.0456, 0.0789, 0.1234, 0.2345] {
            let fast = canny(
                &img,
                w,
                h,
                c,
                &CannyOptions { sigma: 1.2, low: Some(ratio * t), high: Some(t), strength: false, edges: true },
            )
            .unwrap();
            let from_strength: Vec<u8> = full.strength.iter().map(|&s| if s >= t { 255 } else { 0 }).collect();
            let diff = fast.edges.iter().zip(&from_strength).filter(|(a, b)| a != b).count();
            assert_eq!(diff, 0, "channels {c}, t {t}");
            // The float path gives the same edges as the fast path.
            let slow = canny(
                &img,
                w,
                h,
                c,
                &CannyOptions { sigma: 1.2, low: Some(ratio * t), high: Some(t), strength: true, edges: true },
            )
            .unwrap();
            assert_eq!(slow.edges, fast.edges);
            assert!(slow.strength.iter().zip(&slow.edges).all(|(&s, &e)| (s > 0.0) == (e > 0)));
        }
    }
}

#[test]
fn results_do_not_depend_on_thread_count() {
    let (w, h) = (53, 211);
    let img = noise(w, h, 3, 9);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let b = gaussian_blur(&img, w, h, 3, 1.4).unwrap();
            let s = sobel(&img, w, h, 3).unwrap();
            let c1 = canny(
                &img,
                w,
                h,
                3,
                &CannyOptions { sigma: 1.4, low: Some(0.05), high: Some(0.1), strength: false, edges: true },
            )
            .unwrap();
            let c2 = canny(&img, w, h, 3, &CannyOptions { sigma: 2.0, strength: true, ..Default::default() }).unwrap();
            // Known thresholds classify during the streaming pass; the strength sweep defers
            // components across band seams to a sequential pass.
            let c3 = canny(
                &img,
                w,
                h,
                3,
                &CannyOptions { sigma: 1.0, low: Some(0.03), high: Some(0.08), strength: true, edges: true },
            )
            .unwrap();
            (b, s, c1.edges, c2.edges, c2.strength, c3.edges, c3.strength)
        })
    };
    let one = run(1);
    assert!(one.6.iter().any(|&v| v > 0.0));
    assert!(one == run(5) && one == run(8));
}

#[test]
fn bad_arguments_are_errors() {
    let img = vec![0u8; 12];
    assert!(gaussian_blur(&img, 4, 4, 1, 1.0).is_err()); // wrong size
    assert!(gaussian_blur(&img, 4, 3, 1, -0.5).is_err());
    assert!(sobel(&img, 0, 3, 4).is_err());
    assert!(sobel(&img, 2, 1, 6).is_err()); // too many channels
    let o = |low, high| CannyOptions { sigma: 1.0, low, high, strength: false, edges: true };
    assert!(canny(&img, 4, 3, 1, &o(Some(0.5), Some(0.2))).is_err());
    assert!(canny(&img, 4, 3, 1, &o(None, Some(f32::NAN))).is_err());
    assert!(canny(&img, 4, 3, 1, &o(Some(-0.1), None)).is_err());
    assert!(canny(&img, 4, 3, 1, &o(None, Some(0.0))).is_err());
    assert!(canny(&img, 4, 3, 1, &o(Some(0.0), Some(0.1))).is_ok());
}

#[test]
fn portable_and_avx2_versions_agree() {
    use std::sync::atomic::Ordering;
    let (w, h) = (97, 41);
    let img = noise(w, h, 3, 21);
    let run = || {
        (
            gaussian_blur(&img, w, h, 3, 1.4).unwrap(),
            gaussian_blur(&img[..w * h], w, h, 1, 2.2).unwrap(),
            sobel(&img, w, h, 3).unwrap(),
            canny(&img, w, h, 3, &CannyOptions { sigma: 1.4, strength: true, ..Default::default() }).unwrap().strength,
        )
    };
    let fast = run();
    super::simd::FORCE_PORTABLE.store(true, Ordering::Relaxed);
    let portable = run();
    super::simd::FORCE_PORTABLE.store(false, Ordering::Relaxed);
    assert!(fast == portable);
}

#[test]
fn tiny_images() {
    for (w, h) in [(1, 1), (1, 7), (7, 1), (2, 2), (3, 2)] {
        for c in [1usize, 3] {
            let img = noise(w, h, c, 2);
            assert_eq!(gaussian_blur(&img, w, h, c, 4.0).unwrap().len(), w * h * c);
            assert_eq!(sobel(&img, w, h, c).unwrap().0.len(), w * h);
            for strength in [false, true] {
                for high in [None, Some(0.05)] {
                    let r = canny(&img, w, h, c, &CannyOptions { sigma: 1.4, low: None, high, strength, edges: true })
                        .unwrap();
                    assert_eq!(r.edges.len(), w * h);
                    assert_eq!(r.strength.len(), if strength { w * h } else { 0 });
                }
            }
        }
    }
}

#[test]
fn strength_map_matches_its_definition() {
    use super::canny::{EDGE, WEAK};
    use super::strength::{strength_map, strength_map_in};
    // Both the propagation and the event sweep (no work allowed after the two passes).
    // Random EDGE pixels (dense enough for large components full of cycles, plus sparse
    // ones: thin chains) with magnitudes from a small set (ties), and some WEAK pixels.
    for (w, h, density, seed) in
        [(40, 30, 150, 1), (7, 200, 90, 2), (1, 1, 255, 3), (100, 1, 200, 4), (300, 200, 140, 5)]
    {
        let (pw, mut s) = (w + 2, seed);
        let mut states = vec![0u8; pw * (h + 2)];
        let mut m = vec![0f32; w * h];
        for y in 0..h {
            for x in 0..w {
                let r = lcg(&mut s);
                if r < density || r > 250 {
                    states[(y + 1) * pw + x + 1] = if r < density { EDGE } else { WEAK };
                    m[y * w + x] = 10.0 + (lcg(&mut s) % 24) as f32 * 37.5;
                }
            }
        }
        for ratio in [0.0f32, 0.3, 0.4, 0.5, 0.9, 1.0] {
            // The definition's fixed point, `s(p) = max(m(p), min(m(p) / ratio, s(n)))` over
            // EDGE neighbours `n`, by raising every pixel until nothing rises.
            let edge = |x: usize, y: usize| states[(y + 1) * pw + x + 1] == EDGE;
            let mut s = m.clone();
            loop {
                let mut rose = false;
                for (y, x) in (0..h).flat_map(|y| (0..w).map(move |x| (y, x))).filter(|&(y, x)| edge(x, y)) {
                    for (ny, nx) in (y.saturating_sub(1)..(y + 2).min(h))
                        .flat_map(|ny| (x.saturating_sub(1)..(x + 2).min(w)).map(move |nx| (ny, nx)))
                    {
                        let level = s[ny * w + nx].min(m[y * w + x] / ratio);
                        if edge(nx, ny) && level > s[y * w + x] {
                            s[y * w + x] = level;
                            rose = true;
                        }
                    }
                }
                if !rose {
                    break;
                }
            }
            let expected: (Vec<u8>, Vec<f32>) = (0..w * h)
                .map(|i| if edge(i % w, i / w) { (255, (s[i] / SOBEL_UNIT).min(1.0)) } else { (0, 0.0) })
                .unzip();
            for threads in [1, 2, 3] {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                let (a, b) = pool.install(|| {
                    (
                        strength_map(m.clone(), &mut states.clone(), w, h, ratio, true),
                        strength_map_in(m.clone(), &mut states.clone(), w, h, ratio, true, 0),
                    )
                });
                let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                for r in [&a, &b] {
                    assert_eq!(r.0, expected.0);
                    assert_eq!(bits(&r.1), bits(&expected.1), "{w}x{h} ratio {ratio} threads {threads}");
                }
            }
        }
    }
}

#[test]
fn strength_with_known_thresholds_matches_the_automatic_path() {
    // Known thresholds classify during the streaming pass, automatic ones after the
    // histogram: same thresholds, same bits. The image has several bands (over 64K pixels
    // per band), so hysteresis and the strength sweep both cross seams, at any thread count.
    let (w, h) = (331, 977);
    let mut img = noise(w, h, 1, 11);
    // Long structures across many bands: a slanted bright bar and a ring.
    for y in 0..h {
        for x in 0..w {
            let (dx, dy) = (x as f32 - 160.0, y as f32 - 500.0);
            let r = (dx * dx + dy * dy).sqrt();
            if (x + y / 3) % 97 < 20 || (200.0..230.0).contains(&r) {
                img[y * w + x] = img[y * w + x] / 3 + 150;
            }
        }
    }
    let auto_opts = || CannyOptions { sigma: 1.2, strength: true, ..Default::default() };
    let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let auto = canny(&img, w, h, 1, &auto_opts()).unwrap();
            let opts =
                CannyOptions { sigma: 1.2, low: Some(auto.low), high: Some(auto.high), strength: true, edges: true };
            // The strength map alone (no edge map built): same strengths, no edges.
            let alone = canny(&img, w, h, 1, &CannyOptions { edges: false, ..opts.clone() }).unwrap();
            let alone_auto = canny(&img, w, h, 1, &CannyOptions { edges: false, ..auto_opts() }).unwrap();
            assert!(alone.edges.is_empty() && alone_auto.edges.is_empty());
            assert_eq!(bits(&alone.strength), bits(&auto.strength), "threads {threads}");
            assert_eq!(bits(&alone_auto.strength), bits(&auto.strength), "threads {threads}");
            (auto, canny(&img, w, h, 1, &opts).unwrap())
        })
    };
    let (auto, known) = run(1);
    assert!(known.edges.iter().filter(|&&e| e > 0).count() > 5000);
    for threads in [1, 2, 3, 7] {
        let (a, k) = run(threads);
        assert_eq!(bits(&a.strength), bits(&auto.strength), "threads {threads}");
        assert_eq!(bits(&k.strength), bits(&auto.strength), "threads {threads}");
        assert_eq!(k.edges, auto.edges, "threads {threads}");
    }
}
