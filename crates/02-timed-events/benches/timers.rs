//! What one timer costs, per timer, from 10^3 to 10^6 timers, in two
//! lifetimes: "insert+fire" schedules n timers at pseudo-random times and
//! then fires them all in time order; "insert+cancel" schedules n timers and
//! then cancels them all.
//!
//! Measured for the schedules on their own (the sorted list up to 10^5
//! timers; the binary heap, whose eager `remove` is O(n), cancels up to
//! 10^4; the fast loop's radix heap), for the callback loop [`EventLoop`] on
//! a virtual clock (lazy cancellation, as asyncio does it), first as the
//! textbook builds it (a binary heap of handles) and then with the fast
//! schedule, and, in the same group, for what a Rust user would pick
//! instead: tokio's `Sleep`. `asyncio_timers.py`, beside this file, measures
//! asyncio's loop the same way on the same machine.
//!
//! Criterion reports the time of a run of n timers and its throughput in
//! timers per second: the time per timer is the one over the other. Every
//! measurement covers a timer's whole life: scheduling, firing or cancelling,
//! and freeing it. Building the inputs and checking the results are not
//! timed. Each run of a bare schedule starts on a new, empty one; the
//! EventLoop and tokio's runtime are each built once per n and reused, as a
//! program would, keeping the memory they allocated between runs.
//!
//! Run with `cargo bench -p stage02-timed-events --features bench`, or pass a
//! filter after `--`, e.g. `-- event_loop` or `-- '/1000000$'`.

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::task::{Context, Waker};
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group,
    criterion_main,
};
use stage01_generator_loop::VirtualClock;
use stage02_timed_events::EventLoop;
use stage02_timed_events::fast::{FastEventLoop, RadixHeap};
use stage02_timed_events::schedule::{Heap, Key, Schedule, SortedList};
use stage02_timed_events::seconds::Nanos;
use stage02_timed_events::{AbstractEventLoop, TimerHandle};

/// Deadlines fall in the next minute: between 1 ns and 60 s from now.
const SPREAD_NANOS: u64 = 60_000_000_000;

/// The xorshift generator's seed; `asyncio_timers.py` uses the same one, so
/// both benchmarks schedule the very same deadlines.
const SEED: u64 = 0x9E37_79B9_7F4A_7C15;

/// `n` pseudo-random deadlines in `1..=SPREAD_NANOS` nanoseconds from now, in
/// the order they are scheduled (Marsaglia's xorshift64, shifts 13, 7, 17).
fn deadlines(n: u64) -> Vec<Nanos> {
    let mut state = SEED;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            1 + (state % SPREAD_NANOS) as Nanos
        })
        .collect()
}

/// Run `routine` `iters` times, each on a fresh `setup()`, and add up the
/// time the routines took: the setup is not timed.
fn timed<S>(iters: u64, mut setup: impl FnMut() -> S, mut routine: impl FnMut(S)) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let input = setup();
        let start = Instant::now();
        routine(input);
        total += start.elapsed();
    }
    total
}

// ---------------------------------------------------------------------------
// The schedules on their own. Each item is the timer's index, a `u64`.

/// Push every deadline, then pop until empty: the pops come out in time order.
fn schedule_fire<S: Schedule<u64>>(mut schedule: S, deadlines: &[Nanos]) {
    for (index, &when) in (0u64..).zip(deadlines) {
        schedule.push(when, index);
    }
    while let Some((key, index)) = schedule.pop() {
        black_box((key, index));
    }
}

/// Push every deadline, then `remove` every timer, in the order pushed.
fn schedule_cancel<S: Schedule<u64>>(mut schedule: S, deadlines: &[Nanos], keys: &mut Vec<Key>) {
    for (index, &when) in (0u64..).zip(deadlines) {
        keys.push(schedule.push(when, index));
    }
    for key in keys.drain(..) {
        black_box(schedule.remove(key));
    }
    assert!(schedule.is_empty());
}

// ---------------------------------------------------------------------------
// The callback loop, on a virtual clock: `run_forever` sleeps from one timer
// to the next without real waiting, one iteration (`run_once`) per deadline,
// as asyncio's loop does.

/// `call_at` every deadline (counted from the loop's present) with a
/// callback that does nothing, and one more, after all of them, that stops
/// the loop; run the loop until it stops.
fn event_loop_fire<L: AbstractEventLoop>(event_loop: &L, deadlines: &[Nanos], stop_at: Nanos) {
    let now = event_loop.now();
    for &when in deadlines {
        event_loop.call_at_nanos(now + when, |_| {}).expect("open");
    }
    event_loop
        .call_at_nanos(now + stop_at, L::stop)
        .expect("open");
    event_loop
        .run_forever()
        .expect("the last timer stops the loop");
}

