//! A fast task: the textbook task's API, in one allocation.
//!
//! The textbook `TaskInner` holds its coroutine in a `Box`, its future in
//! an `Rc`, its waker's target in an `Arc` and its name in a `String`, and
//! its first step is a `call_soon`: seven allocations. A fast task is one
//! `Rc` holding all it needs. The coroutine is stored in place, not boxed;
//! the waker is a number (`waker.rs`); the name is made when asked for; the
//! first step goes through the run queue (`scheduler.rs`); and the future
//! the task is, with its done-callbacks and awaiters, is made only when
//! something asks for it while the task is pending (awaiting it, a
//! done-callback, `gather`). A task nobody waits for keeps its outcome in
//! place.

use std::cell::{Cell, OnceCell, RefCell};
use std::fmt;
use std::future::IntoFuture;
use std::panic::{AssertUnwindSafe, Location, catch_unwind};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use demo_support::Mark;
use stage01_generator_loop::guessing_loop::panic_message;
use stage02_timed_events::{AbstractEventLoop, LoopError};
use stage03_read_readiness::SelectorEventLoop;

use super::key::TaskKey;
use super::scheduler::{self, Scheduler, Step};
use super::waker::waker;
use crate::futures::{
    Awaiting, CallbackId, Future, FutureError, Outcome, future_done_mark, never_retrieved,
};
use crate::monitor::{self, Suspension};
use crate::tasks::{TaskId, TaskInfo, TaskPanicked, TaskRow, TaskState};

// ANCHOR: task
/// asyncio's `Task`, fast. Clones are the same task.
pub struct Task<T> {
    inner: Rc<dyn TaskCore<T>>,
}

/// The one allocation: everything a task is, with its coroutine `F` inline.
struct FastTask<F: Fallible> {
    shared: Shared<F::Value>,
    /// The coroutine, until it returns. Never moved once the task is made:
    /// it is polled where it lies, and dropped there.
    coroutine: RefCell<Option<F>>,
}

/// The part of a task that its result's type `T` describes, without `F`.
struct Shared<T> {
    id: TaskId,
    /// Where its wakers point: its loop and its slot there.
    key: Cell<Option<TaskKey>>,
    /// `None` until `set_name`: the name is `Task-<id>` until then.
    name: RefCell<Option<String>>,
    created_at: &'static Location<'static>,
    queued: Cell<bool>,
    event_loop: SelectorEventLoop,
    /// The outcome, when the task ended before anyone made its future.
    outcome: RefCell<Option<Result<T, FutureError>>>,
    /// The future the task is, made when first asked for.
    future: OnceCell<Future<T>>,
    /// Whether anyone read `outcome` (see `Drop for Shared`).
    retrieved: Cell<bool>,
    /// What it awaited when it last answered `Pending` (the task table).
    suspended: Cell<Option<Suspension>>,
}
// ANCHOR_END: task

/// A fast task seen through its result's type.
trait TaskCore<T>: Step + Outcome {
    fn shared(&self) -> &Shared<T>;
}

/// A coroutine whose output says how its task ends: `Ok` with its value,
/// `Err` with its exception (see the textbook's `create_fallible_task`).
trait Fallible: std::future::Future<Output = Result<Self::Value, FutureError>> {
    type Value;
}

impl<T, F: std::future::Future<Output = Result<T, FutureError>>> Fallible for F {
    type Value = T;
}

impl<F: Fallible + 'static> TaskCore<F::Value> for FastTask<F> {
    fn shared(&self) -> &Shared<F::Value> {
        &self.shared
    }
}

thread_local! {
    /// asyncio's `_current_tasks`: the fast task whose step is running, by
    /// its key and number (plain numbers: setting them costs a store, where
    /// the textbook's `Rc` costs a count and a destructor check).
    static CURRENT: Cell<Option<(TaskKey, TaskId)>> = const { Cell::new(None) };
}

// ANCHOR: create_task
/// asyncio's `loop.create_task(coro)`, fast: as the textbook
/// [`create_task`](crate::tasks::create_task), in one allocation.
///
/// # Panics
/// If 2¹⁶ loops with fast tasks are open at once, or this loop holds 2²⁴
/// pending tasks.
#[track_caller]
pub fn create_task<F>(
    event_loop: &SelectorEventLoop,
    coroutine: F,
) -> Result<Task<F::Output>, LoopError>
where
    F: std::future::Future + 'static,
{
    create_fallible_task(event_loop, async move { Ok(coroutine.await) })
}

