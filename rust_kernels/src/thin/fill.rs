//! Fills continued under strokes: every pixel a stroke covers takes the colour and label of the
//! nearest pixel outside the strokes, before regions are found, so the fill around a line
//! closes over it (no hole, no sliver) and a line across a region no longer cuts it in two.

use crate::quantize::TRANSPARENT;

/// No source yet.
const NONE: usize = usize::MAX;

/// For every pixel with `under[i] != 0`, the raster index of the nearest pixel (Euclidean,
/// between pixel centres) outside `under` and not transparent, the one it is continued from;
/// every other pixel maps to itself. Sources travel between 8-neighbours in alternating
/// forward and backward raster sweeps until none changes (a vector distance transform: exact
/// but for rare ties of near-equal paths); equally near sources go to the smaller index, so
/// the result is deterministic. A pixel no fill reaches (walled in by transparency) maps to
/// itself.
///
/// ```
/// use vectile_kernels::thin::fill::nearest_fill;
/// // 5 x 1: a, [stroke], [stroke], b, b -> the stroke pixels take a and b.
/// let src = nearest_fill(&[0, 1, 1, 0, 0], &[0, 9, 9, 1, 1], 5, 1);
/// assert_eq!(src, vec![0, 0, 3, 3, 4]);
/// ```
pub fn nearest_fill(under: &[u8], labels: &[i32], w: usize, h: usize) -> Vec<usize> {
    let n = w * h;
    let mut src: Vec<usize> =
        (0..n).map(|i| if under[i] == 0 && labels[i] != TRANSPARENT { i } else { NONE }).collect();
    let d2 = |i: usize, s: usize| {
        let (dx, dy) = ((i % w) as i64 - (s % w) as i64, (i / w) as i64 - (s / w) as i64);
        dx * dx + dy * dy
    };
    let todo: Vec<usize> = (0..n).filter(|&i| under[i] != 0).collect();
    let step = |i: usize, offsets: &[(isize, isize)], src: &mut Vec<usize>| -> bool {
        let (x, y) = ((i % w) as isize, (i / w) as isize);
        let mut best = src[i];
        for &(dx, dy) in offsets {
            let (nx, ny) = (x + dx, y + dy);
            if nx < 0 || ny < 0 || nx >= w as isize || ny >= h as isize {
                continue;
            }
            let s = src[ny as usize * w + nx as usize];
            if s != NONE && (best == NONE || (d2(i, s), s) < (d2(i, best), best)) {
                best = s;
            }
        }
        let changed = best != src[i];
        src[i] = best;
        changed
    };
    const BACK: [(isize, isize); 4] = [(-1, -1), (0, -1), (1, -1), (-1, 0)];
    const AHEAD: [(isize, isize); 4] = [(1, 0), (-1, 1), (0, 1), (1, 1)];
    loop {
        let mut changed = false;
        for &i in &todo {
            changed |= step(i, &BACK, &mut src);
        }
        for &i in todo.iter().rev() {
            changed |= step(i, &AHEAD, &mut src);
        }
        if !changed {
            break;
        }
    }
    (0..n).map(|i| if src[i] == NONE { i } else { src[i] }).collect()
}

/// Continue the fills under `under`: labels and pixels (`channels` bytes each, the colour
/// channels only) copied from `nearest_fill`'s source pixel.
pub fn continue_fills(under: &[u8], labels: &mut [i32], pixels: &mut [u8], channels: usize, w: usize, h: usize) {
    let src = nearest_fill(under, labels, w, h);
    for (i, &s) in src.iter().enumerate() {
        if s != i {
            labels[i] = labels[s];
            for c in 0..3 {
                pixels[i * channels + c] = pixels[s * channels + c];
            }
        }
    }
}
