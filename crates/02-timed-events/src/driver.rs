//! Coroutines on the callback loop: whatever a coroutine yields becomes a
//! callback that resumes it.
//!
//! Mirrors the heart of `Task.__step` in CPython's `asyncio/tasks.py`: resume
//! the coroutine (`coro.send(None)`), look at what it yielded, and arrange for
//! `__step` to be called again when that has happened. Stage 4 builds real
//! tasks on futures; here the coroutine yields plain events, and each kind of
//! event knows how to schedule the resume (the source's "dispatch table per
//! event kind"). The only kind in this stage is "sleep until T".

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::time::Duration;

use stage01_generator_loop::guessing_loop::panic_message;
use stage01_generator_loop::{Coroutine, Step, Yielder};

use crate::event_loop::{EventLoop, LoopError};
use crate::handle::Callback;
use crate::seconds::{from_duration, to_duration};
use demo_support::Mark;

// ANCHOR: event
/// Something a coroutine can yield to the loop: it knows how to arrange for
/// the coroutine to be resumed once it has happened.
pub trait Event: 'static {
    /// Schedule `resume` to run when this event has happened.
    fn schedule(self, event_loop: &EventLoop, resume: Callback);
}

/// Stage 2's one event: "resume me when the loop's clock reads this".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SleepUntil(pub Duration);

impl Event for SleepUntil {
    fn schedule(self, event_loop: &EventLoop, resume: Callback) {
        let when = from_duration(self.0);
        if when <= event_loop.now() {
            // asyncio's `sleep(0)` is a bare `yield`, which `Task.__step`
            // answers with `call_soon` (tasks.py, `__sleep0`): the task goes
            // to the back of the ready queue now, not through the timers.
            event_loop.call_soon(resume);
        } else {
            event_loop.call_at_nanos(when, resume);
        }
    }
}
// ANCHOR_END: event

// ANCHOR: sleeps
/// `await sleep(delay)`: one event, due `delay` from now. A zero delay still
/// yields once, so other tasks get to run, as `asyncio.sleep(0)` does.
pub async fn sleep(co: &Yielder<SleepUntil>, delay: Duration) {
    sleep_until(co, co.now() + delay).await;
}

/// Sleep until the loop's clock reads `when` (at once if it has passed).
pub async fn sleep_until(co: &Yielder<SleepUntil>, when: Duration) {
    co.yield_value(SleepUntil(when)).await;
}

/// The source's `asleep(d)`: two events of `d / 2` each.
pub async fn asleep(co: &Yielder<SleepUntil>, delay: Duration) {
    sleep(co, delay / 2).await;
    sleep(co, delay - delay / 2).await;
}
// ANCHOR_END: sleeps

/// What a task hands to whoever waits for it: its value, or its panic.
pub type OnDone<T> = Box<dyn FnOnce(&EventLoop, Result<T, LoopError>)>;

// ANCHOR: step
struct Task<C: Coroutine> {
    name: String,
    coroutine: C,
    on_done: OnDone<C::Output>,
}

impl<C> Task<C>
where
    C: Coroutine + 'static,
    C::Yield: Event,
{
    /// Resume the coroutine once, then either schedule the next step for when
    /// the yielded event happens, or report the result.
    fn step(mut self, event_loop: &EventLoop) {
        event_loop.record(Mark::Resumed {
            task: self.name.clone(),
        });
        let now = to_duration(event_loop.now());
        let answer = catch_unwind(AssertUnwindSafe(|| self.coroutine.resume(now)));
        match answer {
            Ok(Step::Yielded(event)) => {
                event.schedule(
                    event_loop,
                    Box::new(move |event_loop| self.step(event_loop)),
                );
            }
            Ok(Step::Complete(value)) => {
                event_loop.record(Mark::Completed { task: self.name });
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
pub fn spawn<C>(
    event_loop: &EventLoop,
    name: &str,
    coroutine: C,
    on_done: impl FnOnce(&EventLoop, Result<C::Output, LoopError>) + 'static,
) where
    C: Coroutine + 'static,
    C::Yield: Event,
{
    let task = Task {
        name: name.to_string(),
        coroutine,
        on_done: Box::new(on_done),
    };
    event_loop.call_soon(move |event_loop| task.step(event_loop));
}

impl EventLoop {
    // ANCHOR: gather
    /// `asyncio.gather` run to completion: drive every coroutine, stop when
    /// all are done (or one failed), and return the results in the order
    /// given. Each coroutine comes with a name for reports and timelines.
    pub fn gather<C>(&self, coroutines: Vec<(String, C)>) -> Result<Vec<C::Output>, LoopError>
    where
        C: Coroutine + 'static,
        C::Yield: Event,
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
            });
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
    pub fn run_until_complete<C>(&self, name: &str, coroutine: C) -> Result<C::Output, LoopError>
    where
        C: Coroutine + 'static,
        C::Yield: Event,
    {
        let mut results = self.gather(vec![(name.to_string(), coroutine)])?;
        Ok(results
            .pop()
            .expect("gather returns one result per coroutine"))
    }
}
