//! Sleeping and yielding, where a cancellation can land.
//!
//! Mirrors `sleep` and `__sleep0` in CPython's `asyncio/tasks.py`, as
//! stage 4 does, but each answers `Result`: `Err(Cancelled)` when the task
//! is cancelled while it waits here. A sleep waits on a future that a timer
//! finishes (stage 4's `timer_future`), so a cancel reaches it through that
//! future; a bare yield waits on nothing, so it takes the cancellation the
//! task's next step hands it.

use std::future::IntoFuture;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use stage02_timed_events::get_running_loop;
use stage02_timed_events::seconds::Delay;
use stage03_read_readiness::SelectorEventLoop;
use stage04_futures_tasks::FutureError;
use stage04_futures_tasks::monitor::{self, Noted};
use stage04_futures_tasks::sleep::timer_future;

// ANCHOR: sleep
/// asyncio's `await sleep(delay, result)`: `result` after `delay` seconds
/// (zero or less: after one yield), or `Err(Cancelled)` if the task is
/// cancelled first; the timer goes with the sleep.
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
        let delay = Duration::from_nanos(nanos.unsigned_abs());
        let (future, _timer) = timer_future(&event_loop, delay).expect("a running loop is open");
        let awaiting = "sleep";
        let inner = future.into_future();
        Noted {
            inner,
            awaiting,
            at,
        }
        .await
        .map(|()| result)
    }
}
// ANCHOR_END: sleep

/// `sleep(0)`: one yield, shown in the task table as a sleep.
pub(crate) fn sleep_zero(
    at: &'static Location<'static>,
) -> impl std::future::Future<Output = Result<(), FutureError>> {
    let awaiting = "sleep";
    Noted {
        inner: yield_now(),
        awaiting,
        at,
    }
}

// ANCHOR: yield_now
/// asyncio's `__sleep0`: give the loop one turn (stage 4's yield), or take
/// the cancellation the task's step hands over.
#[track_caller]
pub fn yield_now() -> YieldNow {
    YieldNow(stage04_futures_tasks::yield_now())
}

/// The future of [`yield_now`].
pub struct YieldNow(stage04_futures_tasks::sleep::YieldNow);

impl std::future::Future for YieldNow {
    type Output = Result<(), FutureError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if monitor::take_cancellation() {
            return Poll::Ready(Err(FutureError::Cancelled));
        }
        Pin::new(&mut self.0).poll(cx).map(Ok)
    }
}
// ANCHOR_END: yield_now
