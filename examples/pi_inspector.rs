//! Scenario 8, adaptive cooperative computation, on stage 2's loop and the
//! real clock: `cargo run --example pi_inspector [-- --digits N]`.
//!
//! Two tasks share one thread. The calculator sums the Leibniz series for pi
//! in chunks of `ticks` terms and yields to the loop after each chunk, which
//! is the only moment anything else can run. The inspector wakes once a
//! second, counts how often the calculator yielded, adjusts `ticks` towards
//! ten yields a second, and prints a line. When the first N digits of the
//! estimate have held still for a while, it tells the calculator to finish,
//! both tasks end, and so does the loop.

#[path = "pi/cli.rs"]
mod cli;
mod pi;

use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use demo_support::Transcript;
use stage01_generator_loop::{AsyncCoroutine, RealClock, Yielder};
use stage02_timed_events::{AbstractEventLoop, RunCoroutines};
use stage02_timed_events::{EventLoop, SleepUntil, sleep, sleep_until};

use cli::{FIRST_TICKS, Shared, summarise};
use pi::{Leibniz, STABLE_INSPECTIONS, StableDigits};

fn main() -> ExitCode {
    cli::main("pi_inspector", run)
}

/// Which of the two jobs a task does.
enum Role {
    Calculator,
    Inspector { digits: usize, out: Transcript },
}

/// One task. `gather` takes coroutines of one type, as a `Vec` holds values
/// of one type, and two different `async fn`s are two types; so both tasks
/// are this one `async fn`, and the role says which job it does.
async fn task(co: Yielder<SleepUntil>, role: Role, shared: Rc<Shared>) {
    match role {
        Role::Calculator => calculate(&co, &shared).await,
        Role::Inspector { digits, out } => inspect(&co, &shared, digits, &out).await,
    }
}

// ANCHOR: calculate
/// Sum the series a chunk at a time, yielding to the loop after each chunk,
/// until the inspector says the digits are stable.
async fn calculate(co: &Yielder<SleepUntil>, shared: &Shared) {
    let mut series = Leibniz::default();
    while !shared.finished.get() {
        shared.add_chunk(&mut series);
        // asyncio's `await asyncio.sleep(0)`: yield exactly once, so that a
        // task whose time has come (the inspector) can run.
        sleep(co, Duration::ZERO).await;
    }
}
// ANCHOR_END: calculate

// ANCHOR: inspect
/// Once a second: report, adjust `ticks`, and decide whether to stop.
async fn inspect(co: &Yielder<SleepUntil>, shared: &Shared, digits: usize, out: &Transcript) {
    let mut stop_rule = StableDigits::new(digits);
    let mut wake_at = co.now();
    loop {
        // Whole seconds from the start, not a second after we last woke: we
        // only get to run when the calculator yields, so we wake up to one
        // chunk late, and that must not add up from line to line.
        wake_at += Duration::from_secs(1);
        sleep_until(co, wake_at).await;
        // A chunk longer than a second made us miss some: skip them.
        wake_at += Duration::from_secs(co.now().saturating_sub(wake_at).as_secs());
        if shared.inspect(&mut stop_rule, out, co.now()) {
            return;
        }
    }
}
// ANCHOR_END: inspect

fn run(digits: usize) -> ExitCode {
    let out = Transcript::echoing();
    out.say(format!(
        "Scenario 8: pi by the Leibniz series, until the first {digits} of its digits \
         hold still for {STABLE_INSPECTIONS} inspections in a row"
    ));
    let shared = Rc::new(Shared::default());
    shared.ticks.set(FIRST_TICKS);
    let tasks = [
        ("calculator", Role::Calculator),
        (
            "inspector",
            Role::Inspector {
                digits,
                out: out.clone(),
            },
        ),
    ]
    .into_iter()
    .map(|(name, role)| {
        let shared = Rc::clone(&shared);
        let coroutine = AsyncCoroutine::new(move |co| task(co, role, shared));
        (name.to_string(), coroutine)
    })
    .collect();

    let event_loop = EventLoop::new(RealClock::new());
    if let Err(error) = event_loop.gather(tasks) {
        eprintln!("the loop stopped: {error}");
        return ExitCode::FAILURE;
    }
    summarise(&out, &shared.series.get(), digits, event_loop.time());
    ExitCode::SUCCESS
}
