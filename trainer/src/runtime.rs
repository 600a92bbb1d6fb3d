//! Process-wide settings that make CPU training and generation fast.

/// Keeps freed tensor buffers in the process instead of handing them back to
/// the kernel. glibc returns every block above its mmap threshold (128 KiB to
/// start with) on free, so each new activation or gradient buffer of a step
/// page-faults and is zeroed again by the kernel: that was a third of a training
/// step's time. The price is a resident size that stays at its peak. Call once,
/// at the start of `main`; a no-op outside glibc.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called before the
    // program allocates from other threads.
    unsafe {
        // glibc's ceiling for the threshold (32 MiB on 64-bit).
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
    }
}
