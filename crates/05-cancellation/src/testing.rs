//! Testing time-dependent code: a loop whose clock only the test moves.
//!
//! Mirrors asynctest's `ClockedTestCase` (`asynctest/case.py`), whose loop
//! reads a clock the test moves with `await self.advance(seconds)`: every
//! callback due up to the new time runs, each at its own time, and then
//! time stops there. Here the loop is a [`ClockedLoop`] and the call is
//! [`ClockedLoop::advance`], a plain method, since a Rust test is not
//! itself a coroutine on the loop:
//!
//! ```
//! use stage04_futures_tasks::FutureError;
//! use stage05_cancellation::testing::ClockedLoop;
//! use stage05_cancellation::{create_task, is_timeout, sleep, wait_for};
//!
//! let clocked = ClockedLoop::new()?;
//! // `wait_for` is called inside the task, where the loop runs.
//! let task = create_task(&clocked, async {
//!     wait_for(sleep(20.0, ()), Some(10.0)).await
//! })?;
//! clocked.advance(9.0)?;
//! assert!(!task.done());
//! clocked.advance(2.0)?;
//! assert!(task.done());
//! assert!(task.result().is_err_and(|error| is_timeout(&error)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The loop does most of the work already: on a virtual clock, a stage 3
//! loop with nothing to run moves the clock itself to its next timer (it
//! calls the clock's `sleep`). So `advance` only has to run the loop and
//! stop it at the right moment, which is when the loop, with nothing ready,
//! would wait *past* the target. The clock is where the loop says so, and
//! a clocked loop's clock moves only up to a limit: `advance` sets the
//! limit to the target, the loop moves the clock from timer to timer, and
//! when it asks to wait beyond the target, the clock stops at the target
//! and stops the loop. Everything due at the target has run by then, what
//! those callbacks woke included.
//!
//! `call_at(target, stop)` around `run_forever` is not enough: the timers
//! due at the target run, but not what they wake. A task whose sleep ends
//! exactly at the target is only queued by its timer, and `stop` ends the
//! run before its step; asynctest's `advance` runs it.

use std::cell::{Cell, RefCell};
use std::error::Error;
use std::fmt;
use std::ops::Deref;
use std::rc::Rc;
use std::time::Duration;

use stage01_generator_loop::Clock;
use stage02_timed_events::seconds::{Delay, NEVER, Nanos, to_seconds};
use stage02_timed_events::{AbstractEventLoop, Handle, LoopError};
use stage03_read_readiness::{PollSelector, SelectorEventLoop, SelectorEvents, SelectorPoller};

// ANCHOR: clocked_loop
/// asynctest's `ClockedTestCase.loop`: a selector loop (waiting in
/// `poll(2)`) for stage 5's tasks, whose clock reads 0 at the start and
/// moves only in [`advance`](Self::advance). It derefs to the loop, so `create_task(&clocked,
/// ..)` and every method of the loop work on it. Dropping it closes the loop.
///
/// Time never moves by itself: run the loop only with `advance`. Anything
/// else that runs it (`run_forever`, `run_until_complete`) works as long as
/// what it waits for needs no time (awaiting a task that is done, say), and
/// panics when the loop would wait for a timer, rather than hang.
pub struct ClockedLoop {
    event_loop: SelectorEventLoop,
    clock: TestClock,
}

/// The clock of a [`ClockedLoop`]. Clones share one time: the loop owns
/// one, the `ClockedLoop` another.
#[derive(Clone, Default)]
struct TestClock(Rc<ClockState>);

#[derive(Default)]
struct ClockState {
    /// The time, in nanoseconds.
    now: Cell<Nanos>,
    /// While `advance` runs: the target, and the loop to stop there.
    advancing: RefCell<Option<(Nanos, SelectorEventLoop)>>,
    /// The loop, idle, asked to wait past the target: `advance` is done.
    reached: Cell<bool>,
}
// ANCHOR_END: clocked_loop

// ANCHOR: test_clock
impl Clock for TestClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.0.now.get().unsigned_abs())
    }

    /// The loop, with nothing to run, waits `duration` for its next timer.
    /// Up to the target, the clock moves there; past it, the clock stops at
    /// the target, and so does the loop.
    fn sleep(&self, duration: Duration) {
        if duration.is_zero() {
            return; // the loop looked for events between callbacks
        }
        let clock = &*self.0;
        let now = clock.now.get();
        let wait = Nanos::try_from(duration.as_nanos()).unwrap_or(NEVER);
        let wanted = now.saturating_add(wait);
        let advancing = clock.advancing.borrow();
        let Some((target, event_loop)) = advancing.as_ref() else {
            panic!(
                "a ClockedLoop's time moves only in advance(seconds), and the loop would \
                 wait {} s for its next timer: run it with advance",
                to_seconds(wait)
            );
        };
        if wanted <= *target {
            clock.now.set(wanted);
        } else {
            clock.now.set(*target);
            clock.reached.set(true);
            event_loop.stop(); // after this iteration, which has nothing to run
        }
    }

    fn is_virtual(&self) -> bool {
        true
    }
}
// ANCHOR_END: test_clock

