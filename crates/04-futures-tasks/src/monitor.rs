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

use std::cell::Cell;
use std::panic::Location;
use std::pin::Pin;
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
}

/// An awaitable answers `Pending`: note what it is and where it was awaited.
pub(crate) fn note(awaiting: &'static str, at: &'static Location<'static>) {
    NOTED.set(Some(Suspension { awaiting, at }));
}

/// A step begins: no note yet.
pub(crate) fn begin_step() {
    NOTED.set(None);
}

/// The step answered `Pending`: what its task now awaits.
pub(crate) fn end_step() -> Option<Suspension> {
    NOTED.take()
}
// ANCHOR_END: suspension

/// `inner`, noting `awaiting` at `at` whenever it answers `Pending`.
pub(crate) struct Noted<F> {
    pub(crate) inner: F,
    pub(crate) awaiting: &'static str,
    pub(crate) at: &'static Location<'static>,
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
