//! Asking the processor to fetch memory before the loop needs it.
//!
//! asyncio has nothing like this (CPython gives Python code no say over the
//! cache); it is here for the million-timer benchmark of chapter 2. Timers
//! fire in time order, but their handles sit in memory in the order they
//! were made, so each timer that fires reads memory far from the last one: a
//! cache miss, a wait of a hundred nanoseconds or more. The fast schedule
//! knows which timers come next ([`RadixHeap::upcoming`]), so it can start
//! those reads a few timers early, and the misses overlap with useful work
//! instead of stalling it.
//!
//! [`RadixHeap::upcoming`]: super::RadixHeap::upcoming

// ANCHOR: prefetch
/// Start loading the cache line that holds `value`, without waiting for it.
///
/// A hint: the program behaves the same with or without it, only faster or
/// slower. On processors other than x86-64 it does nothing.
#[inline]
pub(crate) fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let address = std::ptr::from_ref(value).cast::<i8>();
        #[allow(unsafe_code)]
        // SAFETY: `_mm_prefetch` needs the `sse` feature, which every x86-64
        // processor has (it is on in every x86_64 target). The instruction
        // reads nothing the program can observe and never faults; `address`
        // is valid anyway, since it comes from a reference.
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(address);
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}
// ANCHOR_END: prefetch
