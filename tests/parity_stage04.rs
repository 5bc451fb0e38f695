//! Stage 4 against CPython: futures and tasks on our `SelectorEventLoop` and
//! on the real asyncio loop, both on a virtual clock
//! (tests/parity/stage04_futures_tasks.py), section by section, line by line:
//! done-callbacks, awaiters woken by `set_result`, lazy `create_task`,
//! `sleep`, the invalid states, a task's exception, and a future finished
//! while its loop is not running.
//!
//! Where the two print different things on purpose (asyncio's exception, our
//! panic), both print a normalised line.

mod common;

use std::error::Error;
use std::fmt::Display;
use std::io;
use std::rc::Rc;

use demo_support::Transcript;
use stage02_timed_events::AbstractEventLoop;
use stage03_read_readiness::SelectorEventLoop;
use stage04_futures_tasks::{
    Future, FutureError, RunError, Task, TaskPanicked, create_task, run_until_complete, sleep,
    yield_now,
};

use common::stage04::{new_case, py_bool, run_case, say_iterations, stamp_iteration};

/// The script our loop is compared with.
const SCRIPT: &str = "stage04_futures_tasks.py";

/// Every section the Python script prints, each compared by one test below.
const SECTIONS: [&str; 7] = [
    "done_callbacks_in_order_never_inline",
    "set_result_wakes_awaiters_in_order",
    "create_task_is_lazy",
    "sleep_resumes_an_iteration_after_its_timer",
    "invalid_state",
    "task_exception",
    "set_result_outside_the_running_loop",
];

/// The class of the exception asyncio raises where we answer `error`; for a
/// task's exception, the normalised line: its panic's message.
fn py_error(error: &FutureError) -> String {
    match error {
        FutureError::Cancelled => "CancelledError".to_string(),
        FutureError::InvalidState(_) => "InvalidStateError".to_string(),
        FutureError::Exception(error) => panic_message(error.as_ref()),
    }
}

