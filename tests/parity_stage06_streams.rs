//! Stage 6 against CPython: streams on real TCP sockets on 127.0.0.1
//! (tests/parity/stage06_streams.py). Our stage 6 `start_server`,
//! `open_connection`, `StreamReader` and `StreamWriter`, with stage 5
//! tasks on a loop waiting in the epoll selector, against asyncio 3.11's
//! on its selector loop (epoll, level-triggered), section by section,
//! line by line. Each case is a server whose handler reads what one client
//! sends, and the client:
//!
//! - `write_eof_then_read_to_the_end_both_ways`: the client writes twice
//!   and shuts down its writing (`write_eof`); the server's `read()` (ours
//!   `read_to_end`) gets everything, then the end; the server answers, the
//!   other way still open, and shuts down its own writing; the client's
//!   `read()` gets the answer. `at_eof` before and after, on both sides.
//! - `readexactly_past_the_end`: six bytes, then the end: `readexactly(4)`
//!   gets four, `readexactly(5)` fails with `IncompleteReadError` (ours
//!   `StreamError::IncompleteRead`), the two bytes left as its partial and
//!   5 as expected, in the same words; the buffer is empty after it.
//! - `readline_then_a_partial_last_line_at_the_end`: lines in two writes,
//!   the third split between them, the last without its newline.
//! - `readuntil_a_separator`: a four-byte separator split between two
//!   writes, a one-byte one, then the end with no separator:
//!   `IncompleteReadError` with what was left, and no count expected.
//!
//! Every line says in which iteration it was printed, counted from
//! iteration c: the one in which the client, its connection open, finds
//! the server's handler started and waiting in its first read. From there
//! on both loops are in the same state, and the iterations compare what
//! the streams do with the loop: a read that finds what it wants in the
//! buffer does not wait; one that waits is woken by the transport's reader
//! in the iteration in which the selector reports the socket, and resumes
//! in the next; a `close` tells the protocol in the next iteration, and
//! `wait_closed` returns in the one after.
//!
//! The iterations before c are not compared, because setting up takes
//! asyncio more of them, for reasons that are not the loop's rules
//! (counted on both sides): asyncio makes a transport with callbacks it
//! queues (`connection_made`, then the transport's reader, then the result
//! of a future that `open_connection` or the server's
//! `_accept_connection2` awaits), which run one iteration later, and the
//! awaiting coroutine resumes in the one after: two iterations more on
//! each side of a connection (`open_connection` returns, and the handler
//! takes its first step, four iterations after the connect began; ours,
//! which makes the transport there and then, two). And `start_server`
//! resolves its address in a `gather` of coroutines (tasks of their own,
//! even for an address that needs no lookup), then sleeps one iteration:
//! it returns four iterations later; ours at once.
//!
//! Not compared, ours differing on purpose (the chapter's "From sock_recv
//! to streams"): a line over the limit, a cancelled `read_to_end`,
//! `wait_closed` cancelled in one of several waiters, and
//! `Server::wait_closed`, which waits for the connections as 3.12's does
//! (each case here awaits it only once its connection has gone, when both
//! answer at once). And two differences this comparison found, left out:
//!
//! - Bytes that come in the iteration right after the transport's reader
//!   last read some are read one iteration earlier by ours. The epoll
//!   selector keeps a readiness until an operation says "would block"
//!   (chapter 6, "Edges and levels"), so after a `recv` that got bytes,
//!   the loop runs the reader again at the next turn without asking the
//!   kernel; asyncio's level-triggered epoll reports the socket only if it
//!   has bytes when the loop selects. If the peer writes in that turn,
//!   after the select (here, a client task that runs before the reader),
//!   our reader finds the bytes in that turn, asyncio's in the next.
//!   Found in `readuntil_a_separator`, whose client wrote the second part
//!   two turns after the first: ours printed the handler's lines at c+3
//!   and c+4, asyncio at c+4 and c+5. It waits three turns: by then our
//!   reader has found the socket empty and rests, and both agree. The
//!   bytes, and the order of the lines, are the same either way.
//! - The words of an `IncompleteRead` from `readuntil`, which expected no
//!   count: asyncio says "4 bytes read on a total of undefined expected
//!   bytes", ours "4 bytes read before the end, and no separator". The
//!   fields, `partial` and `expected` (`None`), are the same and compared.
//!
//! On stage 4's fast tasks (stage 5's `fast` feature) the lines are
//! compared without their iterations: while callbacks are ready, that loop
//! looks at the selector once in 61 iterations, not in every one, and a
//! read that the selector's report wakes may come a turn or two later than
//! asyncio's. What the lines say, and their order, are the same.
//!
//! As in parity_stage06_sock.rs, the kernel must not decide the
//! iterations, so each case waits for it at agreed points, outside the
//! loop (`settle`, a blocking poll(2) the loop's selector does not see):
//! after a write, until the peer's socket is readable; after `write_eof`
//! or a close, until the peer's socket has the end of the stream
//! (`POLLRDHUP`, which comes after every byte sent before it). Our loop
//! runs on the real clock, asyncio's on a virtual clock that moves only
//! when a wait finds nothing; on each side a watchdog ten seconds away
//! turns a hang into a failure. No time is printed.

