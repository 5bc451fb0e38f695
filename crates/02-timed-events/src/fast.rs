//! Making it fast: a schedule for a million timers, beside the textbook one.
//!
//! Mirrors nothing in asyncio, whose `_scheduled` is a binary heap (`heapq`).
//! The loop takes any [`Schedule`]; this one is what it takes to insert and
//! fire a million timers faster than tokio: a radix heap ([`RadixHeap`]),
//! which relies on the one thing a loop's clock promises and a heap cannot
//! assume (it never runs backwards), and a prefetch of the handles of the
//! next few timers, so that their memory is in the cache when they fire.
//! Chapter 2's "Making it fast" explains both, with the numbers:
//!
//! ```
//! use stage01_generator_loop::VirtualClock;
//! use stage02_timed_events::fast::FastSchedule;
//! use stage02_timed_events::{EventLoop, Sleeper};
//!
//! let fast = Box::new(FastSchedule::default());
//! let event_loop = EventLoop::with_schedule(VirtualClock::new(), Sleeper, fast);
//! event_loop.call_later(1.5, |event_loop| event_loop.stop()).unwrap();
//! event_loop.run_forever().unwrap();
//! assert_eq!(event_loop.time(), 1.5);
//! ```

mod prefetch;
mod radix_heap;

pub use radix_heap::{RadixHeap, SMALL_BUCKET};

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use crate::handle::Handle;
use crate::poller::Poller;
use crate::schedule::{Heap, Key, Schedule};
use crate::seconds::Nanos;

/// How many timers ahead the schedule fetches a handle into the cache: the
/// benchmark at 10⁶ timers ran fastest with 4, of 1, 2, 4, 8, 16 and 32.
pub const PREFETCH_AHEAD: usize = 4;

/// Something whose memory can be fetched into the cache ahead of its use.
pub trait Prefetch {
    /// Start fetching it; do not wait.
    fn prefetch(&self);
}

impl<P: Poller> Prefetch for Handle<P> {
    fn prefetch(&self) {
        prefetch::prefetch(self.state_address());
    }
}

// ANCHOR: fast_schedule
/// A [`RadixHeap`] that, each time a timer leaves it, starts fetching the
/// handle of the one [`PREFETCH_AHEAD`] behind.
pub struct FastSchedule<T> {
    heap: RadixHeap<T>,
}

impl<T: Prefetch> Schedule<T> for FastSchedule<T> {
    fn pop(&mut self) -> Option<(Key, T)> {
        let popped = self.heap.pop();
        if let Some(upcoming) = self.heap.upcoming().nth(PREFETCH_AHEAD - 1) {
            upcoming.prefetch();
        }
        popped
    }
    // ANCHOR_END: fast_schedule

    fn push(&mut self, when: Nanos, item: T) -> Key {
        self.heap.push(when, item)
    }

    fn peek(&mut self) -> Option<(Key, &T)> {
        self.heap.peek()
    }

    fn remove(&mut self, key: Key) -> Option<T> {
        self.heap.remove(key)
    }

    fn retain(&mut self, keep: &mut dyn FnMut(&T) -> bool) {
        self.heap.retain(keep);
    }

    fn len(&self) -> usize {
        self.heap.len()
    }
}

impl<T> Default for FastSchedule<T> {
    fn default() -> Self {
        Self {
            heap: RadixHeap::default(),
        }
    }
}

/// A loop's timers, kept one way or the other.
pub type Timers<P> = Box<dyn Schedule<Handle<P>>>;

// ANCHOR: each_schedule
/// Run `test` once with each schedule a loop can keep its timers in:
/// asyncio's binary heap, then the fast one. The ordering, odd-input and
/// parity tests of every stage run this way, so that the fast loop cannot
/// drift from the textbook one. A failure names the schedule.
pub fn with_each_schedule<P: Poller>(mut test: impl FnMut(Timers<P>)) {
    let schedules: [(&str, Timers<P>); 2] = [
        ("textbook (binary heap)", Box::new(Heap::default())),
        ("fast", Box::new(FastSchedule::default())),
    ];
    for (name, schedule) in schedules {
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| test(schedule))) {
            eprintln!("the failure above was with the {name} schedule");
            resume_unwind(panic);
        }
    }
}
// ANCHOR_END: each_schedule
