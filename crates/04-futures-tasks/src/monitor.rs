//! What every task is doing: the task table, as aiomonitor's `ps` and
//! `where`.
//!
//! aiomonitor (a Python package beside asyncio) lists each live task and,
//! for `where`, walks its suspended coroutine's frames to the line it
//! waits on. A suspended Rust future has no frames to walk. So each
//! awaitable notes what it is, and the line that awaited it
//! (`#[track_caller]`), when it answers `Pending`, and the task's step
//! keeps the last note: the outermost awaitable, nearest the task's own
//! code. An awaitable that notes nothing itself (a lock's `acquire`) shows
//! where its library awaited on the task's behalf. The table itself is
//! `tasks::task_table`.
//!
//! A task stays live after it is done while anything holds it, as
//! asyncio keeps every task in a `WeakSet` (`tasks._scheduled_tasks`)
//! until nothing refers to it: `Finished` is that set for done tasks. A
//! weak reference delays the free of what it points to, which costs a
//! spawn a third of its time (chapter 4's numbers), so a loop keeps its
//! done tasks only once asked to (`keep_done_tasks`), as a monitor does.

use std::cell::{Cell, RefCell};
use std::panic::Location;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll};

// ANCHOR: suspension
/// What a task awaits, and where it awaited it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Suspension {
    /// The kind of awaitable: `future`, `task`, `sleep`, `yield`.
    pub awaiting: &'static str,
    /// The `.await` (or the call that made the awaitable).
    pub at: &'static Location<'static>,
}

thread_local! {
    /// The note of the step running in this thread, if any yet.
    static NOTED: Cell<Option<Suspension>> = const { Cell::new(None) };
    /// The future the step's awaitable waits on, if it said.
    static WAITER: RefCell<Option<Rc<dyn Cancel>>> = const { RefCell::new(None) };
    /// A cancellation handed to the step running (see `hand_cancellation`).
    static HANDED: Cell<bool> = const { Cell::new(false) };
}

/// An awaitable answers `Pending`: note what it is and where it was awaited.
pub fn note(awaiting: &'static str, at: &'static Location<'static>) {
    NOTED.set(Some(Suspension { awaiting, at }));
}

/// A step begins: no note yet.
pub(crate) fn begin_step() {
    NOTED.set(None);
    drop(take_waiter());
}

/// The step answered `Pending`: what its task now awaits.
pub(crate) fn end_step() -> Option<Suspension> {
    drop(take_waiter()); // if nobody took it (stage 5 does)
    NOTED.take()
}
// ANCHOR_END: suspension

// ANCHOR: waiter
/// What a task waits on, as a cancellation can reach it: asyncio's
/// `Task._fut_waiter`, the future whose `cancel` a cancelled task calls.
/// A future's awaiter notes its future here when it answers `Pending`;
/// stage 5's tasks take the note, and cancel what it names.
pub trait Cancel {
    /// asyncio's `cancel()`: whether it was cancelled now (not if it was
    /// done, or refuses).
    fn cancel(self: Rc<Self>) -> bool;
}

/// An awaitable answers `Pending`, waiting on `waiter`.
pub fn note_waiter(waiter: Rc<dyn Cancel>) {
    WAITER.set(Some(waiter));
}

/// What the step's awaitable said it waits on, if it did; forgotten here.
pub fn take_waiter() -> Option<Rc<dyn Cancel>> {
    WAITER.take()
}

/// Hand a cancellation to the step about to run (`true`), or take back
/// one that no awaitable took (the answer): asyncio's `__step` throws
/// `CancelledError` into the coroutine, at whichever `await` it is
/// suspended. Stage 5's tasks do this.
pub fn hand_cancellation(handed: bool) -> bool {
    HANDED.replace(handed)
}

/// An awaitable, polled, takes the cancellation handed to this step, if
/// there is one: it then answers `Cancelled` instead of what it awaits.
pub fn take_cancellation() -> bool {
    HANDED.replace(false)
}
// ANCHOR_END: waiter

/// `inner`, noting `awaiting` at `at` whenever it answers `Pending`.
pub struct Noted<F> {
    /// The awaitable.
    pub inner: F,
    /// What it is, for the table: `sleep`, `future`, ...
    pub awaiting: &'static str,
    /// Where it was awaited.
    pub at: &'static Location<'static>,
}

impl<F: std::future::Future + Unpin> std::future::Future for Noted<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let polled = Pin::new(&mut self.inner).poll(cx);
        if polled.is_pending() {
            note(self.awaiting, self.at);
        }
        polled
    }
}

// ANCHOR: finished
/// The done tasks that someone still holds (a `Task` handle not yet
/// dropped), weakly: the table lists them until the last handle goes.
pub(crate) struct Finished<S: ?Sized> {
    tasks: RefCell<Vec<Weak<S>>>,
    /// Whether the loop keeps its done tasks at all (`keep_done_tasks`).
    pub(crate) keep: Cell<bool>,
}

impl<S: ?Sized> Finished<S> {
    /// `task` is done. Given the last reference the loop had, it keeps
    /// nothing if that was the only one: nobody can see the task now.
    pub(crate) fn push(&self, task: Rc<S>) {
        if !self.keep.get() || Rc::strong_count(&task) == 1 {
            return;
        }
        let mut tasks = self.tasks.borrow_mut();
        if tasks.len() == tasks.capacity() {
            // Forget the tasks gone since, before growing: the list stays
            // within twice the number of done tasks still held.
            tasks.retain(|task| task.strong_count() > 0);
        }
        tasks.push(Rc::downgrade(&task));
    }

    /// The done tasks still held, in the order they ended.
    pub(crate) fn live(&self) -> Vec<Rc<S>> {
        self.tasks
            .borrow()
            .iter()
            .filter_map(Weak::upgrade)
            .collect()
    }
}
// ANCHOR_END: finished

impl<S: ?Sized> Default for Finished<S> {
    fn default() -> Self {
        Self {
            tasks: RefCell::new(Vec::new()),
            keep: Cell::new(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_done_task_nobody_holds_is_not_kept() {
        let finished = Finished::<u32>::default();
        finished.keep.set(true);
        finished.push(Rc::new(1));
        assert!(finished.live().is_empty());
        assert_eq!(finished.tasks.borrow().len(), 0, "not even weakly");
    }

    #[test]
    fn the_list_forgets_tasks_let_go_instead_of_growing() {
        let finished = Finished::<u32>::default();
        finished.keep.set(true);
        let kept = Rc::new(0);
        finished.push(Rc::clone(&kept));
        for i in 1..1000 {
            let task = Rc::new(i);
            finished.push(Rc::clone(&task));
            drop(task);
        }
        assert_eq!(finished.live(), [kept]);
        assert!(
            finished.tasks.borrow().capacity() <= 8,
            "pruned as it fills"
        );
    }
}

#[cfg(test)]
mod off_unless_asked {
    use super::*;

    #[test]
    fn a_loop_not_asked_keeps_no_done_task() {
        let finished = Finished::<u32>::default();
        let held = Rc::new(1);
        finished.push(Rc::clone(&held));
        assert!(finished.live().is_empty());
    }
}
