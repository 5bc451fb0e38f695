//! The demo's echo server and client, as a reader runs them: the server
//! in one process, the client in another, and Ctrl-C (a real SIGINT) to
//! end the server, which says goodbye to a client still connected and
//! exits with status 0: Ctrl-C is how a server is meant to stop. Answers and order only, every wait bounded.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

const DEMO: &str = env!("CARGO_BIN_EXE_stage06-socket-io");

#[test]
fn the_server_echoes_the_client_and_ctrl_c_says_goodbye_and_exits_0() {
    let mut server = Command::new(DEMO)
        .args(["server", "0"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("the server starts");
    let mut out = BufReader::new(server.stdout.take().expect("its output"));
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    let port = first.trim_end().rsplit(':').next().unwrap().to_string();
    assert!(first.starts_with("serving on 127.0.0.1:"), "{first}");

    let client = Command::new(DEMO)
        .args(["client", &port, "hello", "bye"])
        .output()
        .expect("the client runs");
    assert!(client.status.success(), "{client:?}");
    let said: Vec<String> = String::from_utf8_lossy(&client.stdout)
        .lines()
        .map(|line| line[8..].to_string())
        .collect();
    assert_eq!(
        said,
        [
            "sent: hello",
            "got: echo: hello",
            "sent: bye",
            "got: echo: bye"
        ]
    );

    // A client that stays, then Ctrl-C.
    let stays = TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
    stays
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stays
        .set_write_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut stays_reader = BufReader::new(stays.try_clone().unwrap());
    // The server has answered a line: its handler runs, and waits for more.
    std::io::Write::write_all(&mut &stays, b"here\n").unwrap();
    let mut echo = String::new();
    stays_reader.read_line(&mut echo).unwrap();
    assert_eq!(echo, "echo: here\n");
    // SAFETY: kill(2) with the pid of our own child and a valid signal.
    #[allow(unsafe_code)]
    let sent = unsafe { libc::kill(server.id() as libc::pid_t, libc::SIGINT) };
    assert_eq!(sent, 0);
    let mut goodbye = String::new();
    stays_reader.read_line(&mut goodbye).unwrap();
    assert_eq!(goodbye, "Server shutting down\n");
    let mut rest = String::new();
    assert_eq!(
        stays_reader.read_line(&mut rest).unwrap(),
        0,
        "then the end"
    );

    let status = server.wait().unwrap();
    let mut last = String::new();
    out.read_line(&mut last).unwrap();
    assert_eq!(
        last,
        "Interrupted: every connection told, the server closed\n"
    );
    assert_eq!(status.code(), Some(0));
}