/// The textbook's [`create_fallible_task`](crate::tasks::create_fallible_task),
/// fast.
///
/// # Panics
/// As [`create_task`].
#[track_caller]
pub fn create_fallible_task<T, F>(
    event_loop: &SelectorEventLoop,
    coroutine: F,
) -> Result<Task<T>, LoopError>
where
    T: 'static,
    F: std::future::Future<Output = Result<T, FutureError>> + 'static,
{
    let scheduler = Scheduler::of(event_loop)?;
    let task = Rc::new(FastTask {
        shared: Shared {
            id: TaskId::next(),
            key: Cell::new(None),
            name: RefCell::new(None),
            created_at: Location::caller(),
            queued: Cell::new(false),
            event_loop: event_loop.clone(),
            outcome: RefCell::new(None),
            future: OnceCell::new(),
            retrieved: Cell::new(false),
            suspended: Cell::new(None),
        },
        coroutine: RefCell::new(Some(coroutine)),
    });
    let key = scheduler.insert(Rc::clone(&task) as Rc<dyn Step>);
    task.shared.key.set(Some(key));
    scheduler.schedule(Rc::clone(&task) as Rc<dyn Step>);
    Ok(Task { inner: task })
}
// ANCHOR_END: create_task

impl<F: Fallible + 'static> Step for FastTask<F> {
    // ANCHOR: step
    /// The textbook step, for a coroutine stored in place.
    fn step(self: Rc<Self>, scheduler: &Scheduler, event_loop: &SelectorEventLoop) {
        let shared = &self.shared;
        shared.queued.set(false);
        let mut coroutine = self.coroutine.borrow_mut();
        let Some(running) = coroutine.as_mut() else {
            return;
        };
        let key = shared.key.get().expect("a task in its loop has a key");
        event_loop.record(|| Mark::Resumed {
            task: shared.name(),
        });
        event_loop.describe_running(|| self.info().to_string());
        let previous = CURRENT.replace(Some((key, shared.id)));
        let waker = waker(key);
        let mut cx = Context::from_waker(&waker);
        // SAFETY: the coroutine lives inside this task's `Rc`, which never
        // moves it: it is only polled here, in place, and dropped in place
        // (`*coroutine = None`), never taken out. So it stays pinned.
        #[allow(unsafe_code)]
        let running = unsafe { Pin::new_unchecked(running) };
        monitor::begin_step();
        let polled = catch_unwind(AssertUnwindSafe(|| running.poll(&mut cx)));
        CURRENT.set(previous);
        let outcome = match polled {
            Ok(Poll::Pending) => return shared.suspended.set(monitor::end_step()),
            Ok(Poll::Ready(outcome)) => outcome,
            Err(payload) => Err(FutureError::Exception(Rc::new(TaskPanicked {
                task: shared.name(),
                message: panic_message(payload.as_ref()),
            }))),
        };
        *coroutine = None;
        drop(coroutine);
        event_loop.record(|| Mark::Completed {
            task: shared.name(),
        });
        scheduler.remove(key);
        match shared.future.get() {
            // Pending until now, so this is the first outcome.
            Some(future) => drop(future.finish_task(outcome)),
            None => {
                event_loop.record(future_done_mark);
                *shared.outcome.borrow_mut() = Some(outcome);
            }
        }
        scheduler.finished.push(self);
    }
    // ANCHOR_END: step

    fn id(&self) -> TaskId {
        self.shared.id
    }

    fn info(&self) -> TaskInfo {
        TaskInfo {
            id: self.shared.id,
            name: self.shared.name(),
            created_at: self.shared.created_at,
        }
    }

    fn ended(&self) -> TaskState {
        let shared = &self.shared;
        let kept = matches!(*shared.outcome.borrow(), Some(Err(FutureError::Cancelled)));
        if kept || shared.future.get().is_some_and(Future::cancelled) {
            TaskState::Cancelled
        } else {
            TaskState::Done
        }
    }

    fn queued(&self) -> &Cell<bool> {
        &self.shared.queued
    }

    fn suspended(&self) -> Option<Suspension> {
        self.shared.suspended.get()
    }

    fn abandon(&self) {
        // Not while a step polls it (the owner dropped from inside a task):
        // the step itself ends it.
        if let Ok(mut coroutine) = self.coroutine.try_borrow_mut() {
            *coroutine = None;
        }
        if let Some(future) = self.shared.future.get() {
            future.forget_callbacks();
        }
    }
}

