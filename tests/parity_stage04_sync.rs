//! Stage 4 against CPython: `gather`, the locks and the queue on our
//! `SelectorEventLoop` and on the real asyncio loop, both on a virtual clock
//! (tests/parity/stage04_sync.py), section by section, line by line,
//! iteration numbers included: `gather`'s order, its first error and
//! `return_exceptions`; `Event`; `Lock` (first come first served, no
//! barging); `Semaphore` and `BoundedSemaphore`; `Queue` (putters, getters,
//! a newcomer barging past a woken getter, `task_done` and `join`); and the
//! calls these primitives refuse.
//!
//! Where the two print different things on purpose, both print a normalised
//! line: a gather's error as its message (asyncio's `ValueError`, our
//! `Failed`), a refused call as the class of asyncio's exception (for our
//! typed error, see [`AsyncioClass`]), and a primitive's `repr` cut down to
//! its state in brackets, `[locked, waiters:1]` (asyncio's names its module
//! and address too).

mod common;

use std::error::Error;
use std::fmt;

use demo_support::Transcript;
use stage02_timed_events::AbstractEventLoop;
use stage03_read_readiness::SelectorEventLoop;
use stage04_futures_tasks::{
    BoundedSemaphore, Condition, Event, Future, FutureError, Lock, NotAcquired, Queue, QueueEmpty,
    QueueFull, ReleasedTooManyTimes, Semaphore, Task, TaskDoneTooManyTimes, create_task, gather,
    gather_return_exceptions, run_until_complete, sleep,
};

use common::stage04::{new_case, py_bool, run_case, stamp_iteration};

/// The script our loop is compared with.
const SCRIPT: &str = "stage04_sync.py";

/// Every section the Python script prints, each compared by one test below.
const SECTIONS: [&str; 14] = [
    "gather_gives_results_in_argument_order",
    "gather_first_error_at_once_others_go_on",
    "gather_return_exceptions_gives_every_outcome",
    "event_set_wakes_every_waiter_in_order",
    "event_wait_when_set_does_not_wait",
    "lock_serves_waiters_in_order",
    "lock_no_barging",
    "semaphore_two_in_others_wait_in_order",
    "bounded_semaphore_refuses_to_go_over_its_value",
    "queue_putters_wait_while_full_in_order",
    "queue_getters_wait_while_empty_in_order",
    "queue_get_nowait_can_take_the_item_from_a_woken_getter",
    "queue_join_waits_for_every_task_done",
    "invalid_calls",
];

/// The script prints exactly the sections the tests below compare: a
/// section that no test compares would check nothing.
#[test]
fn python_prints_exactly_the_sections_compared_here() {
    common::assert_prints_sections(SCRIPT, &SECTIONS);
}

/// The Python script's `state`: the bracketed state at the end of a
/// primitive's `repr`, `[unlocked, waiters:1]`.
fn state(primitive: &impl fmt::Debug) -> String {
    let repr = format!("{primitive:?}");
    let start = repr.find('[').expect("a state in brackets");
    repr[start..].trim_end_matches('>').to_string()
}

/// The class of the exception asyncio raises where we answer this error.
trait AsyncioClass {
    const CLASS: &'static str;
}

impl AsyncioClass for NotAcquired {
    const CLASS: &'static str = "RuntimeError";
}

impl AsyncioClass for ReleasedTooManyTimes {
    const CLASS: &'static str = "ValueError";
}

impl AsyncioClass for TaskDoneTooManyTimes {
    const CLASS: &'static str = "ValueError";
}

impl<T> AsyncioClass for QueueFull<T> {
    const CLASS: &'static str = "QueueFull";
}

impl AsyncioClass for QueueEmpty {
    const CLASS: &'static str = "QueueEmpty";
}

/// The Python script's `outcome`: `ok`, or the class of asyncio's
/// exception.
fn outcome<T, E: AsyncioClass>(result: Result<T, E>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(_) => E::CLASS,
    }
}

