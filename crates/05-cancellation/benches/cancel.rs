//! What cancellation costs: cancelling many waiting tasks and reaping them,
//! a timeout around something already ready, and `wait_for` around an inner
//! coroutine that returns at once. Three cases, each in one criterion group
//! for stage 5's tasks on the selector loop and for tokio (a current-thread
//! runtime with its time driver, and a `LocalSet`, so that tasks stay on
//! this thread as ours do). `asyncio_cancel.py`, beside this file, measures
//! asyncio the same way on the same machine.
//!
//! - `cancel_reap_*`, per task: a task spawns 10⁵ tasks that each sleep an
//!   hour, waits until every one has started (its timer is set), cancels
//!   every one, then awaits each in turn until it has ended cancelled. An
//!   element is one task's whole cancelled life: creating it, its first
//!   step (setting its timer), the cancel, the step that delivers it, the
//!   timer removed, its awaiter told, the task freed.
//!   - `cancel_reap_stage05`: [`create_task`] of a coroutine that awaits
//!     [`sleep`]`(3600.0, ())`; [`Task::cancel`]`(None)`; `task.await`,
//!     which answers `Err(Cancelled)`.
//!   - `cancel_reap_tokio`: `spawn_local` of `tokio::time::sleep` (one
//!     hour); `JoinHandle::abort`; the `JoinHandle` awaited, which answers
//!     a cancelled `JoinError`.
//! - `timeout_ready_*`, per timeout: one task, 10⁵ times in a row, puts a
//!   ten-second timeout around something already ready and awaits it. The
//!   task never suspends.
//!   - `timeout_ready_stage05`: [`timeout`]`(Some(10.0))?.run(async {
//!     Ok(1) })`, asyncio's `async with asyncio.timeout(10)`: the scope sets
//!     a timer on the loop as it enters and cancels it as it leaves, as
//!     asyncio's does (the cancelled timers stay in the loop's heap until
//!     the loop's next iteration sweeps them out, which in this case comes
//!     once, after the run).
//!   - `timeout_ready_tokio`: `tokio::time::timeout(10 s,
//!     std::future::ready(1))`, which polls its future first and never
//!     registers a timer for one that is ready.
//! - `wait_for_fast_*`, per call: one task, 10⁵ times in a row, awaits a
//!   ten-second `wait_for` around a coroutine that returns at once.
//!   - `wait_for_fast_stage05`: [`wait_for`]`(async { Ok(1) },
//!     Some(10.0))`. As asyncio 3.11's, it makes a task of the coroutine,
//!     sets a timer and a waiter future, and suspends the caller until the
//!     inner task's done-callback releases it: several turns of the loop
//!     per call.
//!   - `wait_for_fast_tokio`: `tokio::time::timeout(10 s, async { 1 })`:
//!     no task, and no timer (the inner is ready at its first poll).
//!   - `wait_for_fast_tokio_spawned`: `tokio::time::timeout(10 s,
//!     spawn_local(async { 1 }))`: a task, as asyncio's `wait_for` makes
//!     one, and a timer registered while the `JoinHandle` is pending.
//!
//! Stage 5's tasks are stage 4's underneath: the textbook ones, or with
//! this crate's `fast` feature stage 4's fast ones and the fast `sleep`
//! (see `src/fast.rs`), and then our rows are named `*_stage05_fast`. Criterion reports the time of one run (10⁵ elements)
//! and its throughput in elements per second: at 10⁵ elements, a run of
//! 1 ms is 10 ns per element. The loop and the runtime are built once and
//! reused from run to run, as a program would; each run starts from the
//! runtime's own entry point (`run_until_complete`, `LocalSet::block_on`),
//! timed too, once per run. Our loop runs on the real clock (`RealClock`),
//! as tokio's runtime does; no timer here ever fires.
//!
//! Run with `cargo bench -p stage05-cancellation --features bench --bench
//! cancel` (on the fast path: `--features bench,fast`),
//! or pass a filter after `--`, e.g. `-- timeout_`; `-- --warm-up-time 1
//! --measurement-time 2` is a short run. Then, for asyncio:
//! `/usr/bin/python3 crates/05-cancellation/benches/asyncio_cancel.py`.

