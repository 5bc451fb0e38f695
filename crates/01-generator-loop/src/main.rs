//! The stage 1 demo: scenarios 1 to 3 (from the blog post "A little example
//! of how Asyncio works") on a loop that guesses.

use std::process::ExitCode;

use demo_support::{Transcript, demo_options};
use stage01_generator_loop::{RealClock, VirtualClock, scenarios};

const HELP: &str = "\
Stage 1: a loop that runs resumable coroutines and sleeps by guessing.

Usage: cargo run -p stage01-generator-loop [-- OPTIONS]

Runs scenarios 1 to 3 of the blog post \"A little example of how Asyncio
works\" (four sleeps; three printers, first with the leaky one-channel loop,
then with return values, then as async fns) and reports how many rounds and
resumes the loop made.

Options:
  --virtual   run on a virtual clock: no real waiting, exact times
  --help      print this help";

fn main() -> ExitCode {
    let options = match demo_options::parse(std::env::args().skip(1), &["--virtual"], HELP) {
        Ok(options) => options,
        Err(exit) => return exit,
    };
    let virtual_clock = options.contains(&"--virtual");

    let out = Transcript::echoing();
    let outcome = if virtual_clock {
        out.say("Stage 1 on the virtual clock (times are exact, nothing waits)\n");
        scenarios::run_all(VirtualClock::new, &out)
    } else {
        out.say("Stage 1 on the real clock (about 13 s; times are measured)\n");
        scenarios::run_all(RealClock::new, &out)
    };
    match outcome {
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("the loop stopped: {error}");
            ExitCode::FAILURE
        }
    }
}
