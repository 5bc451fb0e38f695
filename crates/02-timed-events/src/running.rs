//! Which loop is running in this thread.
//!
//! Mirrors `_get_running_loop`, `_set_running_loop` and `get_running_loop`
//! in CPython's `asyncio/events.py`: `run_forever` makes its loop the
//! running loop of the thread until it returns, so that code running on the
//! loop (a callback, a coroutine) can reach the loop's whole API without
//! being handed it. Here too: what every loop keeps about its own running
//! (`RunState`), and `run_forever` itself.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::marker::PhantomData;

use demo_support::{Mark, Timeline};

use crate::error::LoopError;
use crate::seconds::Nanos;

thread_local! {
    /// A clone of the loop running in this thread, if one is. Loops differ
    /// in the type of their poller, so it is kept as `Any`.
    static RUNNING: RefCell<Option<Box<dyn Any>>> = const { RefCell::new(None) };
}

// ANCHOR: get_running_loop
/// asyncio's `get_running_loop()`: the loop running in this thread, for a
/// coroutine or callback that wants to `call_soon`, `call_later` or (in
/// stage 3) `add_reader` on it. `L` names the kind of loop:
/// `get_running_loop::<EventLoop>()` for stage 2's.
pub fn get_running_loop<L: Clone + 'static>() -> Result<L, LoopError> {
    RUNNING.with_borrow(|running| {
        let running = running.as_ref().and_then(|l| l.downcast_ref::<L>());
        running.cloned().ok_or(LoopError::NoRunningLoop)
    })
}
// ANCHOR_END: get_running_loop

/// Whether any loop is running in this thread.
fn is_any_running() -> bool {
    RUNNING.with_borrow(Option::is_some)
}

/// asyncio's `_set_running_loop`: `Some(clone)` when a loop starts running,
/// `None` when it stops.
fn set_running_loop<L: 'static>(event_loop: Option<L>) {
    let running = event_loop.map(|l| Box::new(l) as Box<dyn Any>);
    // Dropped after the borrow ends: dropping a loop may run arbitrary code.
    let previous = RUNNING.with_borrow_mut(|slot| std::mem::replace(slot, running));
    drop(previous);
}

/// asyncio's default `slow_callback_duration`: 0.1 seconds (see `debug`).
pub const SLOW_CALLBACK_DURATION: Nanos = 100_000_000;

/// Whether the environment asks for debug mode: `ASYNCIO_DEBUG` set to
/// anything but the empty string, as asyncio reads `PYTHONASYNCIODEBUG`.
pub fn debug_from_env() -> bool {
    std::env::var_os("ASYNCIO_DEBUG").is_some_and(|value| !value.is_empty())
}

// ANCHOR: run_state
/// What a loop keeps about its own running: asyncio's `_stopping`,
/// `_closed` and `_thread_id` (whether it runs), a count of iterations, and
/// the timeline it records, if any. The textbook loop and the fast one each
/// keep one, run through it, and answer `stop`, `is_running`, `is_closed`,
/// `iterations` and `record` from it (the trait's provided methods).
#[derive(Debug)]
pub struct RunState {
    /// Set by `stop`: finish this iteration, then return; do not wait.
    pub(crate) stopping: Cell<bool>,
    pub(crate) running: Cell<bool>,
    pub(crate) closed: Cell<bool>,
    pub(crate) iterations: Cell<u64>,
    pub(crate) timeline: RefCell<Option<Timeline>>,
    /// asyncio's `_debug`: time every callback (see `debug`).
    pub(crate) debug: Cell<bool>,
    /// asyncio's `slow_callback_duration`.
    pub(crate) slow_callback_duration: Cell<Nanos>,
    /// What the running callback said it is, for a report that it was slow.
    pub(crate) running_label: RefCell<Option<String>>,
}

impl Default for RunState {
    /// A loop that has not run, in debug mode if the environment says so.
    fn default() -> Self {
        Self {
            stopping: Cell::default(),
            running: Cell::default(),
            closed: Cell::default(),
            iterations: Cell::default(),
            timeline: RefCell::default(),
            debug: Cell::new(debug_from_env()),
            slow_callback_duration: Cell::new(SLOW_CALLBACK_DURATION),
            running_label: RefCell::default(),
        }
    }
}

impl RunState {
    // ANCHOR: run_forever
    /// asyncio's `run_forever`: `run_once` (the loop's `_run_once`) again
    /// and again until `stop` is called, with `event_loop` this thread's
    /// running loop meanwhile.
    pub(crate) fn run_forever<L: Clone + 'static>(
        &self,
        event_loop: &L,
        run_once: impl Fn() -> Result<(), LoopError>,
    ) -> Result<(), LoopError> {
        let _running = self.start(event_loop)?;
        let outcome = loop {
            if let Err(error) = run_once() {
                break Err(error);
            }
            if self.stopping.get() {
                break Ok(());
            }
        };
        self.stopping.set(false);
        outcome
    }
    // ANCHOR_END: run_forever

    /// One iteration, run by hand (as tests do). Refused while the loop
    /// runs: an iteration inside an iteration would run callbacks out of turn.
    pub(crate) fn run_once<L: Clone + 'static>(
        &self,
        event_loop: &L,
        run_once: impl FnOnce() -> Result<(), LoopError>,
    ) -> Result<(), LoopError> {
        let _running = self.start(event_loop)?;
        run_once()
    }

    /// asyncio's `_check_closed`, `_check_running` and `_set_running_loop`:
    /// `event_loop` runs until the guard returned is dropped, on every way
    /// out (an error, a panic).
    fn start<L: Clone + 'static>(&self, event_loop: &L) -> Result<Running<'_, L>, LoopError> {
        self.check_closed()?;
        if self.running.get() {
            return Err(LoopError::AlreadyRunning);
        }
        if is_any_running() {
            return Err(LoopError::AnotherLoopRunning);
        }
        self.running.set(true);
        set_running_loop(Some(event_loop.clone()));
        Ok(Running {
            state: self,
            kind: PhantomData,
        })
    }

    /// Add the mark `mark` makes to the timeline at the time `now` tells,
    /// if there is a timeline.
    pub(crate) fn record(&self, now: impl FnOnce() -> Nanos, mark: impl FnOnce() -> Mark) {
        if let Some(timeline) = &*self.timeline.borrow() {
            timeline.record(now(), mark());
        }
    }

    /// `Err(LoopError::Closed)` once the loop is closed.
    pub(crate) fn check_closed(&self) -> Result<(), LoopError> {
        if self.closed.get() {
            Err(LoopError::Closed)
        } else {
            Ok(())
        }
    }
}
// ANCHOR_END: run_state

/// While it lives, its loop runs, and is this thread's running loop.
struct Running<'a, L: 'static> {
    state: &'a RunState,
    kind: PhantomData<L>,
}

impl<L: 'static> Drop for Running<'_, L> {
    fn drop(&mut self) {
        self.state.running.set(false);
        set_running_loop::<L>(None);
    }
}
