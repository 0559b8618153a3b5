//! Paper = background: what `Background` does to the traced regions once the palette knows
//! which entry is the paper (`scan::palette`).
//!
//! - `Keep`: every region of the paper's palette entry is painted in that entry's colour (the
//!   pixel-weighted mean of all paper pixels), not in its own mean, so the paper is one flat
//!   colour: shading, grain and noise leave no trace in the SVG.
//! - `White`: the same, in pure white, and every other region white-balanced to it: its linear
//!   RGB divided by the paper's, channel by channel (what a scanner's white point does). Ink
//!   printed on yellowed paper looks yellowed by exactly that factor, so this brings back the
//!   ink's own colour.
//! - `Transparent`: paper regions are not drawn. They are removed after speckle merging (so
//!   specks on the paper still merge into it and vanish with it), and the regions over the
//!   paper keep open holes where the paper showed through (the transparency rule of stacked
//!   layers: the largest region paints the outline of all drawn regions, not the canvas).

use super::palette::linear;
use super::Background;
use crate::regions::{Regions, NONE};

/// Recolour paper regions for `Keep` and `White`; `labels` are the regions' palette labels.
/// Other backgrounds (and no paper) leave `colours` alone.
///
/// ```
/// use vectile_kernels::scan::{background::paint, Background};
/// let mut colours = vec![[240, 230, 201], [10, 10, 10], [236, 228, 199]];
/// paint(&mut colours, &[0, 1, 0], &[[238, 229, 200], [10, 10, 10]], Some(0), Background::Keep);
/// assert_eq!(colours, vec![[238, 229, 200], [10, 10, 10], [238, 229, 200]]);
/// ```
pub fn paint(colours: &mut [[u8; 3]], labels: &[i32], palette: &[[u8; 3]], paper: Option<i32>, bg: Background) {
    let Some(p) = paper else { return };
    let colour = palette[p as usize];
    match bg {
        Background::Keep => {
            for (c, &l) in colours.iter_mut().zip(labels) {
                if l == p {
                    *c = colour;
                }
            }
        }
        Background::White => {
            let white = linear(colour.map(f64::from));
            for (c, &l) in colours.iter_mut().zip(labels) {
                *c = if l == p { [255; 3] } else { balance(*c, white) };
            }
        }
        Background::Off | Background::Transparent => {}
    }
}

/// `c` white-balanced so that `white` (linear RGB) becomes white.
fn balance(c: [u8; 3], white: [f64; 3]) -> [u8; 3] {
    let lin = linear(c.map(f64::from));
    std::array::from_fn(|k| {
        let v = if white[k] > 0.0 { (lin[k] / white[k]).min(1.0) } else { 1.0 };
        let s = if v <= 0.003_130_8 { v * 12.92 } else { 1.055 * v.powf(1.0 / 2.4) - 0.055 };
        (255.0 * s).round() as u8
    })
}

/// Remove the regions of palette label `paper` (their pixels become NONE); the others keep
/// their order (first-pixel order) and are renumbered. `colours` follows the regions.
pub fn drop_paper(regions: &mut Regions, colours: &mut Vec<[u8; 3]>, paper: i32) {
    let mut id = vec![NONE; regions.labels.len()];
    let mut next = 0u32;
    for (slot, &l) in id.iter_mut().zip(&regions.labels) {
        if l != paper {
            *slot = next;
            next += 1;
        }
    }
    for m in regions.map.iter_mut() {
        if *m != NONE {
            *m = id[*m as usize];
        }
    }
    retain_kept(&mut regions.areas, &id);
    retain_kept(&mut regions.colors, &id);
    retain_kept(colours, &id);
    regions.labels.retain(|&l| l != paper);
}

/// Keep the entries whose new id is not NONE.
fn retain_kept<T>(v: &mut Vec<T>, id: &[u32]) {
    let mut ids = id.iter();
    v.retain(|_| ids.next().is_some_and(|&i| i != NONE));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropping_paper_renumbers_the_rest_in_order() {
        let mut r = Regions {
            width: 4,
            height: 1,
            map: vec![0, 1, 2, 3],
            areas: vec![1, 1, 1, 1],
            colors: vec![[1, 1, 1], [2, 2, 2], [3, 3, 3], [4, 4, 4]],
            labels: vec![0, 1, 0, 2],
        };
        let mut colours = r.colors.clone();
        drop_paper(&mut r, &mut colours, 0);
        assert_eq!(r.map, vec![NONE, 0, NONE, 1]);
        assert_eq!(r.labels, vec![1, 2]);
        assert_eq!(r.colors, vec![[2, 2, 2], [4, 4, 4]]);
        assert_eq!(colours, r.colors);
        assert_eq!(r.areas.len(), 2);
    }

    #[test]
    fn white_and_no_paper() {
        // Paper (200, 190, 150) becomes white; black stays black; ink that is the paper's
        // colour at half the light (linear) becomes a neutral grey.
        let paper = [200u8, 190, 150];
        let half = linear(paper.map(f64::from)).map(|v| {
            let v = v * 0.5;
            (255.0 * if v <= 0.003_130_8 { v * 12.92 } else { 1.055 * v.powf(1.0 / 2.4) - 0.055 }).round() as u8
        });
        let mut c = vec![paper, [0, 0, 0], half];
        let mut palette = vec![[0; 3]; 4];
        palette[3] = paper;
        paint(&mut c, &[3, 1, 2], &palette, Some(3), Background::White);
        assert_eq!(c[..2], [[255, 255, 255], [0, 0, 0]]);
        assert!(c[2].iter().all(|&v| v.abs_diff(188) <= 1), "{:?}", c[2]);
        let mut c = vec![[200, 190, 150], [0, 0, 0]];
        paint(&mut c, &[3, 1], &[[0; 3]; 4], Some(3), Background::White);
        assert_eq!(c[0], [255, 255, 255]);
        let before = c.clone();
        paint(&mut c, &[3, 1], &[[0; 3]; 4], None, Background::Keep);
        paint(&mut c, &[3, 1], &[[9; 3]; 4], Some(3), Background::Off);
        assert_eq!(c, before);
    }
}
