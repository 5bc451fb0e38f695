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
//!   beside this file. uvloop is installed by this benchmark into a
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

// ---------------------------------------------------------------------------
// The servers
// ---------------------------------------------------------------------------

/// Which of our two builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Build {
    Textbook,
    Fast,
}

impl Build {
    fn name(self) -> &'static str {
        match self {
            Self::Textbook => "textbook",
            Self::Fast => "fast",
        }
    }
}

/// What a row runs.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// Our demo binary's `server PORT --bytes --loops N`.
    Ours(Build, usize),
    /// This program's tokio server, on N workers (1: `current_thread`),
    /// reading into its thread's buffer, or (`owned`) into a 64 KiB buffer
    /// of each connection's own.
    Tokio { workers: usize, owned: bool },
    /// `echo_servers.py`, with uvloop or not, streams or protocols.
    Python { uvloop: bool, api: &'static str },
}

/// A row of a table: a server and how to start it.
#[derive(Debug, Clone, Copy)]
struct Entry {
    key: &'static str,
    name: &'static str,
    kind: Kind,
}

const fn entry(key: &'static str, name: &'static str, kind: Kind) -> Entry {
    Entry { key, name, kind }
}

const TOKIO_CT: Kind = Kind::Tokio {
    workers: 1,
    owned: false,
};

/// The single-loop servers, pinned to one core: the throughput and memory
/// rows.
const SERVERS: [Entry; 7] = [
    entry(
        "ours-textbook",
        "ours, textbook",
        Kind::Ours(Build::Textbook, 1),
    ),
    entry("ours-fast", "ours, fast", Kind::Ours(Build::Fast, 1)),
    entry("tokio-ct", "tokio current_thread", TOKIO_CT),
    entry(
        "asyncio-streams",
        "asyncio streams",
        Kind::Python {
            uvloop: false,
            api: "streams",
        },
    ),
    entry(
        "asyncio-protocols",
        "asyncio protocols",
        Kind::Python {
            uvloop: false,
            api: "protocols",
        },
    ),
    entry(
        "uvloop-protocols",
        "uvloop protocols",
        Kind::Python {
            uvloop: true,
            api: "protocols",
        },
    ),
    entry(
        "uvloop-streams",
        "uvloop streams",
        Kind::Python {
            uvloop: true,
            api: "streams",
        },
    ),
];

/// The rows of "one loop per core", nothing pinned.
const CORE_SERVERS: [Entry; 6] = [
    entry(
        "ours-textbook-loops2",
        "ours, textbook, --loops 2",
        Kind::Ours(Build::Textbook, 2),
    ),
    entry(
        "ours-fast-loops2",
        "ours, fast, --loops 2",
        Kind::Ours(Build::Fast, 2),
    ),
    entry(
        "tokio-mt",
        "tokio multi_thread, 2 workers",
        Kind::Tokio {
            workers: 2,
            owned: false,
        },
    ),
    entry(
        "ours-textbook-loops1",
        "ours, textbook, --loops 1",
        Kind::Ours(Build::Textbook, 1),
    ),
    entry(
        "ours-fast-loops1",
        "ours, fast, --loops 1",
        Kind::Ours(Build::Fast, 1),
    ),
    entry("tokio-ct-unpinned", "tokio current_thread", TOKIO_CT),
];

/// A row of the memory table only: tokio as its examples write an echo,
/// a buffer per connection (here 64 KiB, as ours and asyncio's `read`
/// ask for), which an idle connection keeps.
const TOKIO_OWNED: Entry = entry(
    "tokio-ct-owned-buffer",
    "tokio current_thread, 64 KiB buffer per connection",
    Kind::Tokio {
        workers: 1,
        owned: true,
    },
);

/// The connection counts of "one loop per core".
const CORE_CONNECTIONS: [usize; 2] = [16, 256];

/// Where the servers' programs are.
struct Tools {
    /// This program, for the client and the tokio servers.
    me: PathBuf,
    /// Our demo binary, per build (only those that were asked for).
    ours: BTreeMap<Build, PathBuf>,
    /// `echo_servers.py`.
    script: PathBuf,
    /// Debian's Python, for asyncio.
    python: PathBuf,
    /// The virtual environment's Python, with uvloop, or why there is none.
    uvloop_python: Result<PathBuf, String>,
    /// Where the servers' standard error goes, a file per run.
    logs: PathBuf,
}

impl Tools {
    /// The program and arguments of `kind`'s server on `port`.
    fn command(&self, kind: Kind, port: u16) -> Result<(PathBuf, Vec<String>), String> {
        let port = port.to_string();
        Ok(match kind {
            Kind::Ours(build, loops) => {
                let program = self
                    .ours
                    .get(&build)
                    .ok_or_else(|| format!("ours ({}) was not built", build.name()))?;
                let mut args = vec!["server".to_string(), port, "--bytes".to_string()];
                if loops > 1 {
                    args.extend(["--loops".to_string(), loops.to_string()]);
                }
                (program.clone(), args)
            }
            Kind::Tokio { workers, owned } => (
                self.me.clone(),
                vec![
                    "__tokio-server".to_string(),
                    workers.to_string(),
                    port,
                    if owned { "owned" } else { "shared" }.to_string(),
                ],
            ),
            Kind::Python { uvloop, api } => {
                let python = if uvloop {
                    self.uvloop_python.clone()?
                } else {
                    self.python.clone()
                };
                let script = self.script.display().to_string();
                let flavour = if uvloop { "uvloop" } else { "asyncio" };
                let args = [&script, "--loop", flavour, "--api", api];
                let mut args: Vec<String> = args.iter().map(ToString::to_string).collect();
                args.extend(["--port".to_string(), port]);
                (python, args)
            }
        })
    }

    /// Why `kind` cannot run here, if it cannot.
    fn unavailable(&self, kind: Kind) -> Option<String> {
        match (kind, &self.uvloop_python) {
            (Kind::Python { uvloop: true, .. }, Err(why)) => Some(why.clone()),
            _ => None,
        }
    }
}

/// A server that has said where it listens.
struct Server {
    process: Process,
    address: SocketAddr,
}

/// Start `entry`'s server, on `cpu` if given, its standard error to a log
/// named after `run`, and wait until every one of its loops listens.
fn start_server(
    tools: &Tools,
    entry: &Entry,
    cpu: Option<usize>,
    run: &str,
) -> Result<Server, String> {
    let loops = match entry.kind {
        Kind::Ours(_, loops) => loops,
        _ => 1,
    };
    // Several loops share one port, which must then be named: a free one.
    let port = if loops > 1 { free_port()? } else { 0 };
    let (program, args) = tools.command(entry.kind, port)?;
    let log = tools.logs.join(format!("{}-{run}.log", entry.key));
    let process = Process::start(entry.name, pinned(&program, &args, cpu), false, Some(log))?;
    let mut address = None;
    for _ in 0..loops {
        let line = process.line("serving on ", STARTUP)?;
        let text = line.trim_start_matches("serving on ").trim();
        let parsed: SocketAddr = text
            .parse()
            .map_err(|_| format!("{}: cannot read an address in {line:?}", entry.name))?;
        address = Some(parsed);
    }
    let address = address.ok_or_else(|| format!("{}: no address", entry.name))?;
    Ok(Server { process, address })
}

/// A port that was free a moment ago.
fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    let port = listener
        .local_addr()
        .map_err(|e| format!("no free port: {e}"))?
        .port();
    Ok(port)
}

