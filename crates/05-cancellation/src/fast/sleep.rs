//! A sleep that is only a timer.
//!
//! Mirrors `sleep` in CPython's `asyncio/tasks.py`, as the textbook
//! [`sleep`](crate::sleep::sleep) does, without the future in between. The
//! textbook sleep awaits a future that a timer finishes: the future, the
//! list of its awaiters, and the timer, three allocations, and a cancel
//! reaches the sleep by cancelling that future. Here the timer's callback
//! wakes the task itself, and the sleep is over once its timer has run. A
//! cancellation reaches it as it reaches a bare yield: `Task::cancel` finds
//! no future to cancel, wakes the task, and its next step hands the
//! cancellation to the sleep, which takes it before it looks at its timer.

use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use stage02_timed_events::seconds::Delay;
use stage02_timed_events::{AbstractEventLoop, get_running_loop};
use stage03_read_readiness::SelectorEventLoop;
use stage04_futures_tasks::FutureError;
use stage04_futures_tasks::futures::future_done_mark;
use stage04_futures_tasks::monitor::{self, Noted};

use crate::sleep::sleep_zero;

/// The loop's timer handle.
type Handle = <SelectorEventLoop as AbstractEventLoop>::Handle;

/// asyncio's `await sleep(delay, result)`, fast: as the textbook
/// [`sleep`](crate::sleep::sleep), on a timer that wakes the task.
///
/// # Panics
/// For a delay of NaN seconds, or outside a running loop.
#[track_caller]
pub fn sleep<T>(
    delay: impl Delay,
    result: T,
) -> impl std::future::Future<Output = Result<T, FutureError>> {
    let at = Location::caller();
    async move {
        let nanos = delay
            .to_nanos()
            .expect("sleep(NaN): a delay of NaN seconds means nothing");
        if nanos <= 0 {
            return sleep_zero(at).await.map(|()| result);
        }
        let event_loop =
            get_running_loop::<SelectorEventLoop>().expect("sleep() outside a running loop");
        let timer = Timer {
            event_loop,
            delay: Duration::from_nanos(nanos.unsigned_abs()),
            handle: None,
        };
        let awaiting = "sleep";
        Noted {
            inner: timer,
            awaiting,
            at,
        }
        .await
        .map(|()| result)
    }
}

/// A timer set at the first poll, whose callback wakes the task.
struct Timer {
    event_loop: SelectorEventLoop,
    delay: Duration,
    /// `None` until the first poll.
    handle: Option<Handle>,
}

// ANCHOR: timer
impl std::future::Future for Timer {
    type Output = Result<(), FutureError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // The timeline marks the sleep's end as the textbook's marks its
        // future's: this sleep is the future asyncio would make.
        if monitor::take_cancellation() {
            self.event_loop.record(future_done_mark);
            return Poll::Ready(Err(FutureError::Cancelled)); // the timer goes with it
        }
        match &self.handle {
            Some(handle) if handle.has_run() => Poll::Ready(Ok(())),
            Some(_) => Poll::Pending,
            None => {
                let waker = cx.waker().clone();
                let handle = self
                    .event_loop
                    .call_later(self.delay, move |event_loop| {
                        event_loop.record(future_done_mark);
                        waker.wake();
                    })
                    .expect("a running loop is open");
                self.handle = Some(handle);
                Poll::Pending
            }
        }
    }
}

/// A sleeper dropped early takes its timer with it, as asyncio's `sleep`
/// does in `finally: h.cancel()`.
impl Drop for Timer {
    fn drop(&mut self) {
        if let Some(handle) = &self.handle {
            handle.cancel();
        }
    }
}
// ANCHOR_END: timer
