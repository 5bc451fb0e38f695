//! The loop among threads: a future threads share, a coroutine handed to a
//! loop from another thread, and a loop running in a worker thread. Real
//! threads: the tests assert orders, outcomes and counts, never times.

use std::sync::{Arc, Mutex, mpsc};
use std::thread;

use stage01_generator_loop::{RealClock, VirtualClock};
use stage02_timed_events::LoopError;
use stage03_read_readiness::{PollSelector, SelectorEventLoop, SelectorEvents};
use stage04_futures_tasks::{
    ConcurrentError, ConcurrentFuture, Future, LoopThread, run_coroutine_threadsafe, yield_now,
};

#[test]
fn a_concurrent_future_set_in_one_thread_wakes_a_waiter_in_another() {
    let future = ConcurrentFuture::new();
    let setter = future.clone();
    let thread = thread::spawn(move || setter.set_result(42).unwrap());
    assert_eq!(future.result(None), Ok(42));
    assert_eq!(future.result(Some(0.0)), Ok(42), "asked again: the same");
    thread.join().unwrap();
    assert_eq!(future.set_result(7), Err(ConcurrentError::InvalidState));
}

#[test]
fn a_timeout_of_zero_or_less_only_looks_and_nan_is_refused() {
    // Looking a few times first changes none of it.
    let future: ConcurrentFuture<u8> = ConcurrentFuture::new().spinning(5);
    assert_eq!(future.result(Some(0.0)), Err(ConcurrentError::Timeout));
    assert_eq!(future.result(Some(-1.0)), Err(ConcurrentError::Timeout));
    assert_eq!(
        future.result(Some(f64::NAN)),
        Err(ConcurrentError::NotANumber)
    );
    assert!(!future.done());
    future.set_exception("it broke").unwrap();
    assert_eq!(
        future.result(Some(-1.0)),
        Err(ConcurrentError::Exception("it broke".to_string()))
    );
}

#[test]
fn done_callbacks_run_in_the_finishing_thread_or_at_once_if_done() {
    let future = ConcurrentFuture::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    future.add_done_callback(move |done| {
        let name = thread::current().name().map(str::to_string);
        log.lock().unwrap().push((name, done.result(Some(0.0))));
    });
    let setter = future.clone();
    thread::Builder::new()
        .name("setter".to_string())
        .spawn(move || setter.set_result("x").unwrap())
        .unwrap()
        .join()
        .unwrap();
    let log = Arc::clone(&seen);
    future.add_done_callback(move |_| log.lock().unwrap().push((None, Ok("late"))));
    assert_eq!(
        *seen.lock().unwrap(),
        [(Some("setter".to_string()), Ok("x")), (None, Ok("late"))]
    );
}

#[test]
fn run_coroutine_threadsafe_gives_the_value_or_the_error() {
    let worker = LoopThread::spawn(RealClock::new()).unwrap();
    let value = run_coroutine_threadsafe(
        || async {
            yield_now().await;
            6 * 7
        },
        worker.remote(),
    )
    .unwrap();
    assert_eq!(value.result(None), Ok(42));

    let failed = run_coroutine_threadsafe(
        || async {
            yield_now().await;
            panic!("no notification today");
        },
        worker.remote(),
    )
    .unwrap();
    let Err(ConcurrentError::Exception(message)) = failed.result(None) else {
        panic!("the task's panic is the future's error");
    };
    assert!(
        message.ends_with("panicked: no notification today"),
        "{message}"
    );
    worker.stop().unwrap();
}

#[test]
fn a_coroutine_may_await_futures_of_its_loop_that_another_thread_finishes() {
    // The coroutine is made in the loop's thread, so it may hold what is
    // not `Send` (a loop future); the other thread talks to it through a
    // second run_coroutine_threadsafe.
    let worker = LoopThread::spawn(RealClock::new()).unwrap();
    let (send_handoff, handoff) = mpsc::channel();
    let waiting = run_coroutine_threadsafe(
        move || async move {
            let event_loop = stage02_timed_events::get_running_loop::<SelectorEventLoop>().unwrap();
            let future: Future<&str> = Future::new(&event_loop);
            let id = stage04_futures_tasks::current_task().map(|task| task.name);
            send_handoff.send(id).unwrap();
            // Park the future where the second coroutine finds it.
            SLOT.with(|slot| *slot.borrow_mut() = Some(future.clone()));
            future.await.unwrap()
        },
        worker.remote(),
    )
    .unwrap();
    assert!(handoff.recv().unwrap().is_some(), "it ran in a task");
    run_coroutine_threadsafe(
        || async {
            let future = SLOT.with(|slot| slot.borrow_mut().take()).unwrap();
            future.set_result("handed over").unwrap();
        },
        worker.remote(),
    )
    .unwrap()
    .result(None)
    .unwrap();
    assert_eq!(waiting.result(None), Ok("handed over"));
}

