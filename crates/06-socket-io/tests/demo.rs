//! The demo runs, waits in epoll for its socket, and prints what it read.

use std::process::Command;

#[test]
fn the_demo_reads_the_line_sent_to_it() {
    let output = Command::new(env!("CARGO_BIN_EXE_stage06-socket-io"))
        .output()
        .expect("the demo runs");
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "the reader got: hello from the other end\n"
    );
}
