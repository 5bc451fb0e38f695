//! Scenario 6 as the source tells it: reads from `/dev/urandom` and from a
//! local socket, interleaved with a background sleeper, on one thread.
//!
//! Three kinds of waiting share the loop: a timer (the sleeper), a
//! character device that always has data (`/dev/urandom`: each read is
//! tried at once and succeeds, so the reader never waits, but it awaits
//! a yield between reads so as not to starve the others), and a socket
//! whose data comes when the other end sends it (the reader tries, hears
//! "would block", and waits for readability). The coroutines only await;
//! the loop alone knows about descriptors and timers.

use std::error::Error;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::rc::Rc;

use demo_support::Transcript;
use mio::net::TcpListener;
use stage01_generator_loop::Clock;
use stage03_read_readiness::SelectorEventLoop;
use stage03_read_readiness::SelectorEvents;
use stage04_futures_tasks::{FutureError, run_until_complete, task_outcome};
use stage05_cancellation::{create_task, gather, sleep, yield_now};

use super::stamp;
use crate::EpollSelector;
use crate::sock::{SockError, sock_accept, sock_connect, sock_recv, sock_sendall};

/// How many times the background sleeper wakes, every 0.05 s.
pub const SLEEPER_TICKS: usize = 6;

// ANCHOR: interleaved
/// Run the sleeper, the `/dev/urandom` reader and a socket's client and
/// server together on one epoll loop on `clock`, saying what each does.
///
/// # Errors
/// If the loop, the device or the socket cannot be had, or an operation
/// fails.
pub fn interleaved_reads(
    clock: impl Clock + 'static,
    out: &Transcript,
) -> Result<(), Box<dyn Error>> {
    let event_loop = SelectorEventLoop::with_selector(clock, EpollSelector::new()?)?;
    let urandom = Rc::new(open_nonblocking("/dev/urandom")?);
    let listener = Rc::new(TcpListener::bind("127.0.0.1:0".parse()?)?);
    let address = listener.local_addr()?;

    let (here, log) = (event_loop.clone(), out.clone());
    let sleeper = create_task(&event_loop, async move {
        for tick in 1..=SLEEPER_TICKS {
            sleep(0.05, ()).await?;
            stamp(&log, &here, &format!("sleeper: tick {tick}"));
        }
        Ok(())
    })?;
    let (here, log) = (event_loop.clone(), out.clone());
    let random = create_task(&event_loop, async move {
        for _ in 0..3 {
            // Their values differ from run to run; how many came does not.
            let bytes = sock_recv(&here, &urandom, 4).await.map_err(exception)?;
            stamp(
                &log,
                &here,
                &format!("urandom: {} random bytes", bytes.len()),
            );
            yield_now().await?; // always ready: give the others a turn
        }
        Ok(())
    })?;
    let (here, log) = (event_loop.clone(), out.clone());
    let server = create_task(&event_loop, async move {
        let (connection, _) = sock_accept(&here, &listener).await.map_err(exception)?;
        let connection = Rc::new(connection);
        stamp(&log, &here, "server: a client connected");
        loop {
            let data = sock_recv(&here, &connection, 64).await.map_err(exception)?;
            if data.is_empty() {
                stamp(&log, &here, "server: the client is done");
                return Ok(());
            }
            let text = String::from_utf8_lossy(&data);
            stamp(&log, &here, &format!("server: got {:?}", text.trim_end()));
        }
    })?;
    let (here, log) = (event_loop.clone(), out.clone());
    let client = create_task(&event_loop, async move {
        let connection = sock_connect(&here, address).await.map_err(exception)?;
        for ping in 1..=3 {
            sleep(0.08, ()).await?;
            let line = format!("ping {ping}\n");
            sock_sendall(&here, &connection, line.as_bytes())
                .await
                .map_err(exception)?;
            stamp(&log, &here, &format!("client: sent ping {ping}"));
        }
        // The end of the data: the server's next read answers zero bytes.
        let shut = connection.shutdown(std::net::Shutdown::Write);
        shut.map_err(|error| FutureError::Exception(Rc::new(error)))
    })?;
    let all = create_task(&event_loop, async move {
        gather([sleeper, random, server, client])?.await.map(drop)
    })?;
    task_outcome(run_until_complete(&event_loop, all))??;
    Ok(())
}
// ANCHOR_END: interleaved

/// A device or file opened for reading without blocking.
fn open_nonblocking(path: &str) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

/// A socket error as the exception a coroutine ends with.
fn exception(error: SockError) -> FutureError {
    FutureError::Exception(Rc::new(error))
}
