//! Ctrl-C, for real: the demo runs scenario 8 as a child process; once its
//! main task has said its first line, it gets a SIGINT, as a terminal sends one
//! on Ctrl-C. It must end cleanly: both tasks say they were cancelled, the
//! last line says so, no "never retrieved", exit status 130.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

const DEMO: &str = env!("CARGO_BIN_EXE_stage05-cancellation");

/// How long the child may take to end after its SIGINT before the test
/// gives up on it: a bound against a hang, never a measurement.
const AT_MOST: Duration = Duration::from_secs(60);

#[test]
fn ctrl_c_ends_the_pi_demo_cleanly_with_exit_status_130() {
    let mut child = Command::new(DEMO)
        .args(["--pi", "--until-ctrl-c"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut printed = Vec::new();
    // Up to main's first line: by then the runner handles SIGINT.
    while !printed
        .last()
        .is_some_and(|line: &String| line.contains("inspector:"))
    {
        let mut line = String::new();
        assert_ne!(
            stdout.read_line(&mut line).unwrap(),
            0,
            "ended early: {printed:?}"
        );
        printed.push(line.trim_end().to_string());
    }
    send_sigint(&child);
    for line in stdout.lines() {
        printed.push(line.unwrap());
    }
    let mut errors = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut errors)
        .unwrap();
    let status = wait_at_most(child);

    assert_eq!(status.code(), Some(130), "{printed:#?}\n{errors}");
    assert_eq!(
        printed.last().map(String::as_str),
        Some("Interrupted: every task cleaned up (exit status 130)")
    );
    let said = |text: &str| printed.iter().filter(|line| line.contains(text)).count();
    assert_eq!(said("inspector: cancelled at its sleep"), 1, "{printed:#?}");
    assert_eq!(said("computer: cancelled at its yield"), 1, "{printed:#?}");
    let inspector = printed
        .iter()
        .position(|line| line.contains("inspector: cancelled"));
    let computer = printed
        .iter()
        .position(|line| line.contains("computer: cancelled"));
    assert!(
        inspector < computer,
        "main first, then the runner cancels the rest"
    );
    assert!(errors.is_empty(), "nothing reported: {errors}");
    assert_eq!(said("never retrieved"), 0);
}

/// SIGINT to `child` alone, as `kill -INT` sends it.
fn send_sigint(child: &Child) {
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: kill has no memory-safety preconditions; the child is not
    // reaped yet (nobody has waited for it), so `pid` is still its own.
    #[allow(unsafe_code)]
    let sent = unsafe { libc::kill(pid, libc::SIGINT) };
    assert_eq!(sent, 0, "kill: {}", std::io::Error::last_os_error());
}

/// The child's exit status; a child still running after [`AT_MOST`] is
/// killed, and fails the test.
fn wait_at_most(mut child: Child) -> ExitStatus {
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    let (ended, status) = mpsc::channel();
    thread::spawn(move || ended.send(child.wait().unwrap()));
    match status.recv_timeout(AT_MOST) {
        Ok(status) => status,
        Err(_) => {
            // SAFETY: as in `send_sigint`; the waiting thread has not
            // reaped it, or it would have answered.
            #[allow(unsafe_code)]
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
            panic!("the demo did not end within {AT_MOST:?} of its SIGINT");
        }
    }
}
