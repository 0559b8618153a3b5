//! sRGB <-> CIELAB (D65) conversions used by the palette and by speckle merging.
//!
//! Colours are 8-bit sRGB triples; LAB uses the CIE 1976 definition with the D65 white point,
//! so that Euclidean distance approximates perceived difference (Delta E 76).

/// 8-bit sRGB channel value to linear light, precomputed for all 256 values.
fn srgb_to_linear_table() -> &'static [f32; 256] {
    use std::sync::OnceLock;
    static TABLE: OnceLock<[f32; 256]> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = [0f32; 256];
        for (i, v) in t.iter_mut().enumerate() {
            let c = i as f64 / 255.0;
            let lin = if c <= 0.04045 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) };
            *v = lin as f32;
        }
        t
    })
}

#[inline]
fn lab_f(t: f32) -> f32 {
    const DELTA3: f32 = 216.0 / 24389.0; // (6/29)^3
    const K: f32 = 24389.0 / 27.0; // (29/3)^3
    if t > DELTA3 {
        t.cbrt()
    } else {
        (K * t + 16.0) / 116.0
    }
}

/// Convert one sRGB colour to CIELAB (D65).
#[inline]
pub fn rgb_to_lab(rgb: [u8; 3]) -> [f32; 3] {
    let t = srgb_to_linear_table();
    let (r, g, b) = (t[rgb[0] as usize], t[rgb[1] as usize], t[rgb[2] as usize]);
    // Linear sRGB -> XYZ, normalised by the D65 white (0.95047, 1.0, 1.08883).
    let x = (0.412_456_4 * r + 0.357_576_1 * g + 0.180_437_5 * b) / 0.950_47;
    let y = 0.212_672_9 * r + 0.715_152_2 * g + 0.072_175 * b;
    let z = (0.019_333_9 * r + 0.119_192 * g + 0.950_304_1 * b) / 1.088_83;
    let (fx, fy, fz) = (lab_f(x), lab_f(y), lab_f(z));
    [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
}

/// Convert a colour given as floating-point sRGB (0..255, e.g. a mean) to LAB.
pub fn rgbf_to_lab(rgb: [f64; 3]) -> [f32; 3] {
    let lin = |c: f64| {
        let c = (c / 255.0).clamp(0.0, 1.0);
        (if c <= 0.04045 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }) as f32
    };
    let (r, g, b) = (lin(rgb[0]), lin(rgb[1]), lin(rgb[2]));
    let x = (0.412_456_4 * r + 0.357_576_1 * g + 0.180_437_5 * b) / 0.950_47;
    let y = 0.212_672_9 * r + 0.715_152_2 * g + 0.072_175 * b;
    let z = (0.019_333_9 * r + 0.119_192 * g + 0.950_304_1 * b) / 1.088_83;
    let (fx, fy, fz) = (lab_f(x), lab_f(y), lab_f(z));
    [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
}

#[inline]
pub fn dist2(a: [f32; 3], b: [f32; 3]) -> f32 {
    let d0 = a[0] - b[0];
    let d1 = a[1] - b[1];
    let d2 = a[2] - b[2];
    d0 * d0 + d1 * d1 + d2 * d2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn white_and_black() {
        let w = rgb_to_lab([255, 255, 255]);
        assert!((w[0] - 100.0).abs() < 0.01 && w[1].abs() < 0.01 && w[2].abs() < 0.01, "{w:?}");
        let k = rgb_to_lab([0, 0, 0]);
        assert!(k[0].abs() < 1e-4, "{k:?}");
    }

    #[test]
    fn known_red() {
        // sRGB red is L*=53.24, a*=80.09, b*=67.20 (D65).
        let r = rgb_to_lab([255, 0, 0]);
        assert!((r[0] - 53.24).abs() < 0.05 && (r[1] - 80.09).abs() < 0.1 && (r[2] - 67.20).abs() < 0.1, "{r:?}");
        let rf = rgbf_to_lab([255.0, 0.0, 0.0]);
        assert!(dist2(r, rf) < 1e-6);
    }
}
