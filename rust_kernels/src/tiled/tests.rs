//! Tiled tracing against `trace`: the same SVG for every tile size, and each stage's parts.

use super::regions::label_runs;
use super::*;
use crate::error::KernelError;
use crate::image::{ImageView, ALPHA_OPAQUE_MIN};
use crate::quantize::{pack, TRANSPARENT};
use crate::regions::Run;
use crate::svg::Layers;
use crate::trace::{luma, trace, Mode, TraceOptions};

fn lcg(seed: &mut u64) -> u64 {
    *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    *seed >> 33
}

/// Blobs of a few colours with noise: many regions, speckles, loops across tiles.
fn blobs(w: usize, h: usize, seed: u64, noise: bool) -> Vec<u8> {
    let mut s = seed;
    let centres: Vec<(f64, f64, f64, [u8; 3])> = (0..12)
        .map(|_| {
            let c = [(lcg(&mut s) % 256) as u8, (lcg(&mut s) % 256) as u8, (lcg(&mut s) % 256) as u8];
            ((lcg(&mut s) % w as u64) as f64, (lcg(&mut s) % h as u64) as f64, 3.0 + (lcg(&mut s) % 20) as f64, c)
        })
        .collect();
    let mut px = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            let mut c = [240u8, 240, 230];
            for &(cx, cy, r, col) in &centres {
                let (dx, dy) = (x as f64 - cx, (y as f64 - cy) * 1.3);
                if dx * dx + dy * dy < r * r {
                    c = col;
                }
            }
            if noise && lcg(&mut s) % 9 == 0 {
                c = [c[0].wrapping_add((lcg(&mut s) % 40) as u8), c[1], c[2].wrapping_sub((lcg(&mut s) % 40) as u8)];
            }
            px.extend_from_slice(&c);
        }
    }
    px
}

fn check(px: &[u8], w: usize, h: usize, opts: &TraceOptions, tiles: &[usize]) {
    let img = ImageView::new(px, w, h, 3).unwrap();
    let (want, ws) = trace(&img, None, opts).unwrap();
    for &t in tiles {
        let (got, gs) = trace_tiled(&img, t, opts).unwrap();
        assert_eq!(gs.regions, ws.regions, "tile {t}");
        assert_eq!(gs.edges, ws.edges, "tile {t}");
        assert!(got == want, "tile {t}: tiled SVG differs\n--- untiled\n{want}\n--- tiled\n{got}");
    }
}

#[test]
fn tiled_equals_untiled_flat_art() {
    let (w, h) = (61, 47);
    let px = blobs(w, h, 7, false);
    for layers in [Layers::Stacked, Layers::Cutout] {
        let opts = TraceOptions { layers, min_area: 4, ..Default::default() };
        check(&px, w, h, &opts, &[1, 2, 3, 7, 16, 37, 64]);
    }
}

#[test]
fn tiled_equals_untiled_noisy_kmeans() {
    let (w, h) = (53, 40);
    let px = blobs(w, h, 11, true);
    for layers in [Layers::Stacked, Layers::Cutout] {
        let opts = TraceOptions { layers, colors: 6, min_area: 6, ..Default::default() };
        check(&px, w, h, &opts, &[1, 5, 13, 32, 100]);
    }
}

#[test]
fn tiled_equals_untiled_binary_and_pixel() {
    let (w, h) = (45, 33);
    let px = blobs(w, h, 3, true);
    let opts = TraceOptions { mode: Mode::Binary, min_area: 3, ..Default::default() };
    check(&px, w, h, &opts, &[2, 9, 20]);
    let mut opts = TraceOptions { colors: 64, min_area: 1, precision: 0, ..Default::default() };
    opts.fit.corner_run = 1;
    opts.fit.tolerance = 0.05;
    check(&px, w, h, &opts, &[4, 11]);
}

