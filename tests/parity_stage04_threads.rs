//! Stage 4 among threads against CPython (tests/parity/stage04_threads.py),
//! section by section, line by line: `call_soon_threadsafe` from one
//! thread, `run_coroutine_threadsafe`'s result, error and timeout, and
//! `run_in_executor`'s result and error. Real threads on both sides;
//! nothing timed. An exception is printed as its message, which is what
//! our panics carry.

mod common;

use std::sync::{Arc, Mutex};

use demo_support::Transcript;
use stage01_generator_loop::{RealClock, VirtualClock};
use stage03_read_readiness::{PollSelector, SelectorEventLoop, SelectorEvents};
use stage04_futures_tasks::{
    ConcurrentError, FunctionPanicked, FutureError, LoopThread, run_coroutine_threadsafe,
    run_in_executor, run_until_complete, yield_now,
};

use common::compare_section;

/// The script our loop is compared with.
const SCRIPT: &str = "stage04_threads.py";

#[test]
fn the_script_prints_the_sections_compared_here() {
    common::assert_prints_sections(
        SCRIPT,
        &[
            "call_soon_threadsafe_order_from_one_thread",
            "run_coroutine_threadsafe_result_error_timeout",
            "run_in_executor_result_and_error",
        ],
    );
}

#[test]
fn call_soon_threadsafe_order_from_one_thread() {
    let worker = LoopThread::spawn(RealClock::new()).unwrap();
    let ran = Arc::new(Mutex::new(Vec::new()));
    for n in 0..5 {
        let ran = Arc::clone(&ran);
        worker
            .remote()
            .call_soon_threadsafe(move |_| ran.lock().unwrap().push(n.to_string()))
            .unwrap();
    }
    worker.stop().unwrap();
    let line = format!("ran: {}", ran.lock().unwrap().join(" "));
    compare_section(
        SCRIPT,
        "call_soon_threadsafe_order_from_one_thread",
        &[line],
    );
}

#[test]
fn run_coroutine_threadsafe_result_error_timeout() {
    let worker = LoopThread::spawn(RealClock::new()).unwrap();
    let out = Transcript::new();
    let answer = run_coroutine_threadsafe(
        || async {
            yield_now().await;
            42
        },
        worker.remote(),
    )
    .unwrap();
    out.say(format!("result: {}", answer.result(None).unwrap()));
    let fail = run_coroutine_threadsafe(
        || async {
            yield_now().await;
            panic!("no notification today")
        },
        worker.remote(),
    )
    .unwrap();
    if let Err(ConcurrentError::Exception(message)) = fail.result(None) {
        let (_, message) = message.split_once("panicked: ").expect("a task's panic");
        out.say(format!("error: {message}"));
    }
    let never = run_coroutine_threadsafe(std::future::pending::<()>, worker.remote()).unwrap();
    if never.result(Some(0.0)) == Err(ConcurrentError::Timeout) {
        out.say("timeout: TimeoutError");
    }
    worker.stop().unwrap();
    compare_section(
        SCRIPT,
        "run_coroutine_threadsafe_result_error_timeout",
        &out.lines(),
    );
}

#[test]
fn run_in_executor_result_and_error() {
    let event_loop =
        SelectorEventLoop::with_selector(VirtualClock::new(), PollSelector::new()).unwrap();
    let (out, inner) = (Transcript::new(), event_loop.clone());
    let log = out.clone();
    run_until_complete(&event_loop, async move {
        let value = run_in_executor(&inner, None, || 6 * 7).unwrap().await;
        log.say(format!("result: {}", value.unwrap()));
        let failed = run_in_executor(&inner, None, || -> u8 { panic!("disk on fire") })
            .unwrap()
            .await;
        if let Err(FutureError::Exception(error)) = failed {
            let panicked = error.downcast_ref::<FunctionPanicked>().unwrap();
            log.say(format!("error: {}", panicked.message));
        }
    })
    .unwrap();
    compare_section(SCRIPT, "run_in_executor_result_and_error", &out.lines());
}
