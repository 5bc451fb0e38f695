//! Making it fast: a loop for a million timers, beside the textbook one.
//!
//! Mirrors nothing new in asyncio: [`FastEventLoop`] runs `_run_once`'s five
//! steps as the textbook [`EventLoop`] does, and offers the
//! same [`AbstractEventLoop`](crate::AbstractEventLoop). What it changes is
//! what it takes to insert and fire a million timers faster than tokio:
//!
//! - callbacks live in a table of slots (`slots.rs`), not one object each:
//!   no allocation and no free per callback;
//! - timers wait in a radix heap ([`RadixHeap`]), which relies on the one
//!   thing a loop's clock promises and a binary heap cannot assume: it never
//!   runs backwards;
//! - each iteration that fires a timer starts fetching the slots of the next
//!   few into the cache (`prefetch.rs`).
//!
//! Chapter 2's "Making it fast" explains each, with the numbers. The tests
//! of the loop's rules run on both loops ([`on_both_loops`]), so the fast one
//! cannot drift from the textbook:
//!
//! ```
//! use stage01_generator_loop::VirtualClock;
//! use stage02_timed_events::AbstractEventLoop;
//! use stage02_timed_events::fast::FastEventLoop;
//!
//! let event_loop = FastEventLoop::new(VirtualClock::new());
//! event_loop.call_later(1.5, |event_loop| event_loop.stop()).unwrap();
//! event_loop.run_forever().unwrap();
//! assert_eq!(event_loop.time(), 1.5);
//! ```

mod event_loop;
mod prefetch;
mod radix_heap;
mod slots;

pub use event_loop::{FastEventLoop, FastHandle, PREFETCH_AHEAD};
pub use radix_heap::{RadixHeap, SMALL_BUCKET};

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use stage01_generator_loop::VirtualClock;

use crate::event_loop::EventLoop;

// ANCHOR: on_both_loops
/// Run a test on a fresh textbook loop and on a fresh fast loop, each on a
/// virtual clock of its own: `on_both_loops(test, test)`, where `test` is
/// generic over the loop (`fn test<L: AbstractEventLoop>(l: L, c:
/// VirtualClock)`). The ordering, odd-input and parity tests of stage 2 run
/// this way. A failure names the loop.
pub fn on_both_loops(
    textbook: impl FnOnce(EventLoop, VirtualClock),
    fast: impl FnOnce(FastEventLoop, VirtualClock),
) {
    let clock = VirtualClock::new();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        textbook(EventLoop::new(clock.clone()), clock);
    }));
    if let Err(panic) = outcome {
        eprintln!("the failure above was on the textbook loop");
        resume_unwind(panic);
    }
    let clock = VirtualClock::new();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        fast(FastEventLoop::new(clock.clone()), clock);
    }));
    if let Err(panic) = outcome {
        eprintln!("the failure above was on the fast loop");
        resume_unwind(panic);
    }
}
// ANCHOR_END: on_both_loops
