//! The demo's echo server and client, as a reader runs them: the server
//! in one process, the client in another, and Ctrl-C (a real SIGINT) to
//! end the server, which says goodbye to a client still connected and
//! exits with status 0: Ctrl-C is how a server is meant to stop. Answers and order only, every wait bounded.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

mod common;

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
    common::interrupt(&server);
    let mut goodbye = String::new();
    stays_reader.read_line(&mut goodbye).unwrap();
    assert_eq!(goodbye, "Server shutting down\n");
    let mut rest = String::new();
    assert_eq!(
        stays_reader.read_line(&mut rest).unwrap(),
        0,
        "then the end"
    );
    // And the client closes its end, which the server, lingering, waits for.
    drop((stays, stays_reader));

    let status = server.wait().unwrap();
    let mut last = String::new();
    out.read_line(&mut last).unwrap();
    assert_eq!(
        last,
        "Interrupted: every connection told, the server closed\n"
    );
    assert_eq!(status.code(), Some(0));
}

/// A child process killed if the test fails first (it would hold the
/// test's output open, and the run would never end).
struct KilledOnDrop(std::process::Child);

impl Drop for KilledOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Read from the monitor until its prompt: what it said before it.
fn until_prompt(reader: &mut BufReader<TcpStream>) -> String {
    let prompt = stage06_socket_io::monitor::PROMPT.as_bytes();
    let mut said = Vec::new();
    while !said.ends_with(prompt) {
        let mut byte = [0];
        std::io::Read::read_exact(reader, &mut byte).expect("the monitor answers");
        said.push(byte[0]);
    }
    said.truncate(said.len() - prompt.len());
    String::from_utf8(said).unwrap()
}

#[test]
fn the_server_with_a_monitor_shows_a_connection_s_task_in_ps() {
    let mut server = KilledOnDrop(
        Command::new(DEMO)
            .args(["server", "0", "--monitor", "0"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("the server starts"),
    );
    let server = &mut server.0;
    let mut out = BufReader::new(server.stdout.take().expect("its output"));
    let address_in = |line: &str, prefix: &str| -> String {
        let rest = line
            .strip_prefix(prefix)
            .unwrap_or_else(|| panic!("{line}"));
        rest.split(' ').next().unwrap().trim_end().to_string()
    };
    let (mut first, mut second) = (String::new(), String::new());
    out.read_line(&mut first).unwrap();
    out.read_line(&mut second).unwrap();
    let monitor = address_in(&first, "monitor on ");
    let serving = address_in(&second, "serving on ");

    // A client connected to the echo server: its task is in the table.
    let client = TcpStream::connect(&serving).unwrap();
    std::io::Write::write_all(&mut &client, b"hi\n").unwrap();
    let mut client_reader = BufReader::new(client.try_clone().unwrap());
    let mut echo = String::new();
    client_reader.read_line(&mut echo).unwrap();
    assert_eq!(echo, "echo: hi\n");

    let console = TcpStream::connect(&monitor).unwrap();
    console
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut console_reader = BufReader::new(console.try_clone().unwrap());
    let greeting = until_prompt(&mut console_reader);
    assert!(greeting.starts_with("Asyncio Monitor: "), "{greeting}");
    std::io::Write::write_all(&mut &console, b"ps\n").unwrap();
    let table = until_prompt(&mut console_reader);
    // main (serving), the connection's task (waiting in its stream for a
    // line), and the monitor's; the table says where each waits.
    assert!(table.starts_with("4 tasks\n"), "{table}");
    assert!(
        table.contains("future at crates/06-socket-io/src/streams.rs"),
        "{table}"
    );
    assert!(table.contains("monitor    running"), "{table}");
    std::io::Write::write_all(&mut &console, b"quit\n").unwrap();
    let mut bye = String::new();
    console_reader.read_to_string(&mut bye).unwrap();
    assert_eq!(bye, "Bye\n");

    // The echo client leaves first, so that the server's goodbye to it
    // does not linger for its end.
    drop((client, client_reader));
    common::interrupt(server);
    assert_eq!(server.wait().unwrap().code(), Some(0));
}
