//! The stage 6 demo (so far): scenario 6, reads from `/dev/urandom` and a
//! local socket interleaved with a background sleeper, on a loop that
//! waits in epoll.

use std::process::ExitCode;

use demo_support::{Transcript, demo_options};
use stage01_generator_loop::{RealClock, VirtualClock};
use stage06_socket_io::scenarios::interleaved_reads;

const HELP: &str = "\
Stage 6: non-blocking sockets, on mio (epoll).

Usage: cargo run -p stage06-socket-io [-- OPTIONS]

Scenario 6: a sleeper wakes every 0.05 s; a reader takes 4 bytes at a time
from /dev/urandom (always ready); a client connects to a local server and
sends three pings, 0.08 s apart; the server prints each. All on one
thread, one loop, waiting in epoll.

Options:
  --virtual       run on a virtual clock: the timers at exact times, at once
  --help          print this help";

fn main() -> ExitCode {
    let options = match demo_options::parse(std::env::args().skip(1), &["--virtual"], HELP) {
        Ok(options) => options,
        Err(status) => return status,
    };
    let out = Transcript::echoing();
    let ran = if options.contains(&"--virtual") {
        interleaved_reads(VirtualClock::new(), &out)
    } else {
        interleaved_reads(RealClock::new(), &out)
    };
    match ran {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
