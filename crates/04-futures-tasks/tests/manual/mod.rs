//! A future the test drives by hand: it keeps the waker it was last polled
//! with and counts its polls, and is done when told. The task and waker
//! tests share it.

use std::cell::{Cell, RefCell};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// Clones are the same future.
#[derive(Clone, Default)]
pub(crate) struct Manual {
    pub(crate) done: Rc<Cell<bool>>,
    pub(crate) waker: Rc<RefCell<Option<Waker>>>,
    pub(crate) polls: Rc<Cell<usize>>,
}

impl std::future::Future for Manual {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.polls.set(self.polls.get() + 1);
        if self.done.get() {
            return Poll::Ready(());
        }
        *self.waker.borrow_mut() = Some(cx.waker().clone());
        Poll::Pending
    }
}
