//! A group of tasks that fail, and are cancelled, together.
//!
//! Mirrors `TaskGroup` in CPython's `asyncio/taskgroups.py` (3.11). The
//! group runs a block in its parent task; the block starts children with
//! the group's `create_task`. When the block ends, the group waits for
//! every child. The first child to fail cancels the others and the parent
//! (so that the block stops waiting for whatever it awaits), and the group
//! ends with every child's error together, asyncio's `ExceptionGroup`.
//! Cancelling the parent from outside cancels every child.

use std::cell::{Cell, RefCell};
use std::error::Error;
use std::fmt;
use std::rc::Rc;

use stage02_timed_events::{CallbackPanic, ReportKind, get_running_loop};
use stage03_read_readiness::SelectorEventLoop;
use stage04_futures_tasks::{Future, FutureError, TaskId};

use crate::tasks::{CurrentTask, Task, create_task, current_task};

/// asyncio's `ExceptionGroup("unhandled errors in a TaskGroup", errors)`:
/// every error of a group's children (and of its block), in the order they
/// happened.
#[derive(Debug, Clone)]
pub struct TaskGroupError {
    /// The errors, first first.
    pub errors: Vec<FutureError>,
}

impl fmt::Display for TaskGroupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.errors.len();
        let s = if count == 1 { "" } else { "s" };
        write!(
            f,
            "unhandled errors in a TaskGroup ({count} sub-exception{s})"
        )
    }
}

impl Error for TaskGroupError {}

/// The errors of a group, if `error` is a group's.
pub fn group_errors(error: &FutureError) -> Option<&[FutureError]> {
    match error {
        FutureError::Exception(error) => error
            .downcast_ref::<TaskGroupError>()
            .map(|group| group.errors.as_slice()),
        _ => None,
    }
}

// ANCHOR: group
/// asyncio's `TaskGroup`. Clones are the same group (a child may hold one,
/// to start more children).
#[derive(Clone, Default)]
pub struct TaskGroup {
    inner: Rc<Group>,
}

#[derive(Default)]
struct Group {
    entered: Cell<bool>,
    exiting: Cell<bool>,
    aborting: Cell<bool>,
    /// The task the block runs in.
    parent: RefCell<Option<CurrentTask>>,
    /// The group cancelled its parent (a child failed).
    parent_cancel_requested: Cell<bool>,
    /// The children not yet done.
    tasks: RefCell<Vec<(TaskId, CurrentTask)>>,
    errors: RefCell<Vec<FutureError>>,
    /// Finished when the last child is done, while the group waits.
    on_completed: RefCell<Option<Future<()>>>,
}
// ANCHOR_END: group

impl TaskGroup {
    /// A group, not yet running its block.
    pub fn new() -> Self {
        Self::default()
    }

    // ANCHOR: run
    /// `async with TaskGroup() as group: block`: run `block` in the current
    /// task, then wait for every child. The block's own value if nothing
    /// failed; a [`TaskGroupError`] with every error if something did; a
    /// cancellation from outside passes through.
    pub async fn run<T>(
        &self,
        block: impl std::future::Future<Output = Result<T, FutureError>>,
    ) -> Result<T, FutureError> {
        self.enter()?;
        let outcome = block.await;
        self.exit(outcome).await
    }

    /// asyncio's `__aenter__`.
    fn enter(&self) -> Result<(), FutureError> {
        let group = &self.inner;
        if group.entered.replace(true) {
            return Err(FutureError::InvalidState(
                "a TaskGroup runs one block, once",
            ));
        }
        let parent = current_task().ok_or(FutureError::InvalidState(
            "a TaskGroup runs inside a stage 5 task",
        ))?;
        *group.parent.borrow_mut() = Some(parent);
        Ok(())
    }