/// [`outcome`], for a wait that answers a `FutureError`: the class of the
/// typed error it carries as its exception.
fn raised(result: Result<(), FutureError>) -> &'static str {
    match result {
        Ok(()) => "ok",
        Err(FutureError::Exception(error)) if error.is::<NotAcquired>() => NotAcquired::CLASS,
        Err(_) => "another error",
    }
}

/// The error a timer fails a future with: Python's `ValueError(f"{name}
/// failed")`, with the same message.
#[derive(Debug)]
struct Failed(&'static str);

impl fmt::Display for Failed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed", self.0)
    }
}

impl Error for Failed {}

/// The message of a future's error, as Python's `str(error)`.
fn message(error: &FutureError) -> String {
    match error {
        FutureError::Exception(error) => error.to_string(),
        other => panic!("expected an exception, got {other:?}"),
    }
}

/// The Python script's `job`: sleep `delay` seconds, say so, give `name`.
async fn job(
    event_loop: SelectorEventLoop,
    out: Transcript,
    name: &'static str,
    delay: f64,
) -> &'static str {
    sleep(delay, ()).await;
    stamp_iteration(&out, &event_loop, &format!("{name}: finished"));
    name
}

/// The Python script's `fails_at`: a future that a timer fails after
/// `delay` seconds.
fn fails_at(
    event_loop: &SelectorEventLoop,
    out: &Transcript,
    delay: f64,
    name: &'static str,
) -> Future<&'static str> {
    let future = Future::new(event_loop);
    let (failing, out) = (future.clone(), out.clone());
    let fail = move |event_loop: &SelectorEventLoop| {
        stamp_iteration(&out, event_loop, &format!("timer: {name} fails"));
        failing.set_exception(Failed(name)).expect("pending");
    };
    event_loop.call_later(delay, fail).unwrap();
    future
}

/// Three tasks that finish in the order b, c, a: `gather` waits for the
/// last, and gives their values in argument order, two iterations after the
/// last one finished (its done-callback, then the gatherer's wake-up).
#[test]
fn gather_gives_results_in_argument_order_whatever_order_they_finish_in() {
    let (event_loop, out) = new_case();
    let main = {
        let (event_loop, out) = (event_loop.clone(), out.clone());
        async move {
            let tasks: Vec<Task<&str>> = [("a", 0.3), ("b", 0.1), ("c", 0.2)]
                .into_iter()
                .map(|(name, delay)| {
                    let job = job(event_loop.clone(), out.clone(), name, delay);
                    create_task(&event_loop, job).unwrap()
                })
                .collect();
            stamp_iteration(&out, &event_loop, "main: gather(a, b, c)");
            let values = gather(tasks).await.expect("no error");
            let text = format!("main: gather gave {}", values.join(", "));
            stamp_iteration(&out, &event_loop, &text);
        }
    };
    run_case(
        SCRIPT,
        "gather_gives_results_in_argument_order",
        &event_loop,
        &out,
        main,
    );
}

/// The first error to happen (not the first in argument order) reaches the
/// gatherer at once, two iterations after the timer that set it; the other
/// awaitables are not cancelled: `late` still fails and `a` still finishes,
/// with nobody waiting for them.
#[test]
fn gathers_first_error_reaches_it_at_once_and_the_others_go_on() {
    let (event_loop, out) = new_case();
    let main = {
        let (event_loop, out) = (event_loop.clone(), out.clone());
        async move {
            let a = create_task(&event_loop, job(event_loop.clone(), out.clone(), "a", 2.0));
            let late = fails_at(&event_loop, &out, 1.5, "late");
            let early = fails_at(&event_loop, &out, 1.0, "early");
            let c = create_task(&event_loop, job(event_loop.clone(), out.clone(), "c", 0.5));
            let (a, c) = (a.unwrap(), c.unwrap());
            stamp_iteration(&out, &event_loop, "main: gather(a, late, early, c)");
            let gathered = (a.clone(), late.clone(), early.clone(), c.clone());
            let error = gather(gathered).await.expect_err("early fails");
            let text = format!("main: gather raised: {}", message(&error));
            stamp_iteration(&out, &event_loop, &text);
            out.say(format!(
                "done: a {}, late {}, early {}, c {}",
                py_bool(a.done()),
                py_bool(late.done()),
                py_bool(early.done()),
                py_bool(c.done())
            ));
            sleep(1.5, ()).await;
            let late_error = late.exception().expect("done").expect("failed");
            let a_value = a.result().expect("a finished");
            let text = format!("main: a gave {a_value}; late: {late_error}");
            stamp_iteration(&out, &event_loop, &text);
        }
    };
    run_case(
        SCRIPT,
        "gather_first_error_at_once_others_go_on",
        &event_loop,
        &out,
        main,
    );
}

