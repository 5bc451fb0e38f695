//! A task that can be told to stop.
//!
//! Mirrors `Task.cancel`, `Task.cancelling`, `Task.uncancel` and the parts
//! of `Task.__step` that deliver a cancellation, in CPython's
//! `asyncio/tasks.py`. A stage 5 task is a stage 4 task whose coroutine is
//! wrapped in [`Cancellable`], which does at every step what `__step` does
//! around `coro.send` / `coro.throw`.
//!
//! Python throws `CancelledError` into the coroutine at the `await` where it
//! is suspended. Rust cannot throw into a future, so the cancellation
//! arrives as a value instead: the awaitable the coroutine is suspended at
//! answers `Err(FutureError::Cancelled)`. That happens one of two ways, as
//! in asyncio:
//!
//! - the task waits on a future (asyncio's `_fut_waiter`, noted by the
//!   awaitable in stage 4's `monitor`): `cancel` cancels that future, and
//!   its awaiter answers `Cancelled` when the task next runs; if the future
//!   is another task, that task is cancelled, and this one sees whatever
//!   that one ends with;
//! - it waits on nothing a cancel can reach (a bare `yield_now`, or it is
//!   running and cancels itself): the request is remembered
//!   (`_must_cancel`) and handed, at the task's next step, to the awaitable
//!   it is suspended at (stage 5's `sleep` and `yield_now` take it).
//!
//! A coroutine's `Err` is its exception: it ends the task with it, as a
//! raised exception ends an asyncio task, and `Err(Cancelled)` ends it
//! cancelled. So `?` passes a cancellation on, and a `match` handles it.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt;
use std::future::IntoFuture;
use std::panic::{AssertUnwindSafe, Location, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

use pin_project_lite::pin_project;
use stage02_timed_events::LoopError;
use stage03_read_readiness::SelectorEventLoop;
use stage04_futures_tasks::{
    CallbackId, Cancel, FutureError, IntoTask, Outcome, TaskId, TaskInfo, monitor,
};

// ANCHOR: task
/// asyncio's `Task`, with `cancel`. Clones are the same task. Its coroutine
/// returns `Result<T, FutureError>`: `Ok` is its result, `Err` its
/// exception, `Err(Cancelled)` its cancellation.
pub struct Task<T> {
    inner: Stage4Task<T>,
    cancel: Rc<Cancellation>,
}

/// What a task's cancellation needs: the wrapper around its coroutine and
/// every handle to the task share it.
#[derive(Default)]
struct Cancellation {
    /// asyncio's `_num_cancels_requested` (`cancelling`, `uncancel`).
    requested: Cell<u32>,
    /// asyncio's `_must_cancel`: deliver a cancellation at the next step.
    must_cancel: Cell<bool>,
    /// asyncio's `_cancel_message`.
    message: RefCell<Option<String>>,
    /// Handed to a step whose awaitables did not take it (it waits on
    /// something that does not look): handed again at the next step.
    due: Cell<bool>,
    /// asyncio's `_fut_waiter`: what the coroutine waits on, if it said.
    waiter: RefCell<Option<Rc<dyn Cancel>>>,
    /// The task's waker: a cancel wakes a task that waits on nothing a
    /// cancel can reach.
    waker: RefCell<Option<Waker>>,
    started: Cell<bool>,
    running: Cell<bool>,
    finished: Cell<bool>,
    /// It ended cancelled.
    cancelled: Cell<bool>,
    /// `abort` was called: drop the coroutine at the next step.
    aborted: Cell<bool>,
    /// The task's own future, without its value's type: how it ended.
    outcome: RefCell<Option<Rc<dyn Outcome>>>,
    /// Its place in its loop's list of pending tasks, left as it ends.
    listed: RefCell<Option<(Rc<Tasks>, usize)>>,
}
// ANCHOR_END: task

thread_local! {
    /// The cancellation of the stage 5 task whose step is running.
    static CURRENT: RefCell<Option<Rc<Cancellation>>> = const { RefCell::new(None) };
}

// ANCHOR: cancellable
pin_project! {
    /// A task's coroutine, wrapped so that each step does what asyncio's
    /// `__step` does around the coroutine.
    pub struct Cancellable<F> {
        // `None` once aborted: Rust's way, the coroutine dropped.
        #[pin]
        coroutine: Option<F>,
        cancel: Rc<Cancellation>,
    }
}

impl<T, F> std::future::Future for Cancellable<F>
where
    F: std::future::Future<Output = Result<T, FutureError>>,
{
    type Output = Result<T, FutureError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let cancel = this.cancel;
        if cancel.aborted.get() {
            // tokio's `abort`: drop the coroutine where it stands. Its
            // locals' `Drop` runs now; nothing of it can await again.
            this.coroutine.set(None);
            return cancel.finish(Err(FutureError::Cancelled));
        }
        let Some(coroutine) = this.coroutine.as_mut().as_pin_mut() else {
            return Poll::Pending; // aborted and finished already
        };
        cancel
            .waker
            .borrow_mut()
            .clone_from(&Some(cx.waker().clone()));
        if cancel.must_cancel.replace(false) {
            if !cancel.started.get() {
                // Cancelled before its first step: its body never runs.
                return cancel.finish(Err(FutureError::Cancelled));
            }
            cancel.due.set(true); // `coro.throw(CancelledError)`
        }
        cancel.started.set(true);
        cancel.waiter.take(); // `self._fut_waiter = None`
        let previous = CURRENT.replace(Some(Rc::clone(cancel)));
        cancel.running.set(true);
        monitor::hand_cancellation(cancel.due.get());
        let polled = catch_unwind(AssertUnwindSafe(|| coroutine.poll(cx)));
        cancel.due.set(monitor::hand_cancellation(false)); // not taken
        cancel.running.set(false);
        CURRENT.set(previous);
        let polled = polled.unwrap_or_else(|payload| {
            // A panic is the task's exception: stage 4's step makes it so.
            // Here the task is only marked done, so that a cancel refuses.
            let _: Poll<Result<(), _>> = cancel.finish(Ok(()));
            resume_unwind(payload)
        });
        match polled {
            Poll::Ready(outcome) => {
                // It cancelled itself and returned without awaiting: it
                // ends cancelled all the same.
                if cancel.must_cancel.replace(false) {
                    return cancel.finish(Err(FutureError::Cancelled));
                }
                cancel.finish(outcome)
            }
            Poll::Pending => {
                let waiter = monitor::take_waiter();
                // Cancelled while running, and now waiting on a future:
                // cancel that future, which wakes the task with it.
                if let Some(waiter) = waiter.as_ref().filter(|_| cancel.must_cancel.get()) {
                    if Rc::clone(waiter).cancel() {
                        cancel.must_cancel.set(false);
                    }
                }
                // Or waiting on something no cancel reaches: the next step
                // hands the cancellation over, so let it come at once.
                if cancel.must_cancel.get() {
                    cx.waker().wake_by_ref();
                }
                *cancel.waiter.borrow_mut() = waiter;
                Poll::Pending
            }
        }
    }
}
// ANCHOR_END: cancellable

