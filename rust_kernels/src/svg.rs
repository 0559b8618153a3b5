//! SVG writing: compact path data (relative commands, bounded decimals, implicit command
//! repetition, minimal separators), hex colours, a viewBox in pixel units.
//!
//! Every coordinate is first rounded to the decimal grid (10^-precision px) in absolute
//! terms; relative offsets are differences of those rounded integers. Rounding therefore
//! never accumulates along a path, and an edge shared by two shapes lands on exactly the same
//! points in both.

use crate::boundary::HalfEdge;
use crate::fit::{Curve, Pt, Seg};
use crate::strokes::Stroke;
use std::fmt::Write;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layers {
    /// Regions painted large-to-small, holes filled; the first (largest) fills the canvas when
    /// the image has no transparency. No gaps and no anti-aliasing seams.
    Stacked,
    /// Regions tile the plane exactly (outer boundary plus holes); one path per colour.
    Cutout,
}

/// One filled shape: its colour and its boundary cycles (half-edges into the curve list).
#[derive(Clone, Debug)]
pub struct Shape {
    pub color: [u8; 3],
    pub cycles: Vec<Vec<HalfEdge>>,
    /// Paint the whole canvas instead of the cycles (stacked background).
    pub canvas: bool,
}

/// One stroked line: its colour and the stroke (centerline, closed or not, width).
#[derive(Clone, Debug, PartialEq)]
pub struct StrokeShape {
    pub color: [u8; 3],
    pub stroke: Stroke,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SvgStats {
    pub paths: usize,
    pub commands: usize,
}

/// Incremental writer for one `d` attribute.
struct PathData {
    d: String,
    scale: f64,
    digits: usize,
    cur: (i64, i64),
    subpath_start: (i64, i64),
    last_cmd: u8,
    last_had_dot: bool,
    after_cmd: bool,
    commands: usize,
}

impl PathData {
    fn new(precision: u32) -> Self {
        PathData {
            d: String::new(),
            scale: 10f64.powi(precision as i32),
            digits: precision as usize,
            cur: (0, 0),
            subpath_start: (0, 0),
            last_cmd: 0,
            last_had_dot: false,
            after_cmd: false,
            commands: 0,
        }
    }

    #[inline]
    fn q(&self, p: Pt) -> (i64, i64) {
        ((p.x * self.scale).round() as i64, (p.y * self.scale).round() as i64)
    }

    fn cmd(&mut self, c: u8) {
        self.commands += 1;
        // Implicit repetition: a repeated command letter may be omitted (never after moveto).
        if c != self.last_cmd || c == b'm' || c == b'M' || c == b'z' {
            self.d.push(c as char);
            self.after_cmd = true;
        }
        self.last_cmd = c;
    }

    fn num(&mut self, v: i64) {
        // Digits of |v| in a stack buffer, then the decimal point inserted `digits` from the
        // right, trailing fractional zeros and a leading "0" dropped: 5 -> ".5", 10 -> "1".
        let neg = v < 0;
        let mut a = v.unsigned_abs();
        let mut buf = [0u8; 24];
        let mut n = 0;
        loop {
            buf[n] = b'0' + (a % 10) as u8;
            a /= 10;
            n += 1;
            if a == 0 {
                break;
            }
        }
        let digits = self.digits;
        // buf holds digits least significant first; pad so the fraction has `digits` digits.
        while n < digits + 1 {
            buf[n] = b'0';
            n += 1;
        }
        let mut lo = 0; // first kept fractional digit (from the least significant end)
        while lo < digits && buf[lo] == b'0' {
            lo += 1;
        }
        let has_dot = lo < digits;
        let int_zero = n == digits + 1 && buf[digits] == b'0';
        let starts_with_dot = has_dot && int_zero;
        let needs_sep = !(self.after_cmd || neg || (starts_with_dot && self.last_had_dot));
        if needs_sep {
            self.d.push(' ');
        }
        if neg {
            self.d.push('-');
        }
        if !starts_with_dot {
            for i in (digits..n).rev() {
                self.d.push(buf[i] as char);
            }
        }
        if has_dot {
            self.d.push('.');
            for i in (lo..digits).rev() {
                self.d.push(buf[i] as char);
            }
        }
        self.last_had_dot = has_dot;
        self.after_cmd = false;
    }