/// `gather_return_exceptions` (asyncio's `return_exceptions=True`) waits for
/// every one, failures included, and gives every outcome in argument order.
#[test]
fn gather_return_exceptions_gives_every_outcome_in_argument_order() {
    /// Python's line for one outcome: the value, or `error: ` and the
    /// message.
    fn shown(outcome: Result<&str, FutureError>) -> String {
        outcome.map_or_else(
            |error| format!("error: {}", message(&error)),
            str::to_string,
        )
    }

    let (event_loop, out) = new_case();
    let main = {
        let (event_loop, out) = (event_loop.clone(), out.clone());
        async move {
            let a = create_task(&event_loop, job(event_loop.clone(), out.clone(), "a", 0.3));
            let early = fails_at(&event_loop, &out, 0.1, "early");
            let c = create_task(&event_loop, job(event_loop.clone(), out.clone(), "c", 0.2));
            let late = fails_at(&event_loop, &out, 0.4, "late");
            let text = "main: gather(a, early, c, late, return_exceptions=True)";
            stamp_iteration(&out, &event_loop, text);
            let gathered = (a.unwrap(), early, c.unwrap(), late);
            let (a, early, c, late) = gather_return_exceptions(gathered).await;
            let shown = [shown(a), shown(early), shown(c), shown(late)];
            let text = format!("main: gather gave {}", shown.join(", "));
            stamp_iteration(&out, &event_loop, &text);
        }
    };
    run_case(
        SCRIPT,
        "gather_return_exceptions_gives_every_outcome",
        &event_loop,
        &out,
        main,
    );
}

/// Three tasks wait on an event in the order c, a, b (not the order
/// created); `set` wakes them all, and they run in the next iteration in the
/// order they waited, before the setter's own `sleep(0)` ends. Cleared
/// before they run, the event still lets them return.
#[test]
fn event_set_wakes_every_waiter_in_the_order_they_waited() {
    let (event_loop, out) = new_case();
    let event = Event::new();
    let main = {
        let (event_loop, out, event) = (event_loop.clone(), out.clone(), event.clone());
        async move {
            for (name, delay) in [("a", 0.2), ("b", 0.3), ("c", 0.1)] {
                let (inner_loop, out, event) = (event_loop.clone(), out.clone(), event.clone());
                let waiter = async move {
                    sleep(delay, ()).await;
                    stamp_iteration(&out, &inner_loop, &format!("{name}: wait"));
                    event.wait().await.unwrap();
                    let is_set = py_bool(event.is_set());
                    let text = format!("{name}: woke; is_set {is_set}");
                    stamp_iteration(&out, &inner_loop, &text);
                };
                create_task(&event_loop, waiter).unwrap();
            }
            sleep(1.0, ()).await;
            let text = format!("main: set {}", state(&event));
            stamp_iteration(&out, &event_loop, &text);
            event.set();
            event.clear();
            let text = format!("main: cleared {}", state(&event));
            stamp_iteration(&out, &event_loop, &text);
            sleep(0.0, ()).await;
            let text = format!("main: resumed {}", state(&event));
            stamp_iteration(&out, &event_loop, &text);
        }
    };
    run_case(
        SCRIPT,
        "event_set_wakes_every_waiter_in_order",
        &event_loop,
        &out,
        main,
    );
}

