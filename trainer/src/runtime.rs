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

/// The environment variable candle reads for how long its pool threads spin
/// waiting for work before they sleep.
pub const CANDLE_SPIN_ENV: &str = "CANDLE_BARRIER_POOL_SPIN_LIMIT";

/// Spins candle's pool threads allow themselves unless the user sets
/// [`CANDLE_SPIN_ENV`]. candle's default (25,000) keeps a pool thread spinning
/// between element-wise ops while the rayon threads run gemm: with as many
/// threads as cores it took a core's share from them (8% of an SFT run's
/// samples). At 1,000, training is 5–9% faster and generation unchanged.
pub const CANDLE_SPIN_LIMIT: u32 = 1_000;

/// Sets [`CANDLE_SPIN_LIMIT`] unless the user chose a value. Call at the start
/// of `main`, before any thread exists and before candle's pool starts.
pub fn calm_candle_pool() {
    if std::env::var_os(CANDLE_SPIN_ENV).is_none() {
        std::env::set_var(CANDLE_SPIN_ENV, CANDLE_SPIN_LIMIT.to_string());
    }
}

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, Ordering};

/// Blocks at or above this size bypass glibc's heap (its mmap threshold cannot
/// go higher), so [`ReusingAlloc`] keeps them itself.
const BIG_BLOCK: usize = 32 << 20;
/// Freed big blocks kept for reuse, at most.
const SLOTS: usize = 64;
/// Bytes kept in freed big blocks, at most; past it the oldest go back.
const MAX_CACHED_BYTES: usize = 8 << 30;

/// The system allocator, except that freed blocks of 32 MiB and more (attention
/// scores and their gradients, the logits of a chunk) are kept and handed out
/// again for a request of the same size and alignment. A training step
/// allocates the same big buffers step after step; without this each one is
/// mmapped, page-faulted and zeroed by the kernel anew (15% of a step).
/// Install it with `#[global_allocator]` in a binary.
pub struct ReusingAlloc {
    lock: AtomicBool,
    cache: UnsafeCell<BlockCache>,
}

// SAFETY: `cache` is only touched while holding `lock`.
unsafe impl Sync for ReusingAlloc {}

#[derive(Clone, Copy)]
struct Block {
    ptr: usize,
    size: usize,
    align: usize,
    /// When it was freed, to give back the oldest first.
    stamp: u64,
}

struct BlockCache {
    blocks: [Option<Block>; SLOTS],
    bytes: usize,
    clock: u64,
}

impl ReusingAlloc {
    pub const fn new() -> Self {
        Self {
            lock: AtomicBool::new(false),
            cache: UnsafeCell::new(BlockCache {
                blocks: [None; SLOTS],
                bytes: 0,
                clock: 0,
            }),
        }
    }

    /// Runs `f` on the cache under the spin lock. Big blocks are freed and
    /// allocated a few dozen times per step, so the lock is never contended
    /// for long, and it allocates nothing (this is the allocator).
    fn with_cache<R>(&self, f: impl FnOnce(&mut BlockCache) -> R) -> R {
        while self
            .lock
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            std::hint::spin_loop();
        }
        // SAFETY: the lock is held.
        let r = f(unsafe { &mut *self.cache.get() });
        self.lock.store(false, Ordering::Release);
        r
    }

    fn take(&self, layout: Layout) -> Option<*mut u8> {
        self.with_cache(|c| {
            let slot = c.blocks.iter_mut().find(|b| {
                b.is_some_and(|b| b.size == layout.size() && b.align == layout.align())
            })?;
            let block = slot.take()?;
            c.bytes -= block.size;
            Some(block.ptr as *mut u8)
        })
    }

    /// Keeps a freed block, giving the oldest ones back to the system while the
    /// slots or the byte budget are exceeded.
    fn keep(&self, ptr: *mut u8, layout: Layout) {
        self.with_cache(|c| {
            c.clock += 1;
            let block = Block {
                ptr: ptr as usize,
                size: layout.size(),
                align: layout.align(),
                stamp: c.clock,
            };
            c.bytes += block.size;
            let mut pending = Some(block);
            loop {
                let full = c.blocks.iter().all(Option::is_some);
                if !full && c.bytes <= MAX_CACHED_BYTES {
                    break;
                }
                let oldest = c
                    .blocks
                    .iter_mut()
                    .chain(std::iter::once(&mut pending))
                    .filter(|b| b.is_some())
                    .min_by_key(|b| b.map_or(u64::MAX, |b| b.stamp));
                let Some(old) = oldest.and_then(Option::take) else {
                    break;
                };
                c.bytes -= old.size;
                // SAFETY: the block came from System with this layout and is unused.
                unsafe { System.dealloc(old.ptr as *mut u8, old.layout()) };
            }
            if let Some(block) = pending {
                if let Some(slot) = c.blocks.iter_mut().find(|b| b.is_none()) {
                    *slot = Some(block);
                }
            }
        })
    }
}