    fn move_to(&mut self, p: Pt) {
        let q = self.q(p);
        if self.d.is_empty() {
            self.cmd(b'M');
            self.num(q.0);
            self.num(q.1);
        } else {
            self.cmd(b'm');
            self.num(q.0 - self.cur.0);
            self.num(q.1 - self.cur.1);
        }
        self.cur = q;
        self.subpath_start = q;
    }

    fn line_to(&mut self, p: Pt) {
        let q = self.q(p);
        let (dx, dy) = (q.0 - self.cur.0, q.1 - self.cur.1);
        match (dx, dy) {
            (0, 0) => return,
            (_, 0) => {
                self.cmd(b'h');
                self.num(dx);
            }
            (0, _) => {
                self.cmd(b'v');
                self.num(dy);
            }
            _ => {
                self.cmd(b'l');
                self.num(dx);
                self.num(dy);
            }
        }
        self.cur = q;
    }

    fn cubic_to(&mut self, c1: Pt, c2: Pt, p: Pt) {
        let (a, b, q) = (self.q(c1), self.q(c2), self.q(p));
        if q == self.cur && a == self.cur && b == self.cur {
            return;
        }
        self.cmd(b'c');
        for v in [a, b, q] {
            self.num(v.0 - self.cur.0);
            self.num(v.1 - self.cur.1);
        }
        self.cur = q;
    }

    fn close(&mut self) {
        self.cmd(b'z');
        self.cur = self.subpath_start;
    }

    /// One closed cycle of half-edges. A final straight segment back to the start is left to `z`.
    fn cycle(&mut self, cycle: &[HalfEdge], curves: &[Curve], reversed: &[Option<Curve>]) {
        let pick = |he: &HalfEdge| -> &Curve {
            if he.forward {
                &curves[he.edge as usize]
            } else {
                reversed[he.edge as usize].as_ref().expect("reversed curve prepared")
            }
        };
        let Some(first) = cycle.first() else { return };
        self.move_to(pick(first).start);
        let total: usize = cycle.iter().map(|he| pick(he).segs.len()).sum();
        let mut k = 0;
        for he in cycle {
            for s in &pick(he).segs {
                k += 1;
                match *s {
                    Seg::Line(p) => {
                        if k < total {
                            self.line_to(p)
                        }
                    }
                    Seg::Cubic(c1, c2, p) => self.cubic_to(c1, c2, p),
                }
            }
        }
        self.close();
    }

    /// One stroke's centerline as a subpath; a closed one ends with `z` (its final straight
    /// segment back to the start left to `z`). A stroke of zero length (a dot) is written
    /// as `h0`, which round caps draw as a disc.
    fn stroke(&mut self, curve: &Curve, closed: bool) {
        self.move_to(curve.start);
        let before = self.commands;
        let n = curve.segs.len();
        for (k, s) in curve.segs.iter().enumerate() {
            match *s {
                Seg::Line(p) => {
                    if !(closed && k + 1 == n) {
                        self.line_to(p)
                    }
                }
                Seg::Cubic(c1, c2, p) => self.cubic_to(c1, c2, p),
            }
        }
        if closed && self.commands > before {
            self.close();
        } else if self.commands == before {
            self.cmd(b'h');
            self.num(0);
        }
    }

    /// The whole canvas, counter-clockwise on screen like every outer boundary, so that a
    /// shape of the same colour merged into this path adds to it under the nonzero rule.
    fn canvas(&mut self, width: usize, height: usize) {
        self.move_to(Pt::new(0.0, 0.0));
        self.line_to(Pt::new(0.0, height as f64));
        self.line_to(Pt::new(width as f64, height as f64));
        self.line_to(Pt::new(width as f64, 0.0));
        self.close();
    }
}

/// `#rgb` when each channel's two hex digits repeat, else `#rrggbb`.
pub fn hex_colour(c: [u8; 3]) -> String {
    if c.iter().all(|v| v >> 4 == v & 15) {
        format!("#{:x}{:x}{:x}", c[0] & 15, c[1] & 15, c[2] & 15)
    } else {
        format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2])
    }
}