use std::cell::Cell;
use std::hint::black_box;
use std::rc::Rc;
use std::time::Duration;

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use stage01_generator_loop::RealClock;
use stage03_read_readiness::{PollSelector, SelectorEventLoop, SelectorEvents};
use stage04_futures_tasks::{FutureError, run_until_complete};
use stage05_cancellation::{Task, create_task, sleep, timeout, wait_for, yield_now};

/// Tasks cancelled in one run of `cancel_reap_*`.
const TASKS: usize = 100_000;
/// Timeouts (or `wait_for` calls) in one run of `timeout_ready_*` and
/// `wait_for_fast_*`.
const ITERATIONS: usize = 100_000;
/// How long a task of `cancel_reap_*` sleeps: an hour, never reached.
const HOUR: f64 = 3600.0;
/// The timeout of `timeout_ready_*` and `wait_for_fast_*`: never reached.
const TIMEOUT: f64 = 10.0;

// ---------------------------------------------------------------------------
// Stage 5: cancellable tasks on the selector loop, on the real clock.

fn stage05_loop() -> SelectorEventLoop {
    SelectorEventLoop::with_selector(RealClock::new(), PollSelector::new())
        .expect("a selector loop")
}

/// Whether stage 5 runs on its fast path (its `fast` feature, which makes
/// its tasks stage 4's fast ones), for the rows' names.
fn on_fast_tasks() -> bool {
    std::any::type_name::<stage04_futures_tasks::Task<()>>().contains("::fast::")
}

/// Run `main` as a stage 5 task (so that `current_task()` finds it, which a
/// timeout scope needs) until it is done.
fn run_main(
    event_loop: &SelectorEventLoop,
    main: impl std::future::Future<Output = Result<(), FutureError>> + 'static,
) {
    let main = create_task(event_loop, main).expect("the loop is open");
    run_until_complete(event_loop, main).expect("the main task succeeds");
}

/// Spawn `n` tasks that sleep an hour, let them all start, cancel them all,
/// and await each until it has ended cancelled.
fn stage05_cancel_reap(event_loop: &SelectorEventLoop, n: usize) {
    let spawner = event_loop.clone();
    run_main(event_loop, async move {
        let started = Rc::new(Cell::new(0));
        let tasks: Vec<Task<()>> = (0..n)
            .map(|_| {
                let started = Rc::clone(&started);
                create_task(&spawner, async move {
                    started.set(started.get() + 1);
                    sleep(HOUR, ()).await
                })
                .expect("the loop is open")
            })
            .collect();
        // One yield is enough: the tasks' first steps were queued first.
        while started.get() < n {
            yield_now().await?;
        }
        for task in &tasks {
            assert!(task.cancel(None), "a sleeping task can be cancelled");
        }
        for task in tasks {
            match task.await {
                Err(FutureError::Cancelled) => {}
                other => panic!("a cancelled sleeper ends cancelled, not {other:?}"),
            }
        }
        Ok(())
    });
}

/// `m` timeout scopes in a row, each around a block that is ready at once.
fn stage05_timeout_ready(event_loop: &SelectorEventLoop, m: usize) {
    run_main(event_loop, async move {
        for _ in 0..m {
            let value = timeout(Some(TIMEOUT))?
                .run(async { Ok(black_box(1)) })
                .await?;
            black_box(value);
        }
        Ok(())
    });
}

/// `m` `wait_for` calls in a row, each around a coroutine that returns at
/// once.
fn stage05_wait_for_fast(event_loop: &SelectorEventLoop, m: usize) {
    run_main(event_loop, async move {
        for _ in 0..m {
            let value = wait_for(async { Ok(black_box(1)) }, Some(TIMEOUT)).await?;
            black_box(value);
        }
        Ok(())
    });
}

// ---------------------------------------------------------------------------
// tokio: a current-thread runtime with its time driver (on the real clock),
// and a `LocalSet` for tasks that stay on this thread.

struct Tokio {
    runtime: tokio::runtime::Runtime,
    local: tokio::task::LocalSet,
}

fn tokio_runtime() -> Tokio {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a current-thread runtime");
    Tokio {
        runtime,
        local: tokio::task::LocalSet::new(),
    }
}

