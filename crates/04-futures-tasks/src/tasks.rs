//! A task: a coroutine driven by the loop, one step at a time.
//!
//! Mirrors `Task` in CPython's `asyncio/tasks.py`: `create_task` queues the
//! task's first step with `call_soon`; a step resumes the coroutine (in
//! Rust: polls the future) until it awaits something not ready; the waker
//! it left there queues the next step when that is done (`__step`,
//! `__wakeup`). A task is itself a future: when its coroutine returns, the
//! task is done, with the coroutine's value as its result.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::error::Error;
use std::fmt;
use std::future::IntoFuture;
use std::panic::{AssertUnwindSafe, Location, catch_unwind};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, Waker};

use demo_support::Mark;
use stage01_generator_loop::guessing_loop::panic_message;
use stage02_timed_events::{AbstractEventLoop, CallbackPanic, LoopError, ReportKind};
use stage03_read_readiness::{Remote, SelectorEventLoop, SelectorEvents};

use crate::futures::{Awaiting, CallbackId, Future, FutureError, Outcome};
use crate::monitor::{self, Finished, Suspension};
use crate::wake::{self, Wake};

pub use crate::wake::TaskId;

// ANCHOR: task
/// asyncio's `Task`. Clones are the same task.
pub struct Task<T> {
    inner: Rc<TaskInner<T>>,
}

struct TaskInner<T> {
    id: TaskId,
    name: RefCell<String>,
    created_at: &'static Location<'static>,
    /// The task as a future: its outcome and its done-callbacks.
    future: Future<T>,
    /// The coroutine, until it returns: its value, or the exception it
    /// ends the task with (see `create_fallible_task`).
    coroutine: RefCell<Option<Pin<Box<dyn std::future::Future<Output = Result<T, FutureError>>>>>>,
    wake: Arc<Wake>,
    /// A waker made once from `wake`, handed to every poll.
    waker: Waker,
    /// What it awaited when it last answered `Pending` (the task table).
    suspended: Cell<Option<Suspension>>,
}
// ANCHOR_END: task

/// Every pending task of one loop, by number. The loop owns them (it keeps
/// this set as an attachment, and drops it when it closes), because a task
/// waiting for something is owned by nothing else: its waker only names it.
#[derive(Default)]
pub(crate) struct TaskSet {
    tasks: RefCell<BTreeMap<TaskId, Rc<dyn Step>>>,
    /// The done ones that someone still holds (the task table).
    finished: Finished<dyn Step>,
    /// The loop's remote, once its wakers can find the loop on its thread.
    registered: RefCell<Option<Remote<SelectorEventLoop>>>,
    /// The loop (a reference, not its owner), to report to when it closes.
    event_loop: RefCell<Option<SelectorEventLoop>>,
}

impl TaskSet {
    /// Let the wakers of the loop's tasks find `event_loop`, once.
    fn register(&self, remote: &Remote<SelectorEventLoop>, event_loop: &SelectorEventLoop) {
        let mut registered = self.registered.borrow_mut();
        if registered.is_none() {
            wake::register_loop(remote, event_loop);
            *registered = Some(remote.clone());
            *self.event_loop.borrow_mut() = Some(event_loop.clone());
        }
    }
}

/// A task whatever its result's type, as the loop steps it.
trait Step {
    fn step(self: Rc<Self>, event_loop: &SelectorEventLoop);
    fn id(&self) -> TaskId;
    fn info(&self) -> TaskInfo;
    /// What it awaited when it last answered `Pending`.
    fn suspended(&self) -> Option<Suspension>;
    /// How it ended, once it is done: done, or cancelled.
    fn ended(&self) -> TaskState;
    /// The loop closed with the task pending: drop its coroutine, and all
    /// the coroutine holds, even if someone still holds the task.
    fn abandon(&self);
}

/// Closing the loop drops its task set: every pending task's coroutine goes
/// with it, so that a coroutine that holds its own task (a cycle) is freed.
impl Drop for TaskSet {
    fn drop(&mut self) {
        if let Some(remote) = self.registered.take() {
            wake::forget_loop(&remote);
        }
        let tasks = self.tasks.take();
        let event_loop = self.event_loop.take();
        for task in tasks.values() {
            if let Some(event_loop) = &event_loop {
                report_destroyed_pending(event_loop, &task.info());
            }
            task.abandon();
        }
    }
}

