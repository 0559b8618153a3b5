//! Paper = background: what `Background` does to the traced regions once the palette knows
//! which entry is the paper (`scan::palette`).
//!
//! - `Keep`: every region of the paper's palette entry is painted in that entry's colour (the
//!   pixel-weighted mean of all paper pixels), not in its own mean, so the paper is one flat
//!   colour: shading, grain and noise leave no trace in the SVG.
//! - `White`: the same, in pure white.
//! - `Transparent`: paper regions are not drawn. They are removed after speckle merging (so
//!   specks on the paper still merge into it and vanish with it), and the regions over the
//!   paper keep open holes where the paper showed through (the transparency rule of stacked
//!   layers: the largest region paints the outline of all drawn regions, not the canvas).

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
    let colour = match bg {
        Background::Keep => palette[p as usize],
        Background::White => [255, 255, 255],
        Background::Off | Background::Transparent => return,
    };
    for (c, &l) in colours.iter_mut().zip(labels) {
        if l == p {
            *c = colour;
        }
    }
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
        let mut c = vec![[200, 190, 150], [0, 0, 0]];
        paint(&mut c, &[3, 1], &[[0; 3]; 4], Some(3), Background::White);
        assert_eq!(c[0], [255, 255, 255]);
        let before = c.clone();
        paint(&mut c, &[3, 1], &[[0; 3]; 4], None, Background::Keep);
        paint(&mut c, &[3, 1], &[[9; 3]; 4], Some(3), Background::Off);
        assert_eq!(c, before);
    }
}
