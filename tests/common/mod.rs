//! What the cross-stage tests share: running our Python parity scripts,
//! and comparing what they print with what our loops do.

pub(crate) mod stage04;

use std::path::Path;
use std::process::Command;

/// Which CPython runs a parity script.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Python {
    /// `python3`: 3.11, the version our stages follow.
    Default,
    /// `python3.12` (pyenv picks it by `PYENV_VERSION`): for stage 5's
    /// fast path, whose `wait_for` is 3.12's.
    V3_12,
}

impl Python {
    fn command(self) -> Command {
        match self {
            Python::Default => Command::new("python3"),
            Python::V3_12 => {
                let mut command = Command::new("python3.12");
                command.env("PYENV_VERSION", "3.12");
                command
            }
        }
    }
}

/// Run `tests/parity/<script>` with `python3` and return its standard output,
/// or `None` (after saying so) when this machine has no `python3`.
///
/// # Panics
/// If the script runs but fails: a broken parity script must not pass.
#[allow(dead_code, reason = "the tests that compare sections ask for those")]
pub(crate) fn python_trace(script: &str) -> Option<String> {
    python_trace_on(Python::Default, script)
}

/// [`python_trace`] on `python`: `None` (after saying so) when this machine
/// does not have it (not found, or a pyenv shim with no such version).
fn python_trace_on(python: Python, script: &str) -> Option<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/parity")
        .join(script);
    let output = match python.command().arg(&path).output() {
        Ok(output) if output.status.code() == Some(127) => None, // a shim, no such version
        Ok(output) => Some(output),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(error) => panic!("cannot start {python:?} python: {error}"),
    };
    let Some(output) = output else {
        eprintln!("skipped: {python:?} python not found, so {script} was not compared");
        return None;
    };
    assert!(
        output.status.success(),
        "{script} failed on {python:?} python:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(String::from_utf8(output.stdout).expect("the script prints UTF-8"))
}

/// Compare two traces line by line, naming the first line that differs.
///
/// # Panics
/// If they differ in any line or in length.
pub(crate) fn assert_same_lines(python: &str, rust: &[String]) {
    let python: Vec<&str> = python.lines().collect();
    for (number, (p, r)) in python.iter().zip(rust).enumerate() {
        assert_eq!(
            p,
            r,
            "line {} differs (left: Python, right: Rust)",
            number + 1
        );
    }
    assert_eq!(python.len(), rust.len(), "the traces differ in length");
}

/// Split a trace printed as sections (a header line `== name`, then the
/// section's lines) into `(name, lines)`, in the order printed.
///
/// # Panics
/// If a line comes before the first header, or a name is used twice.
#[allow(dead_code, reason = "not every test binary prints sections")]
pub(crate) fn sections(trace: &str) -> Vec<(String, Vec<String>)> {
    let mut sections: Vec<(String, Vec<String>)> = Vec::new();
    for line in trace.lines() {
        if let Some(name) = line.strip_prefix("== ") {
            assert!(
                sections.iter().all(|(seen, _)| seen != name),
                "section {name} is printed twice"
            );
            sections.push((name.to_string(), Vec::new()));
        } else {
            let (_, lines) = sections
                .last_mut()
                .unwrap_or_else(|| panic!("line {line:?} comes before the first `== name`"));
            lines.push(line.to_string());
        }
    }
    sections
}

/// A section of a trace: its name, and its lines.
#[allow(dead_code, reason = "not every test binary prints sections")]
pub(crate) type Section = (String, Vec<String>);

