//! Scenario 6, run by the demo and by the library: every reader gets what
//! it should, in order, and the sleeper's ticks come between the socket's
//! lines (the loop served them all on one thread). And what every demo
//! does: the virtual run and `--help` print what the book shows
//! (`tests/output/demo-virtual.txt` and `help.txt`, through `demo_tests!`), an
//! unknown option is refused, a reader that goes away or a full disk end
//! it as they should.

demo_support::demo_tests!("stage06-socket-io");

use std::process::Command;

use demo_support::Transcript;
use stage01_generator_loop::VirtualClock;
use stage06_socket_io::scenarios::{SLEEPER_TICKS, interleaved_reads};

/// The lines that start (after the time) with `who`.
fn lines_of<'a>(lines: &'a [String], who: &str) -> Vec<&'a str> {
    lines
        .iter()
        .map(|line| line[8..].trim_end())
        .filter(|line| line.starts_with(who))
        .collect()
}

fn check(lines: &[String]) {
    let ticks: Vec<String> = (1..=SLEEPER_TICKS)
        .map(|tick| format!("sleeper: tick {tick}"))
        .collect();
    assert_eq!(lines_of(lines, "sleeper:"), ticks);
    let random = lines_of(lines, "urandom:");
    assert_eq!(random.len(), 3, "{random:?}");
    assert!(random.iter().all(|line| *line == "urandom: 4 random bytes"));
    assert_eq!(
        lines_of(lines, "server:"),
        [
            "server: a client connected",
            "server: got \"ping 1\"",
            "server: got \"ping 2\"",
            "server: got \"ping 3\"",
            "server: the client is done",
        ]
    );
    assert_eq!(
        lines_of(lines, "client:"),
        [
            "client: sent ping 1",
            "client: sent ping 2",
            "client: sent ping 3"
        ]
    );
    // Interleaved: a tick between the first ping sent and the last got.
    let at = |text: &str| lines.iter().position(|line| line.ends_with(text)).unwrap();
    let between = (at("client: sent ping 1")..at("server: got \"ping 3\""))
        .any(|index| lines[index].contains("sleeper: tick"));
    assert!(between, "{lines:#?}");
}

#[test]
fn scenario_6_on_the_virtual_clock() {
    let out = Transcript::new();
    interleaved_reads(VirtualClock::new(), &out).unwrap();
    check(&out.lines());
}

#[test]
fn the_demo_runs_scenario_6_on_the_real_clock() {
    let output = Command::new(DEMO).output().expect("the demo runs");
    assert!(output.status.success(), "{output:?}");
    let lines: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    check(&lines);
}
