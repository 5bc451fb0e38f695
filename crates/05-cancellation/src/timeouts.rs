//! Timeouts: cancellation driven by a timer.
//!
//! Mirrors `wait_for` and `_cancel_and_wait` in CPython's
//! `asyncio/tasks.py` (3.11) and the `Timeout` scope of
//! `asyncio/timeouts.py`. Both cancel something when a timer fires, wait
//! for its clean-up, and then turn the cancellation they caused into a
//! timeout error, and only that one: a cancellation from outside passes
//! through unchanged. `uncancel` is how the scope tells the two apart.

use std::cell::{Cell, RefCell};
use std::error::Error;
use std::fmt;
use std::rc::Rc;

use stage02_timed_events::{AbstractEventLoop, LoopError, get_running_loop};
use stage03_read_readiness::SelectorEventLoop;
use stage04_futures_tasks::{Future, FutureError};

use crate::tasks::{CurrentTask, EnsureFuture, Task, current_task};

/// asyncio's `TimeoutError`: the time ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeoutError;

impl fmt::Display for TimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the time ran out")
    }
}

impl Error for TimeoutError {}

/// `TimeoutError` as the exception a coroutine ends with.
fn timed_out() -> FutureError {
    FutureError::Exception(Rc::new(TimeoutError))
}

/// Whether `error` is a timeout (asyncio: `except TimeoutError`).
pub fn is_timeout(error: &FutureError) -> bool {
    matches!(error, FutureError::Exception(error) if error.is::<TimeoutError>())
}

/// A timeout of NaN seconds: a typed error, never a wait that cannot end.
pub(crate) fn nan() -> FutureError {
    FutureError::Exception(Rc::new(LoopError::NotANumber))
}

/// asyncio's `_release_waiter`: finish `waiter`, if nothing did yet.
fn release_waiter(waiter: &Future<()>) {
    if !waiter.done() {
        let _ = waiter.set_result(());
    }
}

// ANCHOR: cancel_and_wait
/// asyncio's `_cancel_and_wait`: cancel `task`, and wait until it is done
/// (its clean-up included). `Err(Cancelled)` if the waiting itself is
/// cancelled.
async fn cancel_and_wait<T: 'static>(
    event_loop: &SelectorEventLoop,
    task: &Task<T>,
) -> Result<(), FutureError> {
    let waiter = Future::new(event_loop);
    let released = waiter.clone();
    let callback = task.add_done_callback(move |_, _| release_waiter(&released));
    task.cancel(None);
    let waited = waiter.await;
    task.remove_done_callback(callback);
    waited
}
// ANCHOR_END: cancel_and_wait

// ANCHOR: wait_for
/// asyncio's `wait_for(aw, timeout)` (3.11): `aw`'s outcome if it ends
/// within `timeout` seconds (`None`: no limit); else `aw` is cancelled, its
/// clean-up awaited, and the answer is a [`TimeoutError`] (or its value,
/// if it refused the cancellation). Cancelling the awaiter cancels `aw`
/// too. A timeout of zero or less never starts a coroutine; NaN is an
/// error.
pub async fn wait_for<T: Clone + 'static>(
    aw: impl EnsureFuture<T>,
    timeout: Option<f64>,
) -> Result<T, FutureError> {
    let Some(timeout) = timeout else {
        return aw.into_awaited().await; // `return await fut`, in this task
    };
    let event_loop = get_running_loop::<SelectorEventLoop>()?;
    let task = aw.ensure_future(&event_loop)?;
    if timeout.is_nan() {
        task.cancel(None);
        return Err(nan());
    }
    if timeout <= 0.0 {
        if task.done() {
            return task.result();
        }
        cancel_and_wait(&event_loop, &task).await?;
        return match task.result() {
            Err(FutureError::Cancelled) => Err(timed_out()),
            refused => refused,
        };
    }
    let waiter = Future::new(&event_loop);
    let released = waiter.clone();
    let timer = event_loop.call_later(timeout, move |_| release_waiter(&released))?;
    let released = waiter.clone();
    let callback = task.add_done_callback(move |_, _| release_waiter(&released));
    let waited = waiter.await;
    timer.cancel();
    if task.done() {
        return task.result();
    }
    task.remove_done_callback(callback);
    cancel_and_wait(&event_loop, &task).await?;
    if let Err(FutureError::Cancelled) = waited {
        return Err(FutureError::Cancelled); // the awaiter was cancelled
    }
    match task.result() {
        Err(FutureError::Cancelled) => Err(timed_out()),
        refused => refused,
    }
}
// ANCHOR_END: wait_for

// ANCHOR: timeout
/// asyncio's `asyncio.timeout(delay)` scope, for several awaits: made with
/// [`timeout`] or [`timeout_at`], run around a block with [`Timeout::run`].
/// Clones are the same scope (the block may hold one, to `reschedule`).
#[derive(Clone)]
pub struct Timeout {
    pub(crate) inner: Rc<Scope>,
}

pub(crate) struct Scope {
    /// The deadline, in loop seconds; `None`: none.
    pub(crate) when: Cell<Option<f64>>,
    pub(crate) state: Cell<State>,
    /// The task the scope runs in, once entered.
    task: RefCell<Option<CurrentTask>>,
    /// Its `cancelling()` when the scope was entered: cancellations asked
    /// for before are not the scope's.
    cancelling: Cell<u32>,
    /// The timer that fires the timeout.
    pub(crate) handle: RefCell<Option<<SelectorEventLoop as AbstractEventLoop>::Handle>>,
}