impl Cancellation {
    /// The coroutine is done: with `outcome`, which a cancellation ends.
    fn finish<T>(&self, outcome: Result<T, FutureError>) -> Poll<Result<T, FutureError>> {
        self.finished.set(true);
        if let Some((tasks, slot)) = self.listed.take() {
            tasks.remove(slot);
        }
        self.due.set(false);
        self.waiter.take();
        self.waker.take();
        self.cancelled
            .set(matches!(outcome, Err(FutureError::Cancelled)));
        Poll::Ready(outcome)
    }

    // ANCHOR: cancel
    /// asyncio's `Task.cancel(msg)`.
    fn cancel_with(&self, message: Option<&str>) -> bool {
        if self.finished.get() {
            return false;
        }
        self.requested.set(self.requested.get() + 1);
        let waiter = self.waiter.borrow().clone();
        if let Some(waiter) = waiter {
            if waiter.cancel() {
                return true; // it arrives through what the task waits on
            }
        }
        self.must_cancel.set(true);
        *self.message.borrow_mut() = message.map(str::to_owned);
        // asyncio's task is always queued when it waits on no future; here
        // it may wait on something no cancel reaches: wake it.
        if !self.running.get() {
            if let Some(waker) = self.waker.borrow().as_ref() {
                waker.wake_by_ref();
            }
        }
        true
    }
    // ANCHOR_END: cancel
}

/// A task another task awaits: its cancellation is that one's, passed on.
impl Cancel for Cancellation {
    fn cancel(self: Rc<Self>) -> bool {
        self.cancel_with(None)
    }
}

