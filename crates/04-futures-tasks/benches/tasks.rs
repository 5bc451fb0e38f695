//! What a task costs: spawning one, switching from one to another, and
//! handing a result from one task to another through a future. Three cases,
//! each measured, in one criterion group, for stage 4's tasks on the
//! selector loop and for what a Rust programmer would pick instead on one
//! thread: tokio's current-thread runtime with a `LocalSet`, smol's
//! `LocalExecutor` (crate `async-executor`), and the `futures` crate's
//! `LocalPool` (crate `futures-executor`). `asyncio_tasks.py`, beside this
//! file, measures asyncio the same way on the same machine.
//!
//! - `spawn_*`, per task: a coroutine already running spawns 10⁴ tasks whose
//!   coroutine does nothing, then waits until every one is done. An element
//!   is one task's whole life: creating it, queueing it, running its
//!   coroutine once to the end, telling its awaiter, freeing it.
//!   - `spawn_stage04`: [`create_task`] 10⁴ times, then one `gather` of the
//!     `Vec` of tasks, as asyncio's `gather(*tasks)` (gather adds a
//!     done-callback to every task, and each one runs through the loop).
//!   - `spawn_stage04_await_each`: the same tasks, awaited one after the
//!     other, as the other runtimes do below: the first `await` suspends
//!     the spawner until the tasks have run; the others find their task done.
//!   - `spawn_tokio`: `tokio::task::spawn_local` 10⁴ times, then each
//!     `JoinHandle` awaited in turn.
//!   - `spawn_async_executor`: `LocalExecutor::spawn`, each `Task` awaited.
//!   - `spawn_local_pool`: `LocalSpawnExt::spawn_local_with_handle`, each
//!     `RemoteHandle` awaited (the `futures` crate's join handle, a
//!     `oneshot` channel beside the task).
//!   - `spawn_stage04_fast` and `spawn_stage04_fast_await_each`: the same,
//!     with the fast tasks of `src/fast` (chapter 4, "Making it fast").
//! - `yield_*`, per switch: two tasks each yield to the loop 5·10⁵ times,
//!   10⁶ switches in all; an element is one yield, from the task answering
//!   `Pending` (having woken itself) to the next task resumed. Ours and
//!   smol's and `LocalPool` use [`yield_now`] (stage 4's: wake the task,
//!   answer `Pending` once; it works on any executor, and `sleep(0.0, ())`
//!   is the same thing); tokio uses its own `tokio::task::yield_now`. On
//!   our loop every iteration runs both tasks' steps and, with the textbook
//!   tasks, one `poll(2)` with a zero timeout, as asyncio's loop calls its
//!   selector in every iteration: one system call per two switches
//!   (`yield_stage04`). With the fast tasks (`yield_stage04_fast`) the loop
//!   looks once in 61 such iterations, as tokio does.
//! - `set_result_*`, per hand-off: a relay between the spawner and a second
//!   task, 10⁵ hand-offs in all. An element is one hand-off: one side sets
//!   a result on a future (sends on a one-shot channel) that the other side
//!   awaits, and the other side resumes with it. The value handed over is
//!   the next future to set: the spawner makes a fresh future, sets the
//!   server's with it, and awaits its own; the server resumes, makes a
//!   fresh future, sets the spawner's with it, and awaits that one. So a
//!   round trip (there and back) is two elements, and each element includes
//!   making the one-shot future it carries.
//!   - `set_result_stage04`: [`Future::new`], [`Future::set_result`], `await`.
//!   - `set_result_stage04_fast`: the same, the spawner and the server
//!     being fast tasks.
//!   - `set_result_tokio`: `tokio::sync::oneshot`.
//!   - `set_result_async_executor` and `set_result_local_pool`:
//!     `futures::channel::oneshot` (smol has no one-shot channel of its own).
//!
//! Criterion reports the time of one run (10⁴ tasks, 10⁶ switches, 10⁵
//! hand-offs) and its throughput in elements per second: the time per
//! element is the one over the other (at 10⁶ switches, milliseconds per run
//! are nanoseconds per switch). Every loop, runtime, executor and pool is
//! built once and reused from run to run, as a program would, keeping the
//! memory it allocated; building them is not timed. Each run starts from the
//! runtime's own entry point (`run_until_complete`, `LocalSet::block_on`,
//! `block_on(LocalExecutor::run(..))`, `LocalPool::run_until`), which is
//! timed too, once per run.
//!
//! Run with `cargo bench -p stage04-futures-tasks --features bench`, or pass
//! a filter after `--`, e.g. `-- yield_`. Criterion's own options need the
//! bench named (the library's test harness, which `cargo bench` also runs,
//! refuses them): `cargo bench -p stage04-futures-tasks --features bench
//! --bench tasks -- --warm-up-time 1 --measurement-time 2` is a short run.

