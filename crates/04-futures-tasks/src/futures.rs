//! A result that arrives later.
//!
//! Mirrors `Future` in CPython's `asyncio/futures.py`: pending, then done
//! with a result, done with an exception, or cancelled; `set_result`,
//! `set_exception`, `cancel`, `result`, `exception`, and done-callbacks,
//! which the loop runs through `call_soon`, in the order they were added,
//! never inline. A task that awaits a future adds its wake-up as one of
//! those callbacks; in Rust the wake-up is a [`Waker`].

use std::cell::{Cell, RefCell};
use std::error::Error;
use std::fmt;
use std::future::IntoFuture;
use std::panic::Location;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use demo_support::{EventKind, Mark};
use stage02_timed_events::{
    AbstractEventLoop, CallbackPanic, LoopError, ReportKind, get_running_loop,
};
use stage03_read_readiness::SelectorEventLoop;

use crate::monitor::{self, Cancel};

/// The timeline row on which each future that is done is marked.
pub const FUTURES_ROW: &str = "(futures)";

/// How timelines draw a future that is done: stage 4's kind of mark.
pub const FUTURE_DONE: EventKind = EventKind {
    symbol: 'f',
    meaning: "future done",
    colour: "#bf3989",
};

/// The timeline mark of a future that is done.
pub fn future_done_mark() -> Mark {
    Mark::Event {
        row: FUTURES_ROW.to_string(),
        kind: FUTURE_DONE,
    }
}

// ANCHOR: future_error
/// Why a future has no result to give.
#[derive(Clone)]
pub enum FutureError {
    /// asyncio's `CancelledError`: the future was cancelled.
    Cancelled,
    /// The exception it was finished with: an error value, shared by all who
    /// ask (asyncio hands each of them the same exception object).
    Exception(Rc<dyn Error>),
    /// asyncio's `InvalidStateError`: asked for a result that is not there
    /// yet, or told to finish twice.
    InvalidState(&'static str),
}
// ANCHOR_END: future_error

/// A done-callback's name, to remove it by (Rust closures cannot be
/// compared, as Python's `remove_done_callback` compares callbacks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallbackId(u64);

// ANCHOR: future
/// asyncio's `Future`. Clones are the same future.
pub struct Future<T> {
    state: Rc<State<T>>,
}

struct State<T> {
    /// asyncio's `_loop`: where the done-callbacks run.
    event_loop: SelectorEventLoop,
    /// `None` while pending; then the result, the exception, or `Cancelled`.
    outcome: RefCell<Option<Result<T, FutureError>>>,
    /// asyncio's `_callbacks`, in the order they were added.
    callbacks: RefCell<Vec<(CallbackId, DoneCallback<T>)>>,
    added: Cell<u64>,
    /// The future a task is: only the task's coroutine finishes it.
    of_task: bool,
    /// Where it was made (for a task's, where `create_task` was called).
    created_at: &'static Location<'static>,
    /// Whether anyone asked for its outcome: an exception nobody asked for
    /// is reported when the future goes (see `Drop for State`).
    retrieved: Cell<bool>,
}

/// What runs when the future is done.
enum DoneCallback<T> {
    /// `add_done_callback(f)`: `f` runs in a later iteration, via `call_soon`.
    Call(Box<dyn FnOnce(&SelectorEventLoop, &Future<T>)>),
    /// A task awaiting the future: woken at once, which queues its next
    /// step with `call_soon`, as asyncio's `Task.__wakeup` is queued.
    Wake(Waker),
}
// ANCHOR_END: future

impl<T: 'static> Future<T> {
    /// asyncio's `loop.create_future()`: a pending future of `event_loop`.
    #[track_caller]
    pub fn new(event_loop: &SelectorEventLoop) -> Self {
        Self::with_owner(event_loop, false, Location::caller())
    }