/// `program args`, run on `cpu` alone if given (`taskset` execs the
/// program: the child's id is the program's).
fn pinned(program: &Path, args: &[String], cpu: Option<usize>) -> Command {
    match cpu {
        Some(cpu) => {
            let mut command = Command::new("taskset");
            command
                .arg("-c")
                .arg(cpu.to_string())
                .arg(program)
                .args(args);
            command
        }
        None => {
            let mut command = Command::new(program);
            command.args(args);
            command
        }
    }
}

// ---------------------------------------------------------------------------
// Child processes
// ---------------------------------------------------------------------------

/// A child process, killed and reaped when dropped, whatever happened
/// (a panic included); its standard output read line by line by a thread
/// of its own, so that it never blocks on a full pipe.
struct Process {
    name: String,
    child: Child,
    lines: Receiver<String>,
    /// Where its standard error goes, if not to ours.
    log: Option<PathBuf>,
}

impl Process {
    /// Start `command`; its standard error goes to `log` if given (a
    /// server's: our server and asyncio's report each connection that the
    /// client resets), else to ours.
    fn start(
        name: &str,
        mut command: Command,
        with_stdin: bool,
        log: Option<PathBuf>,
    ) -> Result<Self, String> {
        let stderr = match &log {
            Some(path) => std::fs::File::create(path)
                .map_err(|e| format!("{}: {e}", path.display()))?
                .into(),
            None => Stdio::inherit(),
        };
        command
            .stdin(if with_stdin {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(stderr);
        let mut child = command
            .spawn()
            .map_err(|e| format!("{name}: cannot start {command:?}: {e}"))?;
        let stdout = child.stdout.take().ok_or("no pipe")?;
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Self {
            name: name.to_string(),
            child,
            lines,
            log,
        })
    }

    /// Where to look for what went wrong: the end of its log, if it has
    /// one, else our own standard error.
    fn errors(&self) -> String {
        let Some(log) = &self.log else {
            return "(its errors are above)".into();
        };
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(20)..].join("\n");
        format!("(its standard error, in {}, ends:\n{tail})", log.display())
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The next line that starts with `prefix`, skipping others.
    fn line(&self, prefix: &str, within: Duration) -> Result<String, String> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.starts_with(prefix) => return Ok(line),
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => {
                    return Err(format!(
                        "{}: said no {prefix:?} within {within:?}",
                        self.name
                    ));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(format!(
                        "{}: ended before it said {prefix:?} {}",
                        self.name,
                        self.errors()
                    ));
                }
            }
        }
    }

    /// Wait for the process to end by itself, and fail unless it succeeded.
    fn finish(&mut self, within: Duration) -> Result<(), String> {
        let deadline = Instant::now() + within;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) if status.success() => return Ok(()),
                Ok(Some(status)) => return Err(format!("{} failed: {status}", self.name)),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Ok(None) => return Err(format!("{}: still running after {within:?}", self.name)),
                Err(error) => return Err(format!("{}: {error}", self.name)),
            }
        }
    }

    /// Fail if the process has ended (a server must not).
    fn alive(&mut self) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!(
                "{} ended during the run: {status} {}",
                self.name,
                self.errors()
            )),
            Err(error) => Err(format!("{}: {error}", self.name)),
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------
// What /proc says
// ---------------------------------------------------------------------------

/// The CPU time of every thread of process `pid`, in nanoseconds: the
/// first field of each thread's `schedstat` (time on a CPU), or, where the
/// kernel keeps no schedstat, the process's `utime + stime` in clock ticks
/// (taken as 100 a second).
fn cpu_ns(pid: u32) -> Result<u64, String> {
    let tasks = format!("/proc/{pid}/task");
    let mut total = 0;
    let entries = std::fs::read_dir(&tasks).map_err(|e| format!("{tasks}: {e}"))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("{tasks}: {e}"))?;
        match std::fs::read_to_string(entry.path().join("schedstat")) {
            Ok(text) => {
                let first = text.split_whitespace().next().unwrap_or("");
                total += first
                    .parse::<u64>()
                    .map_err(|_| format!("{tasks}: cannot read a schedstat: {text:?}"))?;
            }
            // A thread that ended between the listing and the read.
            Err(error) if error.kind() == io::ErrorKind::NotFound && total > 0 => {}
            Err(_) => return cpu_ns_from_stat(pid),
        }
    }
    Ok(total)
}

fn cpu_ns_from_stat(pid: u32) -> Result<u64, String> {
    let path = format!("/proc/{pid}/stat");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    // The fields after the command's name, which is in parentheses and may
    // hold spaces: utime and stime are the 14th and 15th of the whole line.
    let rest = text.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |index: usize| fields.get(index).and_then(|f| f.parse::<u64>().ok());
    match (ticks(11), ticks(12)) {
        (Some(user), Some(system)) => Ok((user + system) * 10_000_000),
        _ => Err(format!("{path}: cannot read the CPU times")),
    }
}

/// The busy time of every CPU of the machine, in nanoseconds: the first
/// line of `/proc/stat`, all but idle and iowait, in ticks of 1/100 s.
fn machine_cpu_ns() -> Result<u64, String> {
    let text = std::fs::read_to_string("/proc/stat").map_err(|e| format!("/proc/stat: {e}"))?;
    let ticks: Vec<u64> = text
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("cpu "))
        .map(|rest| {
            rest.split_whitespace()
                .filter_map(|f| f.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    // user nice system idle iowait irq softirq steal (guest is in user).
    let busy: u64 = ticks
        .iter()
        .take(8)
        .enumerate()
        .filter(|(at, _)| *at != 3 && *at != 4)
        .map(|(_, ticks)| ticks)
        .sum();
    if ticks.len() < 8 {
        return Err(format!("/proc/stat: cannot read {:?}", text.lines().next()));
    }
    Ok(busy * 10_000_000)
}

/// The resident memory of process `pid`, in KiB (`VmRSS`).
fn rss_kib(pid: u32) -> Result<u64, String> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    text.lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .ok_or_else(|| format!("{path}: no VmRSS"))
}

/// The CPUs this process may run on (`Cpus_allowed_list`, e.g. `0-1`).
fn allowed_cpus() -> Vec<usize> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let Some(list) = status
        .lines()
        .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))
    else {
        return Vec::new();
    };
    let mut cpus = Vec::new();
    for part in list.trim().split(',') {
        let (first, last) = part.split_once('-').unwrap_or((part, part));
        if let (Ok(first), Ok(last)) = (first.parse::<usize>(), last.parse::<usize>()) {
            cpus.extend(first..=last);
        }
    }
    cpus
}

// ---------------------------------------------------------------------------
// The client
// ---------------------------------------------------------------------------

/// One connection's side of the ping-pong: the message it sent, what has
/// come back of it so far.
struct Conn {
    index: usize,
    /// How many requests this connection has sent before the current one.
    seq: u64,
    sent: Vec<u8>,
    got: Vec<u8>,
    filled: usize,
    written: usize,
    /// Whether it waits to be writable (a `write` that would have blocked).
    want_write: bool,
}

impl Conn {
    fn new(index: usize) -> Self {
        // Bytes that differ from connection to connection and from place to
        // place, with the request's number stamped in the first eight.
        let sent = (0..MESSAGE)
            .map(|at| (at.wrapping_mul(31) ^ index.wrapping_mul(7)) as u8)
            .collect();
        let mut conn = Self {
            index,
            seq: 0,
            sent,
            got: vec![0; MESSAGE],
            filled: 0,
            written: 0,
            want_write: false,
        };
        conn.stamp();
        conn
    }

