//! What both pi examples share besides the series: their command line,
//! the state the calculator and the inspector share, and the final word.
//! `examples/pi_inspector.rs` (stage 2's coroutines) and
//! `examples/pi_tasks.rs` (stage 4's tasks) include it.

use std::cell::Cell;
use std::process::ExitCode;

use demo_support::Transcript;

use std::time::Duration;

use crate::pi::{
    Leibniz, STABLE_INSPECTIONS, StableDigits, TARGET_YIELDS, leading_digits, next_ticks,
};

/// How many digits must hold still when `--digits` is not given.
const DEFAULT_DIGITS: usize = 7;
/// The most `--digits` allows: the series needs about 10^N terms for N
/// digits, and ten digits would take minutes.
const MAX_DIGITS: usize = 9;
/// The calculator's first chunk: a guess, far too small on purpose, so that
/// the first line shows the controller at work.
pub(crate) const FIRST_TICKS: u64 = 1_000;

/// What the command line asks for.
enum Command {
    Run { digits: usize },
    Help,
}

fn help(example: &str) -> String {
    format!(
        "\
Scenario 8: a CPU-bound task and an inspector share one event loop.

Usage: cargo run --example {example} [-- OPTIONS]

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

/// The examples' `main`: read the command line, then `run` with the digits
/// asked for, or print the help, or refuse.
pub(crate) fn main(example: &str, run: impl FnOnce(usize) -> ExitCode) -> ExitCode {
    match parse_args(std::env::args().skip(1)) {
        Ok(Command::Help) => {
            println!("{}", help(example));
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
pub(crate) struct Shared {
    /// Terms per chunk: the inspector sets it, the calculator reads it.
    pub(crate) ticks: Cell<u64>,
    /// Yields since the inspector last looked.
    pub(crate) yields: Cell<u64>,
    /// The series as of the calculator's latest yield.
    pub(crate) series: Cell<Leibniz>,
    /// Set by the inspector when the digits are stable: time to finish.
    pub(crate) finished: Cell<bool>,
}

impl Shared {
    /// The calculator's chunk: `ticks` more terms of `series`, made known to
    /// the inspector, and one more yield counted (the caller yields next).
    pub(crate) fn add_chunk(&self, series: &mut Leibniz) {
        // The loop is blocked for the whole chunk: nothing else runs.
        series.add_terms(self.ticks.get());
        self.series.set(*series);
        self.yields.set(self.yields.get() + 1);
    }

    /// One inspection, at `now`: report, adjust `ticks` to the yields seen
    /// since the last one, and decide whether to stop. True once the digits
    /// are stable; the calculator is then told to finish.
    pub(crate) fn inspect(
        &self,
        stop_rule: &mut StableDigits,
        out: &Transcript,
        now: Duration,
    ) -> bool {
        let yields = self.yields.replace(0);
        let ticks = self.ticks.get();
        let series = self.series.get();
        out.at(
            now,
            &format!(
                "ticks {ticks:>10}  yields {yields:>6}  denominator {:>11}  pi ~ {:.10}",
                series.denominator(),
                series.estimate()
            ),
        );
        self.ticks.set(next_ticks(ticks, yields));
        let stable = stop_rule.observe(series.estimate());
        self.finished.set(stable);
        stable
    }
}
// ANCHOR_END: shared

/// The final word: what the stable digits were, and whether they are right.
pub(crate) fn summarise(out: &Transcript, series: &Leibniz, digits: usize, seconds: f64) {
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
