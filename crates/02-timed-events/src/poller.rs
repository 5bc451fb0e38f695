//! What the loop does when it has nothing to run: wait.
//!
//! Mirrors the `self._selector.select(timeout)` call in `_run_once`
//! (CPython's `asyncio/base_events.py`). In stage 2 there is nothing to wait
//! for but time, so the wait is a sleep on the clock. Stage 3 plugs in a
//! poller that asks the operating system about file descriptors instead,
//! without changing the loop.

use std::panic::Location;
use std::time::Duration;

use stage01_generator_loop::Clock;

use crate::event_loop::LoopError;
use crate::handle::Callback;

// ANCHOR: poller
/// Waits for the next thing that can happen.
pub trait Poller {
    /// Wait at most `timeout` (`None`: for as long as it takes), and append
    /// a callback for whatever became ready to `ready`.
    fn poll(
        &mut self,
        clock: &dyn Clock,
        timeout: Option<Duration>,
        ready: &mut Vec<Ready>,
    ) -> Result<(), LoopError>;
}

/// A callback a poller found ready to run, and where the code that asked for
/// it was (reports about a panic in it name that place).
pub struct Ready {
    /// What to run in this iteration.
    pub callback: Callback,
    /// Where it was registered.
    pub registered_at: &'static Location<'static>,
}

/// Stage 2's poller: nothing but time can happen, so waiting is sleeping.
#[derive(Debug, Default)]
pub struct Sleeper;

impl Poller for Sleeper {
    fn poll(
        &mut self,
        clock: &dyn Clock,
        timeout: Option<Duration>,
        _ready: &mut Vec<Ready>,
    ) -> Result<(), LoopError> {
        match timeout {
            Some(wait) if wait.is_zero() => Ok(()),
            Some(wait) => {
                clock.sleep(wait);
                Ok(())
            }
            // asyncio would block in select() forever. Here nothing could
            // ever wake us, so say so instead of hanging.
            None => Err(LoopError::NothingToWaitFor),
        }
    }
}
// ANCHOR_END: poller
