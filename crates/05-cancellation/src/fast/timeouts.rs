//! A timeout scope that sets its timer only once its block waits, and
//! `wait_for` as asyncio 3.12 writes it.
//!
//! Mirrors `Timeout` in CPython's `asyncio/timeouts.py`, as the textbook
//! [`Timeout`](crate::timeouts::Timeout) does, and `wait_for` in 3.12's
//! `asyncio/tasks.py`. asyncio's scope sets its timer as it enters and
//! cancels it as it leaves: for a block that never waits, a timer made and
//! thrown away, for nothing, since a deadline can only cancel a block at an
//! await. This scope reserves the timer's place in line as it enters
//! (stage 2's `reserve_timer`), and sets it there at the block's first
//! `Pending`: a block that finishes without waiting sets no timer, and one
//! that waits is timed out exactly as asyncio's would be, even against a
//! timer due at the same moment that the block set before it waited.
//!
//! 3.12's `wait_for` is such a scope around `await fut`: a coroutine runs
//! inside the caller's task, with no task of its own, no waiter future and
//! no done-callback. Its timeouts of zero or less, and of NaN, are the
//! textbook's.

use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use stage02_timed_events::seconds::to_nanos;
use stage02_timed_events::{AbstractEventLoop, ReservedTimer, get_running_loop};
use stage03_read_readiness::SelectorEventLoop;
use stage04_futures_tasks::FutureError;

use crate::tasks::EnsureFuture;
use crate::timeouts::{self, State};

/// asyncio's `timeout` scope, fast: as the textbook
/// [`Timeout`](crate::timeouts::Timeout), its timer set once its block
/// waits. Clones are the same scope.
#[derive(Clone)]
pub struct Timeout {
    scope: timeouts::Timeout,
    /// The loop iteration in which it was made with a positive delay: if
    /// it is entered in the same one, its deadline is not past, and
    /// entering need not read the clock again.
    ahead_in: Option<u64>,
}

/// asyncio's `timeout(delay)`, fast.
///
/// # Errors
/// As the textbook [`timeout`](crate::timeouts::timeout).
pub fn timeout(delay: Option<f64>) -> Result<Timeout, FutureError> {
    let scope = timeouts::timeout(delay)?;
    let ahead_in = match delay {
        Some(delay) if delay > 0.0 => Some(get_running_loop::<SelectorEventLoop>()?.iterations()),
        _ => None,
    };
    Ok(Timeout { scope, ahead_in })
}

/// asyncio's `timeout_at(when)`, fast.
pub fn timeout_at(when: Option<f64>) -> Timeout {
    let scope = timeouts::timeout_at(when);
    Timeout {
        scope,
        ahead_in: None,
    }
}

impl Timeout {
    // ANCHOR: run
    /// As the textbook [`run`](crate::timeouts::Timeout::run): asyncio's
    /// `__aenter__`, the block, `__aexit__`; the timer waits for the
    /// block's first `Pending`.
    pub async fn run<T>(
        &self,
        block: impl std::future::Future<Output = Result<T, FutureError>>,
    ) -> Result<T, FutureError> {
        let scope = &self.scope;
        scope.begin()?;
        let event_loop = get_running_loop::<SelectorEventLoop>()?;
        let ahead = self.ahead_in == Some(event_loop.iterations());
        let reserved = match scope.when() {
            // A deadline already past fires in the next iteration, in
            // turn with the callbacks queued before it: set it now (and
            // NaN is refused, as the textbook's refuses it). (One
            // set ahead in this iteration is not past: on a virtual clock
            // no time passes within an iteration, and on a real one
            // asyncio's choice here is a race with the clock.)
            Some(when) if when.is_nan() || !ahead && when <= event_loop.time() => {
                scope.reschedule(Some(when))?;
                None
            }
            Some(when) => to_nanos(when).map(|at| (when, event_loop.reserve_timer(at))),
            None => None,
        };
        let outcome = SetWhenWaiting {
            block,
            scope,
            event_loop: &event_loop,
            reserved,
        }
        .await;
        scope.exit(outcome)
    }
    // ANCHOR_END: run

    /// asyncio's `when()`.
    pub fn when(&self) -> Option<f64> {
        self.scope.when()
    }

    /// asyncio's `reschedule(when)`: as the textbook's, which sets the
    /// timer at once.
    ///
    /// # Errors
    /// As the textbook [`reschedule`](crate::timeouts::Timeout::reschedule).
    pub fn reschedule(&self, when: Option<f64>) -> Result<(), FutureError> {
        self.scope.reschedule(when)
    }

    /// asyncio's `expired()`.
    pub fn expired(&self) -> bool {
        self.scope.expired()
    }
}

pin_project! {
    /// The block, which sets the scope's timer in its reserved place the
    /// first time it answers `Pending`.
    struct SetWhenWaiting<'a, F> {
        #[pin]
        block: F,
        scope: &'a timeouts::Timeout,
        event_loop: &'a SelectorEventLoop,
        // The deadline and its place in line, until the timer is set.
        reserved: Option<(f64, ReservedTimer)>,
    }
}

// ANCHOR: set_when_waiting
impl<T, F> std::future::Future for SetWhenWaiting<'_, F>
where
    F: std::future::Future<Output = Result<T, FutureError>>,
{
    type Output = Result<T, FutureError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let polled = this.block.poll(cx);
        if polled.is_pending() {
            if let Some((when, reserved)) = this.reserved.take() {
                if let Err(error) = set_reserved_timer(this.scope, this.event_loop, when, reserved)
                {
                    return Poll::Ready(Err(error.into()));
                }
            }
        }
        polled
    }
}

/// Set the scope's timer in the place `reserved` took, unless the block
/// has moved the deadline since (`reschedule` sets its own timer at once).
fn set_reserved_timer(
    timeout: &timeouts::Timeout,
    event_loop: &SelectorEventLoop,
    when: f64,
    reserved: ReservedTimer,
) -> Result<(), stage02_timed_events::LoopError> {
    let scope = &timeout.inner;
    let unmoved = scope.when.get() == Some(when) && scope.handle.borrow().is_none();
    if scope.state.get() == State::Entered && unmoved {
        let handle = event_loop.call_at_reserved(reserved, timeout.on_timeout())?;
        *scope.handle.borrow_mut() = Some(handle);
    }
    Ok(())
}
// ANCHOR_END: set_when_waiting

// ANCHOR: wait_for
/// asyncio's `wait_for(aw, timeout)` as 3.12 writes it: `async with
/// timeout(t): return await aw`, so that a coroutine is awaited inside the
/// caller's task (which must be a stage 5 task, as 3.12's must be a task).
/// No timeout: `aw` awaited as it is. A timeout of zero or less, or NaN,
/// goes the textbook [`wait_for`](crate::timeouts::wait_for)'s way (3.12's
/// is the same).
pub async fn wait_for<T: Clone + 'static>(
    aw: impl EnsureFuture<T>,
    timeout: Option<f64>,
) -> Result<T, FutureError> {
    match timeout {
        None => aw.into_awaited().await,
        Some(limit) if limit.is_nan() || limit <= 0.0 => timeouts::wait_for(aw, timeout).await,
        Some(_) => self::timeout(timeout)?.run(aw.into_awaited()).await,
    }
}
// ANCHOR_END: wait_for