#[test]
fn single_colour_and_thin_images() {
    let px = vec![9u8; 10 * 7 * 3];
    check(&px, 10, 7, &TraceOptions::default(), &[1, 3, 10]);
    let px = blobs(1, 30, 5, false);
    check(&px, 1, 30, &TraceOptions { min_area: 1, ..Default::default() }, &[1, 4]);
    let px = blobs(30, 1, 5, false);
    check(&px, 30, 1, &TraceOptions { min_area: 1, ..Default::default() }, &[1, 4]);
}

#[test]
fn tiled_equals_untiled_random_sizes() {
    // Pixel noise in 3 colours: junctions and saddles on every tile corner and seam.
    for seed in 0..6u64 {
        let mut s = seed;
        let (w, h) = (5 + (lcg(&mut s) % 40) as usize, 5 + (lcg(&mut s) % 40) as usize);
        let cols = [[0u8, 0, 0], [255, 255, 255], [200, 30, 30]];
        let px: Vec<u8> = (0..w * h).flat_map(|_| cols[(lcg(&mut s) % 3) as usize]).collect();
        let min_area = 1 + seed % 4;
        for layers in [Layers::Stacked, Layers::Cutout] {
            let opts = TraceOptions { layers, min_area, ..Default::default() };
            check(&px, w, h, &opts, &[1, 2, 3, 4, 6, 9]);
        }
    }
}

/// A scan-like page: the blobs on paper with noise (a spread of about `sigma` grey levels).
fn noisy_page(w: usize, h: usize, seed: u64, sigma: u64) -> Vec<u8> {
    let mut s = seed ^ 0x5ca7;
    blobs(w, h, seed, false)
        .into_iter()
        .map(|v| {
            let n = (0..4).map(|_| lcg(&mut s) % (sigma + 1)).sum::<u64>() as i32 - 2 * sigma as i32;
            (v as i32 + n).clamp(0, 255) as u8
        })
        .collect()
}

#[test]
fn tiled_equals_untiled_with_the_denoise_front_end() {
    use crate::scan::ScanOptions;
    let scan = ScanOptions { denoise: 2.0, noise: 6.0, ..Default::default() };
    let (w, h) = (57, 43);
    let px = noisy_page(w, h, 13, 6);
    let img = ImageView::new(&px, w, h, 3).unwrap();
    let plain = TraceOptions { colors: 8, min_area: 4, ..Default::default() };
    let (_, raw) = trace(&img, None, &plain).unwrap();
    let (_, clean) = trace(&img, None, &TraceOptions { scan: scan.clone(), ..plain }).unwrap();
    assert!(clean.regions < raw.regions, "the denoise cleans: {} -> {} regions", raw.regions, clean.regions);
    for layers in [Layers::Stacked, Layers::Cutout] {
        let opts = TraceOptions { layers, colors: 8, min_area: 4, scan: scan.clone(), ..Default::default() };
        check(&px, w, h, &opts, &[1, 2, 3, 5, 8, 16, 30, 64]);
    }
    // Binary mode and an RGBA (opaque) source: the cleaned pixels are RGB either way.
    let opts = TraceOptions { mode: Mode::Binary, min_area: 3, scan: scan.clone(), ..Default::default() };
    check(&px, w, h, &opts, &[1, 4, 9, 33]);
    let rgba: Vec<u8> = px.chunks_exact(3).flat_map(|p| [p[0], p[1], p[2], 255]).collect();
    let img = ImageView::new(&rgba, w, h, 4).unwrap();
    let opts = TraceOptions { colors: 6, scan, ..Default::default() };
    let (want, _) = trace(&img, None, &opts).unwrap();
    for t in [1, 7, 20] {
        assert!(trace_tiled(&img, t, &opts).unwrap().0 == want, "rgba tile {t}");
    }
}

