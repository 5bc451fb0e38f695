//! The echo server and its client, line by line, on stage 6's streams.
//!
//! Mirrors the "TCP echo server using streams" of asyncio's documentation
//! (`asyncio-stream.rst`), with what a real server needs besides: a
//! per-connection idle timeout built from stage 5's timeout scope, and a
//! goodbye when it is shut down. A client that sends one byte a minute
//! (slowloris) would otherwise hold a connection, a task and a buffer for
//! as long as it liked: here each line must come within `idle` seconds.
//! A client that sends `ps` gets the server's task table (stage 4), one
//! task per connection among them.

use std::io::ErrorKind;
use std::net::SocketAddr;

use demo_support::Transcript;
use stage02_timed_events::get_running_loop;
use stage03_read_readiness::SelectorEventLoop;
use stage04_futures_tasks::{FutureError, task_table};
use stage05_cancellation::{is_timeout, timeout};

use super::stamp;
use crate::server::{ServerOptions, start_server_with};
use crate::streams::{StreamError, StreamReader, StreamWriter, open_connection};

/// What the server says to a client that took too long with a line.
pub const IDLE_FAREWELL: &str = "idle too long; bye";

/// What the server says to each client as it shuts down.
pub const SHUTDOWN_FAREWELL: &str = "Server shutting down";

/// The line that ends the task table, as a lone dot ends a message in
/// SMTP: the table has as many lines as there are tasks.
const END_OF_TABLE: &str = ".\n";

// ANCHOR: handle_client
/// Serve one connection until the client closes it: each line comes back
/// as `echo: <line>`; `ps` gets the task table. A line that takes longer
/// than `idle` seconds ends the connection; so does a cancellation (the
/// server shutting down), after a goodbye. A client that resets the
/// connection has only left: nothing to report.
pub async fn handle_client(
    reader: StreamReader,
    writer: StreamWriter,
    idle: f64,
) -> Result<(), StreamError> {
    let ended = serve_lines(&reader, &writer, idle).await;
    let farewell = match &ended {
        Err(error) if error.is_cancelled() => Some(SHUTDOWN_FAREWELL),
        Err(StreamError::Future(error)) if is_timeout(error) => Some(IDLE_FAREWELL),
        _ => None,
    };
    if let Some(farewell) = farewell {
        // The goodbye is best effort: the client may be gone already.
        let _ = writer.write(format!("{farewell}\n").as_bytes());
        let _ = writer.drain().await;
        linger(&reader, &writer).await;
    }
    writer.close();
    match ended {
        Err(StreamError::Future(error)) if is_timeout(&error) => Ok(()), // dropped, as meant
        // The client left without a goodbye (a reset): nothing to report.
        Err(error) if error.kind() == Some(ErrorKind::ConnectionReset) => Ok(()),
        other => other,
    }
}

/// How long a goodbye waits for the client to close its end, in seconds
/// (nginx's `lingering_timeout`).
const LINGER: f64 = 5.0;

// ANCHOR: linger
/// A lingering close, as web servers make one: after a goodbye, shut our
/// side (the client reads the goodbye, then the end), and read whatever
/// the client still sends until it closes its own side, for at most
/// [`LINGER`] seconds. A socket closed with bytes unread in the kernel
/// (a line the client sent as the server gave up) ends with a reset, not
/// a goodbye, and the client's kernel throws the goodbye away unread.
async fn linger(reader: &StreamReader, writer: &StreamWriter) {
    if writer.write_eof().is_err() {
        return; // closing already
    }
    let Ok(scope) = timeout(Some(LINGER)) else {
        return;
    };
    let until_the_end = scope.run(async {
        while !reader.read(READ_SIZE).await?.is_empty() {}
        Ok(())
    });
    let _best_effort = until_the_end.await;
}
// ANCHOR_END: linger