/// How it ended, asked without its value's type: from the outcome kept in
/// place, or from its future if one was made.
impl<F: Fallible + 'static> Outcome for FastTask<F> {
    fn error(&self) -> Option<FutureError> {
        let shared = &self.shared;
        if let Some(future) = shared.future.get() {
            return future.error();
        }
        shared.retrieved.set(true);
        match &*shared.outcome.borrow() {
            Some(Err(error)) => Some(error.clone()),
            _ => None,
        }
    }

    fn add_done_callback(self: Rc<Self>, callback: Box<dyn FnOnce(&SelectorEventLoop)>) {
        let future = self.shared.future();
        future.add_done_callback(move |event_loop, _| callback(event_loop));
    }
}

impl<T> Shared<T> {
    fn name(&self) -> String {
        match &*self.name.borrow() {
            Some(name) => name.clone(),
            None => self.id.default_name(),
        }
    }
}

impl<T: 'static> Shared<T> {
    /// The future the task is, made now if it was not yet: pending, or
    /// done with the outcome kept so far.
    fn future(&self) -> &Future<T> {
        self.future.get_or_init(|| match self.outcome.take() {
            Some(outcome) => {
                let future = Future::for_finished_task(&self.event_loop, outcome, self.created_at);
                if self.retrieved.get() {
                    // What was read from here counts as read from there.
                    future.mark_retrieved();
                }
                future
            }
            None => Future::for_task(&self.event_loop, self.created_at),
        })
    }
}

/// A task that ended with an exception, kept here because nobody waited
/// for it, says so when it goes if nobody read it since, as the textbook
/// task's future does.
impl<T> Drop for Shared<T> {
    fn drop(&mut self) {
        let Some(Err(FutureError::Exception(error))) = self.outcome.get_mut() else {
            return;
        };
        if !self.retrieved.get() {
            let report = never_retrieved("Task", self.created_at, error.as_ref());
            self.event_loop.call_exception_handler(&report);
        }
    }
}

impl<T: 'static> Task<T> {
    /// Its number.
    pub fn id(&self) -> TaskId {
        self.inner.shared().id
    }

    /// asyncio's `get_name`.
    pub fn get_name(&self) -> String {
        self.inner.shared().name()
    }

    /// asyncio's `set_name`.
    pub fn set_name(&self, name: impl Into<String>) {
        *self.inner.shared().name.borrow_mut() = Some(name.into());
    }

    /// Where `create_task` was called.
    pub fn created_at(&self) -> &'static Location<'static> {
        self.inner.shared().created_at
    }

    /// Whether its coroutine has returned (or panicked).
    pub fn done(&self) -> bool {
        let shared = self.inner.shared();
        shared.outcome.borrow().is_some() || shared.future.get().is_some_and(Future::done)
    }

    /// asyncio's `Task.add_done_callback`: as a future's.
    pub fn add_done_callback(
        &self,
        callback: impl FnOnce(&SelectorEventLoop, &Future<T>) + 'static,
    ) -> CallbackId {
        self.as_future().add_done_callback(callback)
    }

    /// asyncio's `Task.remove_done_callback`.
    pub fn remove_done_callback(&self, id: CallbackId) -> bool {
        self.as_future().remove_done_callback(id)
    }

    /// The task as the future it is.
    pub fn as_future(&self) -> &Future<T> {
        self.inner.shared().future()
    }

    /// The task seen without its value's type, to ask how it ended: the
    /// task itself, so that asking makes no future.
    pub fn as_outcome(&self) -> Rc<dyn Outcome> {
        Rc::clone(&self.inner) as Rc<dyn Outcome>
    }
}

