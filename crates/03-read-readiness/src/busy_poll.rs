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