/// Write the document. `shapes` are in paint order; with `Layers::Cutout` shapes of one colour
/// are merged into one path, with `Layers::Stacked` only consecutive shapes of one colour are.
pub fn write_svg(
    width: usize,
    height: usize,
    shapes: &[Shape],
    curves: &[Curve],
    layers: Layers,
    precision: u32,
    strokes: &[StrokeShape],
) -> (String, SvgStats) {
    // Reversed curves, computed once for the edges that some shape walks backwards.
    let mut reversed: Vec<Option<Curve>> = vec![None; curves.len()];
    for s in shapes {
        for c in &s.cycles {
            for he in c {
                if !he.forward && reversed[he.edge as usize].is_none() {
                    reversed[he.edge as usize] = Some(curves[he.edge as usize].reversed());
                }
            }
        }
    }
    // Group shapes into paths.
    let mut groups: Vec<([u8; 3], Vec<usize>)> = Vec::new();
    match layers {
        Layers::Stacked => {
            for (i, s) in shapes.iter().enumerate() {
                match groups.last_mut() {
                    Some((c, members)) if *c == s.color => members.push(i),
                    _ => groups.push((s.color, vec![i])),
                }
            }
        }
        Layers::Cutout => {
            let mut index: std::collections::HashMap<[u8; 3], usize> = Default::default();
            for (i, s) in shapes.iter().enumerate() {
                let g = *index.entry(s.color).or_insert_with(|| {
                    groups.push((s.color, Vec::new()));
                    groups.len() - 1
                });
                groups[g].1.push(i);
            }
        }
    }
    let mut out = String::with_capacity(256 + shapes.len() * 64);
    writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\">"
    )
    .unwrap();
    let mut stats = SvgStats::default();
    for (colour, members) in &groups {
        let mut pd = PathData::new(precision);
        for &i in members {
            let s = &shapes[i];
            if s.canvas {
                pd.canvas(width, height);
            } else {
                for c in &s.cycles {
                    pd.cycle(c, curves, &reversed);
                }
            }
        }
        if pd.d.is_empty() {
            continue;
        }
        stats.paths += 1;
        stats.commands += pd.commands;
        writeln!(out, "<path d=\"{}\" fill=\"{}\"/>", pd.d, hex_colour(*colour)).unwrap();
    }
    write_strokes(&mut out, strokes, precision, &mut stats);
    out.push_str("</svg>\n");
    (out, stats)
}

/// A stroke width as written: rounded to the coordinate grid, at least one grid step.
fn width_text(width: f32, precision: u32) -> String {
    let mut pd = PathData::new(precision);
    pd.after_cmd = true;
    let q = ((width as f64 * pd.scale).round() as i64).max(1);
    pd.num(q);
    pd.d
}