/// asyncio's `_State`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Created,
    Entered,
    /// The timer fired and cancelled the task; the block has not ended.
    Expiring,
    Expired,
    Exited,
}
// ANCHOR_END: timeout

/// asyncio's `timeout(delay)`: a scope whose deadline is `delay` seconds
/// from now (`None`: no deadline).
///
/// # Errors
/// Outside a running loop; for a delay of NaN seconds.
pub fn timeout(delay: Option<f64>) -> Result<Timeout, FutureError> {
    let event_loop = get_running_loop::<SelectorEventLoop>()?;
    match delay {
        Some(delay) if delay.is_nan() => Err(nan()),
        Some(delay) => Ok(timeout_at(Some(event_loop.time() + delay))),
        None => Ok(timeout_at(None)),
    }
}

/// asyncio's `timeout_at(when)`: a scope whose deadline is `when`, in loop
/// seconds (`None`: no deadline).
pub fn timeout_at(when: Option<f64>) -> Timeout {
    Timeout {
        inner: Rc::new(Scope {
            when: Cell::new(when),
            state: Cell::new(State::Created),
            task: RefCell::new(None),
            cancelling: Cell::new(0),
            handle: RefCell::new(None),
        }),
    }
}

impl Timeout {
    // ANCHOR: run
    /// `async with timeout(..): block`: run `block`; if the deadline passes
    /// first, the task is cancelled (at the block's pending await), and the
    /// cancellation, once out of the block, becomes a [`TimeoutError`]. Any
    /// other outcome, a cancellation from outside among them, passes
    /// through unchanged.
    pub async fn run<T>(
        &self,
        block: impl std::future::Future<Output = Result<T, FutureError>>,
    ) -> Result<T, FutureError> {
        self.enter()?;
        let outcome = block.await;
        self.exit(outcome)
    }

    /// asyncio's `__aenter__`.
    fn enter(&self) -> Result<(), FutureError> {
        self.begin()?;
        self.reschedule(self.inner.when.get())
    }

    /// `__aenter__` up to setting the timer.
    pub(crate) fn begin(&self) -> Result<(), FutureError> {
        let scope = &self.inner;
        if scope.state.get() != State::Created {
            let entered = "a timeout scope runs one block, once";
            return Err(FutureError::InvalidState(entered));
        }
        let task = current_task().ok_or(FutureError::InvalidState(
            "a timeout scope runs inside a stage 5 task",
        ))?;
        scope.state.set(State::Entered);
        scope.cancelling.set(task.cancelling());
        *scope.task.borrow_mut() = Some(task);
        Ok(())
    }

    /// asyncio's `__aexit__` (3.11.7: a cancellation is the scope's if,
    /// its own taken back, no more are left than when it began).
    pub(crate) fn exit<T>(&self, outcome: Result<T, FutureError>) -> Result<T, FutureError> {
        let scope = &self.inner;
        if let Some(handle) = scope.handle.take() {
            handle.cancel();
        }
        match scope.state.get() {
            State::Expiring => {
                scope.state.set(State::Expired);
                let task = scope.task.borrow();
                let ours = task
                    .as_ref()
                    .is_some_and(|task| task.uncancel() <= scope.cancelling.get());
                if ours && matches!(outcome, Err(FutureError::Cancelled)) {
                    return Err(timed_out());
                }
            }
            _ => scope.state.set(State::Exited),
        }
        outcome
    }
    // ANCHOR_END: run

    /// asyncio's `when()`: the deadline, in loop seconds.
    pub fn when(&self) -> Option<f64> {
        self.inner.when.get()
    }

    /// asyncio's `reschedule(when)`: move the deadline (`None`: remove
    /// it). A deadline already past fires in the next iteration.
    ///
    /// # Errors
    /// If the scope is not running its block; for a deadline of NaN.
    pub fn reschedule(&self, when: Option<f64>) -> Result<(), FutureError> {
        let scope = &self.inner;
        if scope.state.get() != State::Entered {
            return Err(FutureError::InvalidState(
                "only a timeout scope running its block can be rescheduled",
            ));
        }
        if when.is_some_and(f64::is_nan) {
            return Err(nan());
        }
        scope.when.set(when);
        if let Some(handle) = scope.handle.take() {
            handle.cancel();
        }
        let Some(when) = when else {
            return Ok(());
        };
        let event_loop = get_running_loop::<SelectorEventLoop>()?;
        let on_timeout = self.on_timeout();
        let handle = if when <= event_loop.time() {
            event_loop.call_soon(on_timeout)?
        } else {
            event_loop.call_at(when, on_timeout)?
        };
        *scope.handle.borrow_mut() = Some(handle);
        Ok(())
    }

    /// The timer's callback: asyncio's `_on_timeout`, for this scope.
    pub(crate) fn on_timeout(&self) -> impl FnOnce(&SelectorEventLoop) + 'static {
        let fired = Rc::clone(&self.inner);
        move |_| fired.on_timeout()
    }

    /// asyncio's `expired()`: whether the deadline passed while the block
    /// ran.
    pub fn expired(&self) -> bool {
        matches!(self.inner.state.get(), State::Expiring | State::Expired)
    }
}

// ANCHOR: on_timeout
impl Scope {
    /// asyncio's `_on_timeout`: cancel the task the block runs in.
    fn on_timeout(&self) {
        if let Some(task) = self.task.borrow().as_ref() {
            task.cancel(None);
        }
        self.state.set(State::Expiring);
        self.handle.take();
    }
}
// ANCHOR_END: on_timeout
