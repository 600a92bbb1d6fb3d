//! The widest vector unit this CPU has. The hand-vectorized kernels are
//! compiled once per level and picked at run time, so one binary serves
//! machines with and without AVX-512.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(crate) enum Simd {
    Avx512,
    Avx2Fma,
    Portable,
}

/// The level to run at (the standard library caches the CPU check).
pub(crate) fn simd() -> Simd {
    #[cfg(target_arch = "x86_64")]
    {
        // Every AVX-512 CPU has FMA; the kernels of that level use both.
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("fma")
        {
            return Simd::Avx512;
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return Simd::Avx2Fma;
        }
    }
    Simd::Portable
}