/// Answer lines until the end of the stream.
async fn serve_lines(
    reader: &StreamReader,
    writer: &StreamWriter,
    idle: f64,
) -> Result<(), StreamError> {
    loop {
        let scope = timeout(Some(idle)).map_err(StreamError::Future)?;
        let read = scope.run(async { reader.readline().await.map_err(FutureError::from) });
        let line = read.await.map_err(StreamError::Future)?;
        if line.is_empty() {
            return Ok(()); // the client closed its end
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end();
        if text == "ps" {
            let event_loop: SelectorEventLoop = get_running_loop().map_err(StreamError::Loop)?;
            for row in task_table(&event_loop) {
                writer.write(format!("{row}\n").as_bytes())?;
            }
            writer.write(END_OF_TABLE.as_bytes())?;
        } else {
            writer.write(format!("echo: {text}\n").as_bytes())?;
        }
        writer.drain().await?;
    }
}
// ANCHOR_END: handle_client

// ANCHOR: echo_bytes
/// The server of uvloop's echo benchmark (vmbench's `echo_client_streams`):
/// whatever comes, sent back as it came, until the client closes. What
/// chapter 7's benchmark runs on every loop alike; no lines, no timeout.
pub async fn echo_bytes(reader: StreamReader, writer: StreamWriter) -> Result<(), StreamError> {
    loop {
        let data = reader.read(READ_SIZE).await?;
        if data.is_empty() {
            break; // the client closed its end
        }
        writer.write(&data)?;
        writer.drain().await?;
    }
    writer.close();
    Ok(())
}
// ANCHOR_END: echo_bytes

/// How much `echo_bytes` takes at a time: asyncio's `read(n)` gives what
/// is buffered, up to `n`, so this is only a cap.
const READ_SIZE: usize = 64 * 1024;

/// What the server echoes: lines, or bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Echo {
    /// Each line back as `echo: <line>` ([`handle_client`]); a client
    /// whose next line takes longer than this many seconds is dropped.
    Lines {
        /// The idle timeout, in seconds.
        idle: f64,
    },
    /// Bytes back as they came ([`echo_bytes`]).
    Bytes,
}

/// The echo server on `address` (port 0: any free one); says where it
/// listens, then serves until cancelled.
///
/// # Errors
/// If the address cannot be had.
pub async fn serve(
    address: SocketAddr,
    echo: Echo,
    options: ServerOptions,
    out: &Transcript,
) -> Result<(), StreamError> {
    let server = match echo {
        Echo::Lines { idle } => {
            let handle = move |reader, writer| handle_client(reader, writer, idle);
            start_server_with(handle, address, options).await?
        }
        Echo::Bytes => start_server_with(echo_bytes, address, options).await?,
    };
    out.say(format!("serving on {}", server.local_addr()));
    server.serve_forever().await
}

// ANCHOR: echo_client
/// The client: send each of `lines`, and say what came back, until the
/// server closes the connection or every answer has come.
///
/// # Errors
/// If the connection cannot be made, or fails.
pub async fn echo_client(
    address: SocketAddr,
    lines: &[String],
    out: &Transcript,
) -> Result<(), StreamError> {
    let event_loop: SelectorEventLoop = get_running_loop().map_err(StreamError::Loop)?;
    let (reader, writer) = open_connection(address).await?;
    for line in lines {
        writer.write(format!("{line}\n").as_bytes())?;
        writer.drain().await?;
        stamp(out, &event_loop, &format!("sent: {line}"));
        // One answer per line; `ps` answers a line per task, then a dot.
        loop {
            let answer = reader.readline().await?;
            if answer.is_empty() {
                stamp(out, &event_loop, "the server closed the connection");
                return Ok(());
            }
            if answer == END_OF_TABLE.as_bytes() {
                break;
            }
            let answer = String::from_utf8_lossy(&answer);
            stamp(out, &event_loop, &format!("got: {}", answer.trim_end()));
            if line != "ps" {
                break;
            }
        }
    }
    writer.close();
    writer.wait_closed().await
}
// ANCHOR_END: echo_client
