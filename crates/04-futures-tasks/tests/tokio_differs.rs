//! What chapter 4's "How tokio and asyncio differ here" says tokio does,
//! checked on tokio itself (a current-thread runtime and a `LocalSet`, as
//! the benchmarks use), beside the same thing on our tasks where we have it:
//! who owns a task whose handle is dropped, how many may await a task,
//! what a panic and `abort` give the awaiter, what a wake allocates, and a
//! wake from another thread.
//!
//! Nothing here sleeps or measures time: each test runs until the tasks it
//! spawned are done, and checks what they left behind.

mod counting_alloc;

use std::cell::Cell;
use std::future::poll_fn;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::task::{Poll, Waker};

use stage01_generator_loop::VirtualClock;
use stage03_read_readiness::{PollSelector, SelectorEventLoop, SelectorEvents};
use stage04_futures_tasks::{Task, create_task, fast, run_until_complete, tasks, yield_now};
use tokio::runtime::{Builder, Runtime};
use tokio::task::{JoinHandle, LocalSet, spawn_local};

fn our_loop() -> SelectorEventLoop {
    SelectorEventLoop::with_selector(VirtualClock::new(), PollSelector::new()).unwrap()
}

/// A current-thread runtime with no driver (no timers, no I/O).
fn tokio_runtime() -> Runtime {
    Builder::new_current_thread().build().unwrap()
}

/// Sets its flag when dropped: a future holding one shows when it is.
struct DropGuard(Rc<Cell<bool>>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

/// Wake the task at once and answer `Pending`, once: one wake, one more
/// step, whatever the executor.
async fn wake_once() {
    let mut woken = false;
    poll_fn(|cx| {
        if woken {
            return Poll::Ready(());
        }
        woken = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await;
}

// -- Who owns a task: dropping the handle does not cancel it -------------

#[test]
fn dropping_a_tokio_join_handle_does_not_cancel_the_task() {
    let runtime = tokio_runtime();
    let local = LocalSet::new();
    let finished = Rc::new(Cell::new(false));
    let set = Rc::clone(&finished);
    let handle = local.spawn_local(async move {
        for _ in 0..3 {
            tokio::task::yield_now().await;
        }
        set.set(true);
    });
    drop(handle); // detached: the runtime still owns the task
    runtime.block_on(local); // runs until the set has no task left
    assert!(finished.get(), "the detached task ran to its end");
}

#[test]
fn dropping_our_task_handle_does_not_cancel_the_task() {
    let event_loop = our_loop();
    let finished = Rc::new(Cell::new(false));
    let set = Rc::clone(&finished);
    let task: Task<()> = create_task(&event_loop, async move {
        for _ in 0..3 {
            yield_now().await;
        }
        set.set(true);
    })
    .unwrap();
    drop(task); // the loop's task set still owns it
    run_until_complete(&event_loop, async {
        for _ in 0..10 {
            yield_now().await;
        }
    })
    .unwrap();
    assert!(finished.get(), "the task ran to its end");
}

// -- How a result is awaited: one JoinHandle, many awaiters of a task ----

/// Whether `T` is `Clone`, for a concrete `T`: the inherent constant exists
/// only when `T: Clone`, and the trait's answers otherwise.
struct Probe<T>(std::marker::PhantomData<T>);

trait NotClone {
    const CLONE: bool = false;
}

impl<T> NotClone for Probe<T> {}

impl<T: Clone> Probe<T> {
    const CLONE: bool = true;
}

#[test]
fn a_tokio_join_handle_has_one_awaiter_and_our_task_many() {
    // Checked when the test is compiled.
    const {
        assert!(
            !Probe::<JoinHandle<u32>>::CLONE,
            "a JoinHandle is not Clone"
        )
    };
    const { assert!(Probe::<Task<u32>>::CLONE, "our Task is Clone") };

    let event_loop = our_loop();
    let task = create_task(&event_loop, async { 42 }).unwrap();
    let awaiters: Vec<Task<u32>> = (0..3)
        .map(|_| {
            let task = task.clone();
            create_task(&event_loop, async move { task.await.unwrap() }).unwrap()
        })
        .collect();
    // They start in the order created: the last done, all are.
    let last = awaiters[2].clone();
    let last = run_until_complete(&event_loop, async move { last.await });
    assert_eq!(last.unwrap().unwrap(), 42);
    for awaiter in awaiters {
        assert_eq!(awaiter.result().unwrap(), 42);
    }
}

// -- A panic: the awaiter's JoinError, and the runtime goes on -----------

#[test]
fn a_panicking_tokio_task_gives_a_panic_join_error_and_the_runtime_goes_on() {
    let runtime = tokio_runtime();
    let local = LocalSet::new();
    let (error, after) = local.block_on(&runtime, async {
        let broken = spawn_local(async { panic!("the coroutine broke") });
        let error = broken.await.unwrap_err();
        let after = spawn_local(async { "still here" }).await.unwrap();
        (error, after)
    });
    assert!(error.is_panic());
    let payload = error.into_panic();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"the coroutine broke"));
    assert_eq!(after, "still here");
}

// -- Cancellation: abort drops the future --------------------------------

#[test]
fn abort_drops_a_tokio_tasks_future_and_its_awaiter_gets_cancelled() {
    let runtime = tokio_runtime();
    let local = LocalSet::new();
    let dropped = Rc::new(Cell::new(false));
    let guard = DropGuard(Rc::clone(&dropped));
    let seen = Rc::clone(&dropped);
    local.block_on(&runtime, async move {
        let handle = spawn_local(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        });
        tokio::task::yield_now().await; // the task starts, and waits
        assert!(!seen.get());
        handle.abort();
        let error = handle.await.unwrap_err();
        assert!(error.is_cancelled());
        assert!(seen.get(), "the future was dropped before the awaiter woke");
    });
    assert!(dropped.get());
}