use std::hint::black_box;

use async_executor::LocalExecutor;
use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use futures::executor::{LocalPool, LocalSpawner};
use futures::task::LocalSpawnExt;
use stage01_generator_loop::VirtualClock;
use stage03_read_readiness::{PollSelector, SelectorEventLoop, SelectorEvents};
use std::future::IntoFuture;

use stage04_futures_tasks::{
    Awaitable, Future, FutureError, IntoTask, fast, gather, run_until_complete, tasks, yield_now,
};

/// Tasks spawned in one run of `spawn_*`.
const TASKS: usize = 10_000;
/// Yields in one run of `yield_*`, both tasks together.
const SWITCHES: usize = 1_000_000;
/// Hand-offs in one run of `set_result_*`, both ways together.
const HAND_OFFS: usize = 100_000;

// ---------------------------------------------------------------------------
// Stage 4: tasks on the selector loop, on a virtual clock (nothing here
// sleeps, so the clock never moves; the selector still polls its self-pipe:
// once per iteration for the textbook tasks, once in 61 busy iterations for
// the fast ones). Each case runs on both kinds of task, `Textbook`
// (src/tasks.rs) and `Fast` (src/fast), the coroutine that spawns being a
// task of the same kind.

fn stage04_loop() -> SelectorEventLoop {
    SelectorEventLoop::with_selector(VirtualClock::new(), PollSelector::new())
        .expect("a selector loop")
}

/// Which of stage 4's two kinds of task a run uses.
trait Kind {
    type Task<T: Clone + 'static>: IntoFuture<Output = Result<T, FutureError>>
        + Awaitable<Output = T>
        + IntoTask;
    fn create_task<F>(event_loop: &SelectorEventLoop, coroutine: F) -> Self::Task<F::Output>
    where
        F: std::future::Future + 'static,
        F::Output: Clone;
}

/// `tasks::create_task`: the textbook's.
struct Textbook;

impl Kind for Textbook {
    type Task<T: Clone + 'static> = tasks::Task<T>;
    fn create_task<F>(event_loop: &SelectorEventLoop, coroutine: F) -> tasks::Task<F::Output>
    where
        F: std::future::Future + 'static,
        F::Output: Clone,
    {
        tasks::create_task(event_loop, coroutine).expect("the loop is open")
    }
}

/// `fast::create_task`: chapter 4's "Making it fast".
struct Fast;

impl Kind for Fast {
    type Task<T: Clone + 'static> = fast::Task<T>;
    fn create_task<F>(event_loop: &SelectorEventLoop, coroutine: F) -> fast::Task<F::Output>
    where
        F: std::future::Future + 'static,
        F::Output: Clone,
    {
        fast::create_task(event_loop, coroutine).expect("the loop is open")
    }
}

/// Run `main` as a task of kind `K` until it is done.
fn run_main<K: Kind>(
    event_loop: &SelectorEventLoop,
    main: impl std::future::Future<Output = ()> + 'static,
) {
    let main = K::create_task(event_loop, main);
    run_until_complete(event_loop, main).expect("the spawner finishes");
}

/// `create_task` `n` no-op coroutines, then wait for them all: with one
/// `gather` of the `Vec`, or (`await_each`) one `await` after the other.
fn stage04_spawn<K: Kind>(event_loop: &SelectorEventLoop, n: usize, await_each: bool) {
    let spawner = event_loop.clone();
    let main = async move {
        let tasks: Vec<K::Task<()>> = (0..n).map(|_| K::create_task(&spawner, async {})).collect();
        if await_each {
            for task in tasks {
                task.await.expect("a no-op task succeeds");
            }
        } else {
            let values = gather(tasks).await.expect("no-op tasks succeed");
            assert_eq!(values.len(), n);
        }
    };
    run_main::<K>(event_loop, main);
}

