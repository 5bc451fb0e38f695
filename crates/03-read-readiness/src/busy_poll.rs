//! Making it fast: not asking the kernel in every iteration while callbacks
//! are ready.
//!
//! asyncio's `_run_once` calls `self._selector.select(timeout)` in every
//! iteration, with a timeout of zero when callbacks are ready: a system call
//! (`poll(2)` here) that cannot wait, only look. A loop that switches tasks
//! in a tight ping-pong spends most of its time there. tokio's scheduler
//! looks at its I/O driver once every 61 ticks while tasks are ready
//! (`event_interval`); [`BusyPoll`] lets the selector loop do the same. A
//! look that would wait (a timeout above zero, or none) always goes to the
//! kernel; only looks that cannot wait are skipped, and at most `every - 1`
//! of them in a row, so a descriptor that became ready is still seen within
//! `every` iterations.
//!
//! The textbook loop looks every time (`every` = 1), as asyncio does. A loop
//! that runs stage 4's fast tasks looks once in [`BusyPoll::FAST_EVERY`];
//! chapter 4's "Making it fast" shows what it saves.
//!
//! The opposite case, a loop about to wait without limit, has a cost of
//! its own: a thread asleep in `poll(2)` takes tens of microseconds to
//! wake on some machines (a virtual machine's idle processor halts). With
//! [`spin_before_waiting`] the loop first looks a few times without
//! waiting, yielding the processor between looks, so that an answer from
//! another thread that comes at once finds it awake. Off unless asked for
//! (`SelectorPoller::set_idle_spin`); the chapter on threads measures it.

use std::time::Duration;

/// How often a look that cannot wait goes to the kernel.
#[derive(Debug, Clone, Copy)]
pub struct BusyPoll {
    every: u32,
    skipped: u32,
}

impl BusyPoll {
    /// What stage 4's fast tasks set: tokio's `event_interval`.
    pub const FAST_EVERY: u32 = 61;

    /// Look once in `every` iterations that cannot wait (0 counts as 1).
    pub fn every(every: u32) -> Self {
        Self {
            every: every.max(1),
            skipped: 0,
        }
    }

    // ANCHOR: skip
    /// Whether the selector may skip this look, with `timeout`.
    pub fn skip(&mut self, timeout: Option<Duration>) -> bool {
        if timeout != Some(Duration::ZERO) || self.skipped + 1 >= self.every {
            self.skipped = 0;
            return false;
        }
        self.skipped += 1;
        true
    }
    // ANCHOR_END: skip
}

// ANCHOR: spin_before_waiting
/// Making it fast: before waiting without limit, `look` (without waiting)
/// up to `looks` times, yielding the processor between looks; whether a
/// look found something, so that the wait is not needed.
pub fn spin_before_waiting<E>(
    looks: u32,
    mut look: impl FnMut() -> Result<bool, E>,
) -> Result<bool, E> {
    for _ in 0..looks {
        if look()? {
            return Ok(true);
        }
        std::thread::yield_now();
    }
    Ok(false)
}
// ANCHOR_END: spin_before_waiting

/// asyncio's way: look every time.
impl Default for BusyPoll {
    fn default() -> Self {
        Self::every(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ZERO: Option<Duration> = Some(Duration::ZERO);

    #[test]
    fn spinning_stops_at_the_first_look_that_finds_something() {
        let mut looked = 0;
        let found = spin_before_waiting::<()>(10, || {
            looked += 1;
            Ok(looked == 3)
        });
        assert_eq!((found, looked), (Ok(true), 3));
        let mut looked = 0;
        let found = spin_before_waiting::<()>(4, || {
            looked += 1;
            Ok(false)
        });
        assert_eq!((found, looked), (Ok(false), 4), "then the loop waits");
        assert_eq!(spin_before_waiting::<()>(0, || unreachable!()), Ok(false));
    }

    #[test]
    fn every_one_never_skips() {
        let mut busy = BusyPoll::every(1);
        assert!((0..10).all(|_| !busy.skip(ZERO)));
    }

    #[test]
    fn every_three_looks_at_every_third_zero_timeout() {
        let mut busy = BusyPoll::every(3);
        let looked: Vec<bool> = (0..7).map(|_| !busy.skip(ZERO)).collect();
        assert_eq!(looked, [false, false, true, false, false, true, false]);
    }

    #[test]
    fn a_look_that_may_wait_is_never_skipped_and_starts_the_count_again() {
        let mut busy = BusyPoll::every(3);
        assert!(busy.skip(ZERO));
        assert!(!busy.skip(Some(Duration::from_millis(1))));
        assert!(!busy.skip(None));
        assert!(busy.skip(ZERO));
        assert!(busy.skip(ZERO));
        assert!(!busy.skip(ZERO));
    }
}
