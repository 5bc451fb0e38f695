//! What the loop does when it has nothing to run: wait.
//!
//! Mirrors the `self._selector.select(timeout)` call in `_run_once`
//! (CPython's `asyncio/base_events.py`), and `_process_events`, which hands
//! what the selector found to the ready queue. In stage 2 there is nothing
//! to wait for but time, so the wait is a sleep on the clock. Stage 3 plugs
//! in a poller that asks the operating system about file descriptors
//! instead, without changing the loop.

use std::collections::VecDeque;
use std::time::Duration;

use stage01_generator_loop::Clock;

use crate::error::LoopError;
use crate::handle::Handle;

// ANCHOR: poller
/// Waits for the next thing that can happen.
pub trait Poller: Sized + 'static {
    /// Wait at most `timeout` (`None`: for as long as it takes), and append
    /// the handle of whatever became ready to `ready`.
    fn poll(
        &mut self,
        clock: &dyn Clock,
        timeout: Option<Duration>,
        ready: &mut VecDeque<Handle<Self>>,
    ) -> Result<(), LoopError>;

    /// The loop is closing: release what the poller holds (stage 3 closes
    /// its descriptors) and hand back every handle it keeps, for the loop
    /// to cancel.
    fn close(&mut self) -> Vec<Handle<Self>> {
        Vec::new()
    }
}

/// Stage 2's poller: nothing but time can happen, so waiting is sleeping.
#[derive(Debug, Default)]
pub struct Sleeper;

impl Poller for Sleeper {
    fn poll(
        &mut self,
        clock: &dyn Clock,
        timeout: Option<Duration>,
        _ready: &mut VecDeque<Handle<Self>>,
    ) -> Result<(), LoopError> {
        Sleeper::wait(clock, timeout)
    }
}

impl Sleeper {
    /// Sleep on `clock` for `timeout`, or refuse to wait for ever.
    pub fn wait(clock: &dyn Clock, timeout: Option<Duration>) -> Result<(), LoopError> {
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
