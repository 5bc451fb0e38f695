//! The stage 6 demo: scenario 6 (reads from `/dev/urandom` and a local
//! socket interleaved with a background sleeper), and the echo server and
//! its client, on a loop that waits in epoll.

use std::net::SocketAddr;
use std::process::ExitCode;

use demo_support::{Transcript, demo_options};
use stage01_generator_loop::{RealClock, VirtualClock};
use stage05_cancellation::runners::INTERRUPTED_STATUS;
use stage05_cancellation::{Runner, RunnerError};
use stage06_socket_io::EpollSelector;
use stage06_socket_io::scenarios::{echo_client, interleaved_reads, serve};

const HELP: &str = "\
Stage 6: non-blocking sockets and streams, on mio (epoll).

Usage: cargo run -p stage06-socket-io [-- OPTIONS]
       cargo run -p stage06-socket-io -- server [PORT [IDLE]]
       cargo run -p stage06-socket-io -- client [PORT [LINE...]]

With no command, scenario 6: a sleeper wakes every 0.05 s; a reader takes
4 bytes at a time from /dev/urandom (always ready); a client connects to a
local server and sends three pings, 0.08 s apart; the server prints each.
All on one thread, one loop, waiting in epoll.

server: an echo server on 127.0.0.1:PORT (8888; 0 for any free port),
line by line, until Ctrl-C, which says \"Server shutting down\" to every
client; a client whose next line takes longer than IDLE seconds (30) is
dropped. The line `ps` answers the server's task table.
client: connect to 127.0.0.1:PORT, send each LINE (hello, ps, bye), and
print what comes back.

Options:
  --virtual       scenario 6 on a virtual clock: the timers at exact times
  --help          print this help";

/// The port of asyncio's documentation's echo server.
const DEFAULT_PORT: u16 = 8888;
/// How long a server waits for a client's next line, in seconds.
const DEFAULT_IDLE: f64 = 30.0;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("server") => server(&args[1..]),
        Some("client") => client(&args[1..]),
        _ => scenario_6(args),
    }
}

fn scenario_6(args: Vec<String>) -> ExitCode {
    let options = match demo_options::parse(args, &["--virtual"], HELP) {
        Ok(options) => options,
        Err(status) => return status,
    };
    let out = Transcript::echoing();
    let ran = if options.contains(&"--virtual") {
        interleaved_reads(VirtualClock::new(), &out)
    } else {
        interleaved_reads(RealClock::new(), &out)
    };
    finish(ran.map_err(|error| error.to_string()))
}

fn server(args: &[String]) -> ExitCode {
    let (port, idle) = match (
        parse(args.first(), DEFAULT_PORT),
        parse(args.get(1), DEFAULT_IDLE),
    ) {
        (Ok(port), Ok(idle)) => (port, idle),
        (Err(error), _) | (_, Err(error)) => return finish(Err(error)),
    };
    let out = Transcript::echoing();
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let ran = run(async move { Ok(serve(address, idle, &out).await?) });
    match ran {
        Err(RunnerError::Interrupted { .. }) => {
            println!("Interrupted: every connection told, the server closed");
            ExitCode::from(INTERRUPTED_STATUS)
        }
        other => finish(other.map_err(|error| error.to_string())),
    }
}

fn client(args: &[String]) -> ExitCode {
    let port = match parse(args.first(), DEFAULT_PORT) {
        Ok(port) => port,
        Err(error) => return finish(Err(error)),
    };
    let mut lines: Vec<String> = args.iter().skip(1).cloned().collect();
    if lines.is_empty() {
        lines = ["hello", "ps", "bye"].map(String::from).to_vec();
    }
    let out = Transcript::echoing();
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let ran = run(async move { Ok(echo_client(address, &lines, &out).await?) });
    finish(ran.map_err(|error| error.to_string()))
}

/// Run `main` with stage 5's runner on an epoll loop: Ctrl-C cancels it,
/// and every task cleans up.
fn run(
    main: impl std::future::Future<Output = Result<(), stage04_futures_tasks::FutureError>> + 'static,
) -> Result<(), RunnerError> {
    let selector = EpollSelector::new()
        .map_err(|error| RunnerError::Loop(stage02_timed_events::LoopError::Poll(error)))?;
    let runner = Runner::with_selector(RealClock::new(), selector)?;
    let outcome = runner.run(main);
    let closed = runner.close();
    outcome.and(closed)
}

/// `arg` as a `T`, or `default` if there is none.
fn parse<T: std::str::FromStr>(arg: Option<&String>, default: T) -> Result<T, String> {
    match arg {
        None => Ok(default),
        Some(text) => text.parse().map_err(|_| format!("not a number: {text}")),
    }
}

fn finish(ran: Result<(), String>) -> ExitCode {
    match ran {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
