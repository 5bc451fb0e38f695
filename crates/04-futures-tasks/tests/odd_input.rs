//! Futures and tasks used in ways they were not meant for: each gets a clear
//! error or follows a rule the chapter states.

use std::cell::{Cell, RefCell};
use std::future::IntoFuture;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use demo_support::Transcript;
use stage01_generator_loop::VirtualClock;
use stage02_timed_events::{AbstractEventLoop, CallbackPanic};
use stage03_read_readiness::{PollSelector, SelectorEventLoop, SelectorEvents};
use stage04_futures_tasks::{
    Future, FutureError, all_tasks, create_task, run_until_complete, sleep,
};

fn new_loop() -> SelectorEventLoop {
    SelectorEventLoop::with_selector(VirtualClock::new(), PollSelector::new()).unwrap()
}

/// A waker that counts its wakes: a stand-in for another executor's.
struct Counter(AtomicUsize);

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn a_future_awaited_outside_any_task_wakes_whatever_waker_polled_it() {
    // Awaiting needs a waker, not a task: another executor's will do. But
    // only the loop finishes what it schedules, so the loop must run.
    let event_loop = new_loop();
    let future: Future<u8> = Future::new(&event_loop);
    let counter = Arc::new(Counter(AtomicUsize::new(0)));
    let waker = Waker::from(Arc::clone(&counter));
    let mut awaiting = future.clone().into_future();
    let mut cx = Context::from_waker(&waker);
    assert!(Pin::new(&mut awaiting).poll(&mut cx).is_pending());
    future.set_result(5).unwrap();
    assert_eq!(counter.0.load(Ordering::Relaxed), 1);
    assert!(matches!(
        Pin::new(&mut awaiting).poll(&mut cx),
        Poll::Ready(Ok(5))
    ));
}

#[test]
fn a_done_callback_that_panics_is_reported_and_the_others_run() {
    let event_loop = new_loop();
    let reports: Rc<RefCell<Vec<CallbackPanic>>> = Rc::default();
    let sink = Rc::clone(&reports);
    event_loop.set_exception_handler(move |_, report| sink.borrow_mut().push(report.clone()));
    let future: Future<u8> = Future::new(&event_loop);
    let out = Transcript::new();
    future.add_done_callback(|_, _| panic!("callback broke"));
    let log = out.clone();
    future.add_done_callback(move |_, future| log.say(format!("{:?}", future.result())));
    future.set_result(1).unwrap();
    event_loop.run_once().unwrap();
    assert_eq!(out.lines(), ["Ok(1)"]);
    assert_eq!(reports.borrow()[0].message, "callback broke");
}

#[test]
fn a_future_of_another_loop_is_refused_by_the_awaiting_task() {
    let (event_loop, other) = (new_loop(), new_loop());
    let foreign: Future<u8> = Future::new(&other);
    let outcome = run_until_complete(&event_loop, foreign).unwrap();
    assert!(matches!(outcome, Err(FutureError::InvalidState(why)) if why.contains("another loop")));
}

#[test]
fn ten_thousand_tasks_awaiting_one_future_wake_in_the_order_they_awaited() {
    let event_loop = new_loop();
    let future: Future<u32> = Future::new(&event_loop);
    let order = Rc::new(RefCell::new(Vec::new()));
    for n in 0..10_000 {
        let (future, order) = (future.clone(), Rc::clone(&order));
        create_task(&event_loop, async move {
            future.await.unwrap();
            order.borrow_mut().push(n);
        })
        .unwrap();
    }
    let setter = future.clone();
    event_loop
        .call_later(1.0, move |_| setter.set_result(0).unwrap())
        .unwrap();
    run_until_complete(&event_loop, sleep(2.0, ())).unwrap();
    assert_eq!(*order.borrow(), (0..10_000).collect::<Vec<_>>());
    assert!(all_tasks(&event_loop).is_empty());
}

#[test]
fn a_coroutine_pending_without_a_wake_up_sleeps_for_ever() {
    // It answered `Pending` and left its waker nowhere: nothing will ever
    // step it again. The task stays pending (and listed) until the loop is
    // closed; the debug mode of the next part of this stage reports it.
    let event_loop = new_loop();
    let polls = Rc::new(Cell::new(0));
    let counted = Rc::clone(&polls);
    let stuck = create_task(
        &event_loop,
        std::future::poll_fn(move |_| {
            counted.set(counted.get() + 1);
            Poll::<()>::Pending
        }),
    )
    .unwrap();
    run_until_complete(&event_loop, sleep(5.0, ())).unwrap();
    assert_eq!(polls.get(), 1);
    assert!(!stuck.done());
    assert_eq!(all_tasks(&event_loop).len(), 1);
}