/// The sections `tests/parity/<script>` prints, from one run of it per test
/// binary (every test that asks shares that run), or `None` when this
/// machine has no `python3`.
///
/// # Panics
/// As [`python_trace`] and [`sections`] do.
#[allow(dead_code, reason = "not every test binary prints sections")]
pub(crate) fn python_sections(script: &'static str) -> Option<&'static [Section]> {
    python_sections_on(Python::Default, script)
}

/// [`python_sections`] on `python`, from one run per test binary.
fn python_sections_on(python: Python, script: &'static str) -> Option<&'static [Section]> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock, PoisonError};

    type Runs = HashMap<(Python, &'static str), Option<&'static [Section]>>;
    static RUNS: OnceLock<Mutex<Runs>> = OnceLock::new();
    let mut runs = RUNS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    *runs.entry((python, script)).or_insert_with(|| {
        let sections = sections(&python_trace_on(python, script)?);
        // Kept for the rest of the test run: one small trace per script.
        Some(Vec::leak(sections))
    })
}

/// The lines of section `name` of what `tests/parity/<script>` prints, or
/// `None` (after saying so) when there is no python3 to run it.
///
/// # Panics
/// If the script prints no such section.
#[allow(dead_code, reason = "not every test binary prints sections")]
pub(crate) fn python_section(script: &'static str, name: &str) -> Option<Vec<String>> {
    let Some(sections) = python_sections(script) else {
        eprintln!("skipped: python3 not found, so section {name} was not compared");
        return None;
    };
    let (_, lines) = sections
        .iter()
        .find(|(section, _)| section == name)
        .unwrap_or_else(|| panic!("{script} prints no section {name}"));
    Some(lines.clone())
}

/// Compare what our loop printed for section `name` of `tests/parity/<script>`
/// with what asyncio printed (nothing, when there is no python3).
///
/// # Panics
/// If they differ, after showing the whole of our trace.
#[allow(dead_code, reason = "not every test binary prints sections")]
pub(crate) fn compare_section(script: &'static str, name: &str, rust: &[String]) {
    let Some(python) = python_section(script, name) else {
        return;
    };
    // Shown only if the comparison fails: the whole of our trace.
    eprintln!("section {name}, our loop:\n{}", rust.join("\n"));
    assert_same_lines(&python.join("\n"), rust);
}

/// Check that `tests/parity/<script>` prints exactly the sections `names`,
/// in that order: none that no test compares, none missing.
///
/// # Panics
/// If it prints other sections.
#[allow(dead_code, reason = "not every test binary prints sections")]
pub(crate) fn assert_prints_sections(script: &'static str, names: &[&str]) {
    let Some(sections) = python_sections(script) else {
        eprintln!("skipped: python3 not found");
        return;
    };
    let printed: Vec<&str> = sections.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(printed, names);
}

/// Python's `str` of a value a stage 5 task returns: what the scripts'
/// `ended` prints after `result`.
#[allow(dead_code, reason = "only the stage 5 parity tests use it")]
pub(crate) trait PyStr {
    /// `str(value)`.
    fn py_str(&self) -> String;
}

/// A coroutine that returns nothing returns Python's `None`.
impl PyStr for () {
    fn py_str(&self) -> String {
        "None".to_string()
    }
}

impl PyStr for u32 {
    fn py_str(&self) -> String {
        self.to_string()
    }
}

impl PyStr for &str {
    fn py_str(&self) -> String {
        (*self).to_string()
    }
}

/// The stage 5 scripts' `ended`: how a task ended, `pending` if it has
/// not: `cancelled`, `failed: ` and its exception's message, or `result `
/// and its value.
#[allow(dead_code, reason = "only the stage 5 parity tests use it")]
pub(crate) fn ended<T: Clone + PyStr + 'static>(task: &stage05_cancellation::Task<T>) -> String {
    if !task.done() {
        return "pending".to_string();
    }
    match task.result() {
        _ if task.cancelled() => "cancelled".to_string(),
        Ok(value) => format!("result {}", value.py_str()),
        Err(error) => format!("failed: {error}"),
    }
}

/// The scripts' `state`: the bracketed state at the end of a primitive's
/// `repr`, `[unlocked, waiters:1]` (asyncio's names its module and
/// address too).
#[allow(dead_code, reason = "only the stage 5 parity tests use it")]
pub(crate) fn state(primitive: &impl std::fmt::Debug) -> String {
    let repr = format!("{primitive:?}");
    let start = repr.find('[').expect("a state in brackets");
    repr[start..].trim_end_matches('>').to_string()
}

/// Run `main` as a stage 5 task on `event_loop` to its end, and compare
/// what `out` holds with section `name` of `tests/parity/<script>` (a
/// `wait_for` section on stage 5's fast path, with what the script prints
/// on CPython 3.12: see [`on_stage05_fast_path`]).
///
/// # Panics
/// If `main` is cancelled or fails, or if the lines differ.
#[allow(dead_code, reason = "only the stage 5 parity tests use it")]
pub(crate) fn run_stage05_section<F>(
    script: &'static str,
    name: &str,
    event_loop: &stage03_read_readiness::SelectorEventLoop,
    out: &demo_support::Transcript,
    main: F,
) where
    F: std::future::Future<Output = Result<(), stage04_futures_tasks::FutureError>> + 'static,
{
    use stage04_futures_tasks::{run_until_complete, task_outcome};

    let main = stage05_cancellation::create_task(event_loop, main).expect("an open loop");
    let outcome =
        task_outcome(run_until_complete(event_loop, main)).expect("the case runs to its end");
    outcome.expect("main is not cancelled and does not fail");
    if name.starts_with("wait_for") && on_stage05_fast_path() {
        // 3.12 rewrote `wait_for` as a timeout scope around `await fut`,
        // as stage 5's fast path does; it prints the same as 3.11 elsewhere.
        compare_section_312(script, name, &out.lines());
    } else {
        compare_section(script, name, &out.lines());
    }
}

