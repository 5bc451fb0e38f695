//! A global allocator that counts: how the allocation tests see what a
//! task or a wake costs. A test file that includes this module (`mod
//! counting_alloc;`) runs on it; the others keep the system allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

/// `System`, counting the allocations of the threads whose flag is on.
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
static REALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// On while this thread's allocations are counted. A `const` cell: the
    /// allocator can read it without allocating or registering a destructor.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

fn counting() -> bool {
    // `try_with`: false while the thread's locals are being torn down.
    COUNTING.try_with(Cell::get).unwrap_or(false)
}

// SAFETY: every call is passed unchanged to `System`, which upholds
// `GlobalAlloc`'s contract; the counting touches no memory of the caller's.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if counting() {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller's promises about `layout` hold for `System` too.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if counting() {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if counting() {
            REALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: `ptr` came from this allocator, that is from `System`, with
        // `layout`; the caller's promises about `new_size` hold for it too.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System`, with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Held while one test counts: the counters are shared, so two tests of
/// one file that count take turns.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Allocations and reallocations made by `f` on this thread. Only this
/// thread's flag goes on, so the counters count `f` alone, even while other
/// tests run on other threads (two that count take turns).
pub(crate) fn count(f: impl FnOnce()) -> (usize, usize) {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let before = (
        ALLOCATIONS.load(Ordering::Relaxed),
        REALLOCATIONS.load(Ordering::Relaxed),
    );
    COUNTING.set(true);
    f();
    COUNTING.set(false);
    (
        ALLOCATIONS.load(Ordering::Relaxed) - before.0,
        REALLOCATIONS.load(Ordering::Relaxed) - before.1,
    )
}
