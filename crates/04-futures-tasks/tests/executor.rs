//! Blocking functions on a pool of threads, awaited from tasks. Real
//! threads: the tests assert outcomes and counts, never times.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;

use stage01_generator_loop::VirtualClock;
use stage02_timed_events::LoopError;
use stage03_read_readiness::{PollSelector, SelectorEventLoop, SelectorEvents};
use stage04_futures_tasks::{
    ConcurrentError, FunctionPanicked, FutureError, ThreadPoolExecutor, gather, run_in_executor,
    run_until_complete,
};

fn new_loop() -> SelectorEventLoop {
    SelectorEventLoop::with_selector(VirtualClock::new(), PollSelector::new()).unwrap()
}

#[test]
fn a_task_awaits_a_blocking_function_run_on_the_default_pool() {
    let event_loop = new_loop();
    let inner = event_loop.clone();
    let (value, thread_name) = run_until_complete(&event_loop, async move {
        let future = run_in_executor(&inner, None, || {
            (6 * 7, thread::current().name().map(str::to_string))
        })
        .unwrap();
        future.await.unwrap()
    })
    .unwrap();
    assert_eq!(value, 42);
    assert_eq!(
        thread_name.as_deref(),
        Some("executor-0"),
        "not the loop's thread"
    );
    assert!(ThreadPoolExecutor::default_workers() >= 5);
    assert!(ThreadPoolExecutor::default_workers() <= 32);
}

#[test]
fn a_function_that_panics_fails_its_future_and_the_pool_keeps_its_thread() {
    let event_loop = new_loop();
    let pool = Arc::new(ThreadPoolExecutor::new(1));
    let (inner, on_pool) = (event_loop.clone(), Arc::clone(&pool));
    let (failed, after) = run_until_complete(&event_loop, async move {
        let failed = run_in_executor(&inner, Some(&on_pool), || -> u8 { panic!("disk on fire") })
            .unwrap()
            .await;
        let after = run_in_executor(&inner, Some(&on_pool), || 7).unwrap().await;
        (failed.err(), after.ok())
    })
    .unwrap();
    let Some(FutureError::Exception(error)) = failed else {
        panic!("the panic is the future's exception");
    };
    let panicked = error.downcast_ref::<FunctionPanicked>().unwrap();
    assert_eq!(panicked.message, "disk on fire");
    assert_eq!(after, Some(7), "the same thread ran the next function");
    assert_eq!(pool.threads(), 1);
}

#[test]
fn a_hundred_thousand_calls_on_a_pool_of_four() {
    let event_loop = new_loop();
    let pool = Arc::new(ThreadPoolExecutor::new(4));
    let (inner, on_pool) = (event_loop.clone(), Arc::clone(&pool));
    let values = run_until_complete(&event_loop, async move {
        let futures: Vec<_> = (0..100_000_u64)
            .map(|n| run_in_executor(&inner, Some(&on_pool), move || n * 2).unwrap())
            .collect();
        gather(futures).await.unwrap()
    })
    .unwrap();
    assert_eq!(values.len(), 100_000);
    assert!(
        values.iter().enumerate().all(|(n, &v)| v == 2 * n as u64),
        "in argument order"
    );
    assert!(
        (1..=4).contains(&pool.threads()),
        "{} threads",
        pool.threads()
    );
}

#[test]
fn shutdown_cancels_what_has_not_started_and_waits_for_what_has() {
    let pool = Arc::new(ThreadPoolExecutor::new(1));
    let (started, release) = (mpsc::channel(), mpsc::channel::<()>());
    let (tell_started, wait_release) = (started.0, release.1);
    let running = pool
        .submit(move || {
            tell_started.send(()).unwrap();
            wait_release.recv().unwrap();
            "finished"
        })
        .unwrap();
    started.1.recv().unwrap(); // the one thread is busy from here on
    let queued: Vec<_> = (0..3).map(|n| pool.submit(move || n).unwrap()).collect();
    let closing = Arc::clone(&pool);
    let shutdown = thread::spawn(move || closing.shutdown());
    for future in &queued {
        assert_eq!(future.result(None), Err(ConcurrentError::Cancelled));
    }
    assert!(pool.submit(|| 0).is_err(), "no more work after shutdown");
    release.0.send(()).unwrap();
    shutdown.join().unwrap();
    assert_eq!(
        running.result(None),
        Ok("finished"),
        "waited for, not cut short"
    );
}

