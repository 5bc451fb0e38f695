//! The stage 4 demo: scenarios 7, 9, 15 and 11 with futures and tasks;
//! with `--threads`, scenarios 10, 11 and 16, with threads.

use std::process::ExitCode;

use demo_support::{Timeline, Transcript, demo_options};
use stage01_generator_loop::{RealClock, VirtualClock};
use stage04_futures_tasks::scenarios;

const HELP: &str = "\
Stage 4: futures, tasks and wakers on the selector loop.

Usage: cargo run -p stage04-futures-tasks [-- OPTIONS]

Runs scenario 7 (a task awaits sock_recv on a socket pair that a timer
writes into: select, the reader, the future, the waker and the task, step
by step, each line with the loop's iteration), scenario 9 (five count()
gathered, then one after another) and scenario 15 (a chunked response from
ten workers, ended by an acknowledgement behind the chunks or by a sleep),
from the Stack Overflow question \"How does asyncio enable parallel IO
waits?\" and the threads beside it; then scenario 11 (a task calls a
blocking function, and debug mode reports it).

With --threads, runs scenario 10 instead (a handler hands notifications to
a loop in a worker thread and returns at once), scenario 11 with the
blocking function in the loop's pool, and scenario 16 (four threads count
to four million and lose updates; four tasks do not).

Options:
  --virtual    run on a virtual clock: no real waiting, exact times
  --threads    run scenarios 10, 11 and 16, on real threads
  --debug      run every loop in debug mode (as ASYNCIO_DEBUG=1 does):
               a step that holds the loop for 0.1 s or more is reported
  --timeline   also draw scenario 7's chain and scenario 9's five tasks as
               timelines
  --help       print this help";

fn main() -> ExitCode {
    let known = ["--virtual", "--timeline", "--threads", "--debug"];
    let options = match demo_options::parse(std::env::args().skip(1), &known, HELP) {
        Ok(options) => options,
        Err(exit) => return exit,
    };
    let out = Transcript::echoing();
    scenarios::set_debug(options.contains(&"--debug"));
    if scenarios::loops_in_debug_mode() {
        out.say("Debug mode is on: every loop reports a step that holds it for 0.1 s or more.");
    }
    let (chain, counts) = (Timeline::new(), Timeline::new());
    if options.contains(&"--threads") {
        return report(scenarios::run_threads(&out));
    }
    let outcome = if options.contains(&"--virtual") {
        out.say("Stage 4 on the virtual clock (times are exact, nothing waits)\n");
        scenarios::run_all(VirtualClock::new, &out, &chain, &counts)
    } else {
        out.say("Stage 4 on the real clock (about 29 s; times are measured)\n");
        scenarios::run_all(RealClock::new, &out, &chain, &counts)
    };
    if outcome.is_ok() && options.contains(&"--timeline") {
        out.say("");
        out.say("Scenario 7's chain, drawn:");
        out.say(chain.render_text(60));
        out.say("");
        out.say("Scenario 9's five tasks, drawn:");
        out.say(counts.render_text(60));
    }
    report(outcome)
}

/// Success, or the error on standard error and a failure.
fn report(outcome: Result<(), scenarios::ScenarioError>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
}
