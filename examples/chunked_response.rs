//! Scenario 15 for real: an HTTP/1.1 server on stage 6's streams whose
//! answer to a GET is a chunked response from ten workers,
//! `cargo run --example chunked_response [-- --port N] [--wrong]`.
//!
//! Read it with `curl -N http://127.0.0.1:8015/` (`-N`: show each chunk
//! as it comes). The server is `stage06_socket_io::scenarios::serve_chunked`,
//! run by a stage 5 `Runner` on an epoll loop, as `asyncio.run` would run
//! it: until Ctrl-C (which cancels it, and every response under way, and
//! ends the program with exit status 130), or for `--for` seconds.

use std::net::SocketAddr;
use std::process::ExitCode;

use demo_support::Transcript;
use demo_support::demo_options::print_line;
use stage01_generator_loop::RealClock;
use stage02_timed_events::LoopError;
use stage04_futures_tasks::FutureError;
use stage05_cancellation::runners::INTERRUPTED_STATUS;
use stage05_cancellation::{Runner, RunnerError, sleep};
use stage06_socket_io::EpollSelector;
use stage06_socket_io::scenarios::{End, serve_chunked};

/// The port when `--port` is not given: 80 and 15, the scenario's number.
const DEFAULT_PORT: u16 = 8015;

const HELP: &str = "\
Scenario 15 for real: don't synchronise by timing.

Usage: cargo run --example chunked_response [-- OPTIONS]

Serves http://127.0.0.1:8015/ until Ctrl-C. Each GET is answered with a
chunked response: \"Start\", then the numbers of ten workers, who work
for different times and report in turn, then \"End\". Read it with

  curl -N http://127.0.0.1:8015/

(-N shows each chunk as it comes): Start12345678910End, the last chunks
after a second. The server writes \"End\" once it has taken the
acknowledgement, which travels behind the workers' reports in the same
queue. A wrong server does not wait for it: StartEnd.

Options:
  --port N    listen on port N of 127.0.0.1 (default 8015; 0: any free one)
  --wrong     end each response at once, without waiting: StartEnd
  --nap S     end each response after sleeping S seconds, a guess at
              \"long enough\" (0.5: Start1234End)
  --for S     serve for S seconds, finish the responses under way, stop
              (default: until Ctrl-C)
  --help      print this help";

/// What the command line asks for.
struct Options {
    port: u16,
    end: End,
    seconds: Option<f64>,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Options>, String> {
    let mut options = Options {
        port: DEFAULT_PORT,
        end: End::AfterAcknowledgement,
        seconds: None,
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--help" | "-h" => return Ok(None),
            "--wrong" => options.end = End::AtOnce,
            "--port" => {
                let value = value_of("--port", "a port number", args.next())?;
                options.port = value.parse().map_err(|_| {
                    format!("--port takes a port number, not {value:?}; try --help")
                })?;
            }
            "--nap" => {
                let value = value_of("--nap", "a number of seconds", args.next())?;
                let nap = seconds(&value).filter(|&nap| nap >= 0.0);
                let nap = nap.ok_or_else(|| {
                    format!("--nap takes a number of seconds, not {value:?}; try --help")
                })?;
                options.end = End::AfterSleeping(nap);
            }
            "--for" => {
                let value = value_of("--for", "a number of seconds", args.next())?;
                let time = seconds(&value).filter(|&time| time > 0.0);
                options.seconds = Some(time.ok_or_else(|| {
                    format!("--for takes a positive number of seconds, not {value:?}; try --help")
                })?);
            }
            other => return Err(format!("unknown option {other:?}; try --help")),
        }
    }
    Ok(Some(options))
}

/// The value after `option`, or why there is none.
fn value_of(option: &str, what: &str, value: Option<String>) -> Result<String, String> {
    value.ok_or_else(|| format!("{option} needs {what} after it; try --help"))
}

/// A finite number of seconds.
fn seconds(value: &str) -> Option<f64> {
    value
        .parse()
        .ok()
        .filter(|seconds: &f64| seconds.is_finite())
}

fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            print_line(HELP);
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let out = Transcript::echoing();
    let runner = match EpollSelector::new() {
        Ok(selector) => Runner::with_selector(RealClock::new(), selector),
        Err(error) => Err(RunnerError::Loop(LoopError::Poll(error))),
    };
    let runner = match runner {
        Ok(runner) => runner,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::FAILURE;
        }
    };
    let served = runner.run(serve(options, out.clone()));
    match (served, runner.close()) {
        (Err(RunnerError::Interrupted { .. }), _) | (_, Err(RunnerError::Interrupted { .. })) => {
            out.say("Interrupted: the server is closed (exit status 130)");
            ExitCode::from(INTERRUPTED_STATUS)
        }
        (Err(error), _) | (_, Err(error)) => {
            eprintln!("{error}");
            ExitCode::FAILURE
        }
        (Ok(()), Ok(())) => ExitCode::SUCCESS,
    }
}

// ANCHOR: serve
/// Serve until cancelled (Ctrl-C), or for `options.seconds`, saying where
/// and one line per response.
async fn serve(options: Options, out: Transcript) -> Result<(), FutureError> {
    let address = SocketAddr::from(([127, 0, 0, 1], options.port));
    let server = serve_chunked(options.end, address, &out).await?;
    let url = format!("http://{}/", server.local_addr());
    out.say(format!(
        "Serving {url}, each response ended {}",
        options.end
    ));
    out.say(format!("Try: curl -N {url}"));
    match options.seconds {
        // It ends only cancelled, by Ctrl-C.
        None => server.serve_forever().await?,
        Some(seconds) => {
            sleep(seconds, ()).await?; // a time to serve for, not a guess
            server.close();
            server.wait_closed().await?; // the responses under way end
            out.say(format!("Served for {seconds} s; the server is closed"));
        }
    }
    Ok(())
}
// ANCHOR_END: serve
