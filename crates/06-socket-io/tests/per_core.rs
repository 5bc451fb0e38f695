//! One loop per core: `run_per_core` runs a loop in each of several
//! threads, each with its own echo server on one shared port
//! (`reuse_port`), and the kernel spreads the connections among them;
//! the demo's `server --loops N` is that, and Ctrl-C ends every loop.
//! Answers and counts only, every wait bounded.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use stage05_cancellation::sleep;
use stage06_socket_io::scenarios::echo_bytes;
use stage06_socket_io::{Ended, ServerOptions, run_per_core, start_server_with};

mod common;

const DEMO: &str = env!("CARGO_BIN_EXE_stage06-socket-io");
const CLIENTS: usize = 100;

/// A port that was free a moment ago: `--loops` needs a number.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Connect, send `x`, read it back, close.
fn echo_once(address: SocketAddr) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(b"x").unwrap();
    let mut answer = [0; 1];
    stream.read_exact(&mut answer).unwrap();
    assert_eq!(&answer, b"x");
}

#[test]
fn two_loops_share_a_port_and_the_kernel_spreads_the_connections() {
    let address = SocketAddr::from(([127, 0, 0, 1], free_port()));
    // Each loop's main is `'static` (a task's), so what it shares is in `Arc`s.
    let listening = Arc::new(AtomicUsize::new(0));
    let served = [Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0))];
    let stop = Arc::new(AtomicBool::new(false));
    std::thread::scope(|scope| {
        let loops = scope.spawn(|| {
            run_per_core(2, |index| {
                let (listening, stop) = (Arc::clone(&listening), Arc::clone(&stop));
                let served = Arc::clone(&served[index]);
                async move {
                    let options = ServerOptions {
                        reuse_port: true,
                        ..ServerOptions::default()
                    };
                    let handle = move |reader, writer| {
                        served.fetch_add(1, Ordering::SeqCst);
                        echo_bytes(reader, writer)
                    };
                    let server = match start_server_with(handle, address, options).await {
                        Ok(server) => server,
                        Err(error) => {
                            stop.store(true, Ordering::SeqCst); // the other loop too
                            return Err(error.into());
                        }
                    };
                    listening.fetch_add(1, Ordering::SeqCst);
                    while !stop.load(Ordering::SeqCst) {
                        sleep(0.01, ()).await?;
                    }
                    server.close();
                    Ok(())
                }
            })
        });
        while listening.load(Ordering::SeqCst) < 2 {
            if loops.is_finished() {
                panic!("a loop ended before it listened: {:?}", loops.join());
            }
            std::thread::yield_now();
        }
        for _ in 0..CLIENTS {
            echo_once(address);
        }
        stop.store(true, Ordering::SeqCst);
        assert_eq!(loops.join().unwrap(), [Ended::Done, Ended::Done]);
    });
    let served = served.map(|count| count.load(Ordering::SeqCst));
    assert_eq!(served.iter().sum::<usize>(), CLIENTS);
    // The kernel hashes each connection's addresses to a listener: a
    // hundred connections all to one of two would be a chance of 2^-99.
    assert!(served.iter().all(|&count| count > 0), "{served:?}");
}

#[test]
fn the_demo_server_on_two_loops_echoes_and_ctrl_c_ends_both_with_0() {
    let port = free_port().to_string();
    let mut server = Command::new(DEMO)
        .args(["server", &port, "--loops", "2", "--bytes"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("the server starts");
    let mut out = BufReader::new(server.stdout.take().expect("its output"));
    for _ in 0..2 {
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert_eq!(line, format!("serving on 127.0.0.1:{port}\n"));
    }
    let address: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    for _ in 0..10 {
        echo_once(address);
    }
    common::interrupt(&server);
    assert_eq!(server.wait().unwrap().code(), Some(0));
    let mut last = String::new();
    out.read_to_string(&mut last).unwrap();
    assert_eq!(
        last,
        "Interrupted: every connection told, the server closed\n"
    );
}

#[test]
fn loops_on_port_0_are_refused_with_a_reason() {
    let run = Command::new(DEMO)
        .args(["server", "0", "--loops", "2"])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&run.stderr),
        "error: --loops shares one port: give its number\n"
    );
}
