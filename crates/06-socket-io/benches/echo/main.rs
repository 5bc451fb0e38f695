//! The echo benchmark (issue #13): one command, every server, one sitting,
//! the same client for all of them. It mirrors uvloop's own echo benchmark
//! (`examples/bench/echoserver.py`, which its vmbench suite drives with
//! `echo_client`): a client sends a message, waits until it has all come
//! back, sends the next; the server echoes bytes as they come.
//!
//! - Messages of 1 KiB, over 1, 16 and 256 connections at once, each a
//!   strict ping-pong; the client checks that every byte came back as sent,
//!   and a server that echoes anything else fails the whole run.
//! - The servers: ours, stage 6's streams (`echo_bytes`: `read(65536)`,
//!   `write`, `drain`), the demo binary's `server PORT --bytes`, built
//!   twice, textbook and `fast` (stage 5's `fast` feature: stage 4's fast
//!   tasks and timers), each into its own target directory under
//!   `target/echo-bench/`; tokio's `current_thread` runtime (a task per
//!   connection: `poll_read` into its thread's 64 KiB buffer,
//!   `try_write` what came, the same system calls as `read` into a buffer
//!   of its own and `write_all`, without a buffer kept per connection:
//!   see `tokio_server_main`); asyncio's streams and
//!   protocols on Debian's `python3`, and uvloop's, from `echo_servers.py`
//!   in `benches/`. uvloop is installed by this benchmark into a
//!   virtual environment of that same Python, `target/echo-bench/venv`,
//!   if it is not there yet; if that fails, its rows say why and the rest
//!   runs. Every server sets `TCP_NODELAY` on its connections.
//! - The server runs on CPU 0 and the client on CPU 1 (`taskset`), where
//!   there are two CPUs to run on; on two cores the client, one thread, is
//!   the bottleneck, so besides requests per second the table gives what
//!   is fair to compare: the server's CPU time per request, its threads'
//!   run time (`/proc/PID/task/*/schedstat`) over exactly the measured
//!   window, divided by the requests completed in it. What other
//!   processes took of the machine meanwhile (`/proc/stat`) is in the log
//!   of every run, and a figure they disturbed is marked.
//! - Memory: 10,000 connections, each echoed one message and then left
//!   idle; the server's resident memory (`VmRSS`) after, less before,
//!   per connection; tokio twice, also as its examples write an echo, a
//!   64 KiB buffer per connection.
//! - One loop per core: ours with `--loops 2` (two threads, two loops, one
//!   port shared through `SO_REUSEPORT`) against tokio's multi-threaded
//!   runtime with two workers, nothing pinned, and ours with `--loops 1`
//!   in the same setting for how it scales.
//!
//! The client is this same program, started again as a child process
//! (`__client`), as are the tokio servers (`__tokio-server`): one thread,
//! mio on epoll (edge-triggered), one `write` and usually one `read` per
//! request, so that as little as possible of the machine goes to it.
//! Every child is killed when the run ends, however it ends (a panic
//! too); the servers' standard error goes to `target/echo-bench/logs/`.
//!
//! Run with `cargo bench -p stage06-socket-io --features bench --bench
//! echo`: a few minutes; it prints a markdown table and writes it to
//! `target/echo-bench/results.md`. Environment variables narrow it:
//! `ECHO_BENCH_SECONDS` (a measured window, 1.5), `ECHO_BENCH_WARMUP` (0.5),
//! `ECHO_BENCH_REPEAT` (windows per server and count, 3: the median is shown),
//! `ECHO_BENCH_CONNECTIONS` (`1,16,256`), `ECHO_BENCH_IDLE` (10000),
//! `ECHO_BENCH_PARTS` (`throughput,memory,cores`), `ECHO_BENCH_SERVERS`
//! (names to keep, e.g. `ours,tokio`; any part of a row's key). Under
//! `cargo test --benches` it only checks, in a fraction of a second, that
//! the client and the tokio server agree.

//!
//! | module | what it holds |
//! |---|---|
//! | `servers` | the servers compared, and how each is started |
//! | `process` | a child process, killed however the run ends |
//! | `proc` | CPU time, memory and CPUs, from `/proc` |
//! | `client` | the one client, on mio |
//! | `tokio_server` | the tokio servers |
//! | `measure` | a measured window, and the memory of idle connections |
//! | `run` | the whole run: set-up, builds, every measurement |
//! | `report` | the tables |

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use demo_support::descriptors::raise_descriptor_limit;
use mio::{Events, Interest, Poll, Token};

mod client;
mod measure;
mod proc;
mod process;
mod report;
mod run;
mod servers;
mod tokio_server;

use client::*;
use measure::*;
use proc::*;
use process::*;
use report::*;
use run::*;
use servers::*;
use tokio_server::*;

/// The size of every message.
const MESSAGE: usize = 1024;
/// The uvloop that the set-up step installs.
const UVLOOP: &str = "0.23.0";
/// The tokio the workspace pins (for the report).
const TOKIO: &str = "1.54.1";
/// How many connections the client opens before it waits for their first
/// echoes: fewer than any server's listen backlog (asyncio's is 100), so
/// that no connection waits for a dropped handshake to be sent again.
const CONNECT_BATCH: usize = 50;
/// How long the client waits for any answer before it calls the server
/// stalled.
const STALL: Duration = Duration::from_secs(10);
/// Above this share of a CPU (in percent) taken by other processes during
/// a window, the run is marked as disturbed.
const DISTURBED: f64 = 20.0;
/// How many times a disturbed window is measured again.
const RETRIES: usize = 3;
/// How long to wait before that.
const RETRY_PAUSE: Duration = Duration::from_secs(3);
/// How long a server may take to say where it listens.
const STARTUP: Duration = Duration::from_secs(60);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let ran = match args.first().map(String::as_str) {
        Some("__client") => client_main(&args[1..]),
        Some("__idle-client") => idle_client_main(&args[1..]),
        Some("__tokio-server") => tokio_server_main(&args[1..]),
        _ => orchestrate(&args),
    };
    match ran {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("echo bench: {error}");
            ExitCode::FAILURE
        }
    }
}
