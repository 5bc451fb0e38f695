//! The stage 2 demo: scenarios 4 and 9 (from the Stack Overflow question
//! "How does asyncio enable parallel IO waits?") on the callback loop.

use std::process::ExitCode;

use demo_support::{Timeline, Transcript, demo_options};
use stage01_generator_loop::{Clock, RealClock, VirtualClock};
use stage02_timed_events::{LoopError, scenarios};

const HELP: &str = "\
Stage 2: a schedule of wake-up times, and the callback event loop.

Usage: cargo run -p stage02-timed-events [-- OPTIONS]

Runs scenario 4 (five sleepers, each step two timed events) on the callback
loop and on the naive schedule loops, then scenario 9 (five count() gathered,
then one after another).

Options:
  --virtual    run on a virtual clock: no real waiting, exact times
  --timeline   also draw scenario 4 as a timeline, one row per task
  --help       print this help";

fn run<C: Clock + 'static>(
    new_clock: impl Fn() -> C,
    timeline: bool,
    out: &Transcript,
) -> Result<(), LoopError> {
    let recorded = Timeline::new();
    scenarios::timed_events(new_clock(), out, &recorded)?;
    scenarios::timed_events_naive(&new_clock, out);
    out.say("");
    scenarios::concurrency_arithmetic(&new_clock, out)?;
    if timeline {
        out.say("");
        out.say("Scenario 4 on the callback loop, drawn:");
        out.say(recorded.render_text(60));
    }
    Ok(())
}

fn main() -> ExitCode {
    let known = ["--virtual", "--timeline"];
    let options = match demo_options::parse(std::env::args().skip(1), &known, HELP) {
        Ok(options) => options,
        Err(exit) => return exit,
    };
    let virtual_clock = options.contains(&"--virtual");
    let timeline = options.contains(&"--timeline");
    let out = Transcript::echoing();
    let outcome = if virtual_clock {
        out.say("Stage 2 on the virtual clock (times are exact, nothing waits)\n");
        run(VirtualClock::new, timeline, &out)
    } else {
        out.say("Stage 2 on the real clock (about 20 s; times are measured)\n");
        run(RealClock::new, timeline, &out)
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("the loop stopped: {error}");
            ExitCode::FAILURE
        }
    }
}