mod common;

use std::cell::Cell;
use std::future::Future;
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::pin::Pin;
use std::rc::Rc;

use demo_support::Transcript;
use stage01_generator_loop::RealClock;
use stage02_timed_events::AbstractEventLoop;
use stage03_read_readiness::{SelectorEventLoop, SelectorEvents};
use stage04_futures_tasks::{Event, FutureError, run_until_complete, task_outcome};
use stage05_cancellation::{create_task, yield_now};
use stage06_socket_io::{
    EpollSelector, StreamError, StreamReader, StreamWriter, open_connection, start_server,
};

use common::stage04::py_bool;
use common::stage06::{Until, py_bytes};

/// The script our loop is compared with.
const SCRIPT: &str = "stage06_streams.py";

/// How long a case may take before its watchdog fails it, in seconds.
const WATCHDOG: f64 = 10.0;

#[test]
fn the_script_prints_the_sections_compared_here() {
    common::assert_prints_sections(
        SCRIPT,
        &[
            "write_eof_then_read_to_the_end_both_ways",
            "readexactly_past_the_end",
            "readline_then_a_partial_last_line_at_the_end",
            "readuntil_a_separator",
        ],
    );
}

/// One side of a case: the server's handler or the client, given the
/// case and its end of the connection.
type Side = fn(Rc<Case>, StreamReader, StreamWriter) -> Pin<Box<dyn Future<Output = Outcome>>>;

/// How a side ends.
type Outcome = Result<(), StreamError>;

/// The script's `Case`: what the client and the server's handler share.
struct Case {
    event_loop: SelectorEventLoop,
    out: Transcript,
    /// The iteration lines count from.
    c: Cell<u64>,
    server_fd: Cell<RawFd>,
    client_fd: Cell<RawFd>,
    /// The handler has started, and goes on to its first read.
    started: Event,
    /// The handler lets the client go on (where a case needs it).
    step: Event,
    /// The handler has ended.
    ended: Event,
    server: Side,
    client: Side,
}

impl Case {
    /// The script's `say`: the line, and its iteration counted from c.
    fn say(&self, text: &str) {
        let iteration = self.event_loop.iterations() - self.c.get();
        self.out.say(format!("iteration c+{iteration}: {text}"));
    }
}

/// The script's `settle`, bounded by the watchdog's time.
fn settle(fd: RawFd, until: Until) {
    common::stage06::settle(fd, until, WATCHDOG);
}

/// Run a case, `server` as the handler of a server on a free port of
/// 127.0.0.1 and `client` connected to it, each to its end, on a new
/// epoll loop on the real clock, with a watchdog; compare what they say
/// with section `name` of the script.
fn run_section(name: &str, server: Side, client: Side) {
    let event_loop = SelectorEventLoop::with_selector(
        RealClock::new(),
        EpollSelector::new().expect("an epoll instance"),
    )
    .expect("a new loop");
    let out = Transcript::new();
    // The script's watchdog: stopped, the loop hands back a task that has
    // not ended, and the case fails.
    event_loop
        .call_later(WATCHDOG, |event_loop| event_loop.stop())
        .expect("an open loop");
    let case = Rc::new(Case {
        event_loop: event_loop.clone(),
        out: out.clone(),
        c: Cell::new(0),
        server_fd: Cell::new(-1),
        client_fd: Cell::new(-1),
        started: Event::new(),
        step: Event::new(),
        ended: Event::new(),
        server,
        client,
    });
    let main = create_task(&event_loop, main(case));
    let outcome = run_until_complete(&event_loop, main.expect("an open loop"));
    let outcome = task_outcome(outcome)
        .unwrap_or_else(|error| panic!("the case did not end in {WATCHDOG} s: {error}"));
    outcome.expect("main is not cancelled and does not fail");
    if common::on_stage04_fast_tasks() {
        compare_without_iterations(name, &out.lines());
    } else {
        common::compare_section(SCRIPT, name, &out.lines());
    }
}