// ANCHOR: create_task
/// asyncio's `loop.create_task(coro)`, for a coroutine that can be
/// cancelled: stage 4's task, its coroutine wrapped in [`Cancellable`].
#[track_caller]
pub fn create_task<T, F>(event_loop: &SelectorEventLoop, coroutine: F) -> Result<Task<T>, LoopError>
where
    T: 'static,
    F: std::future::Future<Output = Result<T, FutureError>> + 'static,
{
    let cancel = Rc::new(Cancellation::default());
    let wrapped = Cancellable {
        coroutine: Some(coroutine),
        cancel: Rc::clone(&cancel),
    };
    let inner = stage04_futures_tasks::create_fallible_task(event_loop, wrapped)?;
    *cancel.outcome.borrow_mut() = Some(inner.as_outcome());
    let tasks = event_loop.attachment::<Tasks>()?;
    let slot = tasks.add(inner.id(), &cancel);
    *cancel.listed.borrow_mut() = Some((tasks, slot));
    Ok(Task { inner, cancel })
}
// ANCHOR_END: create_task

// ANCHOR: all_tasks
/// Every pending stage 5 task of one loop, weakly held, so that
/// [`all_tasks`] can hand back what cancels each (stage 4's table knows
/// their names, not their cancellations). A task leaves as it ends, so
/// that nothing here keeps a finished task's memory.
#[derive(Default)]
struct Tasks {
    slots: RefCell<Vec<Option<(TaskId, Weak<Cancellation>)>>>,
    /// Slots left by tasks that ended, for the next ones.
    free: RefCell<Vec<usize>>,
}

impl Tasks {
    /// List a new task; its slot.
    fn add(&self, id: TaskId, cancel: &Rc<Cancellation>) -> usize {
        let entry = Some((id, Rc::downgrade(cancel)));
        let mut slots = self.slots.borrow_mut();
        match self.free.borrow_mut().pop() {
            Some(slot) => {
                slots[slot] = entry;
                slot
            }
            None => {
                slots.push(entry);
                slots.len() - 1
            }
        }
    }

    /// The task in `slot` has ended.
    fn remove(&self, slot: usize) {
        self.slots.borrow_mut()[slot] = None;
        self.free.borrow_mut().push(slot);
    }
}

/// asyncio's `all_tasks(loop)`: every stage 5 task of `event_loop` not yet
/// done, in the order they were created, each with a handle that cancels
/// it whatever its value's type (what `asyncio.run` cancels as it ends).
pub fn all_tasks(event_loop: &SelectorEventLoop) -> Vec<(TaskInfo, CurrentTask)> {
    let Ok(tasks) = event_loop.attachment::<Tasks>() else {
        return Vec::new(); // closed: its tasks are gone
    };
    let mut live: BTreeMap<TaskId, Rc<Cancellation>> = tasks
        .slots
        .borrow()
        .iter()
        .flatten()
        .filter_map(|(id, cancel)| Some((*id, cancel.upgrade()?)))
        .filter(|(_, cancel)| !cancel.finished.get())
        .collect();
    // Stage 4's list gives the order and the names; a stage 4 task that is
    // not a stage 5 one (nothing here can cancel it) is left out.
    stage04_futures_tasks::all_tasks(event_loop)
        .into_iter()
        .filter_map(|info| {
            let cancel = live.remove(&info.id)?;
            Some((info, CurrentTask { cancel }))
        })
        .collect()
}
// ANCHOR_END: all_tasks

// ANCHOR: ensure_future
/// What `shield`, `wait_for` and the like accept, as asyncio's
/// `ensure_future` does: a task, or a coroutine to make one of.
pub trait EnsureFuture<T> {
    /// The task: itself, or a new one on `event_loop`.
    fn ensure_future(self, event_loop: &SelectorEventLoop) -> Result<Task<T>, LoopError>;

    /// Awaited where it stands, with no task made of a coroutine (as 3.12's
    /// `wait_for` does `await fut`): the task's outcome, or the coroutine's.
    fn into_awaited(self) -> impl std::future::Future<Output = Result<T, FutureError>>
    where
        T: Clone;
}

impl<T: 'static> EnsureFuture<T> for Task<T> {
    fn ensure_future(self, _: &SelectorEventLoop) -> Result<Task<T>, LoopError> {
        Ok(self)
    }

    fn into_awaited(self) -> impl std::future::Future<Output = Result<T, FutureError>>
    where
        T: Clone,
    {
        self.into_future()
    }
}

