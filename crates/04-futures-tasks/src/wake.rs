//! A task's wake-up, as Rust spells it: a [`Waker`](std::task::Waker).
//!
//! asyncio's task adds its bound method `__wakeup` to the future it awaits;
//! when the future is done, `__wakeup` runs and calls `__step`. A Rust
//! future is handed a `Waker` instead, and may keep it, clone it, and call
//! it from any thread (a `Waker` is `Send`), long after the task moved or
//! finished. So a waker cannot own its task, which lives on the loop's
//! thread; it holds the task's number, and queues the task's next step on
//! its loop: with `call_soon` from the loop's own thread (no system call),
//! running or not, as asyncio's `__wakeup` does; through the loop's
//! self-pipe from any other (stage 3's `call_soon_threadsafe`, which also
//! wakes a loop asleep in `select`).

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::{self, ThreadId};

use futures_task::ArcWake;
use stage02_timed_events::AbstractEventLoop;
use stage03_read_readiness::{Remote, SelectorEventLoop};

// ANCHOR: wake
/// What a task's waker holds: which task to step, with what, on which loop
/// (asyncio's future holds the task's bound method `__wakeup`: the task
/// and the function to call).
pub(crate) struct Wake {
    pub(crate) task: TaskId,
    /// The function that steps task `task` of a loop.
    step: fn(&SelectorEventLoop, TaskId),
    /// The thread the loop runs on.
    thread: ThreadId,
    /// The loop's self-pipe, for a wake from another thread; on the loop's
    /// own thread, what names the loop (see `loop_of`).
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
        let (task, step) = (wake.task, wake.step);
        // `wake` never polls the task here: it only queues its next step,
        // so a waker called inside a poll cannot re-enter it.
        if thread::current().id() == wake.thread
            && let Some(event_loop) = loop_of(&wake.remote)
            && event_loop
                .call_soon(move |event_loop| step(event_loop, task))
                .is_ok()
        {
            return;
        }
        // Another thread (or a closed loop): through the self-pipe. A
        // closed loop has nothing left to step, and says so; so be it.
        let _closed = wake
            .remote
            .call_soon_threadsafe(move |event_loop| step(event_loop, task));
    }
}
// ANCHOR_END: wake

thread_local! {
    /// The loops of this thread that have tasks, each with its remote: how
    /// a waker called on a loop's own thread finds the loop, whether it is
    /// running or not (a `Waker` is `Send`, so it cannot hold the loop).
    static LOOPS: RefCell<Vec<(Remote<SelectorEventLoop>, SelectorEventLoop)>> =
        const { RefCell::new(Vec::new()) };
}

/// Let the wakers of `event_loop`'s tasks find it on this thread, until
/// [`forget_loop`]. The entry is another reference to the loop, not its
/// owner: the loop's task set forgets it when the loop closes.
pub(crate) fn register_loop(remote: &Remote<SelectorEventLoop>, event_loop: &SelectorEventLoop) {
    LOOPS.with_borrow_mut(|loops| loops.push((remote.clone(), event_loop.clone())));
}

/// Forget the loop that `remote` reaches. Quietly nothing while this
/// thread's locals are being torn down.
pub(crate) fn forget_loop(remote: &Remote<SelectorEventLoop>) {
    let forgotten = LOOPS.try_with(|loops| {
        let mut loops = loops.borrow_mut();
        let found = loops.iter().position(|(known, _)| known == remote);
        found.map(|at| loops.swap_remove(at))
    });
    // Dropped here, outside the borrow.
    drop(forgotten);
}

/// The loop of this thread that `remote` reaches, if it has tasks.
fn loop_of(remote: &Remote<SelectorEventLoop>) -> Option<SelectorEventLoop> {
    LOOPS
        .try_with(|loops| {
            let loops = loops.borrow();
            let found = loops.iter().find(|(known, _)| known == remote);
            found.map(|(_, event_loop)| event_loop.clone())
        })
        .ok()
        .flatten()
}

impl Wake {
    /// The wake-up of task `task`, which `step` steps, on the loop that
    /// `remote` reaches.
    pub(crate) fn new(
        task: TaskId,
        step: fn(&SelectorEventLoop, TaskId),
        remote: Remote<SelectorEventLoop>,
    ) -> Self {
        Self {
            task,
            step,
            thread: thread::current().id(),
            remote,
            queued: AtomicBool::new(false),
        }
    }
}

/// A task's number: unique in the process, so that a waker can never step
/// another task than its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId(u64);

impl TaskId {
    /// The next number: `Task-1`, `Task-2`, ... in the order tasks are made.
    pub(crate) fn next() -> Self {
        Self(NEXT_ID.fetch_add(1, Ordering::Relaxed))
    }

    /// The number itself.
    pub fn get(self) -> u64 {
        self.0
    }

    /// asyncio's default name for the task: `Task-` and its number.
    pub(crate) fn default_name(self) -> String {
        format!("Task-{}", self.0)
    }
}

/// The source of task numbers: `Task-1`, `Task-2`, ...
static NEXT_ID: AtomicU64 = AtomicU64::new(1);