/// Waiting on an event that is set returns in the same step: the task
/// never leaves iteration 1.
#[test]
fn waiting_on_a_set_event_does_not_wait() {
    let (event_loop, out) = new_case();
    let main = {
        let (event_loop, out) = (event_loop.clone(), out.clone());
        async move {
            let event = Event::new();
            event.set();
            let text = format!("main: wait on {}", state(&event));
            stamp_iteration(&out, &event_loop, &text);
            event.wait().await.unwrap();
            stamp_iteration(&out, &event_loop, "main: waited");
            event.wait().await.unwrap();
            stamp_iteration(&out, &event_loop, "main: waited again");
        }
    };
    run_case(
        SCRIPT,
        "event_wait_when_set_does_not_wait",
        &event_loop,
        &out,
        main,
    );
}

/// The Python script's `lock_user`: ask for `lock` after `delay` seconds
/// (0: a bare yield first), hold it `hold` seconds.
async fn lock_user(
    event_loop: SelectorEventLoop,
    out: Transcript,
    lock: Lock,
    name: &'static str,
    delay: f64,
    hold: f64,
) {
    sleep(delay, ()).await;
    let text = format!("{name}: acquire {}", state(&lock));
    stamp_iteration(&out, &event_loop, &text);
    let guard = lock.acquire().await.unwrap();
    stamp_iteration(&out, &event_loop, &format!("{name}: holds it"));
    sleep(hold, ()).await;
    stamp_iteration(&out, &event_loop, &format!("{name}: release"));
    drop(guard);
}

/// Four tasks ask for a lock in the order a, c, d, b (not the order
/// created), and get it in that order, each in the iteration after the
/// release before it; the queue of waiters shows in the lock's state.
#[test]
fn a_lock_serves_its_waiters_in_the_order_they_asked() {
    let (event_loop, out) = new_case();
    let main = {
        let (event_loop, out) = (event_loop.clone(), out.clone());
        async move {
            let lock = Lock::new();
            let users = [("a", 0.0), ("b", 0.3), ("c", 0.1), ("d", 0.2)];
            let tasks: Vec<Task<()>> = users
                .into_iter()
                .map(|(name, delay)| {
                    let (inner_loop, out, lock) = (event_loop.clone(), out.clone(), lock.clone());
                    let user = lock_user(inner_loop, out, lock, name, delay, 1.0);
                    create_task(&event_loop, user).unwrap()
                })
                .collect();
            for task in tasks {
                task.await.expect("done");
            }
            let text = format!("main: all done {}", state(&lock));
            stamp_iteration(&out, &event_loop, &text);
        }
    };
    run_case(
        SCRIPT,
        "lock_serves_waiters_in_order",
        &event_loop,
        &out,
        main,
    );
}

/// No barging: `a` creates `x` and then releases the lock, which wakes `w`.
/// `x`'s first step runs before `w`'s wake-up and asks for the lock while it
/// is free, but `w` still waits in the queue: `x` queues behind it, and `w`
/// gets the lock.
#[test]
fn a_woken_waiter_gets_the_lock_even_if_another_task_asks_before_it_runs() {
    let (event_loop, out) = new_case();
    let main = {
        let (event_loop, out) = (event_loop.clone(), out.clone());
        async move {
            let lock = Lock::new();
            let holder = {
                let (event_loop, out, lock) = (event_loop.clone(), out.clone(), lock.clone());
                async move {
                    let guard = lock.acquire().await.unwrap();
                    stamp_iteration(&out, &event_loop, "a: holds it");
                    sleep(1.0, ()).await;
                    let barger = {
                        let (event_loop, out, lock) =
                            (event_loop.clone(), out.clone(), lock.clone());
                        async move {
                            let text = format!("x: acquire {}", state(&lock));
                            stamp_iteration(&out, &event_loop, &text);
                            let _guard = lock.acquire().await.unwrap();
                            stamp_iteration(&out, &event_loop, "x: holds it");
                        }
                    };
                    let x = create_task(&event_loop, barger).unwrap();
                    drop(guard);
                    let text = format!("a: created x, released {}", state(&lock));
                    stamp_iteration(&out, &event_loop, &text);
                    x
                }
            };
            let a = create_task(&event_loop, holder).unwrap();
            let user = lock_user(event_loop.clone(), out.clone(), lock.clone(), "w", 0.5, 1.0);
            let w = create_task(&event_loop, user).unwrap();
            let x = a.await.expect("done");
            w.await.expect("done");
            x.await.expect("done");
            let text = format!("main: all done {}", state(&lock));
            stamp_iteration(&out, &event_loop, &text);
        }
    };
    run_case(SCRIPT, "lock_no_barging", &event_loop, &out, main);
}