impl<T: Clone + 'static> Task<T> {
    /// asyncio's `Task.result()`: as a future's.
    pub fn result(&self) -> Result<T, FutureError> {
        self.inner.shared().retrieved.set(true);
        let kept = self.inner.shared().outcome.borrow().clone();
        kept.unwrap_or_else(|| self.as_future().result())
    }
}

// ANCHOR: await_task
/// `task.await`: the outcome at once if the task is done (no future made);
/// else await the future it is, as the textbook task does.
pub struct AwaitingTask<T> {
    task: Task<T>,
    future: Option<Awaiting<T>>,
    at: &'static Location<'static>,
}

impl<T: Clone + 'static> std::future::Future for AwaitingTask<T> {
    type Output = Result<T, FutureError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if current_task_id() == Some(this.task.id()) {
            return Poll::Ready(Err(FutureError::InvalidState("a task cannot await itself")));
        }
        if this.future.is_none() {
            let shared = this.task.inner.shared();
            if let Some(outcome) = shared.outcome.borrow().clone() {
                shared.retrieved.set(true);
                return Poll::Ready(outcome);
            }
        }
        let task = &this.task;
        let future = this
            .future
            .get_or_insert_with(|| task.as_future().clone().into_future());
        let polled = Pin::new(future).poll(cx);
        if polled.is_pending() {
            monitor::note("task", this.at);
        }
        polled
    }
}

impl<T: Clone + 'static> IntoFuture for Task<T> {
    type Output = Result<T, FutureError>;
    type IntoFuture = AwaitingTask<T>;

    #[track_caller]
    fn into_future(self) -> AwaitingTask<T> {
        AwaitingTask {
            task: self,
            future: None,
            at: Location::caller(),
        }
    }
}
// ANCHOR_END: await_task

impl<T> Clone for Task<T> {
    fn clone(&self) -> Self {
        Self {
            inner: Rc::clone(&self.inner),
        }
    }
}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shared = self.inner.shared();
        write!(
            f,
            "<Task {} created at {}>",
            shared.name(),
            shared.created_at
        )
    }
}

/// asyncio's `current_task()`: the fast task whose step is running now.
pub fn current_task() -> Option<TaskInfo> {
    let (key, _) = CURRENT.get()?;
    scheduler::info_here(key)
}

/// The number of the fast task whose step is running now, if one is.
fn current_task_id() -> Option<TaskId> {
    CURRENT.get().map(|(_, id)| id)
}

/// asyncio's `all_tasks()`: every fast task of `event_loop` not yet done,
/// in the order they were created.
pub fn all_tasks(event_loop: &SelectorEventLoop) -> Vec<TaskInfo> {
    match event_loop.attachment::<Scheduler>() {
        Ok(scheduler) => scheduler.infos(),
        Err(_) => Vec::new(),
    }
}

/// The task table, as the textbook's [`task_table`](crate::tasks::task_table).
pub fn task_table(event_loop: &SelectorEventLoop) -> Vec<TaskRow> {
    match event_loop.attachment::<Scheduler>() {
        Ok(scheduler) => scheduler.rows(current_task_id()),
        Err(_) => Vec::new(),
    }
}

/// The textbook's [`keep_done_tasks`](crate::tasks::keep_done_tasks).
pub fn keep_done_tasks(event_loop: &SelectorEventLoop) -> Result<(), LoopError> {
    event_loop
        .attachment::<Scheduler>()?
        .finished
        .keep
        .set(true);
    Ok(())
}

/// The outcome of `task`, done, moved out (for `run_until_complete`).
#[cfg_attr(not(feature = "fast"), allow(dead_code))] // the crate's only with `fast`
pub(crate) fn take_result<T: 'static>(task: &Task<T>) -> Result<T, FutureError> {
    task.inner.shared().retrieved.set(true);
    let mut kept = task.inner.shared().outcome.borrow_mut();
    match kept.as_mut() {
        // Still done, as the textbook's: a later `result()` says so.
        Some(outcome) => {
            let taken = Err(FutureError::InvalidState("the result was taken"));
            std::mem::replace(outcome, taken)
        }
        None => {
            drop(kept);
            task.as_future().take_result()
        }
    }
}
