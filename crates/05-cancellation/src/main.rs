//! The stage 5 demo: a cancellation travels from the task it was asked of
//! to the sleep where the work waits, and back up, clean-ups on the way.

use std::process::ExitCode;

use demo_support::{Timeline, Transcript, demo_options};
use stage01_generator_loop::{RealClock, VirtualClock};
use stage05_cancellation::scenarios;

const HELP: &str = "\
Stage 5: cancellation, delivered at the await where a task waits.

Usage: cargo run -p stage05-cancellation [-- OPTIONS]

Main cancels `outer`, which awaits `inner`, which sleeps: the cancellation
reaches inner's sleep, inner flushes for 0.5 s and passes it on, outer
sees it and passes it on, and main sees outer cancelled at 1.5 s.

Options:
  --virtual    run on a virtual clock: no real waiting, exact times
  --timeline   also draw the three tasks as a timeline
  --help       print this help";

fn main() -> ExitCode {
    let known = ["--virtual", "--timeline"];
    let options = match demo_options::parse(std::env::args().skip(1), &known, HELP) {
        Ok(options) => options,
        Err(exit) => return exit,
    };
    let (out, timeline) = (Transcript::echoing(), Timeline::new());
    let outcome = if options.contains(&"--virtual") {
        out.say("Stage 5 on the virtual clock (times are exact, nothing waits)\n");
        scenarios::cancellation_travels(VirtualClock::new(), &out, &timeline)
    } else {
        out.say("Stage 5 on the real clock (about 1.5 s; times are measured)\n");
        scenarios::cancellation_travels(RealClock::new(), &out, &timeline)
    };
    if outcome.is_ok() && options.contains(&"--timeline") {
        out.say("");
        out.say(timeline.render_text(60));
    }
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
}
