//! Scenarios 1 to 3, from the blog post "A little example of how Asyncio
//! works", as functions the demo, the tests and the Python parity check all
//! run.
//!
//! Mirrors no asyncio file: these are the blog post's programs. Each one writes what it prints to a
//! [`Transcript`] and returns what its loop counted.

use std::cell::RefCell;
use std::ops::AddAssign;
use std::rc::Rc;
use std::time::Duration;

use demo_support::Transcript;

use crate::async_coroutine::AsyncCoroutine;
use crate::clock::Clock;
use crate::composition::{PrintEveryPeriod, print_every_period};
use crate::coroutine::Coroutine;
use crate::guessing_loop::{GuessingLoop, LoopError, Stats};
use crate::one_channel::{LeakyPrintEveryPeriod, OneChannelTask};
use crate::sleep::Sleep;

/// Scenario 1's sleeps, in seconds, in the order the tasks are created.
pub const SLEEPS: [u64; 4] = [3, 2, 1, 4];

/// Scenario 2's printers: message and period.
pub const PRINTERS: [(&str, Duration); 3] = [
    ("First message!", Duration::from_secs(1)),
    ("Second message!", Duration::from_secs(1)),
    ("...", Duration::from_millis(250)),
];

/// How long each printer of scenario 2 runs: `range(int(3 / period))`.
pub const PRINT_FOR: Duration = Duration::from_secs(3);

fn repeats(period: Duration) -> u32 {
    u32::try_from(PRINT_FOR.as_nanos() / period.as_nanos()).expect("a few thousand at most")
}

impl AddAssign for Stats {
    fn add_assign(&mut self, other: Stats) {
        self.rounds += other.rounds;
        self.resumes += other.resumes;
        self.early_resumes += other.early_resumes;
        self.slept += other.slept;
    }
}

fn report(out: &Transcript, stats: Stats) {
    out.say(format!(
        "  the loop: {} rounds, {} resumes, {} of them early (nothing to do), slept {:.3} s",
        stats.rounds,
        stats.resumes,
        stats.early_resumes,
        stats.slept.as_secs_f64()
    ));
}

// ANCHOR: scenario_1
/// Scenario 1: four sleeps in one loop finish in order 1, 2, 3, 4, at t = 4.
pub fn sleep_by_guessing<C: Clock>(clock: C, out: &Transcript) -> Result<Stats, LoopError> {
    out.say("Scenario 1: sleep(3), sleep(2), sleep(1), sleep(4) in one loop");
    let mut event_loop = GuessingLoop::new(clock);
    for secs in SLEEPS {
        event_loop.create_task(Sleep::new(Duration::from_secs(secs)));
    }
    let mut results = Vec::new();
    while event_loop.pending_count() > 0 {
        event_loop.run_once()?;
        for done in event_loop.drain_completed() {
            out.at(done.at, &done.value);
            results.push(done.value);
        }
    }
    out.say(format!(
        "  results, in completion order: {}",
        results.join(", ")
    ));
    report(out, event_loop.stats());
    Ok(event_loop.stats())
}
// ANCHOR_END: scenario_1

/// Scenario 2, as the blog post wrote it: every yielded value is a "result".
pub fn composition_leaky<C: Clock>(clock: C, out: &Transcript) -> Result<Stats, LoopError> {
    out.say("Scenario 2a: three printers on the one-channel loop (values leak)");
    let results = Rc::new(RefCell::new(Vec::new()));
    let mut event_loop = GuessingLoop::new(clock);
    for (message, period) in PRINTERS {
        let printer = LeakyPrintEveryPeriod::new(message, period, repeats(period), out.clone());
        event_loop.create_task(OneChannelTask::new(printer, results.clone()));
    }
    event_loop.run_forever()?;
    let results = results.borrow();
    out.say(format!(
        "  results ({} values from {} tasks): {}",
        results.len(),
        PRINTERS.len(),
        results.join(", ")
    ));
    report(out, event_loop.stats());
    Ok(event_loop.stats())
}

// ANCHOR: scenario_2b
/// Scenario 2, corrected: results are return values, one per task, gathered
/// in the order the tasks were given.
pub fn composition<C: Clock>(clock: C, out: &Transcript) -> Result<Stats, LoopError> {
    out.say("Scenario 2b: the same printers, results returned and gathered");
    let printers = PRINTERS.map(|(message, period)| {
        PrintEveryPeriod::new(message, period, repeats(period), out.clone())
    });
    gather_and_report(clock, out, printers)
}

/// Run the printers with `gather`, print their results, report the counts.
fn gather_and_report<C, P>(clock: C, out: &Transcript, printers: [P; 3]) -> Result<Stats, LoopError>
where
    C: Clock,
    P: Coroutine<Yield = f64, Output = String> + 'static,
{
    let mut event_loop = GuessingLoop::new(clock);
    let results = event_loop.gather(printers)?;
    out.say(format!(
        "  results, in argument order: {}",
        results.join(", ")
    ));
    report(out, event_loop.stats());
    Ok(event_loop.stats())
}
// ANCHOR_END: scenario_2b

// ANCHOR: scenario_3
/// Scenario 3: scenario 2b written with `async`/`.await`, on the same loop.
pub fn composition_async<C: Clock>(clock: C, out: &Transcript) -> Result<Stats, LoopError> {
    out.say("Scenario 3: the same printers as async fns, on the same loop");
    let printers = PRINTERS.map(|(message, period)| {
        let out = out.clone();
        AsyncCoroutine::new(move |co| {
            print_every_period(co, message.to_string(), period, repeats(period), out)
        })
    });
    gather_and_report(clock, out, printers)
}
// ANCHOR_END: scenario_3

/// A scenario: run on a fresh clock, print to the transcript, return the counts.
pub type Scenario<C> = fn(C, &Transcript) -> Result<Stats, LoopError>;

/// Every scenario in turn, each on a fresh clock from `new_clock`, followed by
/// what guessing cost in all. Returns the totals.
pub fn run_all<C: Clock>(new_clock: impl Fn() -> C, out: &Transcript) -> Result<Stats, LoopError> {
    let scenarios: [Scenario<C>; 4] = [
        sleep_by_guessing,
        composition_leaky,
        composition,
        composition_async,
    ];
    let mut total = Stats::default();
    for scenario in scenarios {
        total += scenario(new_clock(), out)?;
        out.say("");
    }
    out.say(format!(
        "In all: {} rounds, {} resumes, {} of which found nothing to do.",
        total.rounds, total.resumes, total.early_resumes
    ));
    out.say("A loop that knew each task's wake-up time would have made none of those.");
    Ok(total)
}