// ANCHOR: destroyed_pending
/// asyncio's `Task.__del__` of a task still pending: "Task was destroyed but
/// it is pending!", to the loop's exception handler, as the loop closes
/// and drops the task's coroutine.
pub(crate) fn report_destroyed_pending(event_loop: &SelectorEventLoop, task: &TaskInfo) {
    event_loop.call_exception_handler(&CallbackPanic {
        handle: format!(
            "<Task pending name={} created at {}>",
            task.name, task.created_at
        ),
        message: "Task was destroyed but it is pending!".to_string(),
        kind: ReportKind::About("task"),
    });
}
// ANCHOR_END: destroyed_pending

/// What `current_task` and `all_tasks` tell about a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskInfo {
    /// Its number.
    pub id: TaskId,
    /// Its name: `Task-1`, `Task-2`, ... unless it was given one.
    pub name: String,
    /// Where `create_task` was called.
    pub created_at: &'static Location<'static>,
}

thread_local! {
    /// asyncio's `_current_tasks`: the task whose step is running.
    static CURRENT: RefCell<Option<Rc<dyn Step>>> = const { RefCell::new(None) };
}

// ANCHOR: create_task
/// asyncio's `loop.create_task(coro)`: wrap `coroutine` in a task and queue
/// its first step. Nothing of it runs now: tasks start in the order they
/// were created, when their creator yields to the loop.
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

/// `create_task` for a coroutine that says how its task ends: `Ok` with
/// its value, or `Err` with its exception (`Err(Cancelled)`: the task ends
/// cancelled), as an exception raised out of an asyncio coroutine ends its
/// task. Stage 5's tasks are these.
#[track_caller]
pub fn create_fallible_task<T, F>(
    event_loop: &SelectorEventLoop,
    coroutine: F,
) -> Result<Task<T>, LoopError>
where
    T: 'static,
    F: std::future::Future<Output = Result<T, FutureError>> + 'static,
{
    let id = TaskId::next();
    let remote = event_loop.remote()?;
    let tasks = event_loop.attachment::<TaskSet>()?;
    tasks.register(&remote, event_loop);
    let wake = Arc::new(Wake::new(id, step, remote));
    // Its first step is queued below: a wake before it adds nothing.
    wake.queued.store(true, Ordering::Release);
    let inner = Rc::new(TaskInner {
        id,
        name: RefCell::new(id.default_name()),
        created_at: Location::caller(),
        future: Future::for_task(event_loop, Location::caller()),
        coroutine: RefCell::new(Some(Box::pin(coroutine))),
        waker: futures_task::waker(Arc::clone(&wake)),
        wake,
        suspended: Cell::new(None),
    });
    tasks
        .tasks
        .borrow_mut()
        .insert(id, Rc::clone(&inner) as Rc<dyn Step>);
    event_loop.call_soon(move |event_loop| step(event_loop, id))?;
    Ok(Task { inner })
}
// ANCHOR_END: create_task

/// Run the next step of task `id` of `event_loop`, if it is still pending.
pub(crate) fn step(event_loop: &SelectorEventLoop, id: TaskId) {
    let Ok(tasks) = event_loop.attachment::<TaskSet>() else {
        return; // closed: its tasks are gone
    };
    let task = tasks.tasks.borrow().get(&id).cloned();
    if let Some(task) = task {
        task.step(event_loop);
    }
}

impl<T: 'static> Step for TaskInner<T> {
    // ANCHOR: step
    /// asyncio's `__step`: poll the coroutine once; if it is not done, its
    /// waker will queue the next step; if it is, the task is done with its
    /// value, or with its panic as the exception.
    fn step(self: Rc<Self>, event_loop: &SelectorEventLoop) {
        // From here on, a wake queues another step.
        self.wake.queued.store(false, Ordering::Release);
        let mut coroutine = self.coroutine.borrow_mut();
        let Some(running) = coroutine.as_mut() else {
            return;
        };
        event_loop.record(|| Mark::Resumed {
            task: self.name.borrow().clone(),
        });
        event_loop.describe_running(|| self.info().to_string());
        let previous = CURRENT.replace(Some(Rc::clone(&self) as Rc<dyn Step>));
        let mut cx = Context::from_waker(&self.waker);
        monitor::begin_step();
        let polled = catch_unwind(AssertUnwindSafe(|| running.as_mut().poll(&mut cx)));
        CURRENT.set(previous);
        let outcome = match polled {
            Ok(Poll::Pending) => return self.suspended.set(monitor::end_step()),
            Ok(Poll::Ready(outcome)) => outcome,
            Err(payload) => Err(FutureError::Exception(Rc::new(TaskPanicked {
                task: self.name.borrow().clone(),
                message: panic_message(payload.as_ref()),
            }))),
        };
        // Done: drop the coroutine's state now, outside the borrow.
        let finished = coroutine.take();
        drop((coroutine, finished));
        event_loop.record(|| Mark::Completed {
            task: self.name.borrow().clone(),
        });
        let tasks = event_loop.attachment::<TaskSet>().ok();
        if let Some(tasks) = &tasks {
            tasks.tasks.borrow_mut().remove(&self.id);
        }
        // Pending until now, so this is the first outcome.
        let _first = self.future.finish_task(outcome);
        if let Some(tasks) = tasks {
            tasks.finished.push(self);
        }
    }
    // ANCHOR_END: step

    fn id(&self) -> TaskId {
        self.id
    }

    fn info(&self) -> TaskInfo {
        TaskInfo {
            id: self.id,
            name: self.name.borrow().clone(),
            created_at: self.created_at,
        }
    }

    fn suspended(&self) -> Option<Suspension> {
        self.suspended.get()
    }

    fn ended(&self) -> TaskState {
        if self.future.cancelled() {
            TaskState::Cancelled
        } else {
            TaskState::Done
        }
    }

    fn abandon(&self) {
        // Not while a step polls it (the owner dropped from inside a task):
        // the step itself ends it.
        if let Ok(mut coroutine) = self.coroutine.try_borrow_mut() {
            let abandoned = coroutine.take();
            drop((coroutine, abandoned));
        }
        self.future.forget_callbacks();
    }
}

