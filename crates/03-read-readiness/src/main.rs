//! The stage 3 demo: scenario 5 (from "How does asyncio enable parallel IO waits?") on a loop that waits in
//! `select` (or `poll`), and, if asked, a session that reads what you type.

use std::fs::File;
use std::io;
use std::os::fd::AsFd;
use std::process::ExitCode;

use demo_support::{Timeline, Transcript, demo_options};
use stage01_generator_loop::{Clock, RealClock, VirtualClock};
use stage03_read_readiness::scenarios::{self, ScenarioError};
use stage03_read_readiness::selector_events::ReaderWriter;
use stage03_read_readiness::{PollSelector, SelectSelector, Selector};

const HELP: &str = "\
Stage 3: waiting for file descriptors with select and poll.

Usage: cargo run -p stage03-read-readiness [-- OPTIONS]

Runs scenario 5 in one thread: a ticker ticks every 0.25 s while coroutines
read from a pipe and a socket pair that timer callbacks write into, from
/dev/urandom, and from a regular file; on the real clock, a thread writes
into a second pipe as well. The loop waits in select(2), with the next
timer's deadline as the timeout.

A regular file is always ready, even at its end, so readiness cannot keep a
slow read from blocking the loop: each read of the file here blocks for 1 ms,
as a slow disk would, and the tick due meanwhile comes 1 ms late. That is why
libraries read files in threads.

Options:
  --virtual    run on a virtual clock: no real waiting, exact times
  --timeline   also draw the run as a timeline: a row per task, and a row of
               the moments a descriptor was found ready
  --poll       wait in poll(2) instead of select(2)
  --stdin      then read what you type, a line at a time, while a ticker
               ticks every second, until Ctrl-D (real clock only)
  --help       print this help";

/// The selector the loop waits in.
fn selector(poll: bool) -> Box<dyn Selector<Data = ReaderWriter>> {
    if poll {
        Box::new(PollSelector::new())
    } else {
        Box::new(SelectSelector::new())
    }
}

fn run<C: Clock + Clone + 'static>(
    new_clock: impl Fn() -> C,
    options: &[&str],
    out: &Transcript,
) -> Result<(), ScenarioError> {
    let poll = options.contains(&"--poll");
    let recorded = Timeline::new();
    scenarios::read_readiness(new_clock(), selector(poll), out, &recorded)?;
    if options.contains(&"--timeline") {
        out.say("");
        out.say("Scenario 5, drawn:");
        out.say(recorded.render_text(60));
    }
    if options.contains(&"--stdin") {
        out.say("");
        scenarios::typing(new_clock(), selector(poll), standard_input()?, out)?;
    }
    Ok(())
}

/// Standard input as a plain file: std's `Stdin` keeps a buffer, and a
/// line left in it would never make the descriptor readable again.
fn standard_input() -> io::Result<File> {
    let stdin = io::stdin().as_fd().try_clone_to_owned();
    stdin.map(File::from)
}

fn main() -> ExitCode {
    let known = ["--virtual", "--timeline", "--poll", "--stdin"];
    let options = match demo_options::parse(std::env::args().skip(1), &known, HELP) {
        Ok(options) => options,
        Err(exit) => return exit,
    };
    let out = Transcript::echoing();
    let outcome = if options.contains(&"--virtual") {
        if options.contains(&"--stdin") {
            // Virtual time would race through the ticks while you type.
            eprintln!("--stdin needs the real clock: leave out --virtual");
            return ExitCode::from(2);
        }
        out.say("Stage 3 on the virtual clock (times are exact, nothing waits)\n");
        run(VirtualClock::new, &options, &out)
    } else {
        out.say("Stage 3 on the real clock (about 1.3 s; times are measured)\n");
        run(RealClock::new, &options, &out)
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
}
