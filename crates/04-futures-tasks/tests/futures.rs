//! Futures on their own, on a virtual clock: done-callbacks run through the
//! loop in the order added and never inline; results, exceptions,
//! cancellation, and the invalid states.

use std::fmt;
use std::future::IntoFuture;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use demo_support::Transcript;
use futures_task::ArcWake;
use stage01_generator_loop::VirtualClock;
use stage02_timed_events::AbstractEventLoop;
use stage03_read_readiness::{PollSelector, SelectorEventLoop, SelectorEvents};
use stage04_futures_tasks::{Future, FutureError};

fn new_loop() -> SelectorEventLoop {
    SelectorEventLoop::with_selector(VirtualClock::new(), PollSelector::new()).unwrap()
}

/// A callback that logs `name` and what the future holds.
fn logs(out: &Transcript, name: &str) -> impl FnOnce(&SelectorEventLoop, &Future<i32>) + 'static {
    let (out, name) = (out.clone(), name.to_string());
    move |_, future| out.say(format!("{name}: {:?}", future.result()))
}

#[derive(Debug)]
struct Broken;

impl fmt::Display for Broken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "broken")
    }
}

impl std::error::Error for Broken {}

#[test]
fn done_callbacks_run_through_the_loop_in_the_order_added_never_inline() {
    let event_loop = new_loop();
    let future = Future::new(&event_loop);
    let out = Transcript::new();
    for name in ["a", "b", "c"] {
        future.add_done_callback(logs(&out, name));
    }
    future.set_result(7).unwrap();
    assert!(out.lines().is_empty(), "set_result ran a callback inline");
    event_loop.run_once().unwrap();
    assert_eq!(out.lines(), ["a: Ok(7)", "b: Ok(7)", "c: Ok(7)"]);

    // Added once it is done: still not inline, still through the loop.
    future.add_done_callback(logs(&out, "late"));
    assert_eq!(out.lines().len(), 3);
    event_loop.run_once().unwrap();
    assert_eq!(out.lines()[3], "late: Ok(7)");
}

#[test]
fn a_removed_callback_does_not_run() {
    let event_loop = new_loop();
    let future = Future::new(&event_loop);
    let out = Transcript::new();
    let first = future.add_done_callback(logs(&out, "first"));
    future.add_done_callback(logs(&out, "second"));
    assert!(future.remove_done_callback(first));
    assert!(!future.remove_done_callback(first), "only once");
    future.set_result(1).unwrap();
    event_loop.run_once().unwrap();
    assert_eq!(out.lines(), ["second: Ok(1)"]);
}

#[test]
fn a_pending_future_has_no_result_and_a_done_one_cannot_be_done_again() {
    let event_loop = new_loop();
    let future: Future<i32> = Future::new(&event_loop);
    assert!(!future.done());
    assert!(matches!(future.result(), Err(FutureError::InvalidState(_))));
    assert!(matches!(
        future.exception(),
        Err(FutureError::InvalidState(_))
    ));

    future.set_result(3).unwrap();
    assert!(future.done() && !future.cancelled());
    assert!(matches!(future.result(), Ok(3)));
    assert!(matches!(future.exception(), Ok(None)));
    assert!(matches!(
        future.set_result(4),
        Err(FutureError::InvalidState(_))
    ));
    assert!(matches!(
        future.set_exception(Broken),
        Err(FutureError::InvalidState(_))
    ));
    assert!(!future.cancel(), "a done future cannot be cancelled");
    assert!(matches!(future.result(), Ok(3)), "and keeps its result");
}

#[test]
fn an_exception_or_a_cancellation_is_what_the_future_holds() {
    let event_loop = new_loop();
    let failed: Future<i32> = Future::new(&event_loop);
    failed.set_exception(Broken).unwrap();
    assert!(matches!(failed.result(), Err(FutureError::Exception(e)) if e.to_string() == "broken"));
    assert_eq!(failed.exception().unwrap().unwrap().to_string(), "broken");

    let cancelled: Future<i32> = Future::new(&event_loop);
    assert!(cancelled.cancel());
    assert!(cancelled.done() && cancelled.cancelled());
    assert!(matches!(cancelled.result(), Err(FutureError::Cancelled)));
    assert!(matches!(cancelled.exception(), Err(FutureError::Cancelled)));
    assert_eq!(FutureError::Cancelled.to_string(), "cancelled");
}

/// A waker that counts its wakes.
struct Counting(AtomicUsize);

impl ArcWake for Counting {
    fn wake_by_ref(counting: &Arc<Self>) {
        counting.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// An awaiter dropped while it waits takes its waker back: finishing the
/// future later wakes nobody (stage 5 cancels a task by dropping what it
/// awaits). Kept, the same awaiter is woken once.
#[test]
fn an_awaiter_dropped_while_it_waits_takes_its_waker_back() {
    let event_loop = new_loop();
    for keep in [false, true] {
        let future: Future<u8> = Future::new(&event_loop);
        let counting = Arc::new(Counting(AtomicUsize::new(0)));
        let waker = futures_task::waker(Arc::clone(&counting));
        let mut awaiting = Box::pin(future.clone().into_future());
        let first = awaiting.as_mut().poll(&mut Context::from_waker(&waker));
        assert!(matches!(first, Poll::Pending));
        if !keep {
            drop(awaiting);
        }
        future.set_result(7).unwrap();
        assert_eq!(
            counting.0.load(Ordering::Relaxed),
            usize::from(keep),
            "kept: {keep}"
        );
    }
}
