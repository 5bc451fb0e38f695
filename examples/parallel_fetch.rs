//! Scenario 17, parallel requests, on stage 6's streams:
//! `cargo run --example parallel_fetch [-- --virtual] [--timeline]`.
//!
//! The program starts a local HTTP server on its own loop, which answers
//! each of three pages after a delay of its own, and fetches the three,
//! first all at once, then one after another, printing the first line of
//! each response as it comes. The work is
//! `stage06_socket_io::scenarios::parallel_fetch`, which the book's output
//! comes from too.

use std::process::ExitCode;

use demo_support::{Transcript, demo_options};
use stage01_generator_loop::{RealClock, VirtualClock};
use stage06_socket_io::scenarios::parallel_fetch;

const HELP: &str = "\
Scenario 17: parallel requests.

Usage: cargo run --example parallel_fetch [-- OPTIONS]

A local HTTP server, on the same loop as its clients, answers /slow after
0.3 s, /fast after 0.1 s and /medium after 0.2 s. The three are fetched at
once (about the slowest's time), then one after another (the sum), each
response's first line printed as it comes.

Options:
  --virtual    run on a virtual clock: the times are exact, nothing waits
               (the sockets are real all the same)
  --timeline   also draw each run as a timeline
  --help       print this help";

fn main() -> ExitCode {
    let known = ["--virtual", "--timeline"];
    let options = match demo_options::parse(std::env::args().skip(1), &known, HELP) {
        Ok(options) => options,
        Err(exit) => return exit,
    };
    let out = Transcript::echoing();
    let timelines = options.contains(&"--timeline");
    let ran = if options.contains(&"--virtual") {
        parallel_fetch(VirtualClock::new, &out, timelines)
    } else {
        parallel_fetch(RealClock::new, &out, timelines)
    };
    match ran {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