impl Block {
    fn layout(&self) -> Layout {
        // SAFETY: built from a valid Layout's size and alignment.
        unsafe { Layout::from_size_align_unchecked(self.size, self.align) }
    }
}

impl Default for ReusingAlloc {
    fn default() -> Self {
        Self::new()
    }
}

unsafe impl GlobalAlloc for ReusingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() >= BIG_BLOCK {
            if let Some(p) = self.take(layout) {
                return p;
            }
        }
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() >= BIG_BLOCK {
            if let Some(p) = self.take(layout) {
                std::ptr::write_bytes(p, 0, layout.size());
                return p;
            }
        }
        System.alloc_zeroed(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if layout.size() < BIG_BLOCK {
            return System.dealloc(ptr, layout);
        }
        self.keep(ptr, layout);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.size() < BIG_BLOCK && new_size < BIG_BLOCK {
            // Small on both sides: glibc grows in place when it can.
            return System.realloc(ptr, layout, new_size);
        }
        let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
        let new = self.alloc(new_layout);
        if !new.is_null() {
            std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
            self.dealloc(ptr, layout);
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_blocks_are_reused_and_zeroed_small_ones_are_not_kept() {
        let a = ReusingAlloc::new();
        let big = Layout::from_size_align(BIG_BLOCK, 64).unwrap();
        unsafe {
            let p = a.alloc(big);
            p.write_bytes(7, big.size());
            a.dealloc(p, big);
            let q = a.alloc_zeroed(big);
            assert_eq!(q, p, "the freed block comes back for the same layout");
            assert!(std::slice::from_raw_parts(q, big.size())
                .iter()
                .all(|&b| b == 0));
            // Another size does not take it.
            let other = Layout::from_size_align(BIG_BLOCK + 4096, 64).unwrap();
            a.dealloc(q, big);
            let r = a.alloc(other);
            assert_ne!(r, q);
            a.dealloc(r, other);
            let cached = a.with_cache(|c| (c.bytes, c.blocks.iter().flatten().count()));
            assert_eq!(cached, (2 * BIG_BLOCK + 4096, 2));

            let small = Layout::from_size_align(1024, 8).unwrap();
            let s = a.alloc(small);
            a.dealloc(s, small);
            assert_eq!(a.with_cache(|c| c.blocks.iter().flatten().count()), 2);
        }
    }

    #[test]
    fn realloc_keeps_the_contents_across_the_big_block_boundary() {
        let a = ReusingAlloc::new();
        let small = Layout::from_size_align(4096, 8).unwrap();
        unsafe {
            let p = a.alloc(small);
            p.write_bytes(9, small.size());
            let grown = a.realloc(p, small, BIG_BLOCK + 64);
            let bytes = std::slice::from_raw_parts(grown, small.size());
            assert!(bytes.iter().all(|&b| b == 9));
            let big = Layout::from_size_align(BIG_BLOCK + 64, 8).unwrap();
            let shrunk = a.realloc(grown, big, 1024);
            assert!(std::slice::from_raw_parts(shrunk, 1024)
                .iter()
                .all(|&b| b == 9));
            a.dealloc(shrunk, Layout::from_size_align(1024, 8).unwrap());
            // The big block went to the cache when it shrank.
            assert_eq!(a.with_cache(|c| c.bytes), BIG_BLOCK + 64);
        }
    }

    #[test]
    fn the_cache_stays_within_its_slots() {
        let a = ReusingAlloc::new();
        unsafe {
            let layouts: Vec<Layout> = (0..SLOTS + 3)
                .map(|i| Layout::from_size_align(BIG_BLOCK + i * 4096, 64).unwrap())
                .collect();
            let ptrs: Vec<*mut u8> = layouts.iter().map(|&l| a.alloc(l)).collect();
            for (&p, &l) in ptrs.iter().zip(&layouts) {
                a.dealloc(p, l);
            }
            let (count, bytes) = a.with_cache(|c| (c.blocks.iter().flatten().count(), c.bytes));
            assert_eq!(count, SLOTS);
            let newest: usize = layouts[3..].iter().map(|l| l.size()).sum();
            assert_eq!(bytes, newest, "the oldest three went back");
        }
    }
}