/// On stage 4's fast tasks, what the lines say and their order, not their
/// iterations: while callbacks are ready, that loop looks at the selector
/// once in 61 iterations (stage 3's `BusyPoll`), not in every one as
/// asyncio's does, so a socket that became readable may wait a turn or
/// two for its reader. Every line here follows from the one before it
/// (a read from a write, a close from a read), so the order is the same.
fn compare_without_iterations(name: &str, ours: &[String]) {
    let Some(python) = common::python_section(SCRIPT, name) else {
        return;
    };
    let what = |line: &String| match line.split_once(": ") {
        Some((iteration, said)) if iteration.starts_with("iteration ") => said.to_string(),
        _ => line.clone(),
    };
    let python: Vec<String> = python.iter().map(what).collect();
    let ours: Vec<String> = ours.iter().map(what).collect();
    eprintln!(
        "section {name}, our loop, iterations left out:\n{}",
        ours.join("\n")
    );
    common::assert_same_lines(&python.join("\n"), &ours);
}

/// The script's `Case.run`'s `main`: the server, the client's connection,
/// iteration c once the handler has started; the client's side, then,
/// once the handler has ended, the client's close.
async fn main(case: Rc<Case>) -> Result<(), FutureError> {
    let handling = Rc::clone(&case);
    let handler = move |reader, writer| handle(Rc::clone(&handling), reader, writer);
    let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
    let server = start_server(handler, any_port).await?;
    let (reader, writer) = open_connection(server.local_addr()).await?;
    case.client_fd.set(writer.transport().fd());
    case.started.wait().await?;
    case.c.set(case.event_loop.iterations());
    case.say("client: connected; the server's handler waits");
    (case.client)(Rc::clone(&case), reader, writer.clone()).await?;
    case.ended.wait().await?;
    writer.close();
    writer.wait_closed().await?;
    case.say("client: closed");
    server.close();
    server.wait_closed().await?;
    Ok(())
}

/// The script's `Case.run`'s `handle`, the server's `client_connected`:
/// the case's server side, then its close. A failure of the side is a
/// line that the script does not print, so the comparison shows it.
async fn handle(case: Rc<Case>, reader: StreamReader, writer: StreamWriter) -> Outcome {
    case.server_fd.set(writer.transport().fd());
    case.started.set();
    if let Err(error) = (case.server)(Rc::clone(&case), reader, writer.clone()).await {
        case.say(&format!("server: failed: {error:?}"));
    }
    writer.close();
    writer.wait_closed().await?;
    // The client's next look finds the end of the stream.
    settle(case.client_fd.get(), Until::End);
    case.say("server: closed");
    case.ended.set();
    Ok(())
}

/// A few turns of the loop.
async fn turns(count: usize) -> Outcome {
    for _ in 0..count {
        yield_now().await.map_err(StreamError::Future)?;
    }
    Ok(())
}

/// The script's `incomplete`: an `IncompleteRead` by its fields, as
/// asyncio's `IncompleteReadError`; anything else as it is.
fn incomplete(error: &StreamError) -> String {
    match error {
        StreamError::IncompleteRead { partial, expected } => {
            let expected = expected.map_or_else(|| "None".to_string(), |n| n.to_string());
            let partial = py_bytes(partial);
            format!("IncompleteReadError: partial {partial}, expected {expected}")
        }
        other => format!("{other:?}"),
    }
}

#[test]
fn write_eof_then_read_to_the_end_both_ways() {
    run_section(
        "write_eof_then_read_to_the_end_both_ways",
        |case, reader, writer| {
            Box::pin(async move {
                let data = reader.read_to_end().await?;
                case.say(&format!("server: read(): {}", py_bytes(&data)));
                case.say(&format!("server: at_eof: {}", py_bool(reader.at_eof())));
                writer.write(format!("got {} bytes", data.len()).as_bytes())?;
                writer.write_eof()?;
                case.say("server: wrote b'got 12 bytes', then write_eof()");
                settle(case.client_fd.get(), Until::End);
                Ok(())
            })
        },
        |case, reader, writer| {
            Box::pin(async move {
                let can = py_bool(writer.can_write_eof());
                case.say(&format!("client: can_write_eof: {can}"));
                writer.write(b"hello, ")?;
                writer.write(b"world")?;
                writer.write_eof()?;
                case.say("client: wrote b'hello, ' and b'world', then write_eof()");
                settle(case.server_fd.get(), Until::End);
                case.say(&format!("client: at_eof: {}", py_bool(reader.at_eof())));
                let data = reader.read_to_end().await?;
                case.say(&format!("client: read(): {}", py_bytes(&data)));
                case.say(&format!("client: at_eof: {}", py_bool(reader.at_eof())));
                Ok(())
            })
        },
    );
}