    /// The future a task is. Its `set_result`, `set_exception` and `cancel`
    /// refuse: its outcome is its coroutine's (asyncio's `Task` raises
    /// "Task does not support set_result operation"; stage 5 cancels a
    /// task through its coroutine).
    pub(crate) fn for_task(
        event_loop: &SelectorEventLoop,
        created_at: &'static Location<'static>,
    ) -> Self {
        Self::with_owner(event_loop, true, created_at)
    }

    /// The future of a task that is done already, made only when asked
    /// for (the fast tasks' `as_future`): its end was marked when the task
    /// ended, and nothing waited for it then.
    pub(crate) fn for_finished_task(
        event_loop: &SelectorEventLoop,
        outcome: Result<T, FutureError>,
        created_at: &'static Location<'static>,
    ) -> Self {
        let future = Self::with_owner(event_loop, true, created_at);
        *future.state.outcome.borrow_mut() = Some(outcome);
        future
    }

    fn with_owner(
        event_loop: &SelectorEventLoop,
        of_task: bool,
        created_at: &'static Location<'static>,
    ) -> Self {
        let state = State {
            event_loop: event_loop.clone(),
            outcome: RefCell::new(None),
            callbacks: RefCell::new(Vec::new()),
            added: Cell::new(0),
            of_task,
            created_at,
            retrieved: Cell::new(false),
        };
        Self {
            state: Rc::new(state),
        }
    }

    /// Whether it has a result, an exception, or was cancelled.
    pub fn done(&self) -> bool {
        self.state.outcome.borrow().is_some()
    }

    /// Whether `self` and `other` are one future (clones of each other), as
    /// Python's `is`: a queue of waiters removes its waiter by identity.
    pub(crate) fn same_as(&self, other: &Future<T>) -> bool {
        Rc::ptr_eq(&self.state, &other.state)
    }

    /// Whether it was cancelled.
    pub fn cancelled(&self) -> bool {
        matches!(
            *self.state.outcome.borrow(),
            Some(Err(FutureError::Cancelled))
        )
    }

    /// asyncio's `set_result`: done, with `value`; the done-callbacks are
    /// scheduled. `InvalidState` if it is done already, or is a task's.
    pub fn set_result(&self, value: T) -> Result<(), FutureError> {
        self.refuse_if_of_task()?;
        self.finish(Ok(value))
    }

    /// asyncio's `set_exception`: done, with `error`.
    pub fn set_exception(&self, error: impl Error + 'static) -> Result<(), FutureError> {
        self.refuse_if_of_task()?;
        self.finish(Err(FutureError::Exception(Rc::new(error))))
    }

    /// The error it ended with (an exception, or `Cancelled`), without its
    /// value, so without `T: Clone`; `None` if it has a value or is
    /// pending. Counts as retrieved, as asyncio's `exception()` does.
    pub fn error(&self) -> Option<FutureError> {
        Outcome::error(&*self.state)
    }

    /// The future seen without its value's type: what stage 5 keeps of a
    /// task whose type it does not know, to ask how it ended.
    pub fn as_outcome(&self) -> Rc<dyn Outcome>
    where
        T: 'static,
    {
        Rc::clone(&self.state) as Rc<dyn Outcome>
    }

    /// asyncio's `futures._copy_future_state`: done, with `outcome`, as
    /// another future ended (`shield` and `wait_for` pass a task's outcome
    /// on so). `InvalidState` if it is done already, or is a task's.
    pub fn set_outcome(&self, outcome: Result<T, FutureError>) -> Result<(), FutureError> {
        self.refuse_if_of_task()?;
        self.finish(outcome)
    }

    /// asyncio's `cancel`: `false` if it was done already (or is a task's,
    /// until stage 5); else it is done, cancelled, and the done-callbacks
    /// are scheduled.
    pub fn cancel(&self) -> bool {
        self.refuse_if_of_task().is_ok() && self.finish(Err(FutureError::Cancelled)).is_ok()
    }