/// Two tasks, each yielding `switches / 2` times.
fn stage04_yield<K: Kind>(event_loop: &SelectorEventLoop, switches: usize) {
    let spawner = event_loop.clone();
    let main = async move {
        let yielder = || async move {
            for _ in 0..switches / 2 {
                yield_now().await;
            }
        };
        let first = K::create_task(&spawner, yielder());
        let second = K::create_task(&spawner, yielder());
        gather((first, second)).await.expect("both finish");
    };
    run_main::<K>(event_loop, main);
}

/// What one side hands the other: the future to set next.
#[derive(Clone)]
struct Baton(Future<Baton>);

/// The relay: `hand_offs / 2` round trips between the spawner and a server
/// task, each way a `set_result` on a future the other side awaits.
fn stage04_set_result<K: Kind>(event_loop: &SelectorEventLoop, hand_offs: usize) {
    let spawner = event_loop.clone();
    let main = async move {
        let rounds = hand_offs / 2;
        let mut server_inbox: Future<Baton> = Future::new(&spawner);
        let mut inbox = server_inbox.clone();
        let on_loop = spawner.clone();
        let server = K::create_task(&spawner, async move {
            for _ in 0..rounds {
                let Baton(reply) = inbox.await.expect("the spawner sets it");
                inbox = Future::new(&on_loop);
                reply
                    .set_result(Baton(inbox.clone()))
                    .expect("the spawner waits");
            }
        });
        for _ in 0..rounds {
            let mine = Future::new(&spawner);
            server_inbox
                .set_result(Baton(mine.clone()))
                .expect("the server waits");
            let Baton(next) = mine.await.expect("the server sets it");
            server_inbox = next;
        }
        server.await.expect("the server finishes");
    };
    run_main::<K>(event_loop, main);
}

// ---------------------------------------------------------------------------
// tokio: a current-thread runtime, no I/O or time driver, and a `LocalSet`
// for tasks that stay on this thread (`spawn_local`, as ours do).

struct Tokio {
    runtime: tokio::runtime::Runtime,
    local: tokio::task::LocalSet,
}

fn tokio_runtime() -> Tokio {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime");
    Tokio {
        runtime,
        local: tokio::task::LocalSet::new(),
    }
}

fn tokio_spawn(tokio: &Tokio, n: usize) {
    tokio.local.block_on(&tokio.runtime, async {
        let handles: Vec<_> = (0..n).map(|_| tokio::task::spawn_local(async {})).collect();
        for handle in handles {
            handle.await.expect("a no-op task succeeds");
        }
    });
}

fn tokio_yield(tokio: &Tokio, switches: usize) {
    tokio.local.block_on(&tokio.runtime, async {
        let yielder = || async move {
            for _ in 0..switches / 2 {
                tokio::task::yield_now().await;
            }
        };
        let first = tokio::task::spawn_local(yielder());
        let second = tokio::task::spawn_local(yielder());
        first.await.expect("finishes");
        second.await.expect("finishes");
    });
}

/// tokio's baton: the sender of the next one-shot channel.
struct TokioBaton(tokio::sync::oneshot::Sender<TokioBaton>);

fn tokio_set_result(tokio: &Tokio, hand_offs: usize) {
    use tokio::sync::oneshot;
    tokio.local.block_on(&tokio.runtime, async {
        let rounds = hand_offs / 2;
        let (mut server_inbox, mut inbox) = oneshot::channel::<TokioBaton>();
        let server = tokio::task::spawn_local(async move {
            for _ in 0..rounds {
                let TokioBaton(reply) = inbox.await.expect("the spawner sends");
                let (sender, receiver) = oneshot::channel();
                inbox = receiver;
                assert!(reply.send(TokioBaton(sender)).is_ok(), "the spawner waits");
            }
        });
        for _ in 0..rounds {
            let (sender, mine) = oneshot::channel();
            assert!(
                server_inbox.send(TokioBaton(sender)).is_ok(),
                "the server waits"
            );
            let TokioBaton(next) = mine.await.expect("the server sends");
            server_inbox = next;
        }
        server.await.expect("the server finishes");
    });
}

