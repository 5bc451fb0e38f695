//! Sleeping, built from a bare future and a timer.
//!
//! Mirrors `sleep` and `__sleep0` in CPython's `asyncio/tasks.py`:
//! `sleep(0)` yields to the loop exactly once; any longer sleep is a future
//! that `call_later` finishes, and the timer is cancelled if the sleeper
//! stops waiting first.

use std::future::IntoFuture;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use stage02_timed_events::seconds::Delay;
use stage02_timed_events::{AbstractEventLoop, LoopError, TimerHandle, get_running_loop};
use stage03_read_readiness::SelectorEventLoop;

use crate::futures::Future;
use crate::monitor::{self, Noted};

// ANCHOR: sleep
/// asyncio's `await sleep(delay, result)`: wait `delay` (float seconds or a
/// `Duration`; zero or negative yields once; past what the clock counts,
/// for ever), then evaluate to `result`.
///
/// # Panics
/// For a delay of NaN seconds, or outside a running loop: in a task, the
/// task ends with that panic as its exception.
#[track_caller]
pub fn sleep<T>(delay: impl Delay, result: T) -> impl std::future::Future<Output = T> {
    // Where the sleep was called, for the task table: the call, since an
    // `async fn` cannot say where it was called from.
    let at = Location::caller();
    sleep_noted(delay, result, at)
}

async fn sleep_noted<T>(delay: impl Delay, result: T, at: &'static Location<'static>) -> T {
    let nanos = delay
        .to_nanos()
        .expect("sleep(NaN): a delay of NaN seconds means nothing");
    if nanos <= 0 {
        let awaiting = "sleep";
        Noted {
            inner: yield_now(),
            awaiting,
            at,
        }
        .await;
        return result;
    }
    let event_loop =
        get_running_loop::<SelectorEventLoop>().expect("sleep() outside a running loop");
    let delay = Duration::from_nanos(nanos.unsigned_abs());
    let (future, _timer) = timer_future(&event_loop, delay).expect("a running loop is open");
    let awaiting = "sleep";
    let _ = Noted {
        inner: future.into_future(),
        awaiting,
        at,
    }
    .await;
    result
}
// ANCHOR_END: sleep

/// A future that a timer finishes after `delay`, and the timer, which is
/// cancelled when the guard handed back goes: a sleeper dropped early
/// takes its timer with it, as asyncio's `sleep` does in `finally:
/// h.cancel()`. A future cancelled first stays cancelled (asyncio's
/// `_set_result_unless_cancelled`).
pub fn timer_future(
    event_loop: &SelectorEventLoop,
    delay: Duration,
) -> Result<(Future<()>, impl Drop + use<>), LoopError> {
    let future = Future::new(event_loop);
    let done = future.clone();
    let timer = event_loop.call_later(delay, move |_| {
        let _ = done.set_result(());
    })?;
    Ok((future, CancelOnDrop(timer)))
}

/// Cancels its timer when dropped.
struct CancelOnDrop<H: TimerHandle>(H);

impl<H: TimerHandle> Drop for CancelOnDrop<H> {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

// ANCHOR: yield_now
/// asyncio's `__sleep0`, a bare `yield`: answer `Pending` once, having woken
/// the task first, so that its next step is queued behind everything already
/// ready. The loop runs one iteration in between.
#[track_caller]
pub fn yield_now() -> YieldNow {
    YieldNow {
        yielded: false,
        at: Location::caller(),
    }
}

/// The future of [`yield_now`].
pub struct YieldNow {
    yielded: bool,
    /// Where it was called, for the task table.
    at: &'static Location<'static>,
}

impl std::future::Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        monitor::note("yield", self.at);
        Poll::Pending
    }
}
// ANCHOR_END: yield_now