impl<T, F> EnsureFuture<T> for F
where
    T: 'static,
    F: std::future::Future<Output = Result<T, FutureError>> + 'static,
{
    #[track_caller]
    fn ensure_future(self, event_loop: &SelectorEventLoop) -> Result<Task<T>, LoopError> {
        create_task(event_loop, self)
    }

    fn into_awaited(self) -> impl std::future::Future<Output = Result<T, FutureError>> {
        self
    }
}
// ANCHOR_END: ensure_future

impl<T: 'static> Task<T> {
    /// Its number.
    pub fn id(&self) -> TaskId {
        self.inner.id()
    }

    /// asyncio's `get_name`.
    pub fn get_name(&self) -> String {
        self.inner.get_name()
    }

    /// asyncio's `set_name`.
    pub fn set_name(&self, name: impl Into<String>) {
        self.inner.set_name(name);
    }

    /// Where `create_task` was called.
    pub fn created_at(&self) -> &'static Location<'static> {
        self.inner.created_at()
    }

    /// Whether its coroutine has ended (returned, failed or cancelled).
    pub fn done(&self) -> bool {
        self.inner.done()
    }

    /// asyncio's `cancelled()`: whether it ended cancelled. Not right after
    /// `cancel`: only once the cancellation has gone through it.
    pub fn cancelled(&self) -> bool {
        self.done() && self.cancel.cancelled.get()
    }

    /// asyncio's `exception()`: the exception it ended with (its
    /// coroutine's `Err`, or its panic), if it did; `None` if it returned a
    /// value, was cancelled, or is pending.
    pub fn exception(&self) -> Option<FutureError> {
        self.handle().exception()
    }

    /// asyncio's `cancel(msg)`: ask the task to stop. `false` if it is done;
    /// else the request goes to what it waits on, or to its next step.
    pub fn cancel(&self, message: Option<&str>) -> bool {
        self.cancel.cancel_with(message)
    }

    /// asyncio's `cancelling()`: how many cancellations were requested and
    /// not taken back with `uncancel`.
    pub fn cancelling(&self) -> u32 {
        self.cancel.requested.get()
    }

    // ANCHOR: abort
    /// Rust's way, tokio's `JoinHandle::abort`: at its next step the task's
    /// coroutine is dropped where it stands, and the task ends cancelled.
    /// Nothing of the coroutine runs again: its clean-up is whatever its
    /// locals do when dropped, which cannot await. No effect on a task
    /// that is done.
    pub fn abort(&self) {
        let cancel = &self.cancel;
        if cancel.finished.get() || cancel.aborted.replace(true) {
            return;
        }
        if let Some(waker) = cancel.waker.borrow().as_ref() {
            waker.wake_by_ref();
        }
    }
    // ANCHOR_END: abort

    /// asyncio's `uncancel()`: take one request back (a timeout that
    /// caught its own cancellation does); how many are left.
    pub fn uncancel(&self) -> u32 {
        let left = self.cancel.requested.get().saturating_sub(1);
        self.cancel.requested.set(left);
        left
    }

    /// The message of the last `cancel` that was not passed on.
    pub fn cancel_message(&self) -> Option<String> {
        self.cancel.message.borrow().clone()
    }

    /// Its outcome, moved out, for its only reader (no `T: Clone`).
    pub(crate) fn take_outcome(&self) -> Result<T, FutureError> {
        self.inner.as_future().take_result()
    }

    /// A handle that can cancel the task, whatever its value's type.
    pub(crate) fn handle(&self) -> CurrentTask {
        CurrentTask {
            cancel: Rc::clone(&self.cancel),
        }
    }

    /// The stage 4 task underneath (its future, done-callbacks, table row).
    pub fn as_stage4(&self) -> &Stage4Task<T> {
        &self.inner
    }
}

impl<T: 'static> Task<T> {
    /// asyncio's `Task.add_done_callback`: `callback` runs, in a later
    /// iteration, once the task is done; it is handed the task.
    pub fn add_done_callback(
        &self,
        callback: impl FnOnce(&SelectorEventLoop, &Task<T>) + 'static,
    ) -> CallbackId {
        let task = self.clone();
        self.inner
            .add_done_callback(move |event_loop, _| callback(event_loop, &task))
    }

    /// asyncio's `Task.remove_done_callback`: `true` if it had not run.
    pub fn remove_done_callback(&self, id: CallbackId) -> bool {
        self.inner.remove_done_callback(id)
    }
}

