//! Where the loop gets the time, and how it waits.
//!
//! Mirrors `BaseEventLoop.time()` in CPython's `asyncio/base_events.py` (which
//! reads `time.monotonic()`) and the blocking `time.sleep` of the toy loops.
//! Two clocks share one interface: [`RealClock`] waits for real, and
//! [`VirtualClock`] jumps forward at once, so a test can run four seconds of
//! sleeping in a microsecond and assert exact times.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

// ANCHOR: clock
/// A monotonic clock the loop can read and wait on.
pub trait Clock {
    /// Time since this clock started. A `Duration`, not a float, so virtual
    /// time adds up exactly: five steps of 0.1 s make exactly 0.5 s.
    fn now(&self) -> Duration;

    /// Block the calling thread for `duration`.
    fn sleep(&self, duration: Duration);

    /// Whether this clock's time is made up. A loop that waits in the
    /// kernel (stage 3's `select`) must not block for a virtual timeout: it
    /// looks without waiting, then moves the clock itself.
    fn is_virtual(&self) -> bool {
        false
    }
}
// ANCHOR_END: clock

/// The machine's monotonic clock; `sleep` really blocks.
#[derive(Debug, Clone, Copy)]
pub struct RealClock {
    origin: Instant,
}

impl RealClock {
    /// A clock that reads zero now.
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
        }
    }
}

impl Default for RealClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for RealClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

// ANCHOR: virtual_clock
/// A clock that only moves when someone sleeps on it or advances it.
///
/// Clones share one time, so a test can keep a clone, hand another to the
/// loop, and read (or advance) the time the loop sees.
#[derive(Debug, Clone, Default)]
pub struct VirtualClock {
    nanos: Arc<AtomicU64>,
}

impl VirtualClock {
    /// A clock that reads zero and stays there until it is moved.
    pub fn new() -> Self {
        Self::default()
    }

    /// Move time forward by `duration`, as if that much time had passed.
    ///
    /// # Panics
    /// If the clock would pass `u64::MAX` nanoseconds (about 584 years).
    pub fn advance(&self, duration: Duration) {
        let step = u64::try_from(duration.as_nanos()).expect("virtual time overflows u64 nanos");
        self.nanos
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |now| {
                now.checked_add(step)
            })
            .expect("virtual time overflows u64 nanos");
    }
}

impl VirtualClock {
    /// How many clones of this clock exist, this one included. A loop owns
    /// the clone it was given, so a test can tell from this whether the
    /// loops it made on a clock were freed.
    pub fn clones(&self) -> usize {
        Arc::strong_count(&self.nanos)
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }

    /// Sleeping on a virtual clock takes no real time: it advances the clock.
    fn sleep(&self, duration: Duration) {
        self.advance(duration);
    }

    fn is_virtual(&self) -> bool {
        true
    }
}
// ANCHOR_END: virtual_clock

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_sleep_advances_exactly() {
        let clock = VirtualClock::new();
        for _ in 0..5 {
            clock.sleep(Duration::from_millis(100));
        }
        assert_eq!(clock.now(), Duration::from_millis(500));
    }

    #[test]
    fn clones_share_one_time() {
        let clock = VirtualClock::new();
        let seen_by_loop = clock.clone();
        clock.advance(Duration::from_secs(11));
        assert_eq!(seen_by_loop.now(), Duration::from_secs(11));
    }

    #[test]
    fn real_clock_never_goes_backwards() {
        let clock = RealClock::new();
        let first = clock.now();
        clock.sleep(Duration::ZERO);
        assert!(clock.now() >= first);
    }
}