/// `call_at` every deadline, cancel every handle (and drop it), then let the
/// loop run one iteration, which drops the cancelled timers: as they are
/// more than half of its schedule, it rebuilds the schedule without them.
fn event_loop_cancel<L: AbstractEventLoop>(
    event_loop: &L,
    deadlines: &[Nanos],
    handles: &mut Vec<L::Handle>,
) {
    let now = event_loop.now();
    for &when in deadlines {
        handles.push(event_loop.call_at_nanos(now + when, |_| {}).expect("open"));
    }
    for handle in handles.drain(..) {
        handle.cancel();
    }
    event_loop.stop();
    event_loop.run_forever().expect("stop was called");
}

// ---------------------------------------------------------------------------
// tokio's `Sleep`, on a current-thread runtime with the time driver, whose
// clock is paused (`start_paused`, from tokio's `test-util` feature): time
// moves only when the runtime advances it, so a minute of timers fires
// without real waiting.
//
// A timer is a `Sleep`, boxed (it must stay pinned, and it is what a task
// would hold; our loop allocates one `Rc` handle per timer too) and polled once
// with a waker that does nothing: that first poll registers it in tokio's
// timer wheel. Dropping it cancels it (takes it out of the wheel) or frees it
// after it fired.
//
// Firing, two ways, both in time order:
// - `tokio`: the runtime's future awaits one last `Sleep` after all the
//   others. With nothing else to do, the paused runtime auto-advances its
//   clock to the wheel's next expiration and fires what is due, again and
//   again, until that last one fires: a wake-up per 1 ms tick that holds a
//   timer, the counterpart of our loop's one iteration per deadline.
// - `tokio_one_advance`: `tokio::time::advance` moves the clock past every
//   deadline at once; the driver then fires every timer in one pass over the
//   wheel. Cheaper, and not what a running program sees, but an upper bound
//   on what tokio's firing can cost.
//
// tokio's timers are thread-safe (a mutex around the wheel, atomic state in
// each entry) and round deadlines up to whole milliseconds; ours are neither.

type Sleeps = Vec<Pin<Box<tokio::time::Sleep>>>;

/// A current-thread runtime with a paused clock.
fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime")
}

fn tokio_at(base: tokio::time::Instant, when: Nanos) -> tokio::time::Instant {
    base + Duration::from_nanos(when.unsigned_abs())
}

/// Create a `Sleep` per deadline and poll it once, which registers it.
fn tokio_register(sleeps: &mut Sleeps, base: tokio::time::Instant, deadlines: &[Nanos]) {
    let mut cx = Context::from_waker(Waker::noop());
    for &when in deadlines {
        let mut sleep = Box::pin(tokio::time::sleep_until(tokio_at(base, when)));
        assert!(sleep.as_mut().poll(&mut cx).is_pending());
        sleeps.push(sleep);
    }
}

/// How tokio's timers are fired in an insert+fire run.
#[derive(Clone, Copy)]
enum TokioFire {
    /// Await a last `Sleep`; the paused clock auto-advances from tick to tick.
    AutoAdvance,
    /// One `advance` past every deadline.
    OneAdvance,
}

/// The time of `iters` insert+fire runs of `deadlines` on tokio.
fn tokio_fire(
    runtime: &tokio::runtime::Runtime,
    iters: u64,
    deadlines: &[Nanos],
    stop_at: Nanos,
    how: TokioFire,
) -> Duration {
    runtime.block_on(async {
        let mut sleeps = Sleeps::with_capacity(deadlines.len());
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            let base = tokio::time::Instant::now();
            let start = Instant::now();
            tokio_register(&mut sleeps, base, deadlines);
            match how {
                TokioFire::AutoAdvance => tokio::time::sleep_until(tokio_at(base, stop_at)).await,
                TokioFire::OneAdvance => {
                    tokio::time::advance(Duration::from_nanos(stop_at.unsigned_abs())).await;
                }
            }
            total += start.elapsed();
            assert!(sleeps.iter().all(|sleep| sleep.is_elapsed()));
            let start = Instant::now();
            sleeps.clear();
            total += start.elapsed();
        }
        total
    })
}

/// The time of `iters` insert+cancel runs of `deadlines` on tokio: register
/// every `Sleep`, then drop them all, which takes them out of the wheel.
fn tokio_cancel(runtime: &tokio::runtime::Runtime, iters: u64, deadlines: &[Nanos]) -> Duration {
    runtime.block_on(async {
        let mut sleeps = Sleeps::with_capacity(deadlines.len());
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            let base = tokio::time::Instant::now();
            let start = Instant::now();
            tokio_register(&mut sleeps, base, deadlines);
            sleeps.clear();
            total += start.elapsed();
        }
        total
    })
}

// ---------------------------------------------------------------------------

