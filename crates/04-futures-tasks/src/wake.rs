//! A task's wake-up, as Rust spells it: a [`Waker`](std::task::Waker).
//!
//! asyncio's task adds its bound method `__wakeup` to the future it awaits;
//! when the future is done, `__wakeup` runs and calls `__step`. A Rust
//! future is handed a `Waker` instead, and may keep it, clone it, and call
//! it from any thread (a `Waker` is `Send`), long after the task moved or
//! finished. So a waker cannot own its task, which lives on the loop's
//! thread; it holds the task's number, and queues the task's next step on
//! its loop: with `call_soon` from the loop's own thread (no system call),
//! through the loop's self-pipe from any other (stage 3's
//! `call_soon_threadsafe`, which also wakes a loop asleep in `select`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, ThreadId};

use futures_task::ArcWake;
use stage02_timed_events::{AbstractEventLoop, get_running_loop};
use stage03_read_readiness::{Remote, SelectorEventLoop, SelectorEvents};

use crate::tasks::{TaskId, step};

// ANCHOR: wake
/// What a task's waker holds: which task to step, on which loop.
pub(crate) struct Wake {
    pub(crate) task: TaskId,
    /// The thread the loop runs on.
    thread: ThreadId,
    /// The loop's self-pipe, for a wake from another thread.
    remote: Remote<SelectorEventLoop>,
    /// A step is queued and has not started: more wakes add nothing.
    pub(crate) queued: AtomicBool,
}

impl ArcWake for Wake {
    fn wake_by_ref(wake: &Arc<Self>) {
        // Two wakes before the step runs queue one step.
        if wake.queued.swap(true, Ordering::AcqRel) {
            return;
        }
        let task = wake.task;
        // `wake` never polls the task here: it only queues its next step,
        // so a waker called inside a poll cannot re-enter it.
        if thread::current().id() == wake.thread
            && let Ok(event_loop) = get_running_loop::<SelectorEventLoop>()
            && event_loop
                .remote()
                .is_ok_and(|remote| remote == wake.remote)
            && event_loop
                .call_soon(move |event_loop| step(event_loop, task))
                .is_ok()
        {
            return;
        }
        // Another thread, or the loop is not running: through the self-pipe.
        // A closed loop has nothing left to step, and says so; so be it.
        let _closed = wake
            .remote
            .call_soon_threadsafe(move |event_loop| step(event_loop, task));
    }
}
// ANCHOR_END: wake

impl Wake {
    /// The wake-up of task `task` of `event_loop`.
    pub(crate) fn new(task: TaskId, remote: Remote<SelectorEventLoop>) -> Self {
        Self {
            task,
            thread: thread::current().id(),
            remote,
            queued: AtomicBool::new(false),
        }
    }
}
