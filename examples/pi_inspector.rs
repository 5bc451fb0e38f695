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

mod pi;

use demo_support::Transcript;
use stage02_timed_events::{AbstractEventLoop, RunCoroutines};
use std::cell::Cell;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use pi::{Leibniz, STABLE_INSPECTIONS, StableDigits, TARGET_YIELDS, leading_digits, next_ticks};
use stage01_generator_loop::{AsyncCoroutine, RealClock, Yielder};
use stage02_timed_events::{EventLoop, SleepUntil, sleep, sleep_until};

/// How many digits must hold still when `--digits` is not given.
const DEFAULT_DIGITS: usize = 7;
/// The most `--digits` allows: the series needs about 10^N terms for N
/// digits, and ten digits would take minutes.
const MAX_DIGITS: usize = 9;
/// The calculator's first chunk: a guess, far too small on purpose, so that
/// the first line shows the controller at work.
const FIRST_TICKS: u64 = 1_000;

/// What the command line asks for.
enum Command {
    Run { digits: usize },
    Help,
}

fn help() -> String {
    format!(
        "\
Scenario 8: a CPU-bound task and an inspector share one event loop.

Usage: cargo run --example pi_inspector [-- OPTIONS]

The calculator sums the Leibniz series for pi and yields to the loop every
`ticks` terms. Once a second the inspector counts those yields, adjusts
`ticks` towards {TARGET_YIELDS} yields a second and prints a line. The run stops when
the first N digits of the estimate have been the same at {STABLE_INSPECTIONS} inspections in
a row.

Options:
  --digits N   how many digits must hold still: 1 to {MAX_DIGITS}, default {DEFAULT_DIGITS}
               (each digit more takes about ten times as long)
  --help       print this help"
    )
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Command, String> {
    let mut digits = DEFAULT_DIGITS;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--help" | "-h" => return Ok(Command::Help),
            "--digits" => {
                let Some(value) = args.next() else {
                    return Err(format!(
                        "--digits needs a whole number from 1 to {MAX_DIGITS} after it; try --help"
                    ));
                };
                digits = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_DIGITS).contains(n))
                    .ok_or_else(|| {
                        format!(
                            "--digits takes a whole number from 1 to {MAX_DIGITS}, \
                             not {value:?}; try --help"
                        )
                    })?;
            }
            other => return Err(format!("unknown option {other:?}; try --help")),
        }
    }
    Ok(Command::Run { digits })
}

fn main() -> ExitCode {
    match parse_args(std::env::args().skip(1)) {
        Ok(Command::Help) => {
            println!("{}", help());
            ExitCode::SUCCESS
        }
        Ok(Command::Run { digits }) => run(digits),
        Err(message) => {
            eprintln!("{message}");
            ExitCode::from(2)
        }
    }
}

// ANCHOR: shared
/// What the two tasks share. One thread, so `Cell`s are enough: one task
/// runs only while the other is suspended at an `.await`, so they never
/// touch these at the same moment.
#[derive(Debug, Default)]
struct Shared {
    /// Terms per chunk: the inspector sets it, the calculator reads it.
    ticks: Cell<u64>,
    /// Yields since the inspector last looked.
    yields: Cell<u64>,
    /// The series as of the calculator's latest yield.
    series: Cell<Leibniz>,
    /// Set by the inspector when the digits are stable: time to finish.
    finished: Cell<bool>,
}
// ANCHOR_END: shared

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
        // The loop is blocked for the whole chunk: nothing else runs.
        series.add_terms(shared.ticks.get());
        shared.series.set(series);
        shared.yields.set(shared.yields.get() + 1);
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

        let yields = shared.yields.replace(0);
        let ticks = shared.ticks.get();
        let series = shared.series.get();
        out.at(
            co.now(),
            &format!(
                "ticks {ticks:>10}  yields {yields:>6}  denominator {:>11}  pi ~ {:.10}",
                series.denominator(),
                series.estimate()
            ),
        );
        shared.ticks.set(next_ticks(ticks, yields));
        if stop_rule.observe(series.estimate()) {
            shared.finished.set(true);
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

/// The final word: what the stable digits were, and whether they are right.
fn summarise(out: &Transcript, series: &Leibniz, digits: usize, seconds: f64) {
    let ours = leading_digits(series.estimate(), digits);
    let real = leading_digits(std::f64::consts::PI, digits);
    out.say(format!(
        "Both tasks have ended after {seconds:.1} s: the digits held still at {ours}, \
         after {} terms of the series.",
        series.terms()
    ));
    if ours == real {
        out.say(format!("They are right: pi begins {real}."));
    } else {
        out.say(format!("They are not right yet: pi begins {real}."));
    }
}