// -- What a wake allocates ------------------------------------------------

/// The allocations this thread makes in `run`.
fn allocations_of(run: impl FnOnce()) -> usize {
    let (allocations, reallocations) = counting_alloc::count(run);
    allocations + reallocations
}

const WAKES: usize = 1000;

#[test]
fn a_tokio_wake_allocates_nothing_ours_two_and_the_fast_ones_nothing() {
    // One task woken `wakes` times, on a runtime (or loop) warmed up first;
    // the difference between 1 + WAKES wakes and 1 is what the wakes cost.
    let runtime = tokio_runtime();
    let local = LocalSet::new();
    let tokio_run = |wakes: usize| {
        local.block_on(&runtime, async move {
            let task = spawn_local(async move {
                for _ in 0..wakes {
                    wake_once().await;
                }
            });
            task.await.unwrap();
        });
    };
    tokio_run(1 + WAKES);
    let one = allocations_of(|| tokio_run(1));
    assert!(one > 0, "the counter counts: spawning allocates the task");
    let tokio_wakes = allocations_of(|| tokio_run(1 + WAKES)) - one;
    assert_eq!(tokio_wakes, 0, "tokio: a wake queues the task itself");

    let event_loop = our_loop();
    let our_run = |wakes: usize| {
        let task = tasks::create_task(&event_loop, async move {
            for _ in 0..wakes {
                wake_once().await;
            }
        })
        .unwrap();
        run_until_complete(&event_loop, async move { task.await.unwrap() }).unwrap();
    };
    our_run(1 + WAKES);
    let our_wakes = allocations_of(|| our_run(1 + WAKES)) - allocations_of(|| our_run(1));
    assert_eq!(
        our_wakes,
        2 * WAKES,
        "ours: a wake is a call_soon, a boxed callback and its Handle"
    );

    // The fast tasks (chapter 4, "Making it fast") queue the loop's one
    // drain handle again instead: like tokio's, their wakes allocate nothing.
    let fast_run = |wakes: usize| {
        let task = fast::create_task(&event_loop, async move {
            for _ in 0..wakes {
                wake_once().await;
            }
        })
        .unwrap();
        run_until_complete(&event_loop, async move { task.await.unwrap() }).unwrap();
    };
    fast_run(1 + WAKES);
    let fast_wakes = allocations_of(|| fast_run(1 + WAKES)) - allocations_of(|| fast_run(1));
    assert_eq!(fast_wakes, 0, "fast: a wake queues the task itself");
}

// -- A wake from another thread ------------------------------------------

#[test]
fn a_tokio_local_task_woken_from_another_thread_runs() {
    let runtime = tokio_runtime();
    let local = LocalSet::new();
    let flag = Arc::new(AtomicBool::new(false));
    let (send_waker, waker) = mpsc::channel::<Waker>();
    let set = Arc::clone(&flag);
    let worker = std::thread::spawn(move || {
        let waker = waker.recv().unwrap();
        set.store(true, Ordering::Release);
        waker.wake();
    });
    let outcome = local.block_on(&runtime, async move {
        let mut sent = false;
        spawn_local(poll_fn(move |cx| {
            if flag.load(Ordering::Acquire) {
                return Poll::Ready("woken from another thread");
            }
            if !sent {
                sent = true;
                send_waker.send(cx.waker().clone()).unwrap();
            }
            Poll::Pending
        }))
        .await
        .unwrap()
    });
    worker.join().unwrap();
    assert_eq!(outcome, "woken from another thread");
}
