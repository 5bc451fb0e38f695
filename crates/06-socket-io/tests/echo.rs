//! The echo server: it echoes, answers `ps` with its task table, drops a
//! client that takes too long with a line (slowloris), and says goodbye
//! to every client as a runner shuts it down. Real sockets on 127.0.0.1,
//! on the real clock, asserting answers and order only; every case is
//! bounded.

mod common;

use std::io::{BufRead, BufReader};
use std::rc::Rc;
use std::time::Duration;

use common::any_port;
use demo_support::Transcript;
use stage01_generator_loop::RealClock;
use stage04_futures_tasks::Event;
use stage05_cancellation::{Runner, create_task, wait_for};
use stage06_socket_io::EpollSelector;
use stage06_socket_io::scenarios::{IDLE_FAREWELL, SHUTDOWN_FAREWELL, echo_client, handle_client};
use stage06_socket_io::start_server;
use stage06_socket_io::streams::{StreamError, open_connection};

/// A runner whose loop waits in epoll, on the real clock.
fn runner() -> Runner {
    Runner::with_selector(RealClock::new(), EpollSelector::new().unwrap()).unwrap()
}

#[test]
fn it_echoes_lists_its_tasks_and_drops_a_client_that_dawdles() {
    const IDLE: f64 = 1.0;
    let runner = runner();
    let out = Transcript::new();
    let log = out.clone();
    let slow = Transcript::new();
    let slow_log = slow.clone();
    let outcome = runner.run(async move {
        let case = async move {
            let server = start_server(|r, w| handle_client(r, w, IDLE), any_port()).await?;
            let address = server.local_addr();
            let server = Rc::new(server);
            let serving = Rc::clone(&server);
            let _serve = create_task(
                &running(),
                async move { Ok(serving.serve_forever().await?) },
            )?;
            // Slowloris: one byte, then nothing.
            let dawdler = create_task(&running(), async move {
                let (reader, writer) = open_connection(address).await?;
                writer.write(b"h")?;
                writer.drain().await?;
                let farewell = reader.readline().await?;
                slow_log.say(String::from_utf8_lossy(&farewell).trim_end().to_string());
                let after = reader.read_to_end().await?;
                slow_log.say(format!("then {} bytes, and the end", after.len()));
                Ok(())
            })?;
            let lines: Vec<String> = ["hello", "ps", "bye"].map(String::from).to_vec();
            echo_client(address, &lines, &log).await?;
            dawdler.await?;
            server.close();
            Ok(())
        };
        wait_for(case, Some(10.0)).await
    });
    outcome.unwrap();
    runner.close().unwrap();

    let said: Vec<String> = out
        .lines()
        .iter()
        .map(|line| line[8..].to_string())
        .collect();
    assert_eq!(said[..3], ["sent: hello", "got: echo: hello", "sent: ps"]);
    let table: Vec<&String> = said[3..]
        .iter()
        .take_while(|line| *line != "sent: bye")
        .collect();
    // The table lists the server's tasks: at least the one that serves,
    // and the two connections' handlers, waiting where they wait.
    assert!(table.len() >= 3, "{said:#?}");
    assert!(
        table.iter().all(|row| row.starts_with("got: ")),
        "{said:#?}"
    );
    assert!(
        table.iter().filter(|row| row.contains("pending")).count() >= 2,
        "{said:#?}"
    );
    assert_eq!(said[said.len() - 2..], ["sent: bye", "got: echo: bye"]);
    assert_eq!(slow.lines(), [IDLE_FAREWELL, "then 0 bytes, and the end"]);
}

/// The running loop, for tasks made inside the runner's main.
fn running() -> stage03_read_readiness::SelectorEventLoop {
    stage02_timed_events::get_running_loop().unwrap()
}

#[test]
fn a_runner_shutting_the_server_down_says_goodbye_to_every_client() {
    let runner = runner();
    let (send, receive) = std::sync::mpsc::channel::<std::net::TcpStream>();
    let outcome = runner.run(async move {
        // Told when the connection's handler has started, so that the
        // shutdown below finds it waiting for a line (no sleeping on it).
        let accepted = Rc::new(Event::new());
        let tells = Rc::clone(&accepted);
        let handler = move |reader, writer| {
            let tells = Rc::clone(&tells);
            async move {
                tells.set(); // in the handler's first step
                handle_client(reader, writer, 60.0).await
            }
        };
        let server = start_server(handler, any_port()).await?;
        let address = server.local_addr();
        let server = Rc::new(server);
        let serving = Rc::clone(&server);
        let _serve = create_task(
            &running(),
            async move { Ok(serving.serve_forever().await?) },
        )?;
        // A plain blocking client: it is not a task, so the runner's
        // shutdown does not cancel it; the kernel completes its connect.
        let client = std::net::TcpStream::connect(address).map_err(StreamError::Os)?;
        send.send(client).unwrap();
        accepted.wait().await?;
        Ok(())
    });
    outcome.unwrap();
    // The client reads in a thread of its own, and closes its end at the
    // end of the stream, which the server's lingering close waits for.
    let client = receive.recv().unwrap();
    let reading = std::thread::spawn(move || {
        client
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        BufReader::new(client)
            .lines()
            .map(Result::unwrap)
            .collect::<Vec<_>>()
    });
    runner.close().unwrap(); // cancels the server and the handler, which say goodbye
    assert_eq!(reading.join().unwrap(), [SHUTDOWN_FAREWELL], "then the end");
}