/// Strokes after all fills, in the given order; consecutive strokes of one colour and
/// written width share one path element.
fn write_strokes(out: &mut String, strokes: &[StrokeShape], precision: u32, stats: &mut SvgStats) {
    let mut i = 0;
    while i < strokes.len() {
        let colour = strokes[i].color;
        let width = width_text(strokes[i].stroke.width, precision);
        let mut pd = PathData::new(precision);
        let mut j = i;
        while j < strokes.len() && strokes[j].color == colour && width_text(strokes[j].stroke.width, precision) == width
        {
            pd.stroke(&strokes[j].stroke.curve, strokes[j].stroke.closed);
            j += 1;
        }
        i = j;
        stats.paths += 1;
        stats.commands += pd.commands;
        writeln!(
            out,
            "<path fill=\"none\" stroke=\"{}\" stroke-width=\"{width}\" stroke-linecap=\"round\" stroke-linejoin=\"round\" d=\"{}\"/>",
            hex_colour(colour),
            pd.d
        )
        .unwrap();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_compact() {
        let mut pd = PathData::new(1);
        pd.cmd(b'c');
        for v in [5, -5, 15, 10, 0, -123, 3, 100, -1] {
            pd.num(v);
        }
        assert_eq!(pd.d, "c.5-.5 1.5 1 0-12.3.3 10-.1");
        let mut pd = PathData::new(2);
        pd.cmd(b'l');
        for v in [1, 250, -1005, 0, 40] {
            pd.num(v);
        }
        assert_eq!(pd.d, "l.01 2.5-10.05 0 .4");
        let mut pd = PathData::new(0);
        pd.cmd(b'l');
        pd.num(3);
        pd.num(-4);
        pd.num(7);
        assert_eq!(pd.d, "l3-4 7");
    }

    #[test]
    fn colours() {
        assert_eq!(hex_colour([255, 0, 255]), "#f0f");
        assert_eq!(hex_colour([18, 52, 86]), "#123456");
    }

    #[test]
    fn rectangle_path_uses_h_v_and_z() {
        let curve = Curve {
            start: Pt::new(0.0, 0.0),
            segs: vec![
                Seg::Line(Pt::new(0.0, 3.0)),
                Seg::Line(Pt::new(5.0, 3.0)),
                Seg::Line(Pt::new(5.0, 0.0)),
                Seg::Line(Pt::new(0.0, 0.0)),
            ],
        };
        let shapes =
            [Shape { color: [255, 0, 0], cycles: vec![vec![HalfEdge { edge: 0, forward: true }]], canvas: false }];
        let (svg, stats) = write_svg(5, 3, &shapes, &[curve], Layers::Cutout, 2, &[]);
        assert!(svg.contains("<path d=\"M0 0v3h5v-3z\" fill=\"#f00\"/>"), "{svg}");
        assert!(svg.contains("viewBox=\"0 0 5 3\""));
        assert_eq!(stats, SvgStats { paths: 1, commands: 5 });
    }

    #[test]
    fn strokes_follow_fills_and_group_by_colour_and_width() {
        let line = |x: f64, w: f32| Stroke {
            curve: Curve { start: Pt::new(x, 1.0), segs: vec![Seg::Line(Pt::new(x, 5.0))] },
            closed: false,
            width: w,
        };
        let dot = Stroke {
            curve: Curve { start: Pt::new(2.5, 2.5), segs: vec![Seg::Line(Pt::new(2.5, 2.5))] },
            closed: false,
            width: 3.0,
        };
        let ring = Stroke {
            curve: Curve {
                start: Pt::new(1.0, 1.0),
                segs: vec![Seg::Line(Pt::new(4.0, 1.0)), Seg::Line(Pt::new(4.0, 4.0)), Seg::Line(Pt::new(1.0, 1.0))],
            },
            closed: true,
            width: 1.0,
        };
        let strokes = [
            StrokeShape { color: [0, 0, 0], stroke: line(1.0, 2.0) },
            StrokeShape { color: [0, 0, 0], stroke: line(3.0, 2.04) },
            StrokeShape { color: [0, 0, 0], stroke: dot },
            StrokeShape { color: [255, 0, 0], stroke: ring },
        ];
        let shapes = [Shape { color: [255, 255, 255], cycles: Vec::new(), canvas: true }];
        let (svg, stats) = write_svg(6, 6, &shapes, &[], Layers::Stacked, 1, &strokes);
        let lines: Vec<&str> = svg.lines().collect();
        assert_eq!(lines[1], "<path d=\"M0 0v6h6v-6z\" fill=\"#fff\"/>");
        assert_eq!(
            lines[2],
            "<path fill=\"none\" stroke=\"#000\" stroke-width=\"2\" stroke-linecap=\"round\" stroke-linejoin=\"round\" d=\"M1 1v4m2-4v4\"/>"
        );
        assert!(lines[3].contains("stroke-width=\"3\"") && lines[3].ends_with("d=\"M2.5 2.5h0\"/>"), "{svg}");
        assert!(lines[4].contains("stroke=\"#f00\"") && lines[4].ends_with("d=\"M1 1h3v3z\"/>"), "{svg}");
        assert_eq!(stats.paths, 4);
        // No strokes: exactly the fills-only document.
        let (plain, _) = write_svg(6, 6, &shapes, &[], Layers::Stacked, 1, &[]);
        assert_eq!(plain, "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"6\" height=\"6\" viewBox=\"0 0 6 6\">\n<path d=\"M0 0v6h6v-6z\" fill=\"#fff\"/>\n</svg>\n");
    }

    #[test]
    fn relative_offsets_do_not_drift() {
        // 1000 steps of 0.33 px: rounded per absolute point, the end is exactly at 330.
        let segs: Vec<Seg> = (1..=1000).map(|i| Seg::Line(Pt::new(i as f64 * 0.33, (i % 2) as f64 * 0.33))).collect();
        let mut pd = PathData::new(1);
        pd.move_to(Pt::new(0.0, 0.0));
        for s in &segs {
            if let Seg::Line(p) = s {
                pd.line_to(*p);
            }
        }
        assert_eq!(pd.cur, (3300, 0));
    }
}