// ---------------------------------------------------------------------------
// smol's `LocalExecutor`, driven by `futures`' `block_on` (which parks the
// thread only when the executor has nothing to run: never, here), and the
// `futures` crate's `LocalPool`. Both hand-offs use `futures`' one-shot
// channel.

/// A baton for the executors of the `futures` world.
struct FuturesBaton(futures::channel::oneshot::Sender<FuturesBaton>);

/// The spawner's side of the relay: `rounds` round trips with the server
/// listening on `server_inbox`.
async fn futures_relay_client(
    mut server_inbox: futures::channel::oneshot::Sender<FuturesBaton>,
    rounds: usize,
) {
    use futures::channel::oneshot;
    for _ in 0..rounds {
        let (sender, mine) = oneshot::channel();
        assert!(
            server_inbox.send(FuturesBaton(sender)).is_ok(),
            "the server waits"
        );
        let FuturesBaton(next) = mine.await.expect("the server sends");
        server_inbox = next;
    }
}

/// The server's side: `rounds` times, take a baton from `inbox` and answer.
async fn futures_relay_server(
    mut inbox: futures::channel::oneshot::Receiver<FuturesBaton>,
    rounds: usize,
) {
    use futures::channel::oneshot;
    for _ in 0..rounds {
        let FuturesBaton(reply) = inbox.await.expect("the spawner sends");
        let (sender, receiver) = oneshot::channel();
        inbox = receiver;
        assert!(
            reply.send(FuturesBaton(sender)).is_ok(),
            "the spawner waits"
        );
    }
}

async fn yielder(yields: usize) {
    for _ in 0..yields {
        yield_now().await;
    }
}

fn async_executor_spawn(executor: &LocalExecutor<'static>, n: usize) {
    futures::executor::block_on(executor.run(async {
        let tasks: Vec<_> = (0..n).map(|_| executor.spawn(async {})).collect();
        for task in tasks {
            task.await;
        }
    }));
}

fn async_executor_yield(executor: &LocalExecutor<'static>, switches: usize) {
    futures::executor::block_on(executor.run(async {
        let first = executor.spawn(yielder(switches / 2));
        let second = executor.spawn(yielder(switches / 2));
        first.await;
        second.await;
    }));
}

fn async_executor_set_result(executor: &LocalExecutor<'static>, hand_offs: usize) {
    futures::executor::block_on(executor.run(async {
        let rounds = hand_offs / 2;
        let (server_inbox, inbox) = futures::channel::oneshot::channel();
        let server = executor.spawn(futures_relay_server(inbox, rounds));
        futures_relay_client(server_inbox, rounds).await;
        server.await;
    }));
}

fn local_pool_spawn(pool: &mut LocalPool, spawner: &LocalSpawner, n: usize) {
    pool.run_until(async {
        let handles: Vec<_> = (0..n)
            .map(|_| {
                spawner
                    .spawn_local_with_handle(async {})
                    .expect("the pool is open")
            })
            .collect();
        for handle in handles {
            handle.await;
        }
    });
}

fn local_pool_yield(pool: &mut LocalPool, spawner: &LocalSpawner, switches: usize) {
    pool.run_until(async {
        let spawn = |yields| {
            spawner
                .spawn_local_with_handle(yielder(yields))
                .expect("the pool is open")
        };
        let (first, second) = (spawn(switches / 2), spawn(switches / 2));
        first.await;
        second.await;
    });
}

fn local_pool_set_result(pool: &mut LocalPool, spawner: &LocalSpawner, hand_offs: usize) {
    pool.run_until(async {
        let rounds = hand_offs / 2;
        let (server_inbox, inbox) = futures::channel::oneshot::channel();
        let server = spawner
            .spawn_local_with_handle(futures_relay_server(inbox, rounds))
            .expect("the pool is open");
        futures_relay_client(server_inbox, rounds).await;
        server.await;
    });
}