#[test]
fn tiled_denoise_random_sizes() {
    use crate::scan::ScanOptions;
    for seed in 0..5u64 {
        let mut s = seed;
        let (w, h) = (1 + (lcg(&mut s) % 30) as usize, 1 + (lcg(&mut s) % 30) as usize);
        let px = noisy_page(w, h, seed, 8);
        let scan = ScanOptions { denoise: 1.0 + seed as f32 * 0.5, noise: 7.0, ..Default::default() };
        let opts = TraceOptions { colors: 5, min_area: 1 + seed % 3, scan, ..Default::default() };
        check(&px, w, h, &opts, &[1, 2, 3, 4, 6, 9]);
    }
}

#[test]
fn run_based_histogram_and_labels_match_per_pixel_counts() {
    // RGBA rows of runs 1..40 pixels long (the 16-pixel skip and its tail), some runs
    // transparent (alpha 0 or 127 with varying colour), some differing only in alpha.
    let (w, h) = (97, 9);
    let mut s = 5u64;
    let mut px = Vec::with_capacity(w * h * 4);
    let mut left = 0;
    let mut c = [0u8; 4];
    for _ in 0..w * h {
        if left == 0 {
            left = 1 + lcg(&mut s) % 40;
            let k = lcg(&mut s) % 5;
            c = [(k * 60) as u8, 10, (k * 30) as u8, [255, 255, 200, 127, 0][(lcg(&mut s) % 5) as usize]];
        }
        left -= 1;
        let mut p = c;
        if p[3] < ALPHA_OPAQUE_MIN {
            p[0] = (lcg(&mut s) % 256) as u8;
        }
        px.extend_from_slice(&p);
    }
    let img = ImageView::new(&px, w, h, 4).unwrap();
    let g = TileGeom { x0: 3, y0: 5, width: 200, height: 50 };
    // Per pixel: colours in first-appearance order with counts and first global index.
    let (mut keys, mut counts, mut first, mut luma_h, mut transparent) =
        (vec![], vec![], vec![], vec![0u64; 256], 0u64);
    let mut labels = vec![TRANSPARENT; w * h];
    for (i, label) in labels.iter_mut().enumerate() {
        let Some(c) = img.rgb(i) else {
            transparent += 1;
            continue;
        };
        luma_h[luma(c) as usize] += 1;
        let k = pack(c);
        match keys.iter().position(|&q| q == k) {
            Some(j) => counts[j] += 1,
            None => {
                keys.push(k);
                counts.push(1);
                first.push(((g.y0 + i / w) * g.width + g.x0 + i % w) as u64);
            }
        }
        *label = (k % 3) as i32;
    }
    let got = tile_histogram(&img, &g, Mode::Color).unwrap();
    assert_eq!((got.keys, got.counts, got.first, got.transparent), (keys.clone(), counts, first, transparent));
    let got = tile_histogram(&img, &g, Mode::Binary).unwrap();
    assert_eq!((got.luma, got.transparent), (luma_h, transparent));
    // Label runs equal the runs of the per-pixel label map (runs of different colours with
    // one label merge; transparent pixels make no run).
    let rule = LabelRule::Table(keys.iter().map(|&k| (k, (k % 3) as i32)).collect());
    let (want, want_rows) = crate::regions::runs(&labels, w, h);
    let (runs, rows) = label_runs(&img, &rule).unwrap();
    assert_eq!(rows, want_rows);
    let flat = |r: &[Run]| r.iter().map(|r| (r.y, r.x0, r.x1, r.label)).collect::<Vec<_>>();
    assert_eq!(flat(&runs), flat(&want));
    let missing = LabelRule::Table(vec![]);
    let err = label_runs(&img, &missing).err().expect("a colour outside the table is an error");
    assert!(err.to_string().contains("not in the palette"), "{err}");
}

