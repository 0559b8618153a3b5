//! Sharp turns of a de-staircased outline: the tips of spikes and wedges and the notches cut
//! into shapes, which the run-length rule cannot tell from pixel steps.

use super::Pt;

/// How far (pixels) from a turn the de-staircased outline is followed to find the directions
/// in and out of it: far enough that pixel steps average out, near enough for small shapes.
const SHARP_REACH: f64 = 2.0;
/// A turn of the de-staircased outline by at least this much (radians) is a corner: the tip
/// of a spike or a wedge, a notch cut into a shape. Short runs alone cannot tell such a tip
/// from a pixel step, so without this the fitting rounds it off; a circle of radius 3 px turns
/// about 40 degrees over the same reach and stays smooth.
const SHARP_TURN: f64 = 75.0 * std::f64::consts::PI / 180.0;

/// Which turns are sharp. `mids[r]` is run r's midpoint, `turns[i]` the turn between runs i - 1
/// and i (for open edges `turns[0]` and the last are the end points and never sharp). The
/// direction in comes from the first midpoint at least `SHARP_REACH` behind the turn, the
/// direction out from the first one as far ahead; of sharp turns closer than the reach, only
/// the sharpest is kept (the first of equals), so one tip gives one corner.
pub(super) fn sharp_turns(mids: &[Pt], turns: &[Pt], closed: bool) -> Vec<bool> {
    let n = mids.len() as isize;
    let m = turns.len();
    let mid_at = |k: isize| {
        if closed {
            Some(mids[k.rem_euclid(n) as usize])
        } else {
            (0..n).contains(&k).then(|| mids[k as usize])
        }
    };
    let far = |i: usize, step: isize| {
        let c = turns[i];
        let first = if step < 0 { i as isize - 1 } else { i as isize };
        let mut last = None;
        for s in 0..n.min(64) {
            match mid_at(first + step * s) {
                Some(q) => {
                    last = Some(q);
                    if q.sub(c).len() >= SHARP_REACH {
                        break;
                    }
                }
                None => break,
            }
        }
        last
    };
    let angle: Vec<f64> = (0..m)
        .map(|i| {
            if !closed && (i == 0 || i + 1 == m) {
                return 0.0;
            }
            match (far(i, -1), far(i, 1)) {
                (Some(a), Some(b)) => {
                    let (u, v) = (turns[i].sub(a), b.sub(turns[i]));
                    let l = u.len() * v.len();
                    if l > 0.0 {
                        (u.dot(v) / l).clamp(-1.0, 1.0).acos()
                    } else {
                        0.0
                    }
                }
                _ => 0.0,
            }
        })
        .collect();
    let turn_at = |k: isize| -> Option<usize> {
        if closed {
            Some(k.rem_euclid(m as isize) as usize)
        } else {
            (0..m as isize).contains(&k).then_some(k as usize)
        }
    };
    (0..m)
        .map(|i| {
            if angle[i] < SHARP_TURN {
                return false;
            }
            for step in [-1isize, 1] {
                for s in 1..(m as isize).min(64) {
                    let Some(j) = turn_at(i as isize + step * s) else { break };
                    if j == i || turns[j].sub(turns[i]).len() >= SHARP_REACH {
                        break;
                    }
                    if angle[j] > angle[i] || (angle[j] == angle[i] && step < 0) {
                        return false;
                    }
                }
            }
            true
        })
        .collect()
}