thread_local! {
    static SLOT: std::cell::RefCell<Option<Future<&'static str>>> =
        const { std::cell::RefCell::new(None) };
}

#[test]
fn functions_handed_to_a_worker_loop_run_in_order_and_none_is_lost_at_stop() {
    let worker = LoopThread::spawn(RealClock::new()).unwrap();
    let ran = Arc::new(Mutex::new(Vec::new()));
    for n in 0..1_000 {
        let ran = Arc::clone(&ran);
        worker
            .remote()
            .call_soon_threadsafe(move |_| ran.lock().unwrap().push(n))
            .unwrap();
    }
    worker.stop().unwrap();
    assert_eq!(*ran.lock().unwrap(), (0..1_000).collect::<Vec<_>>());
}

#[test]
fn a_coroutine_pending_when_the_worker_stops_ends_with_loop_closed() {
    let worker = LoopThread::spawn(RealClock::new()).unwrap();
    let remote = worker.remote().clone();
    let forever = run_coroutine_threadsafe(std::future::pending::<()>, &remote).unwrap();
    worker.stop().unwrap();
    assert_eq!(forever.result(None), Err(ConcurrentError::LoopClosed));
    // The remote outlives the loop, and says so.
    assert!(matches!(
        run_coroutine_threadsafe(|| async {}, &remote),
        Err(LoopError::Closed)
    ));
}

#[test]
fn a_loop_that_never_runs_times_out_and_closing_it_ends_the_wait() {
    let event_loop =
        SelectorEventLoop::with_selector(VirtualClock::new(), PollSelector::new()).unwrap();
    let remote = event_loop.remote().unwrap();
    let never = thread::spawn(move || {
        let future = run_coroutine_threadsafe(|| async { 1 }, &remote).unwrap();
        let first = future.result(Some(0.01));
        (first, future)
    });
    let (first, future) = never.join().unwrap();
    assert_eq!(first, Err(ConcurrentError::Timeout));
    drop(event_loop); // closed: the handed-over work is dropped, unfinished
    assert_eq!(future.result(None), Err(ConcurrentError::LoopClosed));
}

#[test]
fn dropping_the_worker_stops_its_loop_and_later_calls_are_refused() {
    let worker = LoopThread::spawn(RealClock::new()).unwrap();
    let remote = worker.remote().clone();
    let ran = Arc::new(Mutex::new(0));
    let counter = Arc::clone(&ran);
    remote
        .call_soon_threadsafe(move |_| *counter.lock().unwrap() += 1)
        .unwrap();
    drop(worker);
    assert_eq!(*ran.lock().unwrap(), 1, "handed before the drop: it ran");
    assert!(matches!(
        remote.call_soon_threadsafe(|_| {}),
        Err(LoopError::Closed)
    ));
}

/// "Making it fast": a worker loop that looks for work before it waits,
/// and callers that look for their answer before they sleep: the same
/// answers, in order, and the loop stops as the other does.
#[test]
fn a_worker_loop_that_spins_before_waiting_runs_the_same_and_stops() {
    let worker = LoopThread::spawn(RealClock::new()).unwrap();
    worker
        .remote()
        .call_soon_threadsafe(|event_loop| event_loop.poller().set_idle_spin(50))
        .unwrap();
    let ran = Arc::new(Mutex::new(Vec::new()));
    for n in 0..100 {
        let ran = Arc::clone(&ran);
        let answer = run_coroutine_threadsafe(
            move || async move {
                ran.lock().unwrap().push(n);
                n * 2
            },
            worker.remote(),
        )
        .unwrap()
        .spinning(50);
        assert_eq!(answer.result(None), Ok(n * 2));
    }
    worker.stop().unwrap();
    assert_eq!(*ran.lock().unwrap(), (0..100).collect::<Vec<_>>());
}
