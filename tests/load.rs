//! Stage 6 at scale: `cargo run --example ten_thousand`, checked. Ten
//! thousand connections open at once to the echo server, from one client
//! loop, lose nothing; a thousand of them resetting mid-message costs the
//! others nothing; slow clients are dropped while normal ones are served;
//! a server out of descriptors backs off and serves everyone in the end;
//! Ctrl-C tells every client and exits 0.
//!
//! Each test runs the example, which starts the server in a process of its
//! own and says what each side saw; the tests read its lines. Counts and
//! answers only, never times: the example's own checks are byte for byte.
//! One at a time: each run takes thousands of descriptors and ports.

use std::path::Path;
use std::process::{Command, Output};

use demo_support::transcript::assert_matches_file;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// One run at a time (and one cargo at a time).
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static RUN: Mutex<()> = Mutex::new(());
    RUN.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `cargo run --example ten_thousand -- <args>`: its lines, once it has
/// succeeded.
fn ten_thousand(args: &[&str]) -> Vec<String> {
    let _one = one_at_a_time();
    let run = Command::new(env!("CARGO"))
        .args(["run", "--quiet", "--example", "ten_thousand", "--"])
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    lines_of(&run)
}

fn lines_of(run: &Output) -> Vec<String> {
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(!stdout.contains("never retrieved"), "{stdout}");
    stdout.lines().map(String::from).collect()
}

/// The lines after the first (which says where the server listens), and
/// without the memory line (whose number is measured).
fn counts(lines: &[String]) -> Vec<&str> {
    assert!(
        lines[0].starts_with("server: stage 6's echo server"),
        "{lines:?}"
    );
    lines[1..]
        .iter()
        .map(String::as_str)
        .filter(|line| !line.starts_with("server memory:"))
        .collect()
}

#[test]
fn ten_thousand_connections_at_once_lose_nothing() {
    let lines = ten_thousand(&[]);
    assert_eq!(
        counts(&lines),
        [
            "10000 connections open at once, each said hello; 0 failed",
            "10000 clients sent 4096 bytes each in 4 writes: 0 bytes lost",
            "0 failed",
            "server: exit status 0, 0 other line(s) on its standard error",
        ]
    );
    // What chapter 7 shows: every line but the address and the memory.
    let shown = counts(&lines).join("\n") + "\n";
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/output/ten_thousand.txt");
    assert_matches_file(&committed, &shown);
    // The server's memory was measured with every connection open.
    let memory = lines
        .iter()
        .find(|line| line.starts_with("server memory: "));
    let per_connection: f64 = memory.expect("a memory line")["server memory: ".len()..]
        .split(' ')
        .next()
        .and_then(|kib| kib.parse().ok())
        .expect("KiB per connection");
    // A connection that waits costs a task and a few buffers: a few KiB
    // (chapter 7). A buffer of 256 KiB kept per connection would not pass.
    assert!(per_connection > 0.0 && per_connection < 64.0, "{memory:?}");
}

#[test]
fn a_thousand_of_ten_thousand_reset_mid_message_and_the_rest_lose_nothing() {
    let lines = ten_thousand(&["--reset", "1000"]);
    assert_eq!(
        counts(&lines),
        [
            "10000 connections open at once, each said hello; 0 failed",
            "1000 clients reset their connection mid-message",
            "9000 clients sent 4096 bytes each in 4 writes: 0 bytes lost",
            "0 failed",
            // The server took each reset as a client leaving: no report.
            "server: exit status 0, 0 other line(s) on its standard error",
        ]
    );
}

#[test]
fn slow_clients_are_dropped_by_the_idle_timeout_and_normal_ones_served() {
    let lines = ten_thousand(&["--connections", "600", "--slowloris", "500", "--idle", "1"]);
    assert_eq!(
        counts(&lines),
        [
            "500 of 500 slow clients dropped by the idle timeout",
            "100 clients sent 4096 bytes each in 4 writes: 0 bytes lost",
            "0 failed",
            "server: exit status 0, 0 other line(s) on its standard error",
        ]
    );
}

#[test]
fn ctrl_c_under_load_tells_every_client_and_the_server_exits_0() {
    let lines = ten_thousand(&["--interrupt"]);
    assert_eq!(
        counts(&lines),
        [
            "10000 connections open at once, each said hello; 0 failed",
            "Ctrl-C while every client sent lines: 10000 told \"Server shutting down\", \
             0 closed without a word",
            // An answer neither the echo nor the goodbye would be a failure.
            "0 failed",
            "server: exit status 0, 0 other line(s) on its standard error",
        ]
    );
}

#[test]
fn a_server_out_of_descriptors_backs_off_and_serves_everyone_as_they_leave() {
    let lines = ten_thousand(&["--connections", "1000", "--server-fds", "200"]);
    let backed_off = lines
        .iter()
        .find_map(|line| line.strip_prefix("server: ran out of descriptors and backed off "))
        .and_then(|rest| rest.split(' ').next()?.parse::<usize>().ok())
        .expect("how many times it backed off");
    // At least once (200 descriptors for 1000 clients), and a second at a
    // time: a spinning accept loop would report thousands.
    assert!((1..=20).contains(&backed_off), "{lines:?}");
    assert_eq!(
        counts(&lines)
            .into_iter()
            .filter(|line| !line.contains("backed off"))
            .collect::<Vec<_>>(),
        [
            "1000 clients sent 4096 bytes each in 4 writes: 0 bytes lost",
            "0 failed",
            "server: exit status 0, 0 other line(s) on its standard error",
        ]
    );
}

#[test]
fn a_plan_that_does_not_add_up_is_refused() {
    let _one = one_at_a_time();
    let run = Command::new(env!("CARGO"))
        .args(["run", "--quiet", "--example", "ten_thousand", "--"])
        .args(["--connections", "10", "--reset", "20"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("--reset and --slowloris count among --connections"),
        "{stderr}"
    );
}