    /// asyncio's `__aexit__` (3.11): wait for the children; say what failed.
    async fn exit<T>(&self, outcome: Result<T, FutureError>) -> Result<T, FutureError> {
        let group = &self.inner;
        group.exiting.set(true);
        let mut propagate_cancellation = matches!(outcome, Err(FutureError::Cancelled));
        if group.parent_cancel_requested.get() && self.parent().uncancel() == 0 {
            // The group's own cancel of its parent, taken back.
            propagate_cancellation = false;
        }
        if outcome.is_err() && !group.aborting.get() {
            self.abort();
        }
        while !group.tasks.borrow().is_empty() {
            let event_loop = get_running_loop::<SelectorEventLoop>()?;
            let completed = Future::new(&event_loop);
            *group.on_completed.borrow_mut() = Some(completed.clone());
            if let Err(FutureError::Cancelled) = completed.await {
                if !group.aborting.get() {
                    propagate_cancellation = true;
                    self.abort();
                }
            }
            group.on_completed.take();
        }
        let mut errors = group.errors.take();
        if propagate_cancellation && errors.is_empty() {
            return Err(FutureError::Cancelled);
        }
        match outcome {
            Err(FutureError::Cancelled) => {}
            Err(error) => errors.push(error),
            Ok(value) if errors.is_empty() => return Ok(value),
            Ok(_) => {}
        }
        if errors.is_empty() {
            return Err(FutureError::Cancelled);
        }
        Err(FutureError::Exception(Rc::new(TaskGroupError { errors })))
    }
    // ANCHOR_END: run

    // ANCHOR: create_task
    /// asyncio's `TaskGroup.create_task`: a child of the group.
    ///
    /// # Errors
    /// Before the block runs, once the group has finished, or while it is
    /// cancelling its children (`InvalidState`); if the loop refuses.
    #[track_caller]
    pub fn create_task<T: 'static>(
        &self,
        coroutine: impl std::future::Future<Output = Result<T, FutureError>> + 'static,
    ) -> Result<Task<T>, FutureError> {
        let group = &self.inner;
        if !group.entered.get() {
            return Err(FutureError::InvalidState(
                "the TaskGroup has not been entered",
            ));
        }
        if group.exiting.get() && group.tasks.borrow().is_empty() {
            return Err(FutureError::InvalidState("the TaskGroup is finished"));
        }
        if group.aborting.get() {
            return Err(FutureError::InvalidState("the TaskGroup is shutting down"));
        }
        let event_loop = get_running_loop::<SelectorEventLoop>()?;
        let task = create_task(&event_loop, coroutine)?;
        let this = self.clone();
        task.add_done_callback(move |event_loop, task| this.on_task_done(event_loop, task));
        group.tasks.borrow_mut().push((task.id(), task.handle()));
        Ok(task)
    }
    // ANCHOR_END: create_task

    /// asyncio's `_abort`: cancel every child not yet done.
    fn abort(&self) {
        self.inner.aborting.set(true);
        for (_, task) in self.inner.tasks.borrow().iter() {
            if !task.done() {
                task.cancel(None);
            }
        }
    }

    fn parent(&self) -> CurrentTask {
        let parent = self.inner.parent.borrow();
        let parent = parent.as_ref().expect("set when the block began");
        CurrentTask::clone(parent)
    }

    // ANCHOR: on_task_done
    /// asyncio's `_on_task_done`: a child is done; if it failed, and it is
    /// the first, cancel the others and the parent.
    fn on_task_done<T: 'static>(&self, event_loop: &SelectorEventLoop, task: &Task<T>) {
        let group = &self.inner;
        group.tasks.borrow_mut().retain(|(id, _)| *id != task.id());
        if group.tasks.borrow().is_empty() {
            if let Some(completed) = group.on_completed.borrow().as_ref() {
                let _first = completed.set_result(());
            }
        }
        if task.cancelled() {
            return;
        }
        let Some(error) = task.exception() else {
            return;
        };
        group.errors.borrow_mut().push(error.clone());
        let parent = self.parent();
        if parent.done() {
            event_loop.call_exception_handler(&CallbackPanic {
                handle: format!("{task:?}"),
                message: format!(
                    "Task has errored out but its parent task is already completed: {error}"
                ),
                kind: ReportKind::About("task"),
            });
            return;
        }
        if !group.aborting.get() && !group.parent_cancel_requested.get() {
            self.abort();
            group.parent_cancel_requested.set(true);
            parent.cancel(None);
        }
    }
    // ANCHOR_END: on_task_done
}