/// How debug mode names a task: `<Task name=Task-1 created at src/x.rs:12>`.
impl fmt::Display for TaskInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<Task name={} created at {}>",
            self.name, self.created_at
        )
    }
}

/// The exception of a task whose coroutine panicked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskPanicked {
    /// The task's name.
    pub task: String,
    /// The panic message, if it was a string.
    pub message: String,
}

impl fmt::Display for TaskPanicked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task {} panicked: {}", self.task, self.message)
    }
}

impl Error for TaskPanicked {}

impl<T: 'static> Task<T> {
    /// Its number.
    pub fn id(&self) -> TaskId {
        self.inner.id
    }

    /// asyncio's `get_name`.
    pub fn get_name(&self) -> String {
        self.inner.name.borrow().clone()
    }

    /// asyncio's `set_name`.
    pub fn set_name(&self, name: impl Into<String>) {
        *self.inner.name.borrow_mut() = name.into();
    }

    /// Where `create_task` was called.
    pub fn created_at(&self) -> &'static Location<'static> {
        self.inner.created_at
    }

    /// Whether its coroutine has returned (or panicked).
    pub fn done(&self) -> bool {
        self.inner.future.done()
    }

    /// asyncio's `Task.add_done_callback`: as a future's.
    pub fn add_done_callback(
        &self,
        callback: impl FnOnce(&SelectorEventLoop, &Future<T>) + 'static,
    ) -> CallbackId {
        self.inner.future.add_done_callback(callback)
    }

    /// asyncio's `Task.remove_done_callback`.
    pub fn remove_done_callback(&self, id: CallbackId) -> bool {
        self.inner.future.remove_done_callback(id)
    }

    /// The task as the future it is.
    pub fn as_future(&self) -> &Future<T> {
        &self.inner.future
    }

    /// The task seen without its value's type, to ask how it ended: its
    /// future's [`as_outcome`](Future::as_outcome).
    pub fn as_outcome(&self) -> Rc<dyn Outcome> {
        self.inner.future.as_outcome()
    }
}

impl<T: Clone + 'static> Task<T> {
    /// asyncio's `Task.result()`: as a future's.
    pub fn result(&self) -> Result<T, FutureError> {
        self.inner.future.result()
    }
}

// ANCHOR: await_task
/// `task.await`: await the task as the future it is, unless a task would be
/// awaiting itself, which could never end (asyncio raises `RuntimeError`).
pub struct AwaitingTask<T> {
    id: TaskId,
    future: Awaiting<T>,
    at: &'static Location<'static>,
}

impl<T: Clone + 'static> std::future::Future for AwaitingTask<T> {
    type Output = Result<T, FutureError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if current_task_id() == Some(self.id) {
            return Poll::Ready(Err(FutureError::InvalidState("a task cannot await itself")));
        }
        let polled = Pin::new(&mut self.future).poll(cx);
        if polled.is_pending() {
            monitor::note("task", self.at);
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
            id: self.inner.id,
            future: self.inner.future.clone().into_future(),
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
        let name = self.inner.name.borrow();
        write!(f, "<Task {name} created at {}>", self.inner.created_at)
    }
}