#[test]
fn merged_histograms_make_the_same_palette() {
    let (w, h) = (53, 40);
    let px = blobs(w, h, 11, true);
    let img = ImageView::new(&px, w, h, 3).unwrap();
    let grid = Grid::new(w, h, 9).unwrap();
    for mode in [Mode::Color, Mode::Binary] {
        let parts: Vec<TileHistogram> = (0..grid.len())
            .map(|i| {
                let (x0, y0, tw, th) = grid.rect(i);
                let tile: Vec<u8> =
                    (y0..y0 + th).flat_map(|y| px[(y * w + x0) * 3..(y * w + x0 + tw) * 3].to_vec()).collect();
                tile_histogram(
                    &ImageView::new(&tile, tw, th, 3).unwrap(),
                    &TileGeom { x0, y0, width: w, height: h },
                    mode,
                )
                .unwrap()
            })
            .collect();
        let whole = tile_histogram(&img, &TileGeom { x0: 0, y0: 0, width: w, height: h }, mode).unwrap();
        // Merged in uneven groups, then the groups merged: the whole image's histogram.
        let groups: Vec<TileHistogram> = parts.chunks(7).map(|c| merge_histograms(c).unwrap()).collect();
        let merged = merge_histograms(&groups).unwrap();
        assert_eq!(
            (&merged.keys, &merged.counts, &merged.first, &merged.luma),
            (&whole.keys, &whole.counts, &whole.first, &whole.luma)
        );
        let opts = TraceOptions { mode, colors: 6, ..Default::default() };
        let a = palette_from_histograms(&parts, &opts).unwrap();
        let b = palette_from_histograms(&[merged], &opts).unwrap();
        assert_eq!(encode(&a), encode(&b));
    }
    let mixed = [TileHistogram::default(), TileHistogram { luma: vec![0; 256], ..Default::default() }];
    assert!(merge_histograms(&mixed).is_err());
}

#[test]
fn transparency_is_refused() {
    let px = vec![0u8; 4 * 4 * 4];
    let img = ImageView::new(&px, 4, 4, 4).unwrap();
    let err = trace_tiled(&img, 2, &TraceOptions::default()).unwrap_err();
    assert!(matches!(err, KernelError::NotOpaque(_)), "{err:?}");
}

/// Gaussian-ish noise (sum of four uniforms) of strength `sigma` on every channel.
fn add_noise(px: &mut [u8], sigma: f64, seed: u64) {
    let mut s = seed;
    for v in px.iter_mut() {
        let u: f64 = (0..4).map(|_| (lcg(&mut s) % 1000) as f64 / 1000.0 - 0.5).sum::<f64>() * 1.732;
        *v = (*v as f64 + u * sigma).round().clamp(0.0, 255.0) as u8;
    }
}

#[test]
fn local_merge_tiled_equals_untiled_on_noise() {
    // Sensor-like noise on flat blobs: thousands of speckles, clusters of small regions that
    // need several rounds, and seams through all of them.
    for (seed, sigma, min_area) in [(11u64, 12.0, 6u64), (3, 30.0, 9), (8, 6.0, 16)] {
        let (w, h) = (57, 43);
        let mut px = blobs(w, h, seed, true);
        add_noise(&mut px, sigma, seed);
        for layers in [Layers::Stacked, Layers::Cutout] {
            let opts = TraceOptions { layers, colors: 8, min_area, local_merge: true, ..Default::default() };
            check(&px, w, h, &opts, &[1, 2, 3, 5, 8, 13, 21, 64]);
        }
    }
}

#[test]
fn local_merge_tiled_equals_untiled_random_sizes_and_binary() {
    for seed in 0..6u64 {
        let mut s = seed;
        let (w, h) = (5 + (lcg(&mut s) % 40) as usize, 5 + (lcg(&mut s) % 40) as usize);
        let cols = [[0u8, 0, 0], [255, 255, 255], [200, 30, 30], [190, 40, 35]];
        let px: Vec<u8> = (0..w * h).flat_map(|_| cols[(lcg(&mut s) % 4) as usize]).collect();
        let min_area = 1 + seed * 3;
        let opts = TraceOptions { min_area, colors: 4, local_merge: true, ..Default::default() };
        check(&px, w, h, &opts, &[1, 2, 3, 4, 6, 9]);
        let opts = TraceOptions { mode: Mode::Binary, min_area: min_area + 2, local_merge: true, ..Default::default() };
        check(&px, w, h, &opts, &[1, 4, 7]);
    }
}