#[test]
fn closing_the_loop_shuts_its_default_pool_down_and_waits_for_its_threads() {
    let event_loop = new_loop();
    let (started, finished) = (mpsc::channel(), Arc::new(AtomicBool::new(false)));
    let (tell_started, done) = (started.0, Arc::clone(&finished));
    let _future = run_in_executor(&event_loop, None, move || {
        tell_started.send(()).unwrap();
        done.store(true, Ordering::SeqCst);
    })
    .unwrap();
    started.1.recv().unwrap();
    drop(event_loop); // closes the loop, which joins its pool's threads
    assert!(
        finished.load(Ordering::SeqCst),
        "the running function ended first"
    );
}

#[test]
fn a_closed_loop_refuses_and_a_function_that_ends_after_close_is_not_delivered() {
    let event_loop = new_loop();
    let pool = ThreadPoolExecutor::new(1);
    let calls = Arc::new(AtomicUsize::new(0));
    let (release, wait) = mpsc::channel::<()>();
    let (tell_started, started) = mpsc::channel();
    let counter = Arc::clone(&calls);
    let future = run_in_executor(&event_loop, Some(&pool), move || {
        tell_started.send(()).unwrap();
        wait.recv().unwrap();
        counter.fetch_add(1, Ordering::SeqCst);
    })
    .unwrap();
    started.recv().unwrap();
    let remote_side = event_loop.clone();
    drop(event_loop);
    assert!(matches!(
        run_in_executor(&remote_side, None, || ()),
        Err(LoopError::Closed)
    ));
    release.send(()).unwrap();
    pool.shutdown(); // waits: the function ran, and its answer found no loop
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(!future.done(), "nobody was left to finish it");
}

/// "Making it fast": a pool whose threads look for work before they sleep,
/// on a loop that looks before it waits, answers the same, in order, and
/// still shuts down.
#[test]
fn a_spinning_pool_on_a_spinning_loop_answers_in_order_and_shuts_down() {
    let event_loop = SelectorEventLoop::with_selector(
        stage01_generator_loop::RealClock::new(),
        PollSelector::new(),
    )
    .unwrap();
    event_loop.poller().set_idle_spin(50);
    let pool = Arc::new(ThreadPoolExecutor::spinning(2, 50));
    let (inner, on_pool) = (event_loop.clone(), Arc::clone(&pool));
    let values = run_until_complete(&event_loop, async move {
        let mut values = Vec::new();
        for n in 0..1_000_u32 {
            values.push(
                run_in_executor(&inner, Some(&on_pool), move || n + 1)
                    .unwrap()
                    .await
                    .unwrap(),
            );
        }
        values
    })
    .unwrap();
    assert_eq!(values, (1..=1_000).collect::<Vec<_>>());
    pool.shutdown();
    assert!(pool.submit(|| ()).is_err());
}

/// A pool thread counts as idle once its function has returned, before its
/// answer wakes the task: so the task's next call, which may come before
/// the thread has gone back for work, finds it idle and starts no other.
/// Calls made one after the other use one thread, whether the pool's
/// threads sleep at once or look for work first.
#[test]
fn calls_one_after_the_other_use_one_thread() {
    for looks in [0, 50] {
        let event_loop = new_loop();
        let pool = Arc::new(ThreadPoolExecutor::spinning(4, looks));
        let (inner, on_pool) = (event_loop.clone(), Arc::clone(&pool));
        run_until_complete(&event_loop, async move {
            for n in 0..1_000_u32 {
                let answer = run_in_executor(&inner, Some(&on_pool), move || n);
                assert_eq!(answer.unwrap().await.unwrap(), n);
            }
        })
        .unwrap();
        assert_eq!(pool.threads(), 1, "looks: {looks}");
    }
}