fn tokio_cancel_reap(tokio: &Tokio, n: usize) {
    tokio.local.block_on(&tokio.runtime, async {
        let started = Rc::new(Cell::new(0));
        let handles: Vec<_> = (0..n)
            .map(|_| {
                let started = Rc::clone(&started);
                tokio::task::spawn_local(async move {
                    started.set(started.get() + 1);
                    tokio::time::sleep(Duration::from_secs_f64(HOUR)).await;
                })
            })
            .collect();
        // A `LocalSet` runs 61 tasks per tick before it polls this future
        // again: yield until every sleeper has set its timer.
        while started.get() < n {
            tokio::task::yield_now().await;
        }
        for handle in &handles {
            handle.abort();
        }
        for handle in handles {
            let error = handle
                .await
                .expect_err("an aborted sleeper does not finish");
            assert!(error.is_cancelled(), "an aborted sleeper ends cancelled");
        }
    });
}

fn tokio_timeout_ready(tokio: &Tokio, m: usize) {
    tokio.local.block_on(&tokio.runtime, async {
        for _ in 0..m {
            let value = tokio::time::timeout(
                Duration::from_secs_f64(TIMEOUT),
                std::future::ready(black_box(1)),
            )
            .await
            .expect("a ready future is in time");
            black_box(value);
        }
    });
}

/// `m` timeouts around a coroutine that returns at once: awaited in place,
/// or (`spawned`) run as a task whose `JoinHandle` the timeout awaits.
fn tokio_wait_for_fast(tokio: &Tokio, m: usize, spawned: bool) {
    let limit = Duration::from_secs_f64(TIMEOUT);
    tokio.local.block_on(&tokio.runtime, async {
        for _ in 0..m {
            let value = if spawned {
                tokio::time::timeout(limit, tokio::task::spawn_local(async { black_box(1) }))
                    .await
                    .expect("in time")
                    .expect("the task returns")
            } else {
                tokio::time::timeout(limit, async { black_box(1) })
                    .await
                    .expect("in time")
            };
            black_box(value);
        }
    });
}

// ---------------------------------------------------------------------------

fn cancel(c: &mut Criterion) {
    let mut group = c.benchmark_group("stage05_cancel");
    // A run takes milliseconds (a timeout around something ready) to a few
    // hundred (10⁵ tasks cancelled): ten samples of whole runs.
    group.sampling_mode(SamplingMode::Flat).sample_size(10);

    let event_loop = stage05_loop();
    let tokio = tokio_runtime();
    let kind = if on_fast_tasks() { "_fast" } else { "" };
    let ours = |case: &str, n: usize| BenchmarkId::new(format!("{case}_stage05{kind}"), n);

    group.throughput(Throughput::Elements(TASKS as u64));
    group.bench_function(ours("cancel_reap", TASKS), |b| {
        b.iter(|| stage05_cancel_reap(&event_loop, black_box(TASKS)));
    });
    group.bench_function(BenchmarkId::new("cancel_reap_tokio", TASKS), |b| {
        b.iter(|| tokio_cancel_reap(&tokio, black_box(TASKS)));
    });

    group.throughput(Throughput::Elements(ITERATIONS as u64));
    group.bench_function(ours("timeout_ready", ITERATIONS), |b| {
        b.iter(|| stage05_timeout_ready(&event_loop, black_box(ITERATIONS)));
    });
    group.bench_function(BenchmarkId::new("timeout_ready_tokio", ITERATIONS), |b| {
        b.iter(|| tokio_timeout_ready(&tokio, black_box(ITERATIONS)));
    });

    group.bench_function(ours("wait_for_fast", ITERATIONS), |b| {
        b.iter(|| stage05_wait_for_fast(&event_loop, black_box(ITERATIONS)));
    });
    group.bench_function(BenchmarkId::new("wait_for_fast_tokio", ITERATIONS), |b| {
        b.iter(|| tokio_wait_for_fast(&tokio, black_box(ITERATIONS), false));
    });
    group.bench_function(
        BenchmarkId::new("wait_for_fast_tokio_spawned", ITERATIONS),
        |b| {
            b.iter(|| tokio_wait_for_fast(&tokio, black_box(ITERATIONS), true));
        },
    );
    group.finish();
}

criterion_group!(benches, cancel);
criterion_main!(benches);