    fn refuse_if_of_task(&self) -> Result<(), FutureError> {
        if self.state.of_task {
            return Err(FutureError::InvalidState(
                "a task's outcome is its coroutine's: a task does not support set_result",
            ));
        }
        Ok(())
    }

    /// The task's coroutine returned (or panicked): its outcome.
    pub(crate) fn finish_task(&self, outcome: Result<T, FutureError>) -> Result<(), FutureError> {
        self.finish(outcome)
    }

    // ANCHOR: schedule
    /// Where `set_result`, `set_exception`, `cancel` and a task's end all
    /// lead: the outcome is kept once, and the done-callbacks go.
    fn finish(&self, outcome: Result<T, FutureError>) -> Result<(), FutureError> {
        if self.done() {
            return Err(FutureError::InvalidState("the future is already done"));
        }
        *self.state.outcome.borrow_mut() = Some(outcome);
        self.state.event_loop.record(future_done_mark);
        self.schedule_callbacks();
        Ok(())
    }

    /// Forget the done-callbacks: they can never run, for the loop that
    /// would run them is gone. A callback may hold the task whose future
    /// this is, a cycle that only this breaks.
    pub(crate) fn forget_callbacks(&self) {
        let callbacks = self.state.callbacks.take();
        drop(callbacks); // after the borrow: they may hold anything
    }

    /// asyncio's `__schedule_callbacks`: every callback, in order, out of
    /// the list and on its way; none runs here and now.
    fn schedule_callbacks(&self) {
        let callbacks = self.state.callbacks.take();
        for (_, callback) in callbacks {
            self.schedule(callback);
        }
    }

    /// A callback added by `add_done_callback` goes through `call_soon`, so
    /// that it never runs before the line after `set_result`. A task's waker
    /// is called at once: it only queues the task's next step with
    /// `call_soon`, which keeps asyncio's count of iterations.
    fn schedule(&self, callback: DoneCallback<T>) {
        match callback {
            DoneCallback::Call(callback) => {
                let future = self.clone();
                let queued = self
                    .state
                    .event_loop
                    .call_soon(move |event_loop| callback(event_loop, &future));
                // A closed loop runs nothing more; the callback is dropped.
                drop(queued);
            }
            DoneCallback::Wake(waker) => waker.wake(),
        }
    }
    // ANCHOR_END: schedule

    /// asyncio's `add_done_callback`: `callback` runs when the future is
    /// done, in a later iteration, after the callbacks added before it; if
    /// it is done already, in the next iteration.
    pub fn add_done_callback(
        &self,
        callback: impl FnOnce(&SelectorEventLoop, &Future<T>) + 'static,
    ) -> CallbackId {
        self.add(DoneCallback::Call(Box::new(callback)))
    }

    fn add(&self, callback: DoneCallback<T>) -> CallbackId {
        let id = CallbackId(self.state.added.get());
        self.state.added.set(id.0 + 1);
        if self.done() {
            self.schedule(callback);
        } else {
            self.state.callbacks.borrow_mut().push((id, callback));
        }
        id
    }

    /// asyncio's `remove_done_callback`: `true` if the callback was there
    /// (it had not been scheduled yet).
    pub fn remove_done_callback(&self, id: CallbackId) -> bool {
        let mut callbacks = self.state.callbacks.borrow_mut();
        let before = callbacks.len();
        callbacks.retain(|(added, _)| *added != id);
        callbacks.len() < before
    }

    /// The outcome, moved out, for a reader that is the only one and needs
    /// no `Clone` (`run_until_complete`, `run_coroutine_threadsafe`); a
    /// later `result()` says it was taken. `InvalidState` while pending.
    pub fn take_result(&self) -> Result<T, FutureError> {
        self.state.retrieved.set(true);
        let taken = Err(FutureError::InvalidState("the result was taken"));
        match self.state.outcome.borrow_mut().as_mut() {
            Some(outcome) => std::mem::replace(outcome, taken),
            None => Err(FutureError::InvalidState("the result is not set yet")),
        }
    }

