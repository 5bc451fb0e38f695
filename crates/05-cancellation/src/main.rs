//! The stage 5 demo: a cancellation travels from the task it was asked of
//! to the sleep where the work waits, and back up, clean-ups on the way;
//! then scenario 12 both ways, the shared-future anti-pattern, and
//! scenario 13 on a clock the demo moves by hand. With `--pi`, scenario 8.

use std::process::ExitCode;

use demo_support::{Timeline, Transcript, demo_options};
use stage01_generator_loop::{Clock, RealClock, VirtualClock};
use stage05_cancellation::RunnerError;
use stage05_cancellation::runners::INTERRUPTED_STATUS;
use stage05_cancellation::scenarios::{self, PiSettings, ScenarioError, Stop, WaitOn};

const HELP: &str = "\
Stage 5: cancellation, delivered at the await where a task waits.

Usage: cargo run -p stage05-cancellation [-- OPTIONS]

Main cancels `outer`, which awaits `inner`, which sleeps: the cancellation
reaches inner's sleep, inner flushes for 0.5 s and passes it on, outer
sees it and passes it on, and main sees outer cancelled at 1.5 s. Then
scenario 12 (a server stopped, asyncio's way and Rust's way), the
shared-future anti-pattern (and an Event instead), and scenario 13 (a
10 s timeout around a 20 s sleep, on a clock advanced by hand).

Options:
  --virtual       run on a virtual clock: no real waiting, exact times
  --timeline      also draw the three tasks as a timeline
  --pi            scenario 8 instead: pi by the Leibniz series, reported once
                  a second, until its first digits settle; Ctrl-C ends it
                  cleanly (exit status 130)
  --until-ctrl-c  with --pi: only Ctrl-C ends it
  --help          print this help";

/// What the demo says last when Ctrl-C ended it and every task cleaned up.
const INTERRUPTED: &str = "Interrupted: every task cleaned up (exit status 130)";

fn main() -> ExitCode {
    let known = ["--virtual", "--timeline", "--pi", "--until-ctrl-c"];
    let options = match demo_options::parse(std::env::args().skip(1), &known, HELP) {
        Ok(options) => options,
        Err(exit) => return exit,
    };
    if options.contains(&"--pi") {
        return pi(&options);
    }
    let (out, timeline) = (Transcript::echoing(), Timeline::new());
    let outcome = if options.contains(&"--virtual") {
        out.say("Stage 5 on the virtual clock (times are exact, nothing waits)\n");
        scenarios::cancellation_travels(VirtualClock::new(), &out, &timeline)
    } else {
        out.say("Stage 5 on the real clock (about 8 s; times are measured)\n");
        scenarios::cancellation_travels(RealClock::new(), &out, &timeline)
    };
    if outcome.is_ok() && options.contains(&"--timeline") {
        out.say("");
        out.say(timeline.render_text(60));
    }
    let outcome = outcome.and_then(|()| {
        if options.contains(&"--virtual") {
            the_others(VirtualClock::new, &out)
        } else {
            the_others(RealClock::new, &out)
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
}

/// Scenario 12 both ways, the anti-pattern and its cure, then scenario 13,
/// each on a clock from `clock` (scenario 13's is its own: moved by hand).
fn the_others<C: Clock + 'static>(
    clock: impl Fn() -> C,
    out: &Transcript,
) -> Result<(), ScenarioError> {
    for (stop, how) in [(Stop::Cancel, "cancelled"), (Stop::Abort, "aborted")] {
        out.say(format!("\nScenario 12: a server {how}"));
        scenarios::server_shutdown(clock(), stop, out)?;
    }
    for (wait_on, what) in [
        (WaitOn::SharedFuture, "one bare future"),
        (WaitOn::Event, "an Event"),
    ] {
        out.say(format!("\nThe anti-pattern: three waiters on {what}"));
        scenarios::waiters_of_one_signal(clock(), wait_on, out)?;
    }
    out.say("\nScenario 13: a test moves the clock by hand");
    scenarios::clocked_timeout(out)
}

/// Scenario 8: pi, reported once a second, until its digits settle, or
/// until Ctrl-C, which ends it cleanly with exit status 130.
fn pi(options: &[&str]) -> ExitCode {
    let out = Transcript::echoing();
    let on_virtual = options.contains(&"--virtual");
    let mut settings = if on_virtual {
        PiSettings::VIRTUAL
    } else {
        PiSettings::REAL
    };
    if options.contains(&"--until-ctrl-c") {
        settings.digits = None;
    }
    let until = match settings.digits {
        Some(digits) => format!("until {digits} digits settle, or Ctrl-C"),
        None => "until Ctrl-C".to_string(),
    };
    let outcome = if on_virtual {
        out.say(format!("Scenario 8 on the virtual clock, {until}\n"));
        scenarios::approximate_pi(VirtualClock::new(), settings, &out)
    } else {
        out.say(format!("Scenario 8 on the real clock, {until}\n"));
        scenarios::approximate_pi(RealClock::new(), settings, &out)
    };
    match outcome {
        Ok(digits) => {
            out.say(format!("\npi = {digits}..."));
            ExitCode::SUCCESS
        }
        Err(RunnerError::Interrupted { cut_short: false }) => {
            out.say(format!("\n{INTERRUPTED}"));
            ExitCode::from(INTERRUPTED_STATUS)
        }
        Err(error @ RunnerError::Interrupted { cut_short: true }) => {
            eprintln!("{error}");
            ExitCode::from(INTERRUPTED_STATUS)
        }
        Err(error) => {
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
}