impl<T: Clone + 'static> Task<T> {
    /// asyncio's `Task.result()`: the value; the exception, or
    /// `Cancelled`, if it ended so; `InvalidState` while pending.
    pub fn result(&self) -> Result<T, FutureError> {
        self.inner.result()
    }
}

/// The task whose step is running, as `asyncio.current_task()`, for a
/// coroutine that cancels itself (or asks how often it was cancelled);
/// also a task seen without its value's type (a `TaskGroup`'s).
#[derive(Clone)]
pub struct CurrentTask {
    cancel: Rc<Cancellation>,
}

/// asyncio's `current_task()`: the stage 5 task running now, if one is.
pub fn current_task() -> Option<CurrentTask> {
    CURRENT.with_borrow(|current| current.clone().map(|cancel| CurrentTask { cancel }))
}

impl CurrentTask {
    /// Whether the task has ended (it may be asked after its step).
    pub fn done(&self) -> bool {
        self.cancel.finished.get()
    }

    /// asyncio's `cancel(msg)`, on the task itself.
    pub fn cancel(&self, message: Option<&str>) -> bool {
        self.cancel.cancel_with(message)
    }

    /// asyncio's `cancelling()`.
    pub fn cancelling(&self) -> u32 {
        self.cancel.requested.get()
    }

    /// asyncio's `uncancel()`.
    pub fn uncancel(&self) -> u32 {
        let left = self.cancel.requested.get().saturating_sub(1);
        self.cancel.requested.set(left);
        left
    }

    /// asyncio's `cancelled()`: whether it ended cancelled.
    pub fn cancelled(&self) -> bool {
        self.cancel.finished.get() && self.cancel.cancelled.get()
    }

    /// asyncio's `add_done_callback`, for a callback that needs only the
    /// loop: it runs, in a later iteration, once the task is done.
    pub fn add_done_callback(&self, callback: impl FnOnce(&SelectorEventLoop) + 'static) {
        if let Some(outcome) = self.cancel.outcome.borrow().clone() {
            outcome.add_done_callback(Box::new(callback));
        }
    }

    /// asyncio's `exception()`: the exception it ended with (its
    /// coroutine's `Err`, not a cancellation, or its panic), if it did;
    /// asked, it counts as retrieved.
    pub fn exception(&self) -> Option<FutureError> {
        let outcome = self.cancel.outcome.borrow();
        let error = outcome.as_ref().and_then(|outcome| outcome.error());
        error.filter(|error| !matches!(error, FutureError::Cancelled))
    }
}

// ANCHOR: await_task
/// `task.await`: the task's outcome. While it waits, a cancel of the
/// awaiting task is passed on to this one (asyncio: the awaited task is the
/// awaiter's `_fut_waiter`).
pub struct AwaitingTask<T: Clone + 'static> {
    inner: <Stage4Task<T> as IntoFuture>::IntoFuture,
    cancel: Rc<Cancellation>,
}

/// The stage 4 task underneath a stage 5 task of `T`.
type Stage4Task<T> = stage04_futures_tasks::Task<T>;

impl<T: Clone + 'static> std::future::Future for AwaitingTask<T> {
    type Output = Result<T, FutureError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let polled = Pin::new(&mut self.inner).poll(cx);
        match polled {
            Poll::Ready(outcome) => Poll::Ready(outcome),
            Poll::Pending => {
                monitor::note_waiter(Rc::clone(&self.cancel) as Rc<dyn Cancel>);
                Poll::Pending
            }
        }
    }
}

impl<T: Clone + 'static> IntoFuture for Task<T> {
    type Output = Result<T, FutureError>;
    type IntoFuture = AwaitingTask<T>;

    #[track_caller]
    fn into_future(self) -> AwaitingTask<T> {
        AwaitingTask {
            cancel: Rc::clone(&self.cancel),
            inner: self.inner.into_future(),
        }
    }
}
// ANCHOR_END: await_task

/// `run_until_complete(task)`: runs the task underneath; a task that ends
/// with an exception, or cancelled, is `RunError::Task` with it.
impl<T: 'static> IntoTask for Task<T> {
    type Output = T;

    fn into_task(self, _: &SelectorEventLoop) -> Result<Stage4Task<T>, LoopError> {
        Ok(self.inner)
    }
}

impl<T> Clone for Task<T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            cancel: Rc::clone(&self.cancel),
        }
    }
}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}
