//! Waiting for several at once, on a virtual clock: `gather` (values in
//! argument order, the first error at once, the others going on), `wait`
//! with each `return_when` and a timeout, and `as_completed`.

use std::fmt;
use std::rc::Rc;

use stage01_generator_loop::VirtualClock;
use stage02_timed_events::AbstractEventLoop;
use stage03_read_readiness::{PollSelector, SelectorEventLoop, SelectorEvents};
use stage04_futures_tasks::{
    Future, FutureError, ReturnWhen, Task, as_completed, create_task, gather,
    gather_return_exceptions, run_until_complete, sleep, wait,
};

fn new_loop() -> SelectorEventLoop {
    SelectorEventLoop::with_selector(VirtualClock::new(), PollSelector::new()).unwrap()
}

#[derive(Debug)]
struct Failed(&'static str);

impl fmt::Display for Failed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed", self.0)
    }
}

impl std::error::Error for Failed {}

/// A task that sleeps `seconds` and then gives `value`.
fn after<T: Clone + 'static>(event_loop: &SelectorEventLoop, seconds: f64, value: T) -> Task<T> {
    create_task(event_loop, sleep(seconds, value)).unwrap()
}

/// A future that a timer fails after `seconds`.
fn fails_after(event_loop: &SelectorEventLoop, seconds: f64, name: &'static str) -> Future<i32> {
    let future = Future::new(event_loop);
    let failing = future.clone();
    event_loop
        .call_later(seconds, move |_| {
            failing.set_exception(Failed(name)).unwrap()
        })
        .unwrap();
    future
}

#[test]
fn gather_gives_values_of_different_types_in_argument_order() {
    let event_loop = new_loop();
    let (slow, fast) = (after(&event_loop, 3.0, 1), after(&event_loop, 1.0, "x"));
    let set_later: Future<bool> = Future::new(&event_loop);
    let setter = set_later.clone();
    event_loop
        .call_later(2.0, move |_| setter.set_result(true).unwrap())
        .unwrap();
    let values = run_until_complete(&event_loop, gather((slow, fast, set_later))).unwrap();
    assert_eq!(values.unwrap(), (1, "x", true));
    assert_eq!(event_loop.time(), 3.0, "as long as the slowest");

    let many: Vec<Task<u32>> = (1..=4)
        .map(|n| after(&event_loop, f64::from(5 - n), n))
        .collect();
    let values = run_until_complete(&event_loop, gather(many)).unwrap();
    assert_eq!(
        values.unwrap(),
        [1, 2, 3, 4],
        "argument order, not finishing order"
    );
    let nothing: Vec<Task<u32>> = Vec::new();
    assert_eq!(
        run_until_complete(&event_loop, gather(nothing))
            .unwrap()
            .unwrap(),
        []
    );
}

#[test]
fn the_first_error_reaches_the_gatherer_at_once_and_the_others_go_on() {
    let event_loop = new_loop();
    let slow = after(&event_loop, 2.0, 7);
    let failing = fails_after(&event_loop, 1.0, "the fast one");
    let awaited = slow.clone();
    let outcome = run_until_complete(&event_loop, gather((awaited, failing))).unwrap();
    assert!(
        matches!(&outcome, Err(FutureError::Exception(e)) if e.to_string() == "the fast one failed")
    );
    assert_eq!(event_loop.time(), 1.0, "at once, not when all are done");
    assert!(!slow.done(), "the other was not cancelled");
    run_until_complete(&event_loop, sleep(2.0, ())).unwrap();
    assert_eq!(slow.result().unwrap(), 7);
}

#[test]
fn return_exceptions_gives_every_outcome() {
    let event_loop = new_loop();
    let ok = after(&event_loop, 2.0, 7);
    let failing = fails_after(&event_loop, 1.0, "one");
    let (first, second) =
        run_until_complete(&event_loop, gather_return_exceptions((ok, failing))).unwrap();
    assert_eq!(first.unwrap(), 7);
    assert_eq!(second.unwrap_err().to_string(), "one failed");
    assert_eq!(event_loop.time(), 2.0, "it waited for every one");
}

#[test]
fn wait_returns_when_asked_and_splits_done_from_pending() {
    let event_loop = new_loop();
    let tasks = || {
        vec![
            after(&event_loop, 3.0, 3),
            after(&event_loop, 1.0, 1),
            after(&event_loop, 2.0, 2),
        ]
    };
    let names = |tasks: &[Task<i32>]| -> Vec<i32> {
        tasks.iter().map(|t| t.result().unwrap_or(-1)).collect()
    };

    let start = event_loop.time();
    let (done, pending) =
        run_until_complete(&event_loop, wait(tasks(), None, ReturnWhen::FirstCompleted)).unwrap();
    assert_eq!((names(&done), pending.len()), (vec![1], 2));
    assert_eq!(event_loop.time() - start, 1.0);

    let start = event_loop.time();
    let (done, pending) =
        run_until_complete(&event_loop, wait(tasks(), None, ReturnWhen::AllCompleted)).unwrap();
    assert_eq!((names(&done), pending.len()), (vec![3, 1, 2], 0));
    assert_eq!(event_loop.time() - start, 3.0);

    let start = event_loop.time();
    let (done, pending) = run_until_complete(
        &event_loop,
        wait(tasks(), Some(1.5), ReturnWhen::AllCompleted),
    )
    .unwrap();
    assert_eq!(
        (names(&done), pending.len()),
        (vec![1], 2),
        "the timeout came first"
    );
    assert_eq!(event_loop.time() - start, 1.5);
}

#[test]
fn wait_for_the_first_exception_returns_at_it() {
    let event_loop = new_loop();
    let futures = vec![
        fails_after(&event_loop, 2.0, "second"),
        create_task(&event_loop, sleep(5.0, 5))
            .unwrap()
            .as_future()
            .clone(),
        fails_after(&event_loop, 3.0, "third"),
    ];
    let (done, pending) =
        run_until_complete(&event_loop, wait(futures, None, ReturnWhen::FirstException)).unwrap();
    assert_eq!((done.len(), pending.len()), (1, 2));
    assert_eq!(
        done[0].exception().unwrap().unwrap().to_string(),
        "second failed"
    );
    assert_eq!(event_loop.time(), 2.0);
}

#[test]
fn as_completed_gives_the_outcomes_in_the_order_they_finish() {
    let event_loop = new_loop();
    let tasks = vec![
        after(&event_loop, 3.0, "three"),
        after(&event_loop, 1.0, "one"),
        after(&event_loop, 2.0, "two"),
    ];
    let seen = Rc::new(std::cell::RefCell::new(Vec::new()));
    let (log, clock_loop) = (Rc::clone(&seen), event_loop.clone());
    run_until_complete(&event_loop, async move {
        let mut finishing = as_completed(tasks);
        while let Some(outcome) = finishing.next().await {
            log.borrow_mut()
                .push(format!("{} at {}", outcome.unwrap(), clock_loop.time()));
        }
    })
    .unwrap();
    assert_eq!(*seen.borrow(), ["one at 1", "two at 2", "three at 3"]);
}