/// A semaphore of two: a and b get in at once; d, e and c wait, in the order
/// they asked, and each gets in in the iteration after a unit is released.
#[test]
fn a_semaphore_of_two_lets_two_in_and_the_others_wait_in_the_order_they_asked() {
    let (event_loop, out) = new_case();
    let main = {
        let (event_loop, out) = (event_loop.clone(), out.clone());
        async move {
            let semaphore = Semaphore::new(2);
            let users = [
                ("a", 0.0, 1.0),
                ("b", 0.0, 2.5),
                ("c", 0.3, 1.0),
                ("d", 0.1, 1.0),
                ("e", 0.2, 1.0),
            ];
            let tasks: Vec<Task<()>> = users
                .into_iter()
                .map(|(name, delay, hold)| {
                    let (inner_loop, out) = (event_loop.clone(), out.clone());
                    let semaphore = semaphore.clone();
                    let user = async move {
                        sleep(delay, ()).await;
                        let text = format!("{name}: acquire {}", state(&semaphore));
                        stamp_iteration(&out, &inner_loop, &text);
                        let _unit = semaphore.acquire().await.unwrap();
                        stamp_iteration(&out, &inner_loop, &format!("{name}: in"));
                        sleep(hold, ()).await;
                        stamp_iteration(&out, &inner_loop, &format!("{name}: out"));
                    };
                    create_task(&event_loop, user).unwrap()
                })
                .collect();
            for task in tasks {
                task.await.expect("done");
            }
            let text = format!("main: all done {}", state(&semaphore));
            stamp_iteration(&out, &event_loop, &text);
        }
    };
    run_case(
        SCRIPT,
        "semaphore_two_in_others_wait_in_order",
        &event_loop,
        &out,
        main,
    );
}

/// A bounded semaphore refuses a release that would take it over its
/// initial value (asyncio's `ValueError`, our `ReleasedTooManyTimes`) and
/// stays as it was; a plain one goes over.
#[test]
fn a_bounded_semaphore_refuses_to_be_released_over_its_value() {
    let (event_loop, out) = new_case();
    let main = {
        let out = out.clone();
        async move {
            let bounded = BoundedSemaphore::new(2);
            // Held by hand, as after asyncio's bare `await acquire()`.
            bounded.acquire().await.unwrap().forget();
            out.say(format!("bounded: acquired {}", state(&bounded)));
            for _ in 0..2 {
                let released = outcome(bounded.release());
                out.say(format!(
                    "bounded: release() -> {released} {}",
                    state(&bounded)
                ));
            }
            let plain = Semaphore::new(2);
            plain.release();
            out.say(format!("plain: release() -> ok {}", state(&plain)));
        }
    };
    run_until_complete(&event_loop, main).unwrap();
    common::compare_section(
        SCRIPT,
        "bounded_semaphore_refuses_to_go_over_its_value",
        &out.lines(),
    );
}

/// A queue of two, full: putters y, x, z (in the order they asked) wait;
/// each `get` wakes the first, which puts in the next iteration, so the
/// items come out as 1, 2, y, x, z.
#[test]
fn a_full_queues_putters_wait_and_are_served_in_the_order_they_came() {
    let (event_loop, out) = new_case();
    let main = {
        let (event_loop, out) = (event_loop.clone(), out.clone());
        async move {
            let queue: Queue<&str> = Queue::new(2);
            queue.put_nowait("1").expect("room");
            queue.put_nowait("2").expect("room");
            for (name, delay) in [("x", 0.2), ("y", 0.1), ("z", 0.3)] {
                let (inner_loop, out, queue) = (event_loop.clone(), out.clone(), queue.clone());
                let putter = async move {
                    sleep(delay, ()).await;
                    let text = format!("{name}: put; full {}", py_bool(queue.full()));
                    stamp_iteration(&out, &inner_loop, &text);
                    queue.put(name).await.unwrap();
                    let text = format!("{name}: put returned; qsize {}", queue.qsize());
                    stamp_iteration(&out, &inner_loop, &text);
                };
                create_task(&event_loop, putter).unwrap();
            }
            sleep(1.0, ()).await;
            for _ in 0..5 {
                let item = queue.get().await.unwrap();
                let text = format!("main: got {item}; qsize {}", queue.qsize());
                stamp_iteration(&out, &event_loop, &text);
                sleep(0.5, ()).await;
            }
        }
    };
    run_case(
        SCRIPT,
        "queue_putters_wait_while_full_in_order",
        &event_loop,
        &out,
        main,
    );
}

