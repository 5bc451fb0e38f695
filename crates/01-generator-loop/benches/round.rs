//! What one round of the guessing loop costs per task, from 10^3 to 10^5 tasks.
//!
//! Every task answers "not ready, about 1 s" forever, so each round resumes all
//! of them and then sleeps (on a virtual clock, so no real waiting is timed).
//! Run with `cargo bench -p stage01-generator-loop --features bench`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use stage01_generator_loop::{Coroutine, GuessingLoop, Step, VirtualClock};

/// A task that is never ready: the worst case for a loop that resumes everyone.
struct NeverReady;

impl Coroutine for NeverReady {
    type Yield = f64;
    type Output = ();

    fn resume(&mut self, _now: Duration) -> Step<f64, ()> {
        Step::Yielded(1.0)
    }
}

fn one_round(c: &mut Criterion) {
    let mut group = c.benchmark_group("stage01_round");
    for tasks in [1_000u64, 10_000, 100_000] {
        let mut event_loop = GuessingLoop::new(VirtualClock::new());
        for _ in 0..tasks {
            event_loop.create_task(NeverReady);
        }
        group.throughput(Throughput::Elements(tasks));
        group.bench_with_input(BenchmarkId::from_parameter(tasks), &tasks, |b, _| {
            b.iter(|| black_box(event_loop.run_once()).expect("NeverReady guesses 1 s"));
        });
    }
    group.finish();
}

criterion_group!(benches, one_round);
criterion_main!(benches);
