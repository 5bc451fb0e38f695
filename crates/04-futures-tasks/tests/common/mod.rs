//! What the tests of locks, queues and sockets share: a loop on a virtual
//! clock, a transcript stamped with the loop's time and iteration, and a
//! way to drop a pending wait, as stage 5's cancellation will.

use std::cell::{Cell, RefCell};
use std::pin::pin;
use std::rc::Rc;
use std::task::{Poll, Waker};

use demo_support::Transcript;
use stage01_generator_loop::VirtualClock;
use stage02_timed_events::AbstractEventLoop;
use stage03_read_readiness::{PollSelector, SelectorEventLoop, SelectorEvents};

/// A selector loop on a virtual clock.
pub(crate) fn new_loop() -> SelectorEventLoop {
    SelectorEventLoop::with_selector(VirtualClock::new(), PollSelector::new()).unwrap()
}

/// Say `text`, stamped with the loop's time and iteration.
pub(crate) fn stamp(out: &Transcript, event_loop: &SelectorEventLoop, text: &str) {
    let iteration = event_loop.iterations();
    out.say(format!("{:.3} #{iteration} {text}", event_loop.time()));
}

/// A switch that makes a task drop, unfinished, the future it awaits
/// through [`Abort::run`]: stage 5's cancellation, in miniature. Clones are
/// the same switch.
#[derive(Clone, Default)]
pub(crate) struct Abort {
    aborted: Rc<Cell<bool>>,
    waker: Rc<RefCell<Option<Waker>>>,
}

impl Abort {
    /// Throw the switch: the task's next step drops the future.
    pub(crate) fn abort(&self) {
        self.aborted.set(true);
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }

    /// Await `future`, or, once the switch is thrown, drop it and evaluate
    /// to `None`.
    pub(crate) async fn run<F: std::future::Future>(&self, future: F) -> Option<F::Output> {
        let mut future = pin!(future);
        std::future::poll_fn(|cx| {
            if self.aborted.get() {
                return Poll::Ready(None);
            }
            *self.waker.borrow_mut() = Some(cx.waker().clone());
            future.as_mut().poll(cx).map(Some)
        })
        .await
    }
}