/// An empty queue: getters c, a, b (in the order they asked) wait; each
/// `put` wakes the first not yet woken, so two puts in one step wake two
/// getters, which take the items in order in the next iteration.
#[test]
fn an_empty_queues_getters_wait_and_are_served_in_the_order_they_came() {
    let (event_loop, out) = new_case();
    let main = {
        let (event_loop, out) = (event_loop.clone(), out.clone());
        async move {
            let queue: Queue<&str> = Queue::new(2);
            let tasks: Vec<Task<()>> = [("a", 0.2), ("b", 0.3), ("c", 0.1)]
                .into_iter()
                .map(|(name, delay)| {
                    let (inner_loop, out, queue) = (event_loop.clone(), out.clone(), queue.clone());
                    let getter = async move {
                        sleep(delay, ()).await;
                        let text = format!("{name}: get; empty {}", py_bool(queue.empty()));
                        stamp_iteration(&out, &inner_loop, &text);
                        let item = queue.get().await.unwrap();
                        stamp_iteration(&out, &inner_loop, &format!("{name}: got {item}"));
                    };
                    create_task(&event_loop, getter).unwrap()
                })
                .collect();
            sleep(1.0, ()).await;
            stamp_iteration(&out, &event_loop, "main: put 1");
            queue.put("1").await.unwrap();
            sleep(1.0, ()).await;
            stamp_iteration(&out, &event_loop, "main: put 2, put 3");
            queue.put("2").await.unwrap();
            queue.put("3").await.unwrap();
            for task in tasks {
                task.await.expect("done");
            }
            stamp_iteration(&out, &event_loop, "main: all done");
        }
    };
    run_case(
        SCRIPT,
        "queue_getters_wait_while_empty_in_order",
        &event_loop,
        &out,
        main,
    );
}

/// Unlike a lock, a queue lets a newcomer barge: `put_nowait` wakes g1
/// without handing it the item, `get_nowait` takes the item first, and g1,
/// when it runs, finds the queue empty and waits again, behind g2, which
/// gets the next item.
#[test]
fn a_get_nowait_can_take_the_item_from_under_a_woken_getter() {
    let (event_loop, out) = new_case();
    let main = {
        let (event_loop, out) = (event_loop.clone(), out.clone());
        async move {
            let queue: Queue<&str> = Queue::new(0);
            let tasks: Vec<Task<()>> = ["g1", "g2"]
                .into_iter()
                .map(|name| {
                    let (inner_loop, out, queue) = (event_loop.clone(), out.clone(), queue.clone());
                    let getter = async move {
                        stamp_iteration(&out, &inner_loop, &format!("{name}: get"));
                        let item = queue.get().await.unwrap();
                        stamp_iteration(&out, &inner_loop, &format!("{name}: got {item}"));
                    };
                    create_task(&event_loop, getter).unwrap()
                })
                .collect();
            sleep(1.0, ()).await;
            queue.put_nowait("x").expect("no limit");
            let taken = queue.get_nowait().expect("just put");
            let text = format!("main: put x, then took {taken}");
            stamp_iteration(&out, &event_loop, &text);
            for item in ["y", "z"] {
                sleep(1.0, ()).await;
                queue.put_nowait(item).expect("no limit");
                stamp_iteration(&out, &event_loop, &format!("main: put {item}"));
            }
            for task in tasks {
                task.await.expect("done");
            }
            stamp_iteration(&out, &event_loop, "main: all done");
        }
    };
    run_case(
        SCRIPT,
        "queue_get_nowait_can_take_the_item_from_a_woken_getter",
        &event_loop,
        &out,
        main,
    );
}

