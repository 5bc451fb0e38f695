//! The stage 6 examples, checked: scenario 15's server
//! (`cargo run --example chunked_response`), read by stage 6's own client
//! and by curl, and stopped by Ctrl-C; and scenario 17's fetches
//! (`cargo run --example parallel_fetch`), whose virtual run prints what
//! the book shows. `cargo test --test examples_stage06` runs these tests.
//!
//! The server is a process of its own: each test starts it on a port the
//! kernel picks, reads the address from its first line, and ends it with
//! a SIGINT, as Ctrl-C would (or `--for`, a bound, ends it if the test
//! fails first). Its answers are checked, never how long they took.

use std::io::{BufRead, BufReader, Lines};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};

use demo_support::transcript::assert_matches_file;
use stage01_generator_loop::RealClock;
use stage04_futures_tasks::FutureError;
use stage05_cancellation::{Runner, wait_for};
use stage06_socket_io::EpollSelector;
use stage06_socket_io::scenarios::get_chunked;

/// One cargo at a time: cargo builds take a lock, and parallel tests
/// would only queue on it.
fn one_cargo_at_a_time() -> MutexGuard<'static, ()> {
    static CARGO: Mutex<()> = Mutex::new(());
    CARGO.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `cargo run --example <name> -- <args>`, as a reader would type it.
fn example(name: &str, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO"));
    command
        .args(["run", "--quiet", "--example", name, "--"])
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    command
}

/// Run an example to its end.
fn run_example(name: &str, args: &[&str]) -> Output {
    let _one = one_cargo_at_a_time();
    example(name, args).output().expect("cargo runs")
}

fn stdout_of(run: &Output) -> String {
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    String::from_utf8(run.stdout.clone()).expect("the example prints UTF-8")
}

/// The last line an example wrote to standard error (cargo may write its
/// own before it).
fn last_error_line(run: &Output) -> String {
    let stderr = String::from_utf8_lossy(&run.stderr);
    stderr.lines().last().unwrap_or_default().to_string()
}

// Scenario 15: the chunked response.

/// The `chunked_response` example, serving, and what it prints.
struct Serving {
    server: Child,
    address: SocketAddr,
    lines: Lines<BufReader<ChildStdout>>,
}

/// Start the example with `args` on a free port, for at most a minute,
/// and wait for it to say where it serves.
fn serving(args: &[&str]) -> Serving {
    let _one = one_cargo_at_a_time();
    let built = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--example", "chunked_response"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("cargo runs");
    assert!(built.success());
    // `cargo run` replaces itself with the example (exec), so the child's
    // id is the example's, for the SIGINT.
    let mut server = example("chunked_response", &["--port", "0", "--for", "60"])
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("cargo runs");
    let stdout = server.stdout.take().expect("piped");
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().expect("a first line").expect("UTF-8");
    // "Serving http://127.0.0.1:PORT/, each response ended ..."
    let url = first.strip_prefix("Serving http://").expect(&first);
    let address = url.split('/').next().unwrap().parse().expect(&first);
    Serving {
        server,
        address,
        lines,
    }
}

impl Serving {
    /// The body of a GET, read with stage 6's own client, on a loop of
    /// this process, for at most ten seconds.
    fn get(&self) -> String {
        let address = self.address;
        let runner =
            Runner::with_selector(RealClock::new(), EpollSelector::new().unwrap()).unwrap();
        let body = runner.run(async move {
            let got = wait_for(
                async move { Ok(get_chunked(address, "/").await?) },
                Some(10.0),
            );
            Ok::<_, FutureError>(got.await?.body())
        });
        runner.close().unwrap();
        body.unwrap()
    }

    /// What `curl -N` prints for a GET; `None` if curl is not installed.
    fn curl(&self) -> Option<String> {
        let url = format!("http://{}/", self.address);
        let args = ["-N", "--silent", "--show-error", "--max-time", "10", &url];
        let ran = match Command::new("curl").args(args).output() {
            Ok(ran) => ran,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                eprintln!("curl is not installed: the example was not read with curl");
                return None;
            }
            Err(error) => panic!("cannot start curl: {error}"),
        };
        Some(stdout_of(&ran))
    }

    /// Ctrl-C: a SIGINT, from `kill(1)`; then everything it printed after
    /// its first line, and its exit status.
    fn interrupt(mut self) -> (Vec<String>, Option<i32>) {
        let pid = self.server.id().to_string();
        let sent = Command::new("kill").args(["-s", "INT", &pid]).status();
        assert!(sent.expect("kill(1) runs").success());
        let status = self.server.wait().expect("the example ends");
        let printed = self.lines.by_ref().map(|line| line.unwrap()).collect();
        (printed, status.code())
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        // A test that failed before `interrupt`: end the example now.
        if self.server.try_wait().is_ok_and(|status| status.is_none()) {
            let _gone = self.server.kill();
            let _reaped = self.server.wait();
        }
    }
}

