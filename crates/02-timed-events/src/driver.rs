//! Coroutines on the callback loop: whatever a coroutine yields becomes a
//! callback that resumes it.
//!
//! Mirrors the heart of `Task.__step` in CPython's `asyncio/tasks.py`: resume
//! the coroutine (`coro.send(None)`), look at what it yielded, and arrange for
//! `__step` to be called again when that has happened. Stage 4 builds real
//! tasks on futures; here the coroutine yields plain events, and each kind of
//! event knows how to schedule the resume (the "dispatch table per event
//! kind" of "How does asyncio enable parallel IO waits?"). The only kind in
//! this stage is "sleep until T".

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::time::Duration;

use demo_support::Mark;
use stage01_generator_loop::guessing_loop::panic_message;
use stage01_generator_loop::{Coroutine, Step, Yielder};

use crate::abstract_loop::AbstractEventLoop;
use crate::error::LoopError;
use crate::seconds::{Delay, Nanos, from_duration, to_duration};

// ANCHOR: event
/// Something a coroutine can yield to the loop: it knows how to arrange for
/// the coroutine to be resumed once it has happened.
pub trait Event<L: AbstractEventLoop>: 'static {
    /// Schedule `resume` to run when this event has happened. Cancelling the
    /// handle returned undoes that: `resume`, and the coroutine it owns, are
    /// dropped and never run (asyncio's task keeps `_fut_waiter` for this).
    fn schedule(self, event_loop: &L, resume: impl FnOnce(&L) + 'static) -> L::Handle;
}

/// Stage 2's one event: "resume me when the loop's clock reads this".
/// [`NEVER`](crate::seconds::NEVER) is never: the coroutine waits until its
/// loop is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SleepUntil(pub Nanos);

impl<L: AbstractEventLoop> Event<L> for SleepUntil {
    fn schedule(self, event_loop: &L, resume: impl FnOnce(&L) + 'static) -> L::Handle {
        let handle = if self.0 <= event_loop.now() {
            // asyncio's `sleep(0)` is a bare `yield`, which `Task.__step`
            // answers with `call_soon` (tasks.py, `__sleep0`): the task goes
            // to the back of the ready queue now, not through the timers.
            event_loop.call_soon(resume)
        } else {
            event_loop.call_at_nanos(self.0, resume)
        };
        handle.expect("a coroutine runs only on a running loop, which is open")
    }
}
// ANCHOR_END: event

// ANCHOR: sleeps
/// `await asyncio.sleep(delay)`, for a coroutine whose events include
/// [`SleepUntil`]: one event, due `delay` from now, in float seconds or as a
/// `Duration`. A zero or negative delay still yields once, so other tasks
/// get to run, as `asyncio.sleep(0)` does; one past what the clock can
/// count (`f64::INFINITY`, `Duration::MAX`) waits until the loop is closed.
///
/// # Panics
/// For a delay of NaN seconds, which means nothing. In a task, the panic
/// ends the task, and the loop reports it.
pub async fn sleep<E: From<SleepUntil>>(co: &Yielder<E>, delay: impl Delay) {
    let delay = delay
        .to_nanos()
        .expect("sleep(NaN): a delay of NaN seconds means nothing");
    let when = from_duration(co.now()).saturating_add(delay.max(0));
    co.yield_value(E::from(SleepUntil(when))).await;
}

/// Sleep until the loop's clock reads `when` (at once if it has passed).
pub async fn sleep_until<E: From<SleepUntil>>(co: &Yielder<E>, when: Duration) {
    let when = Delay::to_nanos(when).expect("a Duration is a number");
    co.yield_value(E::from(SleepUntil(when))).await;
}

/// `asleep(d)` of "How does asyncio enable parallel IO waits?": two events
/// of `d / 2` each.
pub async fn asleep<E: From<SleepUntil>>(co: &Yielder<E>, delay: Duration) {
    sleep(co, delay / 2).await;
    sleep(co, delay - delay / 2).await;
}
// ANCHOR_END: sleeps

/// What a task hands to whoever waits for it: its value, or its panic.
pub type OnDone<L, T> = Box<dyn FnOnce(&L, Result<T, LoopError>)>;

// ANCHOR: step
struct Task<L, C: Coroutine> {
    name: String,
    coroutine: C,
    on_done: OnDone<L, C::Output>,
}