/// `join` of a queue with nothing unfinished returns at once; otherwise it
/// returns in the iteration after the `task_done` of the last item put.
/// The third `put` waits for room, which the worker's first `get` makes.
#[test]
fn join_waits_until_every_item_put_has_its_task_done() {
    let (event_loop, out) = new_case();
    let main = {
        let (event_loop, out) = (event_loop.clone(), out.clone());
        async move {
            let queue: Queue<&str> = Queue::new(2);
            let worker = {
                let (event_loop, out, queue) = (event_loop.clone(), out.clone(), queue.clone());
                async move {
                    for _ in 0..3 {
                        let item = queue.get().await.unwrap();
                        stamp_iteration(&out, &event_loop, &format!("worker: got {item}"));
                        sleep(0.5, ()).await;
                        queue.task_done().expect("an item was taken");
                        let text = format!("worker: task_done {item}");
                        stamp_iteration(&out, &event_loop, &text);
                    }
                }
            };
            stamp_iteration(&out, &event_loop, "main: join an empty queue");
            queue.join().await.unwrap();
            stamp_iteration(&out, &event_loop, "main: joined");
            create_task(&event_loop, worker).unwrap();
            for item in ["1", "2", "3"] {
                queue.put(item).await.unwrap();
                stamp_iteration(&out, &event_loop, &format!("main: put {item}"));
            }
            stamp_iteration(&out, &event_loop, "main: join");
            queue.join().await.unwrap();
            let text = format!("main: joined; qsize {}", queue.qsize());
            stamp_iteration(&out, &event_loop, &text);
        }
    };
    run_case(
        SCRIPT,
        "queue_join_waits_for_every_task_done",
        &event_loop,
        &out,
        main,
    );
}

/// The calls these primitives refuse, refused where asyncio's are: a lock
/// released while free, a condition used without its lock (`NotAcquired`,
/// asyncio's `RuntimeError`); a queue's `task_done` with nothing
/// unfinished (`TaskDoneTooManyTimes`, asyncio's `ValueError`), and its
/// `_nowait` calls on a full or an empty queue.
#[test]
fn the_primitives_refuse_the_calls_asyncios_refuse() {
    let (event_loop, out) = new_case();
    let main = {
        let out = out.clone();
        async move {
            let lock = Lock::new();
            let unlocked = outcome(lock.release());
            out.say(format!("lock: release() unlocked -> {unlocked}"));
            // Held by hand, as after asyncio's bare `await acquire()`: the
            // guard finds the lock no longer its own, and leaves it alone.
            let _guard = lock.acquire().await.unwrap();
            let locked = outcome(lock.release());
            out.say(format!("lock: release() locked -> {locked}"));
            let again = outcome(lock.release());
            out.say(format!("lock: release() again -> {again}"));

            let condition = Condition::new();
            let notified = outcome(condition.notify(1));
            out.say(format!("condition: notify() unlocked -> {notified}"));
            let waited = raised(condition.wait().await);
            out.say(format!("condition: wait() unlocked -> {waited}"));

            let queue: Queue<i32> = Queue::new(1);
            let say = |call: &str, outcome: &str| out.say(format!("queue: {call} -> {outcome}"));
            say("task_done()", outcome(queue.task_done()));
            say("put_nowait(1)", outcome(queue.put_nowait(1)));
            say("put_nowait(2)", outcome(queue.put_nowait(2)));
            say("get_nowait()", outcome(queue.get_nowait()));
            say("get_nowait()", outcome(queue.get_nowait()));
            say("task_done()", outcome(queue.task_done()));
            say("task_done()", outcome(queue.task_done()));
        }
    };
    run_until_complete(&event_loop, main).unwrap();
    common::compare_section(SCRIPT, "invalid_calls", &out.lines());
}