impl ClockedLoop {
    /// A loop whose clock reads 0 until the test advances it.
    ///
    /// # Errors
    /// If the loop's self-pipe cannot be made.
    pub fn new() -> Result<Self, LoopError> {
        let clock = TestClock::default();
        let event_loop = SelectorEventLoop::with_selector(clock.clone(), PollSelector::new())
            .map_err(|error| LoopError::Poll(std::io::Error::other(error)))?;
        Ok(Self { event_loop, clock })
    }

    /// The loop, for what wants it by name (`Deref` gives it too).
    pub fn event_loop(&self) -> &SelectorEventLoop {
        &self.event_loop
    }

    // ANCHOR: advance
    /// asynctest's `advance(seconds)`: move the time forward by `seconds`
    /// (float seconds or a `Duration`), running everything due on the way,
    /// timer by timer, each at its own time, and everything due at the new
    /// time, what it wakes included; then stop, the clock reading exactly
    /// the new time. Nothing due later runs. `advance(0.0)` runs what is
    /// ready now.
    ///
    /// Like asynctest's, it returns only once the loop has nothing left to
    /// run before the target: a task that never waits for time (a loop
    /// around `yield_now`) keeps it running.
    ///
    /// # Errors
    /// [`AdvanceError::NotANumber`], [`Backwards`](AdvanceError::Backwards)
    /// or [`TooFar`](AdvanceError::TooFar) for a step of NaN, below zero,
    /// or infinite (or past the 292 years the clock counts), the clock
    /// unmoved; [`AdvanceError::Loop`] if the loop is closed
    /// ([`LoopError::Closed`]), already running (advance from inside a
    /// callback: [`LoopError::AlreadyRunning`]), or fails.
    pub fn advance(&self, seconds: impl Delay) -> Result<(), AdvanceError> {
        let step = seconds.to_nanos().ok_or(AdvanceError::NotANumber)?;
        if step < 0 {
            return Err(AdvanceError::Backwards);
        }
        let target = self.event_loop.now().saturating_add(step);
        if target >= NEVER - 1 {
            return Err(AdvanceError::TooFar);
        }
        // Refused before the clock is touched: an advance inside a running
        // one would take its target away.
        if self.event_loop.is_closed() {
            return Err(LoopError::Closed.into());
        }
        if self.event_loop.is_running() {
            return Err(LoopError::AlreadyRunning.into());
        }
        // A timer just past the target: the loop always has a time to wait
        // until, so it asks the clock. Without one, a loop with no timers
        // would wait in `poll(2)` without a timeout, for real and for ever
        // (a stage 4 task keeps a way in for other threads, so the loop
        // does not know that nothing can come).
        let fence = self.event_loop.call_at_nanos(target + 1, |_| {})?;
        let _advancing = Advancing::start(&self.clock, target, &self.event_loop, fence);
        // `run_forever` again if something else stopped the loop (a stale
        // `run_until_complete`'s done-callback): only the clock ends this.
        while !self.clock.0.reached.get() {
            self.event_loop.run_forever()?;
        }
        Ok(())
    }
    // ANCHOR_END: advance
}

/// While it lives, the clock advances towards its target; dropped (on
/// every way out of `advance`), the clock stops moving, and the fence goes.
struct Advancing<'a> {
    clock: &'a ClockState,
    fence: Handle<SelectorPoller>,
}

impl<'a> Advancing<'a> {
    fn start(
        clock: &'a TestClock,
        target: Nanos,
        event_loop: &SelectorEventLoop,
        fence: Handle<SelectorPoller>,
    ) -> Self {
        let clock = &*clock.0;
        clock.reached.set(false);
        *clock.advancing.borrow_mut() = Some((target, event_loop.clone()));
        Self { clock, fence }
    }
}

impl Drop for Advancing<'_> {
    fn drop(&mut self) {
        self.fence.cancel();
        // The loop's clone is dropped after the borrow ends.
        let advancing = self.clock.advancing.take();
        drop(advancing);
    }
}

impl Deref for ClockedLoop {
    type Target = SelectorEventLoop;

    fn deref(&self) -> &SelectorEventLoop {
        &self.event_loop
    }
}

impl fmt::Debug for ClockedLoop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ClockedLoop")
            .field(&self.event_loop)
            .finish()
    }
}

/// Why [`ClockedLoop::advance`] refused, or stopped.
#[derive(Debug)]
pub enum AdvanceError {
    /// A step of NaN seconds.
    NotANumber,
    /// A step below zero: asynctest's "Cannot go back in time".
    Backwards,
    /// An infinite step, or one past the 292 years the clock counts: no
    /// advance could get there, and every periodic timer would run for ever.
    TooFar,
    /// The loop refused (closed, already running), or failed.
    Loop(LoopError),
}

impl fmt::Display for AdvanceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdvanceError::NotANumber => write!(f, "cannot advance by NaN seconds"),
            AdvanceError::Backwards => write!(f, "cannot go back in time"),
            AdvanceError::TooFar => write!(
                f,
                "cannot advance by infinity, or past the 292 years the clock counts"
            ),
            AdvanceError::Loop(error) => write!(f, "cannot advance: {error}"),
        }
    }
}

impl Error for AdvanceError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            AdvanceError::Loop(error) => Some(error),
            _ => None,
        }
    }
}

impl From<LoopError> for AdvanceError {
    fn from(error: LoopError) -> Self {
        AdvanceError::Loop(error)
    }
}
