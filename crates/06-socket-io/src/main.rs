//! The stage 6 demo: scenario 6 (reads from `/dev/urandom` and a local
//! socket interleaved with a background sleeper), and the echo server and
//! its client, on a loop that waits in epoll.

use std::net::SocketAddr;
use std::process::ExitCode;

use demo_support::{Transcript, demo_options};
use stage01_generator_loop::{RealClock, VirtualClock};
use stage06_socket_io::monitor::start_monitor;
use stage06_socket_io::scenarios::{Echo, echo_client, interleaved_reads, serve};
use stage06_socket_io::{Ended, ServerOptions, run, run_per_core};

const HELP: &str = "\
Stage 6: non-blocking sockets and streams, on mio (epoll).

Usage: cargo run -p stage06-socket-io [-- OPTIONS]
       cargo run -p stage06-socket-io -- server [PORT [IDLE]] [--loops N] [--bytes] [--monitor PORT]
       cargo run -p stage06-socket-io -- client [PORT [LINE...]]

With no command, scenario 6: a sleeper wakes every 0.05 s; a reader takes
4 bytes at a time from /dev/urandom (always ready); a client connects to a
local server and sends three pings, 0.08 s apart; the server prints each.
All on one thread, one loop, waiting in epoll.

server: an echo server on 127.0.0.1:PORT (8888; 0 for any free port),
line by line, until Ctrl-C, which says \"Server shutting down\" to every
client; a client whose next line takes longer than IDLE seconds (30) is
dropped. The line `ps` answers the server's task table. --loops N: N
threads, each its own loop, sharing the port (SO_REUSEPORT; PORT must not
be 0). --bytes: echo bytes as they come, no lines and no timeout (the
benchmark's server). --monitor PORT: a monitor console on that port (0:
any free one), as aiomonitor's; `nc 127.0.0.1 PORT`, then `help`. With
--loops, it watches the first loop.
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
    let (options, positional) = match server_options(args) {
        Ok(parsed) => parsed,
        Err(error) => return finish(Err(error)),
    };
    let (port, idle) = match (
        parse(positional.first(), DEFAULT_PORT),
        parse(positional.get(1), DEFAULT_IDLE),
    ) {
        (Ok(port), Ok(idle)) => (port, idle),
        (Err(error), _) | (_, Err(error)) => return finish(Err(error)),
    };
    if options.loops > 1 && port == 0 {
        return finish(Err("--loops shares one port: give its number".into()));
    }
    let echo = if options.bytes {
        Echo::Bytes
    } else {
        Echo::Lines { idle }
    };
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let listen = ServerOptions {
        reuse_port: options.loops > 1,
        ..ServerOptions::default()
    };
    let monitor = options.monitor;
    let serve_here = move |loop_index| async move {
        let out = Transcript::echoing();
        if let (Some(port), 0) = (monitor, loop_index) {
            let console = start_monitor(SocketAddr::from(([127, 0, 0, 1], port))).await?;
            out.say(format!(
                "monitor on {} (try: nc {})",
                console.local_addr(),
                console.local_addr().to_string().replace(':', " ")
            ));
        }
        Ok(serve(address, echo, listen, &out).await?)
    };
    let outcomes = if options.loops > 1 {
        run_per_core(options.loops, serve_here)
    } else {
        vec![Ended::from(run(serve_here(0)))]
    };
    // Ctrl-C is how a server is meant to stop: once every loop has told
    // its clients and closed, that is success.
    let failed = outcomes.into_iter().find_map(|ended| match ended {
        Ended::Failed(error) => Some(error),
        Ended::Done | Ended::Interrupted => None,
    });
    if failed.is_none() {
        println!("Interrupted: every connection told, the server closed");
    }
    finish(failed.map_or(Ok(()), Err))
}

/// What `server` was asked for besides its port and timeout.
#[derive(Default)]
struct ServerFlags {
    loops: usize,
    bytes: bool,
    monitor: Option<u16>,
}

/// `args` split into the server's flags and its positional arguments.
fn server_options(args: &[String]) -> Result<(ServerFlags, Vec<String>), String> {
    let mut flags = ServerFlags {
        loops: 1,
        ..ServerFlags::default()
    };
    let mut positional = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bytes" => flags.bytes = true,
            "--monitor" => flags.monitor = Some(parse(args.next(), 0)?),
            "--loops" => {
                flags.loops = parse(args.next(), 0)?;
                if flags.loops == 0 {
                    return Err("--loops needs a number of loops, at least 1".into());
                }
            }
            flag if flag.starts_with("--") => return Err(format!("unknown option: {flag}")),
            _ => positional.push(arg.clone()),
        }
    }
    Ok((flags, positional))
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