    fn stamp(&mut self) {
        let stamp = self.seq ^ ((self.index as u64) << 40);
        self.sent[..8].copy_from_slice(&stamp.to_le_bytes());
    }

    /// The next request.
    fn next(&mut self) {
        self.seq += 1;
        self.stamp();
        self.filled = 0;
        self.written = 0;
    }

    /// Fail unless what came back is what was sent.
    fn check(&self) -> Result<(), String> {
        if self.got == self.sent {
            return Ok(());
        }
        let at = self
            .got
            .iter()
            .zip(&self.sent)
            .position(|(got, sent)| got != sent)
            .unwrap_or(0);
        Err(format!(
            "connection {}, request {}: the server echoed other bytes than were \
             sent (first at byte {at} of {MESSAGE}: {:#04x}, not {:#04x})",
            self.index, self.seq, self.got[at], self.sent[at]
        ))
    }

    /// Write what is left of the request; if the socket is full, wait to
    /// be writable as well.
    fn send(
        &mut self,
        stream: &mut mio::net::TcpStream,
        poll: &Poll,
        token: Token,
    ) -> Result<(), String> {
        while self.written < MESSAGE {
            match stream.write(&self.sent[self.written..]) {
                Ok(0) => return Err(format!("connection {}: write gave 0", self.index)),
                Ok(count) => self.written += count,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    if !self.want_write {
                        let both = Interest::READABLE | Interest::WRITABLE;
                        poll.registry()
                            .reregister(stream, token, both)
                            .map_err(|e| format!("reregister: {e}"))?;
                        self.want_write = true;
                    }
                    return Ok(());
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(format!("connection {}: write: {error}", self.index)),
            }
        }
        if self.want_write {
            poll.registry()
                .reregister(stream, token, Interest::READABLE)
                .map_err(|e| format!("reregister: {e}"))?;
            self.want_write = false;
        }
        Ok(())
    }

    /// Read what has come; once the whole echo is in, check it and, if
    /// `more`, send the next request. Returns whether a request completed.
    ///
    /// The socket is watched edge-triggered, so a read normally goes on
    /// until it would block; but once the echo is complete nothing more
    /// can be in the socket (the server has nothing else to send until
    /// the next request), and the next echo's arrival is a new edge: the
    /// read that would only say "would block" is saved.
    fn receive(
        &mut self,
        stream: &mut mio::net::TcpStream,
        poll: &Poll,
        token: Token,
        more: bool,
    ) -> Result<bool, String> {
        loop {
            match stream.read(&mut self.got[self.filled..]) {
                Ok(0) => {
                    return Err(format!(
                        "connection {}: the server closed it mid-request",
                        self.index
                    ));
                }
                Ok(count) => {
                    self.filled += count;
                    if self.filled == MESSAGE {
                        self.check()?;
                        self.next();
                        if more {
                            self.send(stream, poll, token)?;
                        }
                        return Ok(true);
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(format!("connection {}: read: {error}", self.index)),
            }
        }
    }
}

/// Open `count` connections to `address`, blocking, in batches, and make
/// one checked round trip on each (so that the server has accepted them
/// all and holds whatever a connection that has echoed costs it).
fn connect_all(address: SocketAddr, count: usize) -> Result<Vec<(Conn, TcpStream)>, String> {
    let mut all: Vec<(Conn, TcpStream)> = Vec::with_capacity(count);
    while all.len() < count {
        let first = all.len();
        for index in first..count.min(first + CONNECT_BATCH) {
            let fail = |e: io::Error| format!("connection {index} to {address}: {e}");
            let stream = TcpStream::connect_timeout(&address, STALL).map_err(fail)?;
            stream.set_nodelay(true).map_err(fail)?;
            stream.set_read_timeout(Some(STALL)).map_err(fail)?;
            let conn = Conn::new(index);
            (&stream).write_all(&conn.sent).map_err(fail)?;
            all.push((conn, stream));
        }
        for (conn, stream) in &mut all[first..] {
            let index = conn.index;
            stream
                .read_exact(&mut conn.got)
                .map_err(|e| format!("connection {index}: no echo of its first request: {e}"))?;
            conn.check()?;
            conn.next();
        }
    }
    Ok(all)
}

/// `__client ADDRESS CONNECTIONS WARMUP SECONDS SERVER_PID`: ping-pong on
/// every connection for WARMUP seconds, then for SECONDS more, counted;
/// print `result requests=… nanos=… server_cpu_ns=… client_cpu_ns=…
/// machine_cpu_ns=…`, then wait for the echoes still on their way.
fn client_main(args: &[String]) -> Result<(), String> {
    let [address, connections, warmup, seconds, server] = args else {
        return Err("usage: __client ADDRESS CONNECTIONS WARMUP SECONDS SERVER_PID".into());
    };
    let address: SocketAddr = address.parse().map_err(|_| "bad address")?;
    let connections: usize = connections.parse().map_err(|_| "bad count")?;
    let warmup = Duration::from_secs_f64(warmup.parse().map_err(|_| "bad warm-up")?);
    let seconds = Duration::from_secs_f64(seconds.parse().map_err(|_| "bad window")?);
    let server: u32 = server.parse().map_err(|_| "bad pid")?;
    let me = std::process::id();
    raise_descriptor_limit(connections as u64 + 64).map_err(|e| e.to_string())?;

    let mut poll = Poll::new().map_err(|e| format!("epoll: {e}"))?;
    let mut conns = Vec::with_capacity(connections);
    let mut streams = Vec::with_capacity(connections);
    for (conn, stream) in connect_all(address, connections)? {
        stream
            .set_nonblocking(true)
            .map_err(|e| format!("nonblocking: {e}"))?;
        let mut stream = mio::net::TcpStream::from_std(stream);
        poll.registry()
            .register(&mut stream, Token(conn.index), Interest::READABLE)
            .map_err(|e| format!("register: {e}"))?;
        conns.push(conn);
        streams.push(stream);
    }
    for (index, (conn, stream)) in conns.iter_mut().zip(&mut streams).enumerate() {
        conn.send(stream, &poll, Token(index))?;
    }

    let mut events = Events::with_capacity(1024);
    let warm_until = Instant::now() + warmup;
    let mut done: u64 = 0;
    // Where the measured window began and ended: requests, time, and the
    // CPU time of the server, the client and the machine.
    let mut window: Vec<(u64, Instant, u64, u64, u64)> = Vec::new();
    let mark = |done: u64| -> Result<(u64, Instant, u64, u64, u64), String> {
        let now = Instant::now();
        Ok((done, now, cpu_ns(server)?, cpu_ns(me)?, machine_cpu_ns()?))
    };
    // After the window, each connection waits for its last echo and sends
    // no more, so that the client closes connections with nothing unread
    // (a close with unread bytes resets the connection, which servers log).
    let mut waiting = connections;
    while waiting > 0 {
        poll.poll(&mut events, Some(STALL))
            .map_err(|e| format!("epoll_wait: {e}"))?;
        if events.is_empty() {
            return Err(format!(
                "no echo for {STALL:?} on any of {connections} connections: the server stalled"
            ));
        }
        let more = window.len() < 2;
        for event in &events {
            let token = event.token();
            let (conn, stream) = (&mut conns[token.0], &mut streams[token.0]);
            if event.is_writable() && conn.want_write {
                conn.send(stream, &poll, token)?;
            }
            if (event.is_readable() || event.is_read_closed() || event.is_error())
                && conn.receive(stream, &poll, token, more)?
            {
                done += 1;
                if !more {
                    waiting -= 1;
                }
            }
        }
        if more {
            match window.first() {
                None if Instant::now() >= warm_until => window.push(mark(done)?),
                Some(&(_, start, ..)) if Instant::now() >= start + seconds => {
                    window.push(mark(done)?);
                }
                _ => {}
            }
        }
    }
    let [start, end] = window[..] else {
        return Err("no window".into());
    };
    println!(
        "result requests={} nanos={} server_cpu_ns={} client_cpu_ns={} machine_cpu_ns={}",
        end.0 - start.0,
        (end.1 - start.1).as_nanos(),
        end.2.saturating_sub(start.2),
        end.3.saturating_sub(start.3),
        end.4.saturating_sub(start.4),
    );
    Ok(())
}

/// `__idle-client ADDRESS COUNT`: open COUNT connections, echo one message
/// on each, print `idle COUNT`, and hold them until standard input ends.
fn idle_client_main(args: &[String]) -> Result<(), String> {
    let [address, count] = args else {
        return Err("usage: __idle-client ADDRESS COUNT".into());
    };
    let address: SocketAddr = address.parse().map_err(|_| "bad address")?;
    let count: usize = count.parse().map_err(|_| "bad count")?;
    raise_descriptor_limit(count as u64 + 64).map_err(|e| e.to_string())?;
    let held = connect_all(address, count)?;
    println!("idle {}", held.len());
    io::stdout().flush().map_err(|e| e.to_string())?;
    let mut rest = Vec::new();
    let _ = io::stdin().read_to_end(&mut rest);
    drop(held);
    Ok(())
}

// ---------------------------------------------------------------------------
// The tokio servers
// ---------------------------------------------------------------------------

/// `__tokio-server WORKERS PORT BUFFER`: an echo of bytes as they come, a
/// task per connection, on a `current_thread` runtime (1 worker) or a
/// multi-threaded one; runs until killed. BUFFER `owned`: each connection
/// reads into a 64 KiB buffer of its own and `write_all`s what came, as
/// tokio's examples do. `shared`: it waits to be readable holding no
/// buffer, then reads into its thread's 64 KiB buffer and writes what came
/// back at once, keeping only what the socket would not take (as our
/// transport reads into its thread's buffer, and asyncio makes a new
/// `bytes` per `recv`): the same system calls as `owned` (one `recv` and
/// one `send` per message), and an idle connection holds no buffer.
fn tokio_server_main(args: &[String]) -> Result<(), String> {
    let [workers, port, buffer] = args else {
        return Err("usage: __tokio-server WORKERS PORT owned|shared".into());
    };
    let workers: usize = workers.parse().map_err(|_| "bad count")?;
    let port: u16 = port.parse().map_err(|_| "bad port")?;
    let owned = match buffer.as_str() {
        "owned" => true,
        "shared" => false,
        _ => return Err(format!("not a buffer: {buffer}")),
    };
    // For the ten thousand idle connections.
    raise_descriptor_limit(0).map_err(|e| e.to_string())?;
    let runtime = if workers == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_io()
            .build()
    }
    .map_err(|e| format!("runtime: {e}"))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|e| format!("bind: {e}"))?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        println!("serving on {address}");
        loop {
            let (stream, _) = listener
                .accept()
                .await
                .map_err(|e| format!("accept: {e}"))?;
            stream.set_nodelay(true).map_err(|e| e.to_string())?;
            if owned {
                tokio::spawn(echo_owned(stream));
            } else {
                tokio::spawn(echo_shared(stream));
            }
        }
    })
}

