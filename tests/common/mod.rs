//! What the cross-stage tests share: running our Python parity scripts,
//! and comparing what they print with what our loops do.

pub(crate) mod stage04;

use std::path::Path;
use std::process::Command;

/// Run `tests/parity/<script>` with `python3` and return its standard output,
/// or `None` (after saying so) when this machine has no `python3`.
///
/// # Panics
/// If the script runs but fails: a broken parity script must not pass.
pub(crate) fn python_trace(script: &str) -> Option<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/parity")
        .join(script);
    let output = match Command::new("python3").arg(&path).output() {
        Ok(output) => output,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("skipped: python3 not found, so {script} was not compared");
            return None;
        }
        Err(error) => panic!("cannot start python3: {error}"),
    };
    assert!(
        output.status.success(),
        "{script} failed:\n{}",
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
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock, PoisonError};

    type Runs = HashMap<&'static str, Option<&'static [Section]>>;
    static RUNS: OnceLock<Mutex<Runs>> = OnceLock::new();
    let mut runs = RUNS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    *runs.entry(script).or_insert_with(|| {
        let sections = sections(&python_trace(script)?);
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
