//! Run-time CPU dispatch for the edge kernels.
//!
//! Hot loops are written once, as plain Rust over slices that LLVM vectorises, and compiled
//! twice by `multiversion!`: for the baseline target (SSE2 on x86-64) and, on x86-64, with AVX2
//! and FMA, chosen at run time. Everything the dispatched function calls must be
//! `#[inline(always)]` so that it is compiled inside the AVX2 context too.

/// Tests set this to run the portable versions on an AVX2 machine too.
#[cfg(test)]
pub(crate) static FORCE_PORTABLE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether the AVX2 versions may run on this CPU (cached by std after the first call).
#[inline]
pub(crate) fn has_avx2() -> bool {
    #[cfg(test)]
    if FORCE_PORTABLE.load(std::sync::atomic::Ordering::Relaxed) {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Define a function whose body is compiled for the baseline target and for AVX2 + FMA; the
/// AVX2 copy runs when the CPU has it. The signature may not be generic.
macro_rules! multiversion {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($arg:ident : $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$m])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn inner($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma,bmi1,bmi2,lzcnt,popcnt")]
                unsafe fn avx2($($arg: $ty),*) $(-> $ret)? {
                    inner($($arg),*)
                }
                if $crate::edges::simd::has_avx2() {
                    // SAFETY: the CPU supports every feature `avx2` was compiled for.
                    return unsafe { avx2($($arg),*) };
                }
            }
            inner($($arg),*)
        }
    };
}

pub(crate) use multiversion;
