//! Scenario 12 both ways, on the virtual clock: asyncio's cancellation lets
//! the server say goodbye and finish a clean-up that awaits; Rust's drop
//! (`abort`) runs only what the server's locals do when dropped. The book
//! shows both transcripts (`tests/output/scenario-12-*.txt`).

use std::path::{Path, PathBuf};

use demo_support::Transcript;
use demo_support::transcript::assert_matches_file;
use stage01_generator_loop::VirtualClock;
use stage05_cancellation::scenarios::{Stop, server_shutdown};

fn committed(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/output")
        .join(name)
}

fn run(stop: Stop) -> Vec<String> {
    let out = Transcript::new();
    server_shutdown(VirtualClock::new(), stop, &out).expect("scenario 12 runs");
    let printed = out.lines().join("\n") + "\n";
    let name = match stop {
        Stop::Cancel => "scenario-12-cancel.txt",
        Stop::Abort => "scenario-12-abort.txt",
    };
    assert_matches_file(&committed(name), &printed);
    out.lines()
}

#[test]
fn cancelled_the_server_says_goodbye_and_its_clean_up_may_await() {
    let lines = run(Stop::Cancel);
    assert!(lines.contains(&" 1.000  server: cancelled at its read".to_string()));
    assert!(lines.contains(&" 1.500  server: log flushed".to_string()));
    assert!(lines.contains(&" 1.500  server: connection closed".to_string()));
    assert!(lines.contains(&"        client received: Server shutting down".to_string()));
}

#[test]
fn aborted_the_server_only_drops_its_locals_and_cannot_await() {
    let lines = run(Stop::Abort);
    assert!(lines.contains(&" 1.000  server: connection closed".to_string()));
    assert!(
        !lines.iter().any(|line| line.contains("flushed")),
        "no await after a drop"
    );
    assert!(
        !lines
            .iter()
            .any(|line| line.contains("Server shutting down")),
        "nobody said goodbye"
    );
    assert!(lines.contains(&"        client received: echo: world".to_string()));
}

/// Cancel safety, as tokio's documentation defines it: a reader stopped at
/// its read loses the half line it kept in its own future, and keeps the
/// one it kept in the stream (asyncio's `StreamReader`), whichever way it
/// was stopped.
#[test]
fn a_half_read_line_survives_a_stop_only_where_the_stream_keeps_it() {
    use stage05_cancellation::scenarios::{Keeps, half_a_line};
    for stop in [Stop::Cancel, Stop::Abort] {
        let kept = half_a_line(VirtualClock::new(), stop, Keeps::InTheStream).unwrap();
        assert_eq!(kept, "hello\n", "{stop:?}");
        let lost = half_a_line(VirtualClock::new(), stop, Keeps::InTheFuture).unwrap();
        assert_eq!(lost, "lo\n", "{stop:?}: the half line went with the future");
    }
}

/// The anti-pattern: three tasks wait on one bare future; cancelling one
/// cancels the future, and the other two fail with it, a second before the
/// signal. With an `Event`, only the cancelled one stops; the others wake
/// when it is set.
#[test]
fn cancelling_one_waiter_of_a_shared_future_fails_them_all_but_not_of_an_event() {
    use stage05_cancellation::scenarios::{WaitOn, waiters_of_one_signal};
    let shared = Transcript::new();
    waiters_of_one_signal(VirtualClock::new(), WaitOn::SharedFuture, &shared).unwrap();
    assert_matches_file(
        &committed("anti-pattern-shared-future.txt"),
        &(shared.lines().join("\n") + "\n"),
    );
    let event = Transcript::new();
    waiters_of_one_signal(VirtualClock::new(), WaitOn::Event, &event).unwrap();
    assert_matches_file(
        &committed("anti-pattern-event.txt"),
        &(event.lines().join("\n") + "\n"),
    );
    let failed = |lines: &[String]| {
        lines
            .iter()
            .filter(|line| line.contains("Err(cancelled)"))
            .count()
    };
    assert_eq!(failed(&shared.lines()), 3, "one cancel, three failures");
    assert_eq!(failed(&event.lines()), 1, "one cancel, one failure");
}
