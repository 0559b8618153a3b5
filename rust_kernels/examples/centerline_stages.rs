//! Time the centerline stages on a raw RGB file named NAME_WxHx3.raw (ink = luma < 128).
//! cargo run --release --example centerline_stages -- /tmp/page_3960x3000x3.raw
use std::time::Instant;
use vectile_kernels::fit::FitOptions;
use vectile_kernels::strokes::{geometry, graph, ink, simplify, skeleton};

fn main() {
    let f = std::env::args().nth(1).expect("a NAME_WxHx3.raw file");
    let dims: Vec<usize> =
        f.rsplit('_').next().unwrap().trim_end_matches(".raw").split('x').map(|s| s.parse().unwrap()).collect();
    let (w, h) = (dims[0], dims[1]);
    let data = std::fs::read(&f).unwrap();
    let img = vectile_kernels::image::ImageView::new(&data, w, h, dims[2]).unwrap();
    let s = Instant::now();
    let qo = vectile_kernels::quantize::QuantizeOptions { colors: 2, ..Default::default() };
    let q = vectile_kernels::quantize::quantize(&img, None, &qo).unwrap();
    println!("quantize   {:8.1} ms (2 colours, {} labels)", s.elapsed().as_secs_f64() * 1e3, q.labels.len());
    let mask: Vec<u8> = data
        .chunks(dims[2])
        .map(|p| ((p[0] as u32 * 299 + p[1] as u32 * 587 + p[2] as u32 * 114) < 128_000) as u8)
        .collect();
    let max_width = 8.0;
    let mut t = [0f64; 4];
    let reps = 3;
    let mut n = 0;
    for _ in 0..reps {
        let s = Instant::now();
        let bits = skeleton::skeleton(&mask, w, h, skeleton::thinning_iterations(max_width));
        t[0] += s.elapsed().as_secs_f64();
        let s = Instant::now();
        let pg = graph::build(&bits, w, h);
        t[1] += s.elapsed().as_secs_f64();
        let s = Instant::now();
        let ink = ink::Ink { mask: &mask, w, h, reach: 9 };
        let mut g = simplify::stroke_graph(&pg, &ink);
        simplify::canonical(&mut g);
        t[2] += s.elapsed().as_secs_f64();
        let s = Instant::now();
        n = geometry::strokes(&g, &ink, max_width, &FitOptions::default()).len();
        t[3] += s.elapsed().as_secs_f64();
    }
    let mp = (w * h) as f64 / 1e6;
    let names = ["skeleton", "graph", "simplify", "geometry"];
    for (k, name) in names.iter().enumerate() {
        println!("{name:10} {:8.1} ms {:8.1} MP/s", t[k] / reps as f64 * 1e3, mp / (t[k] / reps as f64));
    }
    let total: f64 = t.iter().sum::<f64>() / reps as f64;
    println!("total      {:8.1} ms {:8.1} MP/s  ({n} strokes)", total * 1e3, mp / total);
}