/// Whether stage 4's fast tasks run (its `fast` feature, which stage 5's
/// turns on): their loop looks at the self-pipe once in 61 iterations
/// while callbacks are ready (stage 3's `BusyPoll::FAST_EVERY`), not in
/// every iteration as asyncio's does.
#[allow(dead_code, reason = "only the stage 5 parity tests use it")]
pub(crate) fn on_stage04_fast_tasks() -> bool {
    std::any::type_name::<stage04_futures_tasks::Task<()>>().contains("::fast::")
}

/// Whether stage 5 runs on its fast path (its `fast` feature), whose
/// `wait_for` is asyncio 3.12's: a timeout scope around an inline await.
#[allow(dead_code, reason = "only the stage 5 parity tests use it")]
pub(crate) fn on_stage05_fast_path() -> bool {
    std::any::type_name::<stage05_cancellation::Timeout>().contains("::fast::")
}

/// [`compare_section`], with what the script prints on CPython 3.12
/// (nothing is compared when there is no python3.12).
///
/// # Panics
/// If they differ, after showing the whole of our trace.
#[allow(dead_code, reason = "only the stage 5 parity tests use it")]
pub(crate) fn compare_section_312(script: &'static str, name: &str, rust: &[String]) {
    let Some(sections) = python_sections_on(Python::V3_12, script) else {
        return;
    };
    let (_, python) = sections
        .iter()
        .find(|(section, _)| section == name)
        .unwrap_or_else(|| panic!("{script} prints no section {name} on python3.12"));
    eprintln!("section {name}, our loop:\n{}", rust.join("\n"));
    assert_same_lines(&python.join("\n"), rust);
}

/// What the stage 6 parity tests on real sockets share: waiting for the
/// kernel outside the loop, and Python's `repr` of the bytes they print.
#[allow(dead_code, reason = "only the stage 6 parity tests use it")]
pub(crate) mod stage06 {
    use std::os::fd::RawFd;

    /// What [`settle`] waits for.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(crate) enum Until {
        /// Something to read: data, a queued connection, the end, a reset.
        Readable,
        /// The end of the stream (`POLLRDHUP`: the peer shut down its
        /// writing), and so every byte sent before it.
        End,
    }

    /// The scripts' `settle`: wait, outside the loop, until the kernel has
    /// made `fd` ready as `until` says, for at most `limit` seconds. A
    /// blocking poll(2) of its own, which the loop's selector does not see
    /// (and an edge-triggered one does not lose: epoll reports the change
    /// all the same).
    ///
    /// # Panics
    /// If the kernel has not delivered in time.
    pub(crate) fn settle(fd: RawFd, until: Until, limit: f64) {
        let events = match until {
            Until::Readable => libc::POLLIN,
            Until::End => libc::POLLRDHUP,
        };
        let mut watched = libc::pollfd {
            fd,
            events,
            revents: 0,
        };
        let limit = (limit * 1000.0) as libc::c_int;
        // SAFETY: one live `pollfd`, and the count of one.
        #[allow(unsafe_code)]
        let ready = unsafe { libc::poll(&mut watched, 1, limit) };
        assert_eq!(ready, 1, "the kernel did not deliver in time ({until:?})");
    }

    /// Python's `repr` of `bytes`: `b'hello\n'`.
    pub(crate) fn py_bytes(bytes: &[u8]) -> String {
        let quote = if bytes.contains(&b'\'') && !bytes.contains(&b'"') {
            '"'
        } else {
            '\''
        };
        let mut repr = format!("b{quote}");
        for &byte in bytes {
            match byte {
                b'\\' => repr.push_str("\\\\"),
                b'\t' => repr.push_str("\\t"),
                b'\n' => repr.push_str("\\n"),
                b'\r' => repr.push_str("\\r"),
                _ if char::from(byte) == quote => repr.extend(['\\', quote]),
                0x20..0x7f => repr.push(char::from(byte)),
                _ => repr.push_str(&format!("\\x{byte:02x}")),
            }
        }
        repr.push(quote);
        repr
    }
}