#[test]
fn the_chunked_response_example_sends_the_whole_response_and_stops_on_ctrl_c() {
    let serving = serving(&[]);
    assert_eq!(serving.get(), "Start12345678910End");
    let mut requests = 1;
    if let Some(printed) = serving.curl() {
        assert_eq!(printed, "Start12345678910End");
        requests += 1;
    }
    let (printed, status) = serving.interrupt();
    assert_eq!(status, Some(130), "{printed:?}");
    let served = printed
        .iter()
        .filter(|line| line.contains(": GET /, ended after "));
    assert_eq!(served.count(), requests, "{printed:?}");
    assert_eq!(
        printed.last().map(String::as_str),
        Some("Interrupted: the server is closed (exit status 130)")
    );
}

#[test]
fn the_wrong_chunked_response_example_sends_start_end() {
    let serving = serving(&["--wrong"]);
    assert_eq!(serving.get(), "StartEnd");
    if let Some(printed) = serving.curl() {
        assert_eq!(printed, "StartEnd");
    }
    let (_, status) = serving.interrupt();
    assert_eq!(status, Some(130));
}

#[test]
fn the_chunked_response_example_serves_for_the_time_it_is_given() {
    let stdout = stdout_of(&run_example(
        "chunked_response",
        &["--port", "0", "--for", "0.2"],
    ));
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].starts_with("Serving http://127.0.0.1:"),
        "{stdout}"
    );
    assert!(
        lines[1].starts_with("Try: curl -N http://127.0.0.1:"),
        "{stdout}"
    );
    assert_eq!(lines[2..], ["Served for 0.2 s; the server is closed"]);
}

#[test]
fn the_chunked_response_example_explains_itself_and_refuses_bad_input() {
    let help = stdout_of(&run_example("chunked_response", &["--help"]));
    assert!(help.contains("Usage: cargo run --example chunked_response "));
    for option in ["--port N", "--wrong", "--nap S", "--for S"] {
        assert!(help.contains(option), "{option}");
    }
    for (args, message) in [
        (
            &["--port", "http"][..],
            "--port takes a port number, not \"http\"; try --help",
        ),
        (
            &["--nap", "-1"],
            "--nap takes a number of seconds, not \"-1\"; try --help",
        ),
        (
            &["--for"],
            "--for needs a number of seconds after it; try --help",
        ),
        (&["--fast"], "unknown option \"--fast\"; try --help"),
    ] {
        let run = run_example("chunked_response", args);
        assert_eq!(run.status.code(), Some(2), "{args:?}");
        assert!(run.stdout.is_empty(), "{args:?}");
        assert_eq!(last_error_line(&run), message);
    }
}

// Scenario 17: parallel requests.

#[test]
fn the_parallel_fetch_example_prints_what_the_book_shows() {
    let printed = stdout_of(&run_example("parallel_fetch", &["--virtual", "--timeline"]));
    let committed = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("crates/06-socket-io/tests/output/scenario-17.txt");
    assert_matches_file(&committed, &printed);
}

#[test]
fn the_parallel_fetch_example_fetches_every_page_on_the_real_clock_too() {
    let printed = stdout_of(&run_example("parallel_fetch", &[]));
    // The times are measured, so only the lines are checked, not when.
    for path in ["/slow", "/fast", "/medium"] {
        let fetched = format!("GET {path}: HTTP/1.1 200 OK");
        let count = printed.lines().filter(|line| line.ends_with(&fetched));
        assert_eq!(count.count(), 2, "{fetched} in\n{printed}");
    }
    let totals = printed
        .lines()
        .filter(|line| line.contains("3 responses in"));
    assert_eq!(totals.count(), 2, "{printed}");
}

#[test]
fn the_parallel_fetch_example_explains_itself_and_refuses_bad_input() {
    let help = stdout_of(&run_example("parallel_fetch", &["--help"]));
    assert!(help.contains("Usage: cargo run --example parallel_fetch "));
    assert!(help.contains("--virtual") && help.contains("--timeline"));
    let run = run_example("parallel_fetch", &["--fast"]);
    assert_eq!(run.status.code(), Some(2));
    assert_eq!(
        last_error_line(&run),
        "unknown option \"--fast\"; try --help"
    );
}