/// Criterion's settings for `n` timers: short runs for small n, and for
/// large n ten samples of one run each (a run of 10^6 timers takes a good
/// fraction of a second, and the sorted list's 10^5 several seconds).
fn configure(group: &mut BenchmarkGroup<'_, WallTime>, n: u64) {
    group.throughput(Throughput::Elements(n));
    if n <= 10_000 {
        group
            .sampling_mode(SamplingMode::Auto)
            .sample_size(20)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2));
    } else {
        group
            .sampling_mode(SamplingMode::Flat)
            .sample_size(10)
            .warm_up_time(Duration::from_millis(200))
            .measurement_time(Duration::from_secs(4));
    }
}

/// Insert+fire and insert+cancel of `deadlines` on `event_loop`, as
/// `fire_{name}` and `cancel_{name}`.
fn bench_loop<L: AbstractEventLoop>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    event_loop: &L,
    deadlines: &[Nanos],
    n: u64,
) {
    let last = *deadlines.iter().max().expect("n > 0");
    group.bench_function(BenchmarkId::new(format!("fire_{name}"), n), |b| {
        b.iter_custom(|iters| {
            timed(
                iters,
                || (),
                |()| {
                    event_loop_fire(event_loop, deadlines, last + 1);
                    assert_eq!(event_loop.scheduled_count(), 0);
                },
            )
        });
    });
    let mut handles = Vec::with_capacity(deadlines.len());
    group.bench_function(BenchmarkId::new(format!("cancel_{name}"), n), |b| {
        b.iter_custom(|iters| {
            timed(
                iters,
                || (),
                |()| {
                    event_loop_cancel(event_loop, deadlines, &mut handles);
                    assert_eq!(event_loop.scheduled_count(), 0);
                },
            )
        });
    });
}

fn timers(c: &mut Criterion) {
    let mut group = c.benchmark_group("stage02_timers");
    for n in [1_000u64, 10_000, 100_000, 1_000_000] {
        let deadlines = deadlines(n);
        let last = *deadlines.iter().max().expect("n > 0");
        configure(&mut group, n);
        let id = |name: &str| BenchmarkId::new(name, n);

        if n <= 100_000 {
            group.bench_function(id("fire_sorted_list"), |b| {
                b.iter_custom(|iters| {
                    timed(iters, SortedList::default, |s| schedule_fire(s, &deadlines))
                });
            });
            let mut keys = Vec::with_capacity(deadlines.len());
            group.bench_function(id("cancel_sorted_list"), |b| {
                b.iter_custom(|iters| {
                    timed(iters, SortedList::default, |s| {
                        schedule_cancel(s, &deadlines, &mut keys);
                    })
                });
            });
        }

        group.bench_function(id("fire_heap"), |b| {
            b.iter_custom(|iters| timed(iters, Heap::default, |s| schedule_fire(s, &deadlines)));
        });
        group.bench_function(id("fire_radix_heap"), |b| {
            b.iter_custom(|iters| {
                timed(iters, RadixHeap::default, |s| schedule_fire(s, &deadlines))
            });
        });
        if n <= 10_000 {
            let mut keys = Vec::with_capacity(deadlines.len());
            group.bench_function(id("cancel_heap_eager"), |b| {
                b.iter_custom(|iters| {
                    timed(iters, Heap::default, |s| {
                        schedule_cancel(s, &deadlines, &mut keys);
                    })
                });
            });
        }

        // One loop per n, reused from run to run as a program reuses its
        // loop (and as tokio's runtime is reused below): its queues and its
        // schedule keep their memory between runs.
        let textbook = EventLoop::new(VirtualClock::new());
        bench_loop(&mut group, "event_loop", &textbook, &deadlines, n);
        let fast = FastEventLoop::new(VirtualClock::new());
        bench_loop(&mut group, "fast_loop", &fast, &deadlines, n);

        let runtime = tokio_runtime();
        // 1 ms past the last deadline: tokio rounds deadlines up to the
        // millisecond, and the last `Sleep` must fire after all the others.
        let stop_at = last + 1_000_000;
        group.bench_function(id("fire_tokio"), |b| {
            b.iter_custom(|iters| {
                tokio_fire(&runtime, iters, &deadlines, stop_at, TokioFire::AutoAdvance)
            });
        });
        group.bench_function(id("fire_tokio_one_advance"), |b| {
            b.iter_custom(|iters| {
                tokio_fire(&runtime, iters, &deadlines, stop_at, TokioFire::OneAdvance)
            });
        });
        group.bench_function(id("cancel_tokio"), |b| {
            b.iter_custom(|iters| tokio_cancel(&runtime, iters, &deadlines));
        });
    }
    group.finish();
}

criterion_group!(benches, timers);
criterion_main!(benches);