async fn echo_owned(mut stream: tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let mut buffer = vec![0; 64 * 1024];
    loop {
        let count = match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(count) => count,
        };
        if stream.write_all(&buffer[..count]).await.is_err() {
            return;
        }
    }
}

std::thread_local! {
    /// The read buffer of `echo_shared`'s connections on this thread.
    static READ_BUFFER: std::cell::RefCell<Vec<u8>> =
        std::cell::RefCell::new(vec![0; 64 * 1024]);
}

async fn echo_shared(mut stream: tokio::net::TcpStream) {
    use std::pin::Pin;
    use std::task::Poll;
    use tokio::io::{AsyncRead, AsyncWriteExt, ReadBuf};

    loop {
        // `poll_read` as `read` calls it, so that tokio's own shortcut
        // holds: a read that did not fill the buffer drained the socket,
        // and the next waits for the next edge without a `recv` that would
        // only say "would block". The buffer is borrowed within one poll,
        // never across an await.
        let echoed = std::future::poll_fn(|cx| {
            READ_BUFFER.with_borrow_mut(|buffer| {
                let mut read = ReadBuf::new(buffer);
                match Pin::new(&mut stream).poll_read(cx, &mut read) {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(Err(_)) => Poll::Ready(Err(())),
                    Poll::Ready(Ok(())) if read.filled().is_empty() => Poll::Ready(Err(())),
                    Poll::Ready(Ok(())) => {
                        let data = read.filled();
                        let written = match stream.try_write(data) {
                            Ok(written) => written,
                            Err(error) if error.kind() == io::ErrorKind::WouldBlock => 0,
                            Err(_) => return Poll::Ready(Err(())),
                        };
                        Poll::Ready(Ok(data[written..].to_vec()))
                    }
                }
            })
        })
        .await;
        match echoed {
            Err(()) => return,
            Ok(rest) if rest.is_empty() => {}
            Ok(rest) => {
                if stream.write_all(&rest).await.is_err() {
                    return;
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Measuring
// ---------------------------------------------------------------------------

/// One measured window.
#[derive(Debug, Clone, Copy)]
struct Sample {
    requests: u64,
    nanos: u64,
    server_cpu_ns: u64,
    client_cpu_ns: u64,
    /// The whole machine's busy CPU time over the window (`/proc/stat`).
    machine_cpu_ns: u64,
}

impl Sample {
    fn per_second(&self) -> f64 {
        self.requests as f64 * 1e9 / self.nanos as f64
    }

    /// Server CPU microseconds per request.
    fn server_us(&self) -> f64 {
        self.server_cpu_ns as f64 / 1e3 / self.requests.max(1) as f64
    }

    fn client_us(&self) -> f64 {
        self.client_cpu_ns as f64 / 1e3 / self.requests.max(1) as f64
    }

    fn server_load(&self) -> f64 {
        100.0 * self.server_cpu_ns as f64 / self.nanos as f64
    }

    fn client_load(&self) -> f64 {
        100.0 * self.client_cpu_ns as f64 / self.nanos as f64
    }

    /// What other processes took of the machine over the window, as a
    /// share of one CPU: above a few percent, the run was disturbed.
    fn others_load(&self) -> f64 {
        let others = self
            .machine_cpu_ns
            .saturating_sub(self.server_cpu_ns + self.client_cpu_ns);
        100.0 * others as f64 / self.nanos as f64
    }

    /// Whether others took enough to matter (more than a fifth of a CPU;
    /// unpinned, the kernel's own threads take some 5-10% for the loopback).
    fn disturbed(&self) -> bool {
        self.others_load() > DISTURBED
    }

    fn parse(line: &str) -> Result<Self, String> {
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
                .and_then(|value| value.parse::<u64>().ok())
                .ok_or_else(|| format!("the client's result has no {name}: {line:?}"))
        };
        Ok(Self {
            requests: field("requests")?,
            nanos: field("nanos")?,
            server_cpu_ns: field("server_cpu_ns")?,
            client_cpu_ns: field("client_cpu_ns")?,
            machine_cpu_ns: field("machine_cpu_ns")?,
        })
    }
}

/// Where each side runs: the server's CPU and the client's, or anywhere.
#[derive(Debug, Clone, Copy)]
struct Placement {
    server: Option<usize>,
    client: Option<usize>,
}

const ANYWHERE: Placement = Placement {
    server: None,
    client: None,
};

/// Start `entry`'s server, run the client against it over `connections`,
/// and stop the server.
fn measure(
    tools: &Tools,
    entry: &Entry,
    connections: usize,
    config: &Config,
    placement: Placement,
) -> Result<Sample, String> {
    let run = format!("{connections}-conns");
    let mut server = start_server(tools, entry, placement.server, &run)?;
    let args = [
        "__client".to_string(),
        server.address.to_string(),
        connections.to_string(),
        config.warmup.to_string(),
        config.seconds.to_string(),
        server.process.pid().to_string(),
    ];
    let mut client = Process::start(
        &format!("the client of {}", entry.name),
        pinned(&tools.me, &args, placement.client),
        false,
        None,
    )?;
    let within = Duration::from_secs_f64(config.warmup + config.seconds) + STARTUP;
    let line = client.line("result ", within)?;
    client.finish(STALL)?;
    server.process.alive()?;
    Sample::parse(&line)
}

/// The server's resident memory before and after `count` idle connections.
#[derive(Debug, Clone, Copy)]
struct Memory {
    before_kib: u64,
    after_kib: u64,
    count: usize,
}

impl Memory {
    fn per_connection(&self) -> f64 {
        (self.after_kib as f64 - self.before_kib as f64) * 1024.0 / self.count as f64
    }
}

fn measure_memory(
    tools: &Tools,
    entry: &Entry,
    count: usize,
    placement: Placement,
) -> Result<Memory, String> {
    let mut server = start_server(tools, entry, placement.server, "idle")?;
    let pid = server.process.pid();
    std::thread::sleep(Duration::from_millis(300));
    let before_kib = rss_kib(pid)?;
    let args = [
        "__idle-client".to_string(),
        server.address.to_string(),
        count.to_string(),
    ];
    let mut client = Process::start(
        &format!("the idle client of {}", entry.name),
        pinned(&tools.me, &args, placement.client),
        true,
        None,
    )?;
    client.line("idle ", STARTUP * 2)?;
    // Let the server finish whatever the last echoes left it to do.
    std::thread::sleep(Duration::from_secs(1));
    let after_kib = rss_kib(pid)?;
    server.process.alive()?;
    drop(client.child.stdin.take());
    client.finish(STALL)?;
    Ok(Memory {
        before_kib,
        after_kib,
        count,
    })
}

// ---------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------

struct Config {
    seconds: f64,
    warmup: f64,
    /// How many windows each server and count gets, each with a server
    /// started afresh; the tables give their median.
    repeat: usize,
    connections: Vec<usize>,
    idle: usize,
    parts: Vec<String>,
    servers: Vec<String>,
}

impl Config {
    fn from_env(filters: &[String]) -> Result<Self, String> {
        fn var(name: &str) -> Option<String> {
            std::env::var(name)
                .ok()
                .filter(|value| !value.trim().is_empty())
        }
        fn list(text: &str) -> Vec<String> {
            text.split(',')
                .map(|item| item.trim().to_string())
                .filter(|item| !item.is_empty())
                .collect()
        }
        let number = |name: &str, default: f64| -> Result<f64, String> {
            var(name).map_or(Ok(default), |text| {
                text.parse()
                    .ok()
                    .filter(|value: &f64| *value > 0.0)
                    .ok_or(format!("{name}: not a positive number: {text}"))
            })
        };
        let connections = match var("ECHO_BENCH_CONNECTIONS") {
            None => vec![1, 16, 256],
            Some(text) => list(&text)
                .iter()
                .map(|count| count.parse().ok().filter(|count| *count > 0))
                .collect::<Option<Vec<usize>>>()
                .ok_or(format!("ECHO_BENCH_CONNECTIONS: not counts: {text}"))?,
        };
        let mut servers = var("ECHO_BENCH_SERVERS").map_or_else(Vec::new, |text| list(&text));
        servers.extend(filters.iter().cloned());
        Ok(Self {
            seconds: number("ECHO_BENCH_SECONDS", 1.5)?,
            warmup: number("ECHO_BENCH_WARMUP", 0.5)?,
            repeat: number("ECHO_BENCH_REPEAT", 3.0)?.round().max(1.0) as usize,
            connections,
            idle: number("ECHO_BENCH_IDLE", 10_000.0)? as usize,
            parts: list(&var("ECHO_BENCH_PARTS").unwrap_or("throughput,memory,cores".into())),
            servers,
        })
    }

    fn part(&self, part: &str) -> bool {
        self.parts.iter().any(|p| p == part)
    }

    fn keeps(&self, entry: &Entry) -> bool {
        self.servers.is_empty() || self.servers.iter().any(|s| entry.key.contains(s.as_str()))
    }
}

/// Everything measured, in the order of the tables.
#[derive(Default)]
struct Results {
    throughput: BTreeMap<(&'static str, usize), Vec<Sample>>,
    cores: BTreeMap<(&'static str, usize), Vec<Sample>>,
    memory: BTreeMap<&'static str, Memory>,
    /// Every run, for the log at the end: part, server, connections.
    log: Vec<(&'static str, &'static str, usize, Sample)>,
    skipped: BTreeMap<&'static str, String>,
}

/// Which servers each part runs.
struct Plan {
    throughput: Vec<Entry>,
    memory: Vec<Entry>,
    cores: Vec<Entry>,
}

impl Plan {
    fn new(config: &Config) -> Self {
        let selected = |part: &str, entries: &[Entry]| -> Vec<Entry> {
            if !config.part(part) {
                return Vec::new();
            }
            entries
                .iter()
                .filter(|e| config.keeps(e))
                .copied()
                .collect()
        };
        let mut memory = selected("memory", &SERVERS);
        memory.extend(selected("memory", &[TOKIO_OWNED]));
        Self {
            throughput: selected("throughput", &SERVERS),
            memory,
            cores: selected("cores", &CORE_SERVERS),
        }
    }

    fn all(&self) -> impl Iterator<Item = &Entry> {
        self.throughput
            .iter()
            .chain(&self.memory)
            .chain(&self.cores)
    }
}

/// Where this benchmark writes: `TARGET/echo-bench`, beside the target
/// directory's `release` that holds this program
/// (`TARGET/release/deps/echo-HASH`), else the workspace's `target`.
fn out_dir(me: &Path, workspace: &Path) -> Result<PathBuf, String> {
    let target = me
        .parent()
        .filter(|deps| deps.ends_with("deps"))
        .and_then(Path::parent)
        .and_then(Path::parent)
        .map_or_else(|| workspace.join("target"), Path::to_path_buf);
    let out = target.join("echo-bench");
    let logs = out.join("logs");
    std::fs::create_dir_all(&logs).map_err(|e| format!("{}: {e}", logs.display()))?;
    Ok(out)
}

fn orchestrate(args: &[String]) -> Result<(), String> {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    let workspace = manifest
        .parent()
        .and_then(Path::parent)
        .ok_or("no workspace above the crate")?
        .to_path_buf();
    let me = std::env::current_exe().map_err(|e| format!("where am I: {e}"))?;
    let out = out_dir(&me, &workspace)?;
    // `cargo bench` passes `--bench`; `cargo test --benches` does not.
    if !args.iter().any(|arg| arg == "--bench") {
        return smoke(&me, &manifest, &out);
    }
    let filters: Vec<String> = args
        .iter()
        .filter(|arg| !arg.starts_with('-'))
        .cloned()
        .collect();
    let config = Config::from_env(&filters)?;
    let plan = Plan::new(&config);

    let started = now_utc();
    let load_start = load_average();
    let cpus = allowed_cpus();
    let (pin, pin_note) = placement(&cpus);
    eprintln!("echo bench: {pin_note}");

    let mut ours = BTreeMap::new();
    for build in [Build::Textbook, Build::Fast] {
        if plan
            .all()
            .any(|e| matches!(e.kind, Kind::Ours(b, _) if b == build))
        {
            ours.insert(build, build_ours(&workspace, &out, build)?);
        }
    }
    let python = PathBuf::from(if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    });
    let wants_uvloop = plan
        .all()
        .any(|e| matches!(e.kind, Kind::Python { uvloop: true, .. }));
    let uvloop_python = if wants_uvloop {
        set_up_uvloop(&python, &out.join("venv"))
    } else {
        Err("not asked for".into())
    };
    if let Err(why) = &uvloop_python {
        if wants_uvloop {
            eprintln!("echo bench: uvloop's rows will not run: {why}");
        }
    }
    let tools = Tools {
        me: me.clone(),
        ours,
        script: manifest.join("benches").join("echo_servers.py"),
        python: python.clone(),
        uvloop_python,
        logs: out.join("logs"),
    };

    let mut results = Results::default();
    let ran = run_all(&tools, &config, &plan, pin, &mut results);
    let report = Report {
        config: &config,
        started,
        ended: now_utc(),
        load_start,
        load_end: load_average(),
        revision: revision(&workspace),
        cpus: &cpus,
        pin_note: &pin_note,
        python: describe_python(&python),
        uvloop: tools
            .uvloop_python
            .as_ref()
            .map(|_| UVLOOP.to_string())
            .unwrap_or_else(|why| format!("none ({why})")),
        plan: &plan,
        results: &results,
    }
    .render();
    println!("\n{report}");
    let file = out.join("results.md");
    std::fs::write(&file, &report).map_err(|e| format!("{}: {e}", file.display()))?;
    eprintln!("echo bench: the table is in {}", file.display());
    ran
}

/// Every measurement, in order; the first failure stops the run.
fn run_all(
    tools: &Tools,
    config: &Config,
    plan: &Plan,
    pin: Placement,
    results: &mut Results,
) -> Result<(), String> {
    for entry in plan.all() {
        if let Some(why) = tools.unavailable(entry.kind) {
            results.skipped.insert(entry.key, why);
        }
    }
    let runnable = |entry: &&Entry| tools.unavailable(entry.kind).is_none();
    // Round after round of every server, so that whatever slows the
    // machine for a while falls on all of them alike.
    for _ in 0..config.repeat {
        for &connections in &config.connections {
            for entry in plan.throughput.iter().filter(runnable) {
                let sample = measure_quietly(tools, entry, connections, config, pin, results)?;
                progress("throughput", entry, connections, &sample);
                let key = (entry.key, connections);
                results.throughput.entry(key).or_default().push(sample);
                results
                    .log
                    .push(("pinned", entry.name, connections, sample));
            }
        }
    }
    for entry in plan.memory.iter().filter(runnable) {
        let memory = measure_memory(tools, entry, config.idle, pin)?;
        eprintln!(
            "echo bench: memory, {}: {:.0} bytes per idle connection",
            entry.name,
            memory.per_connection()
        );
        results.memory.insert(entry.key, memory);
    }
    for _ in 0..config.repeat {
        for connections in CORE_CONNECTIONS {
            for entry in plan.cores.iter().filter(runnable) {
                let sample = measure_quietly(tools, entry, connections, config, ANYWHERE, results)?;
                progress("per core", entry, connections, &sample);
                let key = (entry.key, connections);
                results.cores.entry(key).or_default().push(sample);
                results
                    .log
                    .push(("unpinned", entry.name, connections, sample));
            }
        }
    }
    Ok(())
}

/// [`measure`], again after a pause (up to `RETRIES` times) while other
/// processes disturb the window; the windows given up are logged.
fn measure_quietly(
    tools: &Tools,
    entry: &Entry,
    connections: usize,
    config: &Config,
    placement: Placement,
    results: &mut Results,
) -> Result<Sample, String> {
    let mut tries = 0;
    loop {
        let sample = measure(tools, entry, connections, config, placement)?;
        if !sample.disturbed() || tries == RETRIES {
            return Ok(sample);
        }
        tries += 1;
        eprintln!(
            "echo bench: {}, {connections} conn: other processes took {:.0}% of a CPU; \
             again in {RETRY_PAUSE:?}",
            entry.name,
            sample.others_load()
        );
        results
            .log
            .push(("given up", entry.name, connections, sample));
        std::thread::sleep(RETRY_PAUSE);
    }
}

fn progress(part: &str, entry: &Entry, connections: usize, sample: &Sample) {
    eprintln!(
        "echo bench: {part}, {}, {connections} conn: {:.0} req/s, {:.2} µs server CPU \
         per request (server {:.0}% of a CPU, client {:.0}%, others {:.0}%)",
        entry.name,
        sample.per_second(),
        sample.server_us(),
        sample.server_load(),
        sample.client_load(),
        sample.others_load()
    );
}

/// Under `cargo test --benches`: the tokio server and the client, briefly.
fn smoke(me: &Path, manifest: &Path, out: &Path) -> Result<(), String> {
    let tools = Tools {
        me: me.to_path_buf(),
        ours: BTreeMap::new(),
        script: manifest.join("benches").join("echo_servers.py"),
        python: PathBuf::from("python3"),
        uvloop_python: Err("not asked for".into()),
        logs: out.join("logs"),
    };
    let config = Config {
        seconds: 0.2,
        warmup: 0.1,
        repeat: 1,
        connections: vec![16],
        idle: 0,
        parts: Vec::new(),
        servers: Vec::new(),
    };
    let sample = measure(&tools, &SERVERS[2], 16, &config, ANYWHERE)?;
    if sample.requests == 0 {
        return Err("the smoke run completed no request".into());
    }
    eprintln!("echo bench: smoke run passed; `cargo bench` runs the benchmark");
    Ok(())
}

/// The commit measured, and whether the work tree differed from it (our
/// servers are built from the work tree as it is).
fn revision(workspace: &Path) -> String {
    Command::new("git")
        .current_dir(workspace)
        .args(["describe", "--always", "--dirty"])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map_or_else(
            || "unknown".into(),
            |output| String::from_utf8_lossy(&output.stdout).trim().to_string(),
        )
}

/// Where to pin, and what to say about it.
fn placement(cpus: &[usize]) -> (Placement, String) {
    if cpus.len() < 2 {
        return (
            ANYWHERE,
            format!(
                "not pinned: this process may run on {} CPU(s), and the server and the \
                 client need one each",
                cpus.len()
            ),
        );
    }
    let taskset = Command::new("taskset")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !taskset.is_ok_and(|status| status.success()) {
        return (ANYWHERE, "not pinned: no `taskset` here".into());
    }
    let (server, client) = (cpus[0], cpus[1]);
    (
        Placement {
            server: Some(server),
            client: Some(client),
        },
        format!("the server pinned to CPU {server}, the client to CPU {client} (taskset)"),
    )
}

/// Build our demo binary, `build`'s way, into its own target directory.
fn build_ours(workspace: &Path, out: &Path, build: Build) -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let target = out.join(build.name());
    let mut command = Command::new(cargo);
    command.current_dir(workspace).args([
        "build",
        "--release",
        "-p",
        "stage06-socket-io",
        "--bin",
        "stage06-socket-io",
    ]);
    command.arg("--target-dir").arg(&target);
    if build == Build::Fast {
        command.args(["--features", "stage05-cancellation/fast"]);
    }
    eprintln!("echo bench: building ours ({})", build.name());
    let status = command
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("building ours ({}) failed: {status}", build.name()));
    }
    Ok(target.join("release").join("stage06-socket-io"))
}

/// A virtual environment of `python` at `venv` with uvloop `UVLOOP` in
/// it, made and installed (with pip, from the package registry) unless it
/// is there already; its Python, or what went wrong.
fn set_up_uvloop(python: &Path, venv: &Path) -> Result<PathBuf, String> {
    let venv_python = venv.join("bin").join("python");
    let has_uvloop = || {
        Command::new(&venv_python)
            .args([
                "-c",
                &format!("import sys, uvloop; sys.exit(uvloop.__version__ != {UVLOOP:?})"),
            ])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    };
    if has_uvloop() {
        return Ok(venv_python);
    }
    if !venv_python.exists() {
        eprintln!("echo bench: making {}", venv.display());
        let made = Command::new(python)
            .args(["-m", "venv"])
            .arg(venv)
            .status()
            .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
        if !made.success() {
            return Err(format!(
                "`{} -m venv {}` failed ({made}): on Debian, `apt-get install python3-venv`",
                python.display(),
                venv.display()
            ));
        }
    }
    eprintln!(
        "echo bench: installing uvloop=={UVLOOP} into {}",
        venv.display()
    );
    let installed = Command::new(&venv_python)
        .args(["-m", "pip", "install", "--quiet"])
        .arg(format!("uvloop=={UVLOOP}"))
        .status()
        .map_err(|e| format!("cannot run pip: {e}"))?;
    if !installed.success() || !has_uvloop() {
        return Err(format!(
            "`pip install uvloop=={UVLOOP}` into {} failed ({installed}; pip's message is above)",
            venv.display()
        ));
    }
    Ok(venv_python)
}

fn describe_python(python: &Path) -> String {
    let version = Command::new(python)
        .args(["-c", "import sys; print(sys.version.split()[0])"])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_string());
    match version {
        Some(version) => format!("{} {version}", python.display()),
        None => format!("{} (its version unknown)", python.display()),
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".into())
}

/// The time now, in UTC, as `YYYY-MM-DD HH:MM:SS UTC`.
fn now_utc() -> String {
    let Ok(since) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) else {
        return "unknown".into();
    };
    let seconds = since.as_secs();
    let (days, rest) = ((seconds / 86_400) as i64, seconds % 86_400);
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rest / 3_600,
        rest / 60 % 60,
        rest % 60
    )
}

