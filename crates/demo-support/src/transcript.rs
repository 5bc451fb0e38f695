//! What a demo prints, kept so that tests can read it back.
//!
//! Mirrors nothing in asyncio: the programs of the source material simply
//! `print`. Here every line also lands in a shared list, so a test (or the
//! Python parity check) compares the exact lines a reader sees when running
//! the demo.

use std::cell::RefCell;
use std::fs::File;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::rc::Rc;
use std::time::Duration;

/// A shared list of output lines, optionally echoed to standard output as they
/// are written. Clones append to the same list.
#[derive(Debug, Clone, Default)]
pub struct Transcript {
    lines: Rc<RefCell<Vec<String>>>,
    echo: bool,
}

impl Transcript {
    /// A transcript that only records.
    pub fn new() -> Self {
        Self::default()
    }

    /// A transcript that also prints each line the moment it is written, so
    /// a demo on the real clock shows lines as they happen.
    pub fn echoing() -> Self {
        Self {
            echo: true,
            ..Self::default()
        }
    }

    /// Append a line.
    pub fn say(&self, line: impl Into<String>) {
        let line = line.into();
        if self.echo {
            crate::demo_options::print_line(&line);
        }
        self.lines.borrow_mut().push(line);
    }

    /// Append a line stamped with a loop time, in seconds to the millisecond.
    pub fn at(&self, time: Duration, text: &str) {
        self.say(format!("{:7.3}  {text}", time.as_secs_f64()));
    }

    /// Every line written so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.borrow().clone()
    }
}

/// Compare a program's output with the copy committed at `expected`, which
/// the book includes. Set `BLESS=1` to rewrite the file from `actual` instead.
///
/// # Panics
/// If they differ (naming the first differing line), or the file is unreadable.
pub fn assert_matches_file(expected: &Path, actual: &str) {
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(expected, actual).expect("write the blessed output");
        return;
    }
    let committed = std::fs::read_to_string(expected)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", expected.display()));
    if committed == actual {
        return;
    }
    let (mut old, mut new) = (committed.lines(), actual.lines());
    for number in 1.. {
        let (a, b) = (old.next(), new.next());
        assert_eq!(
            a,
            b,
            "{} differs from the program's output at line {number}; \
             if the change is intended, rerun with BLESS=1",
            expected.display()
        );
        if a.is_none() {
            break;
        }
    }
    panic!("{} differs only in line endings", expected.display());
}

/// Run a demo `binary` with `args`, require it to succeed, and compare what
/// it printed with the committed file `expected` (see [`assert_matches_file`]).
///
/// # Panics
/// If the demo cannot start, fails, or prints something else.
pub fn assert_demo_prints(binary: &str, args: &[&str], expected: &Path) {
    let run = Command::new(binary)
        .args(args)
        .output()
        .expect("the demo starts");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{binary} {args:?} failed: {stderr}");
    let stdout = String::from_utf8(run.stdout).expect("the demo prints UTF-8");
    assert_matches_file(expected, &stdout);
}

/// Run a demo `binary` with an option it does not know, and require what
/// every demo does then: exit code 2, nothing on standard output, and one line
/// on standard error that names the option and points to `--help`.
///
/// # Panics
/// If the demo does anything else.
pub fn assert_demo_refuses(binary: &str, option: &str) {
    let run = Command::new(binary)
        .arg(option)
        .output()
        .expect("the demo starts");
    assert_eq!(run.status.code(), Some(2));
    assert!(run.stdout.is_empty());
    let stderr = String::from_utf8(run.stderr).expect("the demo prints UTF-8");
    assert_eq!(stderr, format!("unknown option {option:?}; try --help\n"));
}

/// Run a demo `binary` with `--virtual`, its standard output a socket whose
/// other end is already closed (as when `| head -2` has read its lines and
/// gone), and require it to end as a well-behaved filter does: at once,
/// with success, and without a word on standard error.
///
/// # Panics
/// If the demo does anything else.
pub fn assert_demo_quiet_on_a_closed_pipe(binary: &str) {
    // Closed before the demo starts, so its very first line meets the closed
    // end: no race with how much a pipe's buffer would have taken.
    let (ours, theirs) = UnixStream::pair().expect("a socket pair");
    drop(ours);
    let run = Command::new(binary)
        .arg("--virtual")
        .stdout(Stdio::from(OwnedFd::from(theirs)))
        .output()
        .expect("the demo starts");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{binary}: {stderr}");
    assert_eq!(stderr, "", "{binary} complained about a closed pipe");
}

/// Run a demo `binary` with `--virtual`, writing to `/dev/full`, and require
/// one line on standard error that says why, and exit code 1.
///
/// # Panics
/// If the demo does anything else.
pub fn assert_demo_reports_a_full_disk(binary: &str) {
    let full = File::options()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full opens");
    let run = Command::new(binary)
        .arg("--virtual")
        .stdout(Stdio::from(full))
        .output()
        .expect("the demo starts");
    assert_eq!(run.status.code(), Some(1));
    let stderr = String::from_utf8(run.stderr).expect("the demo prints UTF-8");
    assert_eq!(
        stderr,
        "cannot write to standard output: No space left on device (os error 28)\n"
    );
}

/// The checks every stage's demo gets, as `#[test]`s in the calling test
/// file: its `--virtual` run and its `--help` print the committed files the
/// book includes (`tests/output/demo-virtual.txt` and `tests/output/help.txt`
/// in the calling crate); an unknown option is refused; a closed pipe ends
/// it quietly and a full disk with one line. Also defines
/// `DEMO`, the demo binary's path, and `committed(name)`, a file in
/// `tests/output/`, for the file's own further tests.
///
/// In a stage's `tests/demo.rs` (the binary exists only for its own crate's
/// tests, so this cannot run as a doc test here):
///
/// ```text
/// demo_support::demo_tests!("stage02-timed-events");
/// ```
#[macro_export]
macro_rules! demo_tests {
    ($package:literal) => {
        const DEMO: &str = env!(concat!("CARGO_BIN_EXE_", $package));

        fn committed(name: &str) -> ::std::path::PathBuf {
            ::std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/output")
                .join(name)
        }

        #[test]
        fn virtual_run_prints_what_the_book_shows() {
            let expected = committed("demo-virtual.txt");
            $crate::transcript::assert_demo_prints(DEMO, &["--virtual"], &expected);
        }

        #[test]
        fn help_prints_what_the_book_shows() {
            let expected = committed("help.txt");
            $crate::transcript::assert_demo_prints(DEMO, &["--help"], &expected);
        }

        #[test]
        fn an_unknown_option_is_refused_with_a_hint() {
            $crate::transcript::assert_demo_refuses(DEMO, "--fast");
        }

        #[test]
        fn a_reader_that_goes_away_ends_the_demo_quietly() {
            $crate::transcript::assert_demo_quiet_on_a_closed_pipe(DEMO);
        }

        #[test]
        fn a_full_disk_ends_the_demo_with_one_line() {
            $crate::transcript::assert_demo_reports_a_full_disk(DEMO);
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_lines_and_stamps_are_aligned() {
        let out = Transcript::new();
        let other = out.clone();
        other.at(Duration::from_millis(250), "...");
        out.say("done");
        assert_eq!(out.lines(), vec!["  0.250  ...", "done"]);
    }
}