#[test]
fn readexactly_past_the_end() {
    run_section(
        "readexactly_past_the_end",
        |case, reader, _writer| {
            Box::pin(async move {
                let four = reader.readexactly(4).await?;
                case.say(&format!("server: readexactly(4): {}", py_bytes(&four)));
                match reader.readexactly(5).await {
                    Ok(data) => case.say(&format!("server: readexactly(5): {}", py_bytes(&data))),
                    Err(error) => {
                        case.say(&format!("server: readexactly(5): {}", incomplete(&error)));
                        case.say(&format!("server: the error says: {error}"));
                    }
                }
                case.say(&format!("server: at_eof: {}", py_bool(reader.at_eof())));
                Ok(())
            })
        },
        |case, _reader, writer| {
            Box::pin(async move {
                writer.write(b"abcdef")?;
                writer.write_eof()?;
                case.say("client: wrote b'abcdef', then write_eof()");
                settle(case.server_fd.get(), Until::End);
                Ok(())
            })
        },
    );
}

#[test]
fn readline_then_a_partial_last_line_at_the_end() {
    run_section(
        "readline_then_a_partial_last_line_at_the_end",
        |case, reader, _writer| {
            Box::pin(async move {
                for _ in 0..2 {
                    let line = reader.readline().await?;
                    case.say(&format!("server: readline: {}", py_bytes(&line)));
                }
                case.step.set(); // two lines read, the third waited for
                for _ in 0..3 {
                    let line = reader.readline().await?;
                    case.say(&format!("server: readline: {}", py_bytes(&line)));
                }
                case.say(&format!("server: at_eof: {}", py_bool(reader.at_eof())));
                Ok(())
            })
        },
        |case, _reader, writer| {
            Box::pin(async move {
                writer.write(b"one\ntwo\nthr")?;
                case.say("client: wrote b'one\\ntwo\\nthr'");
                settle(case.server_fd.get(), Until::Readable);
                case.step.wait().await.map_err(StreamError::Future)?;
                writer.write(b"ee\nfour")?;
                writer.write_eof()?;
                case.say("client: wrote b'ee\\nfour', then write_eof()");
                settle(case.server_fd.get(), Until::End);
                Ok(())
            })
        },
    );
}

#[test]
fn readuntil_a_separator() {
    run_section(
        "readuntil_a_separator",
        |case, reader, _writer| {
            Box::pin(async move {
                let head = reader.readuntil(b"\r\n\r\n").await?;
                let head = py_bytes(&head);
                case.say(&format!("server: readuntil(b'\\r\\n\\r\\n'): {head}"));
                let body = reader.readuntil(b";").await?;
                case.say(&format!("server: readuntil(b';'): {}", py_bytes(&body)));
                match reader.readuntil(b";").await {
                    Ok(data) => case.say(&format!("server: readuntil(b';'): {}", py_bytes(&data))),
                    Err(error) => {
                        case.say(&format!("server: readuntil(b';'): {}", incomplete(&error)));
                    }
                }
                case.say(&format!("server: at_eof: {}", py_bool(reader.at_eof())));
                Ok(())
            })
        },
        |case, _reader, writer| {
            Box::pin(async move {
                writer.write(b"key: value\r\n\r")?;
                case.say("client: wrote b'key: value\\r\\n\\r'");
                settle(case.server_fd.get(), Until::Readable);
                // The handler has looked at it, found no separator, and
                // waits; and the transport's reader has found the socket
                // empty since (after two turns, ours would read the next
                // bytes one iteration before asyncio: see the top).
                turns(3).await?;
                writer.write(b"\nbody;tail")?;
                writer.write_eof()?;
                case.say("client: wrote b'\\nbody;tail', then write_eof()");
                settle(case.server_fd.get(), Until::End);
                Ok(())
            })
        },
    );
}
