//! Time each pipeline stage on raw RGB(A) files named NAME_WxHxC.raw.
//! cargo run --release --example stages -- /tmp/raw/*.raw
use std::time::Instant;
use vectile_kernels::{boundary, image::ImageView, quantize, regions, svg, trace};

fn main() {
    let mut tot = [0f64; 5];
    let files: Vec<String> = std::env::args().skip(1).collect();
    for f in &files {
        let dims: Vec<usize> =
            f.rsplit('_').next().unwrap().trim_end_matches(".raw").split('x').map(|s| s.parse().unwrap()).collect();
        let data = std::fs::read(f).unwrap();
        let img = ImageView::new(&data, dims[0], dims[1], dims[2]).unwrap();
        let opts = trace::TraceOptions { min_area: 10, ..Default::default() };
        let reps = 20;
        let mut t = [0f64; 5];
        for _ in 0..reps {
            let s = Instant::now();
            let q = quantize::quantize(&img, None, &quantize::QuantizeOptions { colors: 16, ..Default::default() })
                .unwrap();
            t[0] += s.elapsed().as_secs_f64();
            let s = Instant::now();
            let r = regions::find_regions(&img, &q.labels, opts.min_area).unwrap();
            t[1] += s.elapsed().as_secs_f64();
            let s = Instant::now();
            let g = boundary::build(&r.map, img.width, img.height, r.areas.len());
            t[2] += s.elapsed().as_secs_f64();
            let s = Instant::now();
            let curves = trace::fit_all(&g, &opts.fit);
            t[3] += s.elapsed().as_secs_f64();
            let s = Instant::now();
            let shapes = trace::shapes(&g, &r.colors, opts.layers, true, None);
            let _ = svg::write_svg(img.width, img.height, &shapes, &curves, opts.layers, 1, &[]);
            t[4] += s.elapsed().as_secs_f64();
        }
        for i in 0..5 {
            tot[i] += t[i] / reps as f64;
        }
        println!(
            "{:50} q {:.2} r {:.2} b {:.2} f {:.2} s {:.2} ms",
            f,
            t[0] / reps as f64 * 1e3,
            t[1] / reps as f64 * 1e3,
            t[2] / reps as f64 * 1e3,
            t[3] / reps as f64 * 1e3,
            t[4] / reps as f64 * 1e3
        );
    }
}