// ---------------------------------------------------------------------------

fn tasks(c: &mut Criterion) {
    let mut group = c.benchmark_group("stage04_tasks");
    // A run takes milliseconds (spawn) to most of a second (10⁶ switches):
    // ten samples of whole runs. The warm-up and measurement times are
    // criterion's, or those given on the command line.
    group.sampling_mode(SamplingMode::Flat).sample_size(10);

    let event_loop = stage04_loop();
    // The fast tasks' loop: one for them alone, as a program would have.
    let fast_loop = stage04_loop();
    let tokio = tokio_runtime();
    let executor = LocalExecutor::new();
    let mut pool = LocalPool::new();
    let spawner = pool.spawner();

    group.throughput(Throughput::Elements(TASKS as u64));
    let id = |name: &str| BenchmarkId::new(name, TASKS);
    group.bench_function(id("spawn_stage04"), |b| {
        b.iter(|| stage04_spawn::<Textbook>(&event_loop, black_box(TASKS), false));
    });
    group.bench_function(id("spawn_stage04_await_each"), |b| {
        b.iter(|| stage04_spawn::<Textbook>(&event_loop, black_box(TASKS), true));
    });
    group.bench_function(id("spawn_stage04_fast"), |b| {
        b.iter(|| stage04_spawn::<Fast>(&fast_loop, black_box(TASKS), false));
    });
    group.bench_function(id("spawn_stage04_fast_await_each"), |b| {
        b.iter(|| stage04_spawn::<Fast>(&fast_loop, black_box(TASKS), true));
    });
    group.bench_function(id("spawn_tokio"), |b| {
        b.iter(|| tokio_spawn(&tokio, black_box(TASKS)));
    });
    group.bench_function(id("spawn_async_executor"), |b| {
        b.iter(|| async_executor_spawn(&executor, black_box(TASKS)));
    });
    group.bench_function(id("spawn_local_pool"), |b| {
        b.iter(|| local_pool_spawn(&mut pool, &spawner, black_box(TASKS)));
    });

    group.throughput(Throughput::Elements(SWITCHES as u64));
    let id = |name: &str| BenchmarkId::new(name, SWITCHES);
    group.bench_function(id("yield_stage04"), |b| {
        b.iter(|| stage04_yield::<Textbook>(&event_loop, black_box(SWITCHES)));
    });
    group.bench_function(id("yield_stage04_fast"), |b| {
        b.iter(|| stage04_yield::<Fast>(&fast_loop, black_box(SWITCHES)));
    });
    group.bench_function(id("yield_tokio"), |b| {
        b.iter(|| tokio_yield(&tokio, black_box(SWITCHES)));
    });
    group.bench_function(id("yield_async_executor"), |b| {
        b.iter(|| async_executor_yield(&executor, black_box(SWITCHES)));
    });
    group.bench_function(id("yield_local_pool"), |b| {
        b.iter(|| local_pool_yield(&mut pool, &spawner, black_box(SWITCHES)));
    });

    group.throughput(Throughput::Elements(HAND_OFFS as u64));
    let id = |name: &str| BenchmarkId::new(name, HAND_OFFS);
    group.bench_function(id("set_result_stage04"), |b| {
        b.iter(|| stage04_set_result::<Textbook>(&event_loop, black_box(HAND_OFFS)));
    });
    group.bench_function(id("set_result_stage04_fast"), |b| {
        b.iter(|| stage04_set_result::<Fast>(&fast_loop, black_box(HAND_OFFS)));
    });
    group.bench_function(id("set_result_tokio"), |b| {
        b.iter(|| tokio_set_result(&tokio, black_box(HAND_OFFS)));
    });
    group.bench_function(id("set_result_async_executor"), |b| {
        b.iter(|| async_executor_set_result(&executor, black_box(HAND_OFFS)));
    });
    group.bench_function(id("set_result_local_pool"), |b| {
        b.iter(|| local_pool_set_result(&mut pool, &spawner, black_box(HAND_OFFS)));
    });
    group.finish();
}

criterion_group!(benches, tasks);
criterion_main!(benches);