/// The message of the panic a task ended with, as asyncio's `str(error)` of
/// the exception its coroutine raised.
fn panic_message(error: &(dyn Error + 'static)) -> String {
    let panicked = error.downcast_ref::<TaskPanicked>();
    panicked.expect("a task's panic").message.clone()
}

/// The Python script's `outcome`: `ok`, the value, or the exception's class.
fn outcome<T: Display>(result: Result<T, FutureError>) -> String {
    result.map_or_else(|error| py_error(&error), |value| value.to_string())
}

/// [`outcome`] of a call that returns nothing (Python: `None`).
fn outcome_ok(result: Result<(), FutureError>) -> String {
    outcome(result.map(|()| "ok"))
}

/// The script prints exactly the sections the tests below compare: a
/// section that no test compares would check nothing.
#[test]
fn python_prints_exactly_the_sections_compared_here() {
    common::assert_prints_sections(SCRIPT, &SECTIONS);
}

/// A done-callback that stamps the future's result; callback `c` adds one
/// more, `later`, to the future already done.
fn callback(
    out: &Transcript,
    name: &'static str,
) -> Box<dyn FnOnce(&SelectorEventLoop, &Future<i32>)> {
    let out = out.clone();
    Box::new(move |event_loop, future| {
        let result = future.result().expect("done, with a result");
        stamp_iteration(
            &out,
            event_loop,
            &format!("callback {name}: result {result}"),
        );
        if name == "c" {
            stamp_iteration(&out, event_loop, "callback c: add_done_callback(later)");
            future.add_done_callback(callback(&out, "later"));
        }
    })
}

/// Done-callbacks run in the order added, all in the iteration after
/// `set_result`, none inside it; one added to the future already done
/// (`late`, in the same iteration; `later`, by a callback) still goes
/// through the loop, behind those queued before it.
#[test]
fn done_callbacks_run_in_the_order_added_and_never_inline() {
    let (event_loop, out) = new_case();
    let future: Future<i32> = Future::new(&event_loop);
    for name in ["a", "b", "c"] {
        future.add_done_callback(callback(&out, name));
    }
    let finish = {
        let (future, out) = (future.clone(), out.clone());
        move |event_loop: &SelectorEventLoop| {
            stamp_iteration(&out, event_loop, "set_result(7)");
            future.set_result(7).expect("pending");
            let text = "set_result returned; add_done_callback(late)";
            stamp_iteration(&out, event_loop, text);
            future.add_done_callback(callback(&out, "late"));
            stamp_iteration(&out, event_loop, "add_done_callback returned");
        }
    };
    event_loop.call_soon(finish).unwrap();
    event_loop.call_later(1.0, SelectorEventLoop::stop).unwrap();
    event_loop.run_forever().unwrap();
    say_iterations(&out, &event_loop);
    common::compare_section(SCRIPT, "done_callbacks_in_order_never_inline", &out.lines());
}

/// Three tasks await one future in an order other than the one they were
/// created in; `set_result`, from a timer, wakes them all in the next
/// iteration, in the order they awaited.
#[test]
fn set_result_wakes_the_awaiters_in_the_order_they_awaited() {
    let (event_loop, out) = new_case();
    let future: Future<&'static str> = Future::new(&event_loop);
    let main = {
        let (event_loop, out) = (event_loop.clone(), out.clone());
        async move {
            // Created in one order, awaiting in another: second, third, first.
            let mut tasks = Vec::new();
            for (name, delay) in [("first", 0.3), ("second", 0.1), ("third", 0.2)] {
                let (inner_loop, out, future) = (event_loop.clone(), out.clone(), future.clone());
                let waiter = async move {
                    sleep(delay, ()).await;
                    stamp_iteration(&out, &inner_loop, &format!("{name}: await the future"));
                    let value = future.await.expect("a result");
                    let text = format!("{name}: resumed with {value}");
                    stamp_iteration(&out, &inner_loop, &text);
                };
                tasks.push(create_task(&event_loop, waiter).unwrap());
            }
            let set_it = {
                let out = out.clone();
                move |event_loop: &SelectorEventLoop| {
                    stamp_iteration(&out, event_loop, "timer: set_result(it)");
                    future.set_result("it").expect("pending");
                }
            };
            event_loop.call_later(1.0, set_it).unwrap();
            for task in tasks {
                task.await.expect("done");
            }
            stamp_iteration(&out, &event_loop, "main: all three are done");
        }
    };
    run_case(
        SCRIPT,
        "set_result_wakes_awaiters_in_order",
        &event_loop,
        &out,
        main,
    );
}

/// `create_task` runs nothing: the three tasks start in the order created,
/// in the iteration after, when `main` yields; `main`'s step is queued behind
/// theirs, and theirs, when they yield, behind `main`'s.
#[test]
fn create_task_is_lazy_and_tasks_start_in_the_order_created() {
    let (event_loop, out) = new_case();
    let main = {
        let (event_loop, out) = (event_loop.clone(), out.clone());
        async move {
            let tasks: Vec<Task<()>> = ["a", "b", "c"]
                .into_iter()
                .map(|name| {
                    let (inner_loop, out) = (event_loop.clone(), out.clone());
                    let child = async move {
                        stamp_iteration(&out, &inner_loop, &format!("{name}: started"));
                        // asyncio's `sleep(0)`, as our `yield_now` spells it.
                        yield_now().await;
                        stamp_iteration(&out, &inner_loop, &format!("{name}: resumed"));
                    };
                    create_task(&event_loop, child).unwrap()
                })
                .collect();
            let done: Vec<&str> = tasks.iter().map(|task| py_bool(task.done())).collect();
            let text = format!("main: created a, b and c; done: {}", done.join(", "));
            stamp_iteration(&out, &event_loop, &text);
            sleep(0.0, ()).await;
            stamp_iteration(&out, &event_loop, "main: resumed");
            for task in tasks {
                task.await.expect("done");
            }
            stamp_iteration(&out, &event_loop, "main: a, b and c are done");
        }
    };
    run_case(SCRIPT, "create_task_is_lazy", &event_loop, &out, main);
}

/// `sleep(1.5, result)`: the timer sets the sleep's future in iteration 2
/// (after waiting 1.5 s); the task resumes in iteration 3, with the result.
#[test]
fn sleep_resumes_the_iteration_after_its_timer() {
    let (event_loop, out) = new_case();
    let sleepy = {
        let (event_loop, out) = (event_loop.clone(), out.clone());
        async move {
            stamp_iteration(&out, &event_loop, "sleeper: sleep(1.5, result)");
            let value = sleep(1.5, "result").await;
            stamp_iteration(&out, &event_loop, &format!("sleeper: resumed with {value}"));
        }
    };
    run_until_complete(&event_loop, sleepy).unwrap();
    say_iterations(&out, &event_loop);
    common::compare_section(
        SCRIPT,
        "sleep_resumes_an_iteration_after_its_timer",
        &out.lines(),
    );
}

/// What each call does to a pending, a done and a cancelled future: asyncio
/// raises `InvalidStateError` or `CancelledError` where we answer
/// `FutureError::InvalidState` or `FutureError::Cancelled`.
#[test]
fn the_invalid_states_are_asyncios() {
    let (event_loop, out) = new_case();
    let exception = |future: &Future<i32>| {
        let exception = future.exception();
        outcome(exception.map(|error| error.map_or("None".to_string(), |e| e.to_string())))
    };
    let future: Future<i32> = Future::new(&event_loop);
    out.say(format!("pending: result() -> {}", outcome(future.result())));
    out.say(format!("pending: exception() -> {}", exception(&future)));
    let set = outcome_ok(future.set_result(1));
    out.say(format!("pending: set_result(1) -> {set}"));
    let again = outcome_ok(future.set_result(2));
    out.say(format!("done: set_result(2) -> {again}"));
    let late = outcome_ok(future.set_exception(io::Error::other("late")));
    out.say(format!("done: set_exception(...) -> {late}"));
    out.say(format!("done: cancel() -> {}", py_bool(future.cancel())));
    out.say(format!("done: result() -> {}", outcome(future.result())));
    let cancelled: Future<i32> = Future::new(&event_loop);
    out.say(format!(
        "pending: cancel() -> {}",
        py_bool(cancelled.cancel())
    ));
    out.say(format!(
        "cancelled: cancel() -> {}",
        py_bool(cancelled.cancel())
    ));
    out.say(format!(
        "cancelled: result() -> {}",
        outcome(cancelled.result())
    ));
    out.say(format!(
        "cancelled: exception() -> {}",
        exception(&cancelled)
    ));
    let set = outcome_ok(cancelled.set_result(1));
    out.say(format!("cancelled: set_result(1) -> {set}"));
    common::compare_section(SCRIPT, "invalid_state", &out.lines());
}

/// A task whose coroutine raises (here: panics) is done, with that as its
/// exception; awaiting it in another task gives that very error; and the
/// loop goes on, as it does after `run_until_complete` of a coroutine that
/// raises. The normalised line: asyncio's `str(error)`, our panic's message.
#[test]
fn a_tasks_exception_is_what_awaiting_it_gives_and_the_loop_goes_on() {
    let (event_loop, out) = new_case();
    let main = {
        let (event_loop, out) = (event_loop.clone(), out.clone());
        async move {
            let fragile: Task<()> = {
                let (inner_loop, out) = (event_loop.clone(), out.clone());
                let fragile = async move {
                    stamp_iteration(&out, &inner_loop, "fragile: raise");
                    panic!("the coroutine broke");
                };
                create_task(&event_loop, fragile).unwrap()
            };
            stamp_iteration(&out, &event_loop, "main: await fragile");
            let Err(FutureError::Exception(error)) = fragile.clone().await else {
                panic!("awaiting fragile gave no exception");
            };
            let text = format!("main: await raised: {}", panic_message(error.as_ref()));
            stamp_iteration(&out, &event_loop, &text);
            let its_own = fragile.as_future().exception().expect("done");
            let same = its_own.is_some_and(|its_own| Rc::ptr_eq(&its_own, &error));
            let done = py_bool(fragile.done());
            let same = py_bool(same);
            out.say(format!(
                "fragile done: {done}; its exception is the one raised: {same}"
            ));
            sleep(1.0, ()).await;
            stamp_iteration(&out, &event_loop, "main: the loop goes on");
        }
    };
    run_until_complete(&event_loop, main).unwrap();

    let broken = async { panic!("main broke") };
    let failed: Result<(), RunError> = run_until_complete(&event_loop, broken);
    let Err(RunError::Task(error)) = failed else {
        panic!("run_until_complete of a panicking coroutine gave {failed:?}");
    };
    let text = format!("run_until_complete raised: {}", py_error(&error));
    stamp_iteration(&out, &event_loop, &text);
    out.say(format!(
        "the loop is closed: {}",
        py_bool(event_loop.is_closed())
    ));
    let then = run_until_complete(&event_loop, sleep(0.5, "still running")).unwrap();
    out.say(format!("then: {then}"));
    stamp_iteration(&out, &event_loop, "done");
    common::compare_section(SCRIPT, "task_exception", &out.lines());
}

/// A future finished while its loop is not running: asyncio queues the
/// awaiting task's wake-up there and then (`call_soon`), so it runs before a
/// callback queued after it, and so does ours: a waker called on its loop's
/// thread finds the loop, running or not.
#[test]
fn a_future_finished_while_the_loop_is_stopped_wakes_its_task_before_later_callbacks() {
    let (event_loop, out) = new_case();
    let future: Future<&'static str> = Future::new(&event_loop);
    let waiter = {
        let (event_loop, out, future) = (event_loop.clone(), out.clone(), future.clone());
        async move {
            stamp_iteration(&out, &event_loop, "waiter: await the future");
            let value = future.await.expect("a result");
            stamp_iteration(&out, &event_loop, &format!("waiter: resumed with {value}"));
        }
    };
    create_task(&event_loop, waiter).unwrap();
    run_until_complete(&event_loop, sleep(0.0, ())).unwrap();
    out.say(format!(
        "the loop is stopped after {} iterations: set_result(it), then call_soon(soon)",
        event_loop.iterations()
    ));
    future.set_result("it").unwrap();
    let soon = {
        let out = out.clone();
        move |event_loop: &SelectorEventLoop| stamp_iteration(&out, event_loop, "soon: call_soon")
    };
    event_loop.call_soon(soon).unwrap();
    let stop = {
        let out = out.clone();
        move |event_loop: &SelectorEventLoop| {
            stamp_iteration(&out, event_loop, "timer: stop");
            event_loop.stop();
        }
    };
    event_loop.call_later(1.0, stop).unwrap();
    event_loop.run_forever().unwrap();

    common::compare_section(SCRIPT, "set_result_outside_the_running_loop", &out.lines());
}