#[test]
fn local_merge_settles_interior_speckles_in_the_tile() {
    // A noisy image in 4 tiles: most clusters settle inside their tile, the stitch gets the
    // rest, and every region reaches min_area (one image, so nothing is isolated).
    let (w, h) = (512, 512);
    let mut px = blobs(w, h, 5, false);
    add_noise(&mut px, 40.0, 5);
    let opts = TraceOptions { colors: 8, min_area: 8, local_merge: true, ..Default::default() };
    let img = ImageView::new(&px, w, h, 3).unwrap();
    let hist = tile_histogram(&img, &TileGeom { x0: 0, y0: 0, width: w, height: h }, Mode::Color).unwrap();
    let palette = palette_from_histograms(&[hist], &opts).unwrap();
    let grid = Grid::new(w, h, 256).unwrap();
    let (x0, y0, tw, th) = grid.rect(0);
    let tile: Vec<u8> = (y0..y0 + th).flat_map(|y| px[(y * w + x0) * 3..(y * w + x0 + tw) * 3].to_vec()).collect();
    let g = TileGeom { x0, y0, width: w, height: h };
    let timg = ImageView::new(&tile, tw, th, 3).unwrap();
    let (global, _) = tile_regions(&timg, &g, &palette, None).unwrap();
    let (local, border) = tile_regions(&timg, &g, &palette, Some(8)).unwrap();
    let nodes = local.start.len();
    assert!(local.local && local.areas.len() > nodes);
    assert!(nodes * 4 < global.areas.len(), "{nodes} stitch nodes of {} components", global.areas.len());
    // Settled regions are final: large, and never on a seam (the tile's bottom and right).
    assert!(local.areas[nodes..].iter().all(|&a| a >= 8));
    assert!([&border.comps[1], &border.comps[3]].into_iter().flatten().all(|&c| (c as usize) < nodes));
    // Every pixel once: in a slot, or folded into a stitch node.
    let late: u64 = local.late.iter().map(|l| l.area).sum();
    assert!(late > 0, "speckles of regions that reach a seam fold into their stitch node");
    assert_eq!(local.areas.iter().sum::<u64>() + late, (tw * th) as u64);
    let q =
        crate::quantize::quantize(&img, None, &crate::quantize::QuantizeOptions { colors: 8, ..Default::default() })
            .unwrap();
    assert_eq!(q.palette, palette.palette);
    let regions = crate::regions::find_regions_local(&img, &q.labels, &q.palette, 8).unwrap();
    assert!(regions.areas.iter().all(|&a| a >= 8), "{:?}", regions.areas);
}

#[test]
fn local_merge_stitch_refuses_mixed_settings() {
    let (w, h) = (20, 20);
    let px = blobs(w, h, 2, true);
    let img = ImageView::new(&px, w, h, 3).unwrap();
    let opts = TraceOptions { colors: 4, local_merge: true, ..Default::default() };
    let hist = tile_histogram(&img, &TileGeom { x0: 0, y0: 0, width: w, height: h }, Mode::Color).unwrap();
    let palette = palette_from_histograms(&[hist], &opts).unwrap();
    let grid = Grid::new(w, h, 20).unwrap();
    let g = TileGeom { x0: 0, y0: 0, width: w, height: h };
    let (r, b) = tile_regions(&img, &g, &palette, None).unwrap();
    let err = stitch(&grid, &[r], &[b], &[], &palette, &opts).unwrap_err();
    assert!(err.to_string().contains("local_merge"), "{err}");
}

