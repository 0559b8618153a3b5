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

/// For every pixel of `under`, the pixel it is continued from, so that an edge a stroke
/// crosses continues straight under it: walking left and right (up and down) from the pixel
/// to the first pixel outside `under` within `reach` px, if both walks meet the same label the
/// pixel lies within that fill along the row (column) and takes the nearer of the two; when
/// the row and the column both agree on different labels (a corner), the shorter pair of
/// walks wins; when neither agrees, `nearest_fill`'s pixel. Every other pixel maps to itself.
///
/// ```
/// use vectile_kernels::thin::fill::across;
/// // 5 x 4: ground (0) over a band (1) from row 2; a vertical stroke over column 2.
/// let labels: Vec<i32> = (0..20).map(|i| (i / 5 >= 2) as i32).collect();
/// let under: Vec<u8> = (0..20).map(|i| (i % 5 == 2) as u8).collect();
/// let from = across(&under, &labels, 5, 4, 3);
/// let continued: Vec<i32> = (0..4).map(|y| labels[from[y * 5 + 2]]).collect();
/// assert_eq!(continued, vec![0, 0, 1, 1]); // the band's edge runs on under the stroke
/// ```
pub fn across(under: &[u8], labels: &[i32], w: usize, h: usize, reach: usize) -> Vec<usize> {
    let mut from = nearest_fill(under, labels, w, h);
    // The first usable pixel outside `under` from `i` stepping (dx, dy), and the steps taken.
    let walk = |i: usize, dx: isize, dy: isize| -> Option<(usize, usize)> {
        let (mut x, mut y) = ((i % w) as isize, (i / w) as isize);
        for step in 1..=reach {
            x += dx;
            y += dy;
            if x < 0 || y < 0 || x >= w as isize || y >= h as isize {
                return None;
            }
            let j = y as usize * w + x as usize;
            if under[j] == 0 {
                return (labels[j] != TRANSPARENT).then_some((j, step));
            }
        }
        None
    };
    let pair = |i: usize, dx: isize, dy: isize| -> Option<(usize, usize)> {
        let (a, da) = walk(i, -dx, -dy)?;
        let (b, db) = walk(i, dx, dy)?;
        // The nearer side, the earlier pixel on a tie.
        (labels[a] == labels[b]).then(|| if db < da { (b, da + db) } else { (a, da + db) })
    };
    for i in 0..w * h {
        if under[i] == 0 {
            continue;
        }
        match (pair(i, 1, 0), pair(i, 0, 1)) {
            (Some((a, la)), Some((b, lb))) => from[i] = if lb < la { b } else { a },
            (Some((a, _)), None) | (None, Some((a, _))) => from[i] = a,
            (None, None) => {}
        }
    }
    from
}

/// Continue the fills: every pixel `i` takes the label and the colour channels (of
/// `channels` bytes per pixel) of pixel `from[i]`.
pub fn continue_fills(from: &[usize], labels: &mut [i32], pixels: &mut [u8], channels: usize) {
    for (i, &s) in from.iter().enumerate() {
        if s != i {
            labels[i] = labels[s];
            for c in 0..3 {
                pixels[i * channels + c] = pixels[s * channels + c];
            }
        }
    }
}
