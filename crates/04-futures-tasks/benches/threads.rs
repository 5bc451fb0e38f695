//! What crossing threads costs: handing a coroutine to a loop in another
//! thread and waiting for its value, and running a no-op function on a
//! pool of threads from a task. Stage 4 against tokio (a current-thread
//! runtime driven in a thread of its own, and its blocking pool), in one
//! criterion group; `asyncio_threads.py`, beside this file, measures
//! asyncio the same way.
//!
//! - `threadsafe_*`, per round trip: this thread hands over a coroutine
//!   that returns at once, then blocks until its value is back. Ours:
//!   `run_coroutine_threadsafe` to a [`LoopThread`], and `result(None)` on
//!   the `ConcurrentFuture`. tokio's: `Handle::spawn` on a runtime that a
//!   worker thread drives (`block_on` of a future that never ends), and
//!   `futures::executor::block_on` of the `JoinHandle`. Both wake a
//!   sleeping thread twice: the loop's (our self-pipe, tokio's driver), and
//!   this one.
//!   `threadsafe_stage04_spinning`: the same, the worker loop looking for
//!   work 200 times before it waits (`SelectorPoller::set_idle_spin`).
//! - `executor_*`, per call: a task awaits a function that does nothing,
//!   run on the pool, 10³ times in a row. Ours: `run_in_executor(None,
//!   ..)` (`executor_stage04`), and on a pool whose threads look for work
//!   200 times before they sleep, from a loop that does the same before it
//!   waits (`executor_stage04_spinning`); tokio's:
//!   `spawn_blocking`.
//!
//! Run with `cargo bench -p stage04-futures-tasks --features bench --bench
//! threads`.

use std::hint::black_box;
use std::sync::Arc;
use std::thread;

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use stage01_generator_loop::RealClock;
use stage03_read_readiness::{PollSelector, SelectorEventLoop, SelectorEvents};
use stage04_futures_tasks::{
    LoopThread, ThreadPoolExecutor, run_coroutine_threadsafe, run_in_executor, run_until_complete,
};

/// Calls in one run of `executor_*`.
const CALLS: usize = 1_000;
/// How many times a spinning pool's thread looks for work before sleeping.
const SPIN_LOOKS: u32 = 200;

/// A tokio current-thread runtime driven by a worker thread for ever (the
/// thread ends with the process), and a handle to spawn on it.
fn tokio_in_a_thread() -> tokio::runtime::Handle {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime");
    let handle = runtime.handle().clone();
    thread::spawn(move || runtime.block_on(std::future::pending::<()>()));
    handle
}

/// `calls` no-op calls awaited in turn, on `pool` (`None`: the loop's
/// default pool).
fn stage04_executor(
    event_loop: &SelectorEventLoop,
    pool: Option<Arc<ThreadPoolExecutor>>,
    calls: usize,
) {
    let inner = event_loop.clone();
    run_until_complete(event_loop, async move {
        for _ in 0..calls {
            run_in_executor(&inner, pool.as_deref(), || black_box(()))
                .expect("the loop is open")
                .await
                .expect("a no-op does not panic");
        }
    })
    .expect("the calls finish");
}

fn tokio_executor(runtime: &tokio::runtime::Runtime, calls: usize) {
    runtime.block_on(async {
        for _ in 0..calls {
            tokio::task::spawn_blocking(|| black_box(()))
                .await
                .expect("a no-op does not panic");
        }
    });
}

fn threads(c: &mut Criterion) {
    let mut group = c.benchmark_group("stage04_threads");
    group.sampling_mode(SamplingMode::Flat).sample_size(10);

    group.throughput(Throughput::Elements(1));
    let worker = LoopThread::spawn(RealClock::new()).expect("a loop thread");
    group.bench_function(BenchmarkId::new("threadsafe_stage04", 1), |b| {
        b.iter(|| {
            let future = run_coroutine_threadsafe(|| async { black_box(1) }, worker.remote())
                .expect("the loop is open");
            future.result(None).expect("the coroutine returns")
        });
    });
    // "Making it fast": a worker loop that looks for work 200 times before
    // it waits in poll(2).
    let spinning_worker = LoopThread::spawn(RealClock::new()).expect("a loop thread");
    spinning_worker
        .remote()
        .call_soon_threadsafe(|event_loop| event_loop.poller().set_idle_spin(SPIN_LOOKS))
        .expect("the loop is open");
    group.bench_function(BenchmarkId::new("threadsafe_stage04_spinning", 1), |b| {
        b.iter(|| {
            let future =
                run_coroutine_threadsafe(|| async { black_box(1) }, spinning_worker.remote())
                    .expect("the loop is open");
            let future = future.spinning(SPIN_LOOKS);
            future.result(None).expect("the coroutine returns")
        });
    });
    let tokio_handle = tokio_in_a_thread();
    group.bench_function(BenchmarkId::new("threadsafe_tokio", 1), |b| {
        b.iter(|| {
            let join = tokio_handle.spawn(async { black_box(1) });
            futures::executor::block_on(join).expect("the task returns")
        });
    });

    group.throughput(Throughput::Elements(CALLS as u64));
    let event_loop = SelectorEventLoop::with_selector(RealClock::new(), PollSelector::new())
        .expect("a selector loop");
    group.bench_function(BenchmarkId::new("executor_stage04", CALLS), |b| {
        b.iter(|| stage04_executor(&event_loop, None, black_box(CALLS)));
    });
    // Chapter "Making it fast" of the threads: a pool whose threads look
    // for work a little while before they sleep.
    let spinning = Arc::new(ThreadPoolExecutor::spinning(
        ThreadPoolExecutor::default_workers(),
        SPIN_LOOKS,
    ));
    let spinning_loop = SelectorEventLoop::with_selector(RealClock::new(), PollSelector::new())
        .expect("a selector loop");
    spinning_loop.poller().set_idle_spin(SPIN_LOOKS);
    group.bench_function(BenchmarkId::new("executor_stage04_spinning", CALLS), |b| {
        b.iter(|| {
            stage04_executor(
                &spinning_loop,
                Some(Arc::clone(&spinning)),
                black_box(CALLS),
            );
        });
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime");
    group.bench_function(BenchmarkId::new("executor_tokio", CALLS), |b| {
        b.iter(|| tokio_executor(&runtime, black_box(CALLS)));
    });
    group.finish();
    worker.stop().expect("the loop thread stops");
    spinning_worker.stop().expect("the loop thread stops");
}

criterion_group!(benches, threads);
criterion_main!(benches);
