//! `gather`, and what cancellation does to it.
//!
//! Mirrors `gather` and `_GatheringFuture` in CPython's `asyncio/tasks.py`
//! (3.11). The awaiter waits on one *outer* future that the children's
//! done-callbacks finish. Cancelling the outer future (which is what
//! cancelling its awaiter does) cancels every child instead; a child
//! cancelled on its own fails the outer future with the cancellation while
//! its siblings go on; with `return_exceptions`, a cancellation is one more
//! result.

use std::cell::Cell;
use std::future::IntoFuture;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use stage02_timed_events::{LoopError, get_running_loop};
use stage03_read_readiness::SelectorEventLoop;
use stage04_futures_tasks::futures::Awaiting;
use stage04_futures_tasks::{Cancel, Future, FutureError, monitor};

use crate::tasks::{EnsureFuture, Task};

// ANCHOR: gathering
/// asyncio's `_GatheringFuture`: the outer future, and the children a
/// cancel of it goes to.
struct Gathering<T: 'static> {
    outer: Future<Vec<Result<T, FutureError>>>,
    children: Vec<Task<T>>,
    /// asyncio's `_cancel_requested`: the outer future was cancelled, and
    /// passed it on to at least one child.
    cancel_requested: Cell<bool>,
}

/// Cancelling the outer future cancels the children (asyncio's
/// `_GatheringFuture.cancel`).
impl<T: 'static> Cancel for Gathering<T> {
    fn cancel(self: Rc<Self>) -> bool {
        if self.outer.done() {
            return false;
        }
        let mut cancelled_one = false;
        for child in &self.children {
            cancelled_one |= child.cancel(None);
        }
        if cancelled_one {
            self.cancel_requested.set(true);
        }
        cancelled_one
    }
}
// ANCHOR_END: gathering

// ANCHOR: gather
/// asyncio's `gather(*aws)`: every child's value, in argument order; the
/// first exception, or cancellation, of any child as soon as it happens
/// (the others go on).
///
/// # Errors
/// Outside a running loop, or if the loop refuses a task.
#[track_caller]
pub fn gather<T: Clone + 'static>(
    aws: impl IntoIterator<Item = impl EnsureFuture<T>>,
) -> Result<Gathered<T>, LoopError> {
    gather_children(aws, false)
}

/// asyncio's `gather(*aws, return_exceptions=True)`: every child's outcome,
/// value, exception or cancellation, in argument order, once all are done.
///
/// # Errors
/// As [`gather`].
#[track_caller]
pub fn gather_return_exceptions<T: Clone + 'static>(
    aws: impl IntoIterator<Item = impl EnsureFuture<T>>,
) -> Result<Gathered<T>, LoopError> {
    gather_children(aws, true)
}

#[track_caller]
fn gather_children<T: Clone + 'static>(
    aws: impl IntoIterator<Item = impl EnsureFuture<T>>,
    return_exceptions: bool,
) -> Result<Gathered<T>, LoopError> {
    let event_loop = get_running_loop::<SelectorEventLoop>()?;
    let children = aws
        .into_iter()
        .map(|aw| aw.ensure_future(&event_loop))
        .collect::<Result<Vec<_>, _>>()?;
    let gathering = Rc::new(Gathering {
        outer: Future::new(&event_loop),
        children,
        cancel_requested: Cell::new(false),
    });
    if gathering.children.is_empty() {
        let _first = gathering.outer.set_result(Vec::new());
    }
    let finished = Rc::new(Cell::new(0));
    for child in &gathering.children {
        let (gathering, finished) = (Rc::downgrade(&gathering), Rc::clone(&finished));
        child.add_done_callback(move |_, child| {
            finished.set(finished.get() + 1);
            if let Some(gathering) = gathering.upgrade() {
                gathering.child_done(child, finished.get(), return_exceptions);
            }
        });
    }
    Ok(Gathered {
        awaiting: gathering.outer.clone().into_future(),
        gathering,
    })
}

impl<T: Clone + 'static> Gathering<T> {
    /// asyncio's `_done_callback`: `child` is done, the `finished`-th.
    fn child_done(&self, child: &Task<T>, finished: usize, return_exceptions: bool) {
        if self.outer.done() {
            let _retrieved = child.exception();
            return;
        }
        if !return_exceptions {
            if child.cancelled() {
                let _first = self.outer.set_outcome(Err(FutureError::Cancelled));
                return;
            }
            if let Some(error) = child.exception() {
                let _first = self.outer.set_outcome(Err(error));
                return;
            }
        }
        if finished == self.children.len() {
            let outcomes = self.children.iter().map(Task::result).collect();
            let _first = if self.cancel_requested.get() {
                self.outer.set_outcome(Err(FutureError::Cancelled))
            } else {
                self.outer.set_result(outcomes)
            };
        }
    }
}
// ANCHOR_END: gather

// ANCHOR: gathered
/// What `gather` hands back: await it for the children's outcomes. While
/// a task awaits it, a cancel of that task goes to the children.
pub struct Gathered<T: 'static> {
    gathering: Rc<Gathering<T>>,
    awaiting: Awaiting<Vec<Result<T, FutureError>>>,
}

impl<T: Clone + 'static> Gathered<T> {
    /// asyncio's `cancel()` of the gathering future: cancel every child;
    /// `false` if it was done, or no child could be cancelled.
    pub fn cancel(&self) -> bool {
        Rc::clone(&self.gathering).cancel()
    }

    /// The children, as tasks, in argument order.
    pub fn children(&self) -> &[Task<T>] {
        &self.gathering.children
    }
}

impl<T: Clone + 'static> std::future::Future for Gathered<T> {
    type Output = Result<Vec<Result<T, FutureError>>, FutureError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.awaiting).poll(cx);
        if polled.is_pending() {
            // The awaiter waits on the gathering, not on the bare outer
            // future: a cancel goes to the children.
            monitor::note_waiter(Rc::clone(&this.gathering) as Rc<dyn Cancel>);
        }
        polled
    }
}
// ANCHOR_END: gathered
