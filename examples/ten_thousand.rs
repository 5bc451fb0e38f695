//! Ten thousand connections to stage 6's echo server, from one client
//! loop: `cargo run --release --example ten_thousand [-- OPTIONS]`.
//!
//! The server is stage 6's echo server in a process of its own (this
//! program, started again with `--serve`), so that each side has its own
//! descriptors: ten thousand connections are ten thousand descriptors on
//! each side. The client opens every connection, has each say hello, and
//! measures the server's memory with all of them open and idle; then
//! every client sends its line in several writes, and checks what comes
//! back to the byte. Faults on request: clients that reset mid-message,
//! clients that dawdle (slowloris), a server out of descriptors, a server
//! shut down (Ctrl-C) while every client waits. The work is
//! `stage06_socket_io::scenarios::load`; this file starts the server and
//! says what happened.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitCode, Stdio};
use std::thread::JoinHandle;

use demo_support::Transcript;
use demo_support::demo_options::print_line;
use demo_support::descriptors::{lower_descriptor_limit, raise_descriptor_limit};
use stage04_futures_tasks::FutureError;
use stage06_socket_io::scenarios::load::{
    Tally, connect_all, exchange, one_by_one, slowloris, until_shutdown,
};
use stage06_socket_io::scenarios::{Echo, serve};
use stage06_socket_io::{Ended, ServerOptions, run};

const HELP: &str = "\
Ten thousand connections to stage 6's echo server, from one client loop.

Usage: cargo run --release --example ten_thousand [-- OPTIONS]