/// asyncio's `current_task()`: the task whose step is running now, if one is.
pub fn current_task() -> Option<TaskInfo> {
    CURRENT.with_borrow(|task| task.as_ref().map(|task| task.info()))
}

/// The number of the task whose step is running now, if one is.
fn current_task_id() -> Option<TaskId> {
    CURRENT.with_borrow(|task| task.as_ref().map(|task| task.id()))
}

/// asyncio's `all_tasks()`: every task of `event_loop` not yet done, in the
/// order they were created.
pub fn all_tasks(event_loop: &SelectorEventLoop) -> Vec<TaskInfo> {
    let Ok(tasks) = event_loop.attachment::<TaskSet>() else {
        return Vec::new();
    };
    let tasks = tasks.tasks.borrow();
    tasks.values().map(|task| task.info()).collect()
}

/// A task's state in the table: asyncio's `_state` (`PENDING`,
/// `FINISHED`, `CANCELLED`), with the running task told apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    /// Waiting for something, or queued to run.
    Pending,
    /// Its step is running now (the task that asked for the table).
    Running,
    /// Its coroutine returned or panicked, and someone still holds it.
    Done,
    /// It ended cancelled (stage 5 cancels tasks; a stage 4 task cannot
    /// end so), and someone still holds it.
    Cancelled,
}

// ANCHOR: task_row
/// One line of the task table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRow {
    /// Its number, name, and where it was made.
    pub task: TaskInfo,
    /// Pending, running, done or cancelled.
    pub state: TaskState,
    /// What it awaits, and where, if it is pending.
    pub suspended: Option<Suspension>,
}
// ANCHOR_END: task_row

impl TaskRow {
    /// The row of a task not yet done: running (what it last awaited no
    /// longer matters), or pending on what it `suspended` on.
    pub(crate) fn pending(task: TaskInfo, running: bool, suspended: Option<Suspension>) -> Self {
        let (state, suspended) = if running {
            (TaskState::Running, None)
        } else {
            (TaskState::Pending, suspended)
        };
        Self {
            task,
            state,
            suspended,
        }
    }

    /// The row of a task that is done, or cancelled.
    pub(crate) fn ended(task: TaskInfo, state: TaskState) -> Self {
        Self {
            task,
            state,
            suspended: None,
        }
    }
}

/// `Task-3  sleeper  pending  sleep at src/x.rs:12:5`, as aiomonitor's
/// `ps` prints a task and `where` adds its line.
impl fmt::Display for TaskRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            TaskState::Pending => "pending",
            TaskState::Running => "running",
            TaskState::Done => "done",
            TaskState::Cancelled => "cancelled",
        };
        write!(f, "{:>4}  {:<10} ", self.task.id.get(), self.task.name)?;
        match self.suspended {
            Some(Suspension { awaiting, at }) => write!(f, "{state:<8} {awaiting} at {at}"),
            _ => write!(f, "{state}"),
        }
    }
}

// ANCHOR: task_table
/// The task table: every live task of `event_loop` (not yet done, or
/// done and still held) in the order they were created, each pending one
/// with what it awaits and where (aiomonitor's `ps` and `where`).
pub fn task_table(event_loop: &SelectorEventLoop) -> Vec<TaskRow> {
    let Ok(tasks) = event_loop.attachment::<TaskSet>() else {
        return Vec::new();
    };
    let running = current_task_id();
    let pending = |task: &Rc<dyn Step>| {
        TaskRow::pending(task.info(), Some(task.id()) == running, task.suspended())
    };
    let ended = |task: Rc<dyn Step>| TaskRow::ended(task.info(), task.ended());
    let mut rows: Vec<TaskRow> = tasks.tasks.borrow().values().map(pending).collect();
    rows.extend(tasks.finished.live().into_iter().map(ended));
    rows.sort_by_key(|row| row.task.id);
    rows
}
// ANCHOR_END: task_table

/// Keep `event_loop`'s done tasks in its task table while someone holds
/// them, from now on (a monitor asks for this; see `monitor`).
pub fn keep_done_tasks(event_loop: &SelectorEventLoop) -> Result<(), LoopError> {
    event_loop.attachment::<TaskSet>()?.finished.keep.set(true);
    Ok(())
}

/// The outcome of `task`, done, without requiring its result to be `Clone`:
/// the value is moved out (for `run_until_complete`, its only reader).
#[cfg_attr(feature = "fast", allow(dead_code))] // `fast` has its own
pub(crate) fn take_result<T: 'static>(task: &Task<T>) -> Result<T, FutureError> {
    task.inner.future.take_result()
}