impl<L, C> Task<L, C>
where
    L: AbstractEventLoop,
    C: Coroutine + 'static,
    C::Yield: Event<L>,
{
    /// Resume the coroutine once, then either schedule the next step for when
    /// the yielded event happens, or report the result.
    fn step(mut self, event_loop: &L) {
        event_loop.record(|| Mark::Resumed {
            task: self.name.clone(),
        });
        let now = to_duration(event_loop.now());
        let answer = catch_unwind(AssertUnwindSafe(|| self.coroutine.resume(now)));
        match answer {
            Ok(Step::Yielded(event)) => {
                // Nothing in this stage cancels a task, so nothing keeps the
                // handle that would undo the wait: stage 5's tasks do.
                event.schedule(event_loop, move |event_loop| self.step(event_loop));
            }
            Ok(Step::Complete(value)) => {
                event_loop.record(|| Mark::Completed { task: self.name });
                (self.on_done)(event_loop, Ok(value));
            }
            Err(payload) => {
                let task = self.name;
                let message = panic_message(payload.as_ref());
                (self.on_done)(event_loop, Err(LoopError::TaskPanicked { task, message }));
            }
        }
    }
}
// ANCHOR_END: step

/// Start driving `coroutine` on the loop: its first step runs in the next
/// iteration (as a new asyncio Task's does), and `on_done` gets its result.
pub fn spawn<L, C>(
    event_loop: &L,
    name: &str,
    coroutine: C,
    on_done: impl FnOnce(&L, Result<C::Output, LoopError>) + 'static,
) -> Result<L::Handle, LoopError>
where
    L: AbstractEventLoop,
    C: Coroutine + 'static,
    C::Yield: Event<L>,
{
    let task = Task {
        name: name.to_string(),
        coroutine,
        on_done: Box::new(on_done),
    };
    event_loop.call_soon(move |event_loop| task.step(event_loop))
}

/// Coroutines run to completion on a loop: `gather` and
/// `run_until_complete`, for every [`AbstractEventLoop`].
pub trait RunCoroutines: AbstractEventLoop {
    // ANCHOR: gather
    /// `asyncio.gather` run to completion: drive every coroutine, stop when
    /// all are done (or one failed), and return the results in the order
    /// given. Each coroutine comes with a name for reports and timelines.
    fn gather<C>(&self, coroutines: Vec<(String, C)>) -> Result<Vec<C::Output>, LoopError>
    where
        C: Coroutine + 'static,
        C::Yield: Event<Self>,
    {
        let count = coroutines.len();
        if count == 0 {
            return Ok(Vec::new());
        }
        let results: Rc<RefCell<Vec<Option<C::Output>>>> =
            Rc::new(RefCell::new((0..count).map(|_| None).collect()));
        let failure: Rc<RefCell<Option<LoopError>>> = Rc::default();
        let remaining = Rc::new(Cell::new(count));
        for (index, (name, coroutine)) in coroutines.into_iter().enumerate() {
            let (results, failure, remaining) =
                (results.clone(), failure.clone(), remaining.clone());
            spawn(self, &name, coroutine, move |event_loop, result| {
                match result {
                    Ok(value) => results.borrow_mut()[index] = Some(value),
                    Err(error) => {
                        failure.borrow_mut().get_or_insert(error);
                        event_loop.stop();
                    }
                }
                remaining.set(remaining.get() - 1);
                if remaining.get() == 0 {
                    event_loop.stop();
                }
            })?;
        }
        self.run_forever()?;
        if let Some(error) = failure.take() {
            return Err(error);
        }
        results
            .take()
            .into_iter()
            .map(|result| result.ok_or(LoopError::StoppedBeforeComplete))
            .collect()
    }
    // ANCHOR_END: gather

    /// asyncio's `run_until_complete`, for one coroutine.
    fn run_until_complete<C>(&self, name: &str, coroutine: C) -> Result<C::Output, LoopError>
    where
        C: Coroutine + 'static,
        C::Yield: Event<Self>,
    {
        let mut results = self.gather(vec![(name.to_string(), coroutine)])?;
        Ok(results
            .pop()
            .expect("gather returns one result per coroutine"))
    }
}

impl<L: AbstractEventLoop> RunCoroutines for L {}