    /// Count the outcome as retrieved (a fast task read it before it made
    /// its future).
    pub(crate) fn mark_retrieved(&self) {
        self.state.retrieved.set(true);
    }

    /// Replace the waker of the callback `id` with `waker`, if it is still
    /// waiting: an awaiter polled again may have been moved to another task.
    fn rewake(&self, id: CallbackId, waker: &Waker) {
        let mut callbacks = self.state.callbacks.borrow_mut();
        let found = callbacks.iter_mut().find(|(added, _)| *added == id);
        if let Some((_, DoneCallback::Wake(old))) = found {
            old.clone_from(waker);
        }
    }
}

impl<T: Clone + 'static> Future<T> {
    // ANCHOR: result
    /// asyncio's `result()`: the result; the exception, or `Cancelled`, if
    /// it ended so; `InvalidState` while it is pending.
    pub fn result(&self) -> Result<T, FutureError> {
        self.state.retrieved.set(true);
        let outcome = self.state.outcome.borrow();
        let outcome = outcome.as_ref();
        outcome
            .cloned()
            .unwrap_or(Err(FutureError::InvalidState("the result is not set yet")))
    }
    // ANCHOR_END: result

    /// asyncio's `exception()`: the exception it ended with, if any;
    /// `Cancelled` if it was cancelled; `InvalidState` while it is pending.
    pub fn exception(&self) -> Result<Option<Rc<dyn Error>>, FutureError> {
        match self.result() {
            Ok(_) => Ok(None),
            Err(FutureError::Exception(error)) => Ok(Some(error)),
            Err(other) => Err(other),
        }
    }
}

// ANCHOR: never_retrieved
/// asyncio's `Future.__del__`: a future that ends with an exception nobody
/// asked for (`result`, `exception`, an `await`) says so when it goes, to
/// its loop's exception handler, "Task exception was never retrieved".
/// Otherwise the error would vanish without a trace.
impl<T> Drop for State<T> {
    fn drop(&mut self) {
        let Some(Err(FutureError::Exception(error))) = self.outcome.get_mut() else {
            return;
        };
        if self.retrieved.get() {
            return;
        }
        let kind = if self.of_task { "Task" } else { "Future" };
        let report = never_retrieved(kind, self.created_at, error.as_ref());
        self.event_loop.call_exception_handler(&report);
    }
}
// ANCHOR_END: never_retrieved

/// The report of a `kind` ("Task" or "Future") made at `created_at` that
/// ended with `error`, which nobody retrieved.
pub(crate) fn never_retrieved(
    kind: &str,
    created_at: &'static Location<'static>,
    error: &dyn Error,
) -> CallbackPanic {
    CallbackPanic {
        handle: format!("<{kind} finished created at {created_at}>"),
        message: format!("{kind} exception was never retrieved: {error}"),
        kind: ReportKind::About("future"),
    }
}

// ANCHOR: awaiting
/// `future.await`: what awaiting a future is, in Rust. The first poll adds
/// the task's waker as a done-callback (asyncio: the task adds its
/// `__wakeup`) and answers `Pending`; when the future is done the waker
/// queues the task's next step, and the next poll answers the outcome.
pub struct Awaiting<T> {
    future: Future<T>,
    /// The done-callback that holds the waker, once there is one.
    waiting: Option<CallbackId>,
    /// Where it was awaited, for the task table.
    at: &'static Location<'static>,
}