/// A scan-like page: yellowed paper under a lamp that falls off by 20 % across it, blobs of
/// ink, and noise on every pixel.
fn scanlike(w: usize, h: usize, seed: u64) -> Vec<u8> {
    let clean = blobs(w, h, seed, false);
    let mut s = seed ^ 0x5ca7;
    clean
        .chunks_exact(3)
        .enumerate()
        .flat_map(|(i, c)| {
            let (x, y) = ((i % w) as f64 / w as f64, (i / w) as f64 / h as f64);
            let light = 1.0 - 0.2 * (x + y) / 2.0;
            let paper = [245.0 / 255.0, 232.0 / 255.0, 196.0 / 255.0];
            let mut out = [0u8; 3];
            for ch in 0..3 {
                let noise = (lcg(&mut s) % 11) as f64 - 5.0;
                out[ch] = (c[ch] as f64 * paper[ch] * light + noise).round().clamp(0.0, 255.0) as u8;
            }
            out
        })
        .collect()
}

#[test]
fn tiled_equals_untiled_scan_palette() {
    use crate::scan::{Background, ScanOptions};
    let (w, h) = (57, 43);
    let px = scanlike(w, h, 5);
    for background in [Background::Off, Background::Keep, Background::White] {
        for layers in [Layers::Stacked, Layers::Cutout] {
            let scan = ScanOptions { delta_e: 8.0, background, ..Default::default() };
            let opts = TraceOptions { layers, colors: 24, min_area: 6, scan, ..Default::default() };
            check(&px, w, h, &opts, &[1, 4, 9, 32, 100]);
        }
    }
    // Binary mode with a background: the light side is the paper.
    let scan = ScanOptions { background: Background::White, ..Default::default() };
    check(&px, w, h, &TraceOptions { mode: Mode::Binary, min_area: 3, scan, ..Default::default() }, &[1, 7, 64]);
}

#[test]
fn tiled_equals_untiled_flat_field() {
    // A page large enough for the white field (> `field::MIN_CELLS` all-paper cells), traced
    // with keep and white (the field divided out) and without (none), with and without the
    // denoise, in tiles down to 1 px.
    use crate::scan::{Background, ScanOptions};
    let (w, h) = (150, 110);
    let px = scanlike(w, h, 3);
    for background in [Background::Keep, Background::White] {
        for denoise in [0.0, 2.0] {
            let scan = ScanOptions { delta_e: 8.0, background, denoise, noise: 3.0 };
            let opts = TraceOptions { colors: 24, min_area: 6, scan, ..Default::default() };
            if denoise == 0.0 {
                // The page has a field (else this would test nothing new).
                let img = ImageView::new(&px, w, h, 3).unwrap();
                let hist = tile_histogram(&img, &TileGeom { x0: 0, y0: 0, width: w, height: h }, Mode::Color).unwrap();
                let palette = palette_from_histograms(&[hist], &opts).unwrap();
                let sums = crate::scan::field::tile_sums(&img, (0, 0), &palette);
                assert!(crate::scan::field::tile_field(&[sums], w, h, &palette).unwrap().is_some());
            }
            check(&px, w, h, &opts, &[1, 16, 37, 200]);
        }
    }
}

#[test]
fn tiled_refuses_transparent_paper() {
    use crate::scan::{Background, ScanOptions};
    let px = scanlike(20, 10, 1);
    let img = ImageView::new(&px, 20, 10, 3).unwrap();
    let scan = ScanOptions { background: Background::Transparent, ..Default::default() };
    let opts = TraceOptions { scan, ..Default::default() };
    assert!(matches!(trace_tiled(&img, 8, &opts), Err(KernelError::NotOpaque(_))));
    assert!(trace(&img, None, &opts).is_ok());
}

#[test]
fn local_merge_tiled_equals_untiled_scan_palette() {
    // The scan palette and paper with local merging: paper regions keep their label through
    // merges (a merged cluster keeps its largest member's), so paint sees the same paper.
    use crate::scan::{Background, ScanOptions};
    let (w, h) = (57, 43);
    let px = scanlike(w, h, 9);
    for background in [Background::Off, Background::White] {
        let scan = ScanOptions { delta_e: 8.0, background, ..Default::default() };
        let opts = TraceOptions { colors: 24, min_area: 9, scan, local_merge: true, ..Default::default() };
        check(&px, w, h, &opts, &[1, 3, 8, 21, 64]);
    }
}