The server runs in a process of its own. Every connection is opened and
says hello (the server's memory is measured then, every connection idle);
then each client sends a line in several writes and checks the answer.

Options:
  --connections N   connections, all open at once (10000)
  --size BYTES      each client's line (4096)
  --pieces N        written in this many writes (4)
  --reset N         of the connections, this many send half their line
                    and reset the connection (0)
  --slowloris N     of the connections, this many send one byte and stall,
                    for the server to drop after --idle seconds (0)
  --idle SECONDS    the server's idle timeout (30)
  --interrupt       every client sends lines and reads the echoes, again and
                    again; once each has had one, Ctrl-C the server: every
                    client must be told \"Server shutting down\", or closed
                    cleanly
  --server-fds N    the server may hold only N descriptors: it runs out,
                    backs off, and serves the rest as clients leave (each
                    client then closes after its answer, not all at once)
  --help            print this help";

/// Descriptors besides the connections: the loop's own, standard streams.
const SPARE_DESCRIPTORS: u64 = 64;

/// What the options ask for.
#[derive(Clone)]
struct Plan {
    connections: usize,
    size: usize,
    pieces: usize,
    reset: usize,
    slowloris: usize,
    idle: f64,
    interrupt: bool,
    server_fds: Option<u64>,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--serve") {
        return serve_here(&args[1..]);
    }
    let plan = match parse_args(args.into_iter()) {
        Ok(Some(plan)) => plan,
        Ok(None) => {
            print_line(HELP);
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    match load(&plan) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Plan>, String> {
    let mut plan = Plan {
        connections: 10_000,
        size: 4096,
        pieces: 4,
        reset: 0,
        slowloris: 0,
        idle: 30.0,
        interrupt: false,
        server_fds: None,
    };
    while let Some(arg) = args.next() {
        let mut value = || {
            let value = args.next().unwrap_or_default();
            value
                .parse::<usize>()
                .map_err(|_| format!("{arg} takes a number, not {value:?}; try --help"))
        };
        match arg.as_str() {
            "--help" | "-h" => return Ok(None),
            "--connections" => plan.connections = value()?,
            "--size" => plan.size = value()?,
            "--pieces" => plan.pieces = value()?,
            "--reset" => plan.reset = value()?,
            "--slowloris" => plan.slowloris = value()?,
            "--idle" => plan.idle = value()? as f64,
            "--server-fds" => plan.server_fds = Some(value()? as u64),
            "--interrupt" => plan.interrupt = true,
            other => return Err(format!("unknown option {other:?}; try --help")),
        }
    }
    if plan.reset + plan.slowloris > plan.connections {
        return Err("--reset and --slowloris count among --connections; try --help".into());
    }
    if plan.size < 8 || plan.pieces == 0 {
        return Err("--size is at least 8 bytes, --pieces at least 1; try --help".into());
    }
    Ok(Some(plan))
}

/// The server's side, `--serve IDLE [FDS]`: stage 6's echo server on a
/// free port of 127.0.0.1 (it says which), until Ctrl-C, which is success.
fn serve_here(args: &[String]) -> ExitCode {
    let idle = args
        .first()
        .and_then(|idle| idle.parse().ok())
        .unwrap_or(30.0);
    let limited = match args.get(1).map(|fds| fds.parse::<u64>()) {
        None => raise_descriptor_limit(0).map(drop),
        Some(Ok(fds)) => lower_descriptor_limit(fds),
        Some(Err(_)) => return ExitCode::FAILURE,
    };
    if let Err(error) = limited {
        eprintln!("error: {error}");
        return ExitCode::FAILURE;
    }
    let address = SocketAddr::from(([127, 0, 0, 1], 0));
    let echo = Echo::Lines { idle };
    let ended = run(async move {
        let out = Transcript::echoing();
        Ok(serve(address, echo, ServerOptions::default(), &out).await?)
    });
    match Ended::from(ended) {
        Ended::Done | Ended::Interrupted => ExitCode::SUCCESS,
        Ended::Failed(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The client's side: start the server, load it as `plan` says, stop it,
/// and say what happened; an error if anything was lost or failed.
fn load(plan: &Plan) -> Result<(), String> {
    let needed = plan.connections as u64 + SPARE_DESCRIPTORS;
    raise_descriptor_limit(needed).map_err(|error| error.to_string())?;
    let server = ServerProcess::start(plan)?;
    let (address, pid) = (server.address, server.child.id());
    let out = Transcript::echoing();
    out.say(format!(
        "server: stage 6's echo server, in a process of its own, on {address}"
    ));
    let (report, asked) = (out.clone(), plan.clone());
    let tally = run(async move { clients(&asked, address, pid, &report).await })
        .map_err(|error| error.to_string())?;
    // Ctrl-C'd already, it is closing: a second Ctrl-C would cut that short.
    let (status, reports) = if plan.interrupt {
        server.wait()
    } else {
        server.stop()
    };
    say_tally(&out, plan, &tally);
    let (accept_reports, other_reports) = sort_reports(&reports);
    if plan.server_fds.is_some() {
        out.say(format!(
            "server: ran out of descriptors and backed off {accept_reports} time(s)"
        ));
    }
    out.say(format!(
        "server: exit status {}, {} other line(s) on its standard error",
        status.map_or("unknown".into(), |code| code.to_string()),
        other_reports.len()
    ));
    for line in other_reports.iter().take(5) {
        out.say(format!("  {line}"));
    }
    let lost = tally.lost() > 0 || !tally.failures.is_empty();
    if lost || status != Some(0) || !other_reports.is_empty() {
        return Err("something was lost, failed, or reported: see above".into());
    }
    Ok(())
}

// ANCHOR: clients
/// What the client loop does, on its own loop: every connection open at
/// once, then the exchange (or the Ctrl-C); or slow clients beside
/// normal ones; or clients one by one, to a server short of descriptors.
async fn clients(
    plan: &Plan,
    address: SocketAddr,
    server: u32,
    out: &Transcript,
) -> Result<Tally, FutureError> {
    if plan.server_fds.is_some() {
        return one_by_one(address, 0..plan.connections, plan.size, plan.pieces).await;
    }
    if plan.slowloris > 0 {
        let normal = plan.connections - plan.slowloris;
        return slowloris(address, plan.slowloris, normal, plan.size).await;
    }
    let before = resident_bytes(server);
    let (open, failures) = connect_all(address, plan.connections).await?;
    out.say(format!(
        "{} connections open at once, each said hello; {} failed",
        open.len(),
        failures.len()
    ));
    if let (Some(before), Some(after)) = (before, resident_bytes(server)) {
        let per_connection = after.saturating_sub(before) as f64 / open.len().max(1) as f64;
        out.say(format!(
            "server memory: {:.1} KiB per idle connection ({:.1} MiB with none, {:.1} MiB with all)",
            per_connection / 1024.0,
            before as f64 / MIB,
            after as f64 / MIB,
        ));
    }
    let mut tally = if plan.interrupt {
        until_shutdown(open, plan.size, move || interrupt(server)).await?
    } else {
        exchange(open, plan.size, plan.pieces, plan.reset).await?
    };
    tally.failures.extend(failures);
    Ok(tally)
}
// ANCHOR_END: clients

const MIB: f64 = 1024.0 * 1024.0;

/// Say what the clients saw.
fn say_tally(out: &Transcript, plan: &Plan, tally: &Tally) {
    if plan.interrupt {
        out.say(format!(
            "Ctrl-C while every client sent lines: {} told \"Server shutting down\", \
             {} closed without a word",
            tally.told_shutdown, tally.closed
        ));
    }
    if plan.slowloris > 0 {
        out.say(format!(
            "{} of {} slow clients dropped by the idle timeout",
            tally.dropped_idle, plan.slowloris
        ));
    }
    if plan.reset > 0 {
        out.say(format!(
            "{} clients reset their connection mid-message",
            tally.reset
        ));
    }
    if tally.served > 0 {
        out.say(format!(
            "{} clients sent {} bytes each in {} writes: {} bytes lost",
            tally.served,
            plan.size,
            plan.pieces,
            tally.lost()
        ));
    }
    out.say(format!("{} failed", tally.failures.len()));
    for failure in tally.failures.iter().take(5) {
        out.say(format!("  {failure}"));
    }
}

/// The server's standard error, sorted: how many reports of running out
/// of descriptors (each a line, then `socket: <Server ...>`), and every
/// other line.
fn sort_reports(lines: &[String]) -> (usize, Vec<&String>) {
    let (mut out_of_descriptors, mut others) = (0, Vec::new());
    let mut lines = lines.iter().peekable();
    while let Some(line) = lines.next() {
        if line.contains("out of system resource") {
            out_of_descriptors += 1;
            lines.next_if(|next| next.starts_with("socket: <Server"));
        } else {
            others.push(line);
        }
    }
    (out_of_descriptors, others)
}

/// The server's resident memory, from `/proc` (Linux); `None` elsewhere.
fn resident_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Ctrl-C, to the server alone.
fn interrupt(pid: u32) {
    // SAFETY: kill(2) takes a process id and a signal number, and touches
    // no memory of ours; the id is our own child's, not yet waited for.
    #[allow(unsafe_code)]
    let _sent = unsafe { libc::kill(pid as libc::pid_t, libc::SIGINT) };
}

/// The server, a child process: where it listens, and what it writes.
struct ServerProcess {
    child: Child,
    address: SocketAddr,
    /// Its standard error, read to the end by a thread of its own (so that
    /// the server never blocks on a full pipe).
    stderr: Option<JoinHandle<Vec<String>>>,
}

impl ServerProcess {
    /// This program again, with `--serve`; waits for its address.
    fn start(plan: &Plan) -> Result<Self, String> {
        let me = std::env::current_exe().map_err(|error| error.to_string())?;
        let mut command = Command::new(me);
        command.args(["--serve", &plan.idle.to_string()]);
        if let Some(fds) = plan.server_fds {
            command.arg(fds.to_string());
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| format!("cannot start the server: {error}"))?;
        let stderr = child.stderr.take().map(|mut stderr| {
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = stderr.read_to_string(&mut text);
                text.lines().map(String::from).collect()
            })
        });
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut first = String::new();
        let _ = stdout.read_line(&mut first);
        let address = first
            .trim_end()
            .strip_prefix("serving on ")
            .and_then(|address| address.parse().ok());
        // The rest of its output, if any, is not needed: let it go.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let mut server = Self {
            child,
            address: SocketAddr::from(([127, 0, 0, 1], 0)),
            stderr,
        };
        match address {
            Some(address) => server.address = address,
            None => {
                let (_, reports) = server.stop();
                return Err(format!("the server did not start: {}", reports.join("; ")));
            }
        }
        Ok(server)
    }

    /// Ctrl-C it, if still running, and wait for it to end.
    fn stop(mut self) -> (Option<i32>, Vec<String>) {
        if let Ok(None) = self.child.try_wait() {
            interrupt(self.child.id());
        }
        self.wait()
    }

    /// Wait for it to end: its exit status, and what it wrote on its
    /// standard error.
    fn wait(mut self) -> (Option<i32>, Vec<String>) {
        let status = self.child.wait().ok().and_then(|status| status.code());
        let reports = self
            .stderr
            .take()
            .and_then(|thread| thread.join().ok())
            .unwrap_or_default();
        (status, reports)
    }
}

impl Drop for ServerProcess {
    /// A server left running (a panic on the way) is killed.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