// ---------------------------------------------------------------------------
// The report
// ---------------------------------------------------------------------------

struct Report<'a> {
    config: &'a Config,
    started: String,
    ended: String,
    load_start: String,
    load_end: String,
    cpus: &'a [usize],
    pin_note: &'a str,
    python: String,
    uvloop: String,
    revision: String,
    plan: &'a Plan,
    results: &'a Results,
}

/// `1234567.8` as `1,234,568`.
fn grouped(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (at, digit) in digits.chars().enumerate() {
        if at > 0 && (digits.len() - at) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A table of requests per second and server µs per request: a row per
/// server of `entries`, two columns per connection count of `counts`.
fn rate_table(
    out: &mut String,
    entries: &[Entry],
    counts: &[usize],
    results: &BTreeMap<(&'static str, usize), Vec<Sample>>,
) {
    let mut header = "| server |".to_string();
    let mut rule = "|---|".to_string();
    for &count in counts {
        let _ = write!(header, " {}: req/s | µs/req |", connections_label(count));
        rule.push_str("--:|--:|");
    }
    let _ = writeln!(out, "{header}\n{rule}");
    for entry in entries {
        let mut row = format!("| {} |", entry.name);
        for &count in counts {
            match results.get(&(entry.key, count)).and_then(|s| Median::of(s)) {
                Some(median) => {
                    let _ = write!(
                        row,
                        " {}{} | {:.2} |",
                        grouped(median.per_second),
                        if median.disturbed { " †" } else { "" },
                        median.server_us
                    );
                }
                None => row.push_str(" – | – |"),
            }
        }
        let _ = writeln!(out, "{row}");
    }
}

fn connections_label(count: usize) -> String {
    if count == 1 {
        "1 conn".into()
    } else {
        format!("{count} conns")
    }
}

/// `ours / theirs`, with whether it meets `goal` (at least, or at most).
fn ratio(ours: Option<f64>, theirs: Option<f64>, goal: f64, at_least: bool) -> String {
    match (ours, theirs) {
        (Some(ours), Some(theirs)) if theirs > 0.0 => {
            let ratio = ours / theirs;
            let met = if at_least {
                ratio >= goal
            } else {
                ratio <= goal
            };
            format!("{ratio:.2}× {}", if met { "✓" } else { "✗" })
        }
        _ => "–".into(),
    }
}

impl Report<'_> {
    fn render(&self) -> String {
        let mut out = String::new();
        let config = self.config;
        let _ = writeln!(out, "# Echo benchmark (issue #13)\n");
        let _ = writeln!(
            out,
            "Run {} to {}, at {}; load average {} at the start, {} at the end.  ",
            self.started, self.ended, self.revision, self.load_start, self.load_end
        );
        let _ = writeln!(
            out,
            "{} CPU(s) to run on ({}); {}.  ",
            self.cpus.len(),
            cpu_model(),
            self.pin_note
        );
        let _ = writeln!(
            out,
            "1 KiB messages, ping-pong on every connection. Each figure is the median of \
             {} windows of {} s, each after {} s of warm-up on a server started afresh, \
             taken round after round of every server. Python: {}; uvloop: {}; tokio \
             {TOKIO}.\n",
            config.repeat, config.seconds, config.warmup, self.python, self.uvloop
        );
        self.throughput(&mut out);
        self.goals(&mut out);
        self.memory(&mut out);
        self.cores(&mut out);
        self.log(&mut out);
        let disturbed = self
            .results
            .log
            .iter()
            .any(|(.., sample)| sample.disturbed());
        if disturbed {
            let _ = writeln!(
                out,
                "† Other processes took more than {DISTURBED:.0}% of a CPU during this \
                 window (in a table: during one of its windows), even after {RETRIES} \
                 tries {RETRY_PAUSE:?} apart: the figure is less sure. A window \
                 \"given up\" was measured again.  "
            );
        }
        for (key, why) in &self.results.skipped {
            let _ = writeln!(out, "Not run: {key}: {why}.  ");
        }
        out
    }

    fn throughput(&self, out: &mut String) {
        let results = &self.results.throughput;
        if results.is_empty() {
            return;
        }
        let counts = &self.config.connections;
        let _ = writeln!(
            out,
            "## Requests per second, and the server's CPU time per request\n\n\
             Server on one core, client on the other. µs/req is the server's CPU \
             time (all its threads) over the window, per request completed in it.\n"
        );
        rate_table(out, &self.plan.throughput, counts, results);
        out.push('\n');
    }

    fn goals(&self, out: &mut String) {
        let results = &self.results.throughput;
        let has = |key: &str| results.keys().any(|(k, _)| *k == key);
        if !has("ours-textbook") && !has("ours-fast") {
            return;
        }
        let counts = &self.config.connections;
        let _ = writeln!(out, "### Against the goals\n");
        let mut header = "| goal | ours |".to_string();
        let mut rule = "|---|---|".to_string();
        for &count in counts {
            let _ = write!(header, " {} |", connections_label(count));
            rule.push_str("--:|");
        }
        let _ = writeln!(out, "{header}\n{rule}");
        let median =
            |key: &str, count: usize| results.get(&(key, count)).and_then(|s| Median::of(s));
        let rps = |key: &str, count: usize| median(key, count).map(|m| m.per_second);
        let cpu = |key: &str, count: usize| median(key, count).map(|m| m.server_us);
        type Measure<'m> = &'m dyn Fn(&str, usize) -> Option<f64>;
        let goals: [(&str, Measure, &str, f64, bool); 4] = [
            (
                "req/s ≥ 1.0× tokio current_thread",
                &rps,
                "tokio-ct",
                1.0,
                true,
            ),
            (
                "CPU/req ≤ 1.0× tokio current_thread",
                &cpu,
                "tokio-ct",
                1.0,
                false,
            ),
            (
                "req/s ≥ 2× asyncio streams",
                &rps,
                "asyncio-streams",
                2.0,
                true,
            ),
            (
                "req/s ≥ 1.0× uvloop protocols",
                &rps,
                "uvloop-protocols",
                1.0,
                true,
            ),
        ];
        for (goal, measure, theirs, target, at_least) in goals {
            for (ours, label) in [("ours-textbook", "textbook"), ("ours-fast", "fast")] {
                if !has(ours) {
                    continue;
                }
                let mut row = format!("| {goal} | {label} |");
                for &count in counts {
                    let cell = ratio(
                        measure(ours, count),
                        measure(theirs, count),
                        target,
                        at_least,
                    );
                    let _ = write!(row, " {cell} |");
                }
                let _ = writeln!(out, "{row}");
            }
        }
        out.push('\n');
    }

    fn memory(&self, out: &mut String) {
        let results = &self.results.memory;
        if results.is_empty() {
            return;
        }
        let _ = writeln!(
            out,
            "## Memory per idle connection\n\n\
             {} connections, each echoed one message, then idle: the server's resident \
             memory (VmRSS) after, less before, per connection.\n\n\
             | server | RSS before | RSS after | per idle connection |\n|---|--:|--:|--:|",
            grouped(self.config.idle as f64)
        );
        for entry in &self.plan.memory {
            if let Some(memory) = results.get(entry.key) {
                let _ = writeln!(
                    out,
                    "| {} | {:.1} MiB | {:.1} MiB | {} bytes |",
                    entry.name,
                    memory.before_kib as f64 / 1024.0,
                    memory.after_kib as f64 / 1024.0,
                    grouped(memory.per_connection())
                );
            }
        }
        out.push('\n');
    }

    fn cores(&self, out: &mut String) {
        let results = &self.results.cores;
        if results.is_empty() {
            return;
        }
        let _ = writeln!(
            out,
            "## One loop per core\n\n\
             Nothing pinned: the server and the client (one thread) share both CPUs. \
             µs/req is the server's CPU time, all threads, per request.\n"
        );
        rate_table(out, &self.plan.cores, &CORE_CONNECTIONS, results);
        let median =
            |key: &str, count: usize| results.get(&(key, count)).and_then(|s| Median::of(s));
        let rps = |key: &str, count: usize| median(key, count).map(|m| m.per_second);
        let cpu = |key: &str, count: usize| median(key, count).map(|m| m.server_us);
        let _ = writeln!(out, "\n| ratio | {} | {} |\n|---|--:|--:|", 16, 256);
        // The issue sets no goal here: plain ratios, for the chapter to explain.
        let times = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
            _ => "–".into(),
        };
        for (label, build) in [("textbook", "textbook"), ("fast", "fast")] {
            let two = format!("ours-{build}-loops2");
            let one = format!("ours-{build}-loops1");
            let rows = [
                (
                    format!("ours {label} --loops 2 / tokio multi_thread, req/s"),
                    [16, 256].map(|c| times(rps(&two, c), rps("tokio-mt", c))),
                ),
                (
                    format!("ours {label} --loops 2 / tokio multi_thread, CPU/req"),
                    [16, 256].map(|c| times(cpu(&two, c), cpu("tokio-mt", c))),
                ),
                (
                    format!("ours {label} --loops 2 / --loops 1, req/s"),
                    [16, 256].map(|c| times(rps(&two, c), rps(&one, c))),
                ),
            ];
            for (label, [a, b]) in rows {
                let _ = writeln!(out, "| {label} | {a} | {b} |");
            }
        }
        out.push('\n');
    }

    fn log(&self, out: &mut String) {
        if self.results.log.is_empty() {
            return;
        }
        let _ = writeln!(
            out,
            "## Every run\n\n\
             CPU as a share of one CPU over the window; the client is one thread. \
             Others: what every other process of the machine took meanwhile (from \
             `/proc/stat`, in ticks of 10 ms; the kernel's own work on the loopback \
             can land there too).\n\n\
             | placement | server | conns | requests | req/s | server µs/req | server CPU | \
             client µs/req | client CPU | others |\n\
             |---|---|--:|--:|--:|--:|--:|--:|--:|--:|"
        );
        for (placement, name, count, sample) in &self.results.log {
            let _ = writeln!(
                out,
                "| {placement} | {name} | {count} | {} | {}{} | {:.2} | {:.0}% | {:.2} | {:.0}% \
                 | {:.0}% |",
                grouped(sample.requests as f64),
                grouped(sample.per_second()),
                mark_disturbed(sample),
                sample.server_us(),
                sample.server_load(),
                sample.client_us(),
                sample.client_load(),
                sample.others_load()
            );
        }
        out.push('\n');
    }
}

/// The middle of a row's repeated windows, requests per second and
/// server CPU per request each on its own.
#[derive(Debug, Clone, Copy)]
struct Median {
    per_second: f64,
    server_us: f64,
    /// Whether other processes disturbed any of the windows.
    disturbed: bool,
}

impl Median {
    fn of(samples: &[Sample]) -> Option<Self> {
        fn middle(mut values: Vec<f64>) -> f64 {
            values.sort_by(f64::total_cmp);
            let half = values.len() / 2;
            if values.len() % 2 == 1 {
                values[half]
            } else {
                (values[half - 1] + values[half]) / 2.0
            }
        }
        if samples.is_empty() {
            return None;
        }
        Some(Self {
            per_second: middle(samples.iter().map(Sample::per_second).collect()),
            server_us: middle(samples.iter().map(Sample::server_us).collect()),
            disturbed: samples.iter().any(Sample::disturbed),
        })
    }
}

/// A mark on a figure that other processes disturbed.
fn mark_disturbed(sample: &Sample) -> &'static str {
    if sample.disturbed() { " †" } else { "" }
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|line| line.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).trim().to_string())
        })
        .unwrap_or_else(|| "model unknown".into())
}