impl<T: Clone + 'static> std::future::Future for Awaiting<T> {
    type Output = Result<T, FutureError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // A cancellation thrown in here (stage 5) comes first, as Python's
        // `throw` does, even if the future is done.
        if monitor::take_cancellation() {
            return Poll::Ready(Err(FutureError::Cancelled));
        }
        if self.future.done() {
            self.waiting = None;
            return Poll::Ready(self.future.result());
        }
        // asyncio: "Task got Future attached to a different loop". Its
        // callbacks would run on a loop that this task's loop never hears
        // of. (Checked once, when the awaiter starts waiting.)
        if self.waiting.is_none()
            && get_running_loop::<SelectorEventLoop>()
                .is_ok_and(|running| !running.is_same(&self.future.state.event_loop))
        {
            let other = "the future belongs to another loop than the one running";
            return Poll::Ready(Err(FutureError::InvalidState(other)));
        }
        match self.waiting {
            // Polled again before it is done: keep the newest waker, since
            // the awaiter may have moved to another task since.
            Some(id) => self.future.rewake(id, cx.waker()),
            None => {
                let id = self.future.add(DoneCallback::Wake(cx.waker().clone()));
                self.waiting = Some(id);
            }
        }
        monitor::note("future", self.at);
        monitor::note_waiter(Rc::clone(&self.future.state) as Rc<dyn Cancel>);
        Poll::Pending
    }
}

impl<T: Clone + 'static> IntoFuture for Future<T> {
    type Output = Result<T, FutureError>;
    type IntoFuture = Awaiting<T>;

    #[track_caller]
    fn into_future(self) -> Awaiting<T> {
        Awaiting {
            future: self,
            waiting: None,
            at: Location::caller(),
        }
    }
}

/// An awaiter dropped before the future was done takes its waker back, so
/// that nothing wakes a task that no longer waits (stage 5 cancels so).
impl<T> Drop for Awaiting<T> {
    fn drop(&mut self) {
        if let Some(id) = self.waiting.take() {
            let mut callbacks = self.future.state.callbacks.borrow_mut();
            callbacks.retain(|(added, _)| *added != id);
        }
    }
}
// ANCHOR_END: awaiting

/// A future seen without its value's type (see [`Future::as_outcome`]).
pub trait Outcome {
    /// The error it ended with, as [`Future::error`] tells it.
    fn error(&self) -> Option<FutureError>;

    /// [`Future::add_done_callback`], for a callback that needs only the
    /// loop.
    fn add_done_callback(self: Rc<Self>, callback: Box<dyn FnOnce(&SelectorEventLoop)>);
}

impl<T: 'static> Outcome for State<T> {
    fn error(&self) -> Option<FutureError> {
        self.retrieved.set(true);
        match self.outcome.borrow().as_ref() {
            Some(Err(error)) => Some(error.clone()),
            _ => None,
        }
    }

    fn add_done_callback(self: Rc<Self>, callback: Box<dyn FnOnce(&SelectorEventLoop)>) {
        let future = Future { state: self };
        future.add_done_callback(move |event_loop, _| callback(event_loop));
    }
}

/// A future a task waits on, cancelled as [`Future::cancel`] does it.
impl<T: 'static> Cancel for State<T> {
    fn cancel(self: Rc<Self>) -> bool {
        Future { state: self }.cancel()
    }
}

impl<T> Clone for Future<T> {
    fn clone(&self) -> Self {
        Self {
            state: Rc::clone(&self.state),
        }
    }
}

impl<T> fmt::Debug for Future<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &*self.state.outcome.borrow() {
            None => "pending",
            Some(Ok(_)) => "finished",
            Some(Err(FutureError::Cancelled)) => "cancelled",
            Some(Err(_)) => "finished with an exception",
        };
        write!(f, "<Future {state}>")
    }
}

impl fmt::Debug for FutureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for FutureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FutureError::Cancelled => write!(f, "cancelled"),
            FutureError::Exception(error) => write!(f, "{error}"),
            FutureError::InvalidState(why) => write!(f, "invalid state: {why}"),
        }
    }
}

impl Error for FutureError {}

/// A loop that refuses (closed, say) inside a coroutine is an exception
/// there, as asyncio raises `RuntimeError("Event loop is closed")`: `?`
/// makes it the task's.
impl From<LoopError> for FutureError {
    fn from(error: LoopError) -> Self {
        FutureError::Exception(Rc::new(error))
    }
}
