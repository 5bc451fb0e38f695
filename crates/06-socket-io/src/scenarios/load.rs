//! Load: thousands of clients on one loop, against the echo server.
//!
//! Every asyncio tutorial says one thread serves thousands of connections;
//! this is the client that checks it, byte for byte. Nothing in asyncio is
//! this module: it is a client program, written as an asyncio program
//! would be, with `open_connection`, a `Semaphore` and `gather`, plus the
//! faults a real server meets: clients that reset mid-message, clients
//! that dawdle (slowloris), and a server shut down while they talk. The
//! example `ten_thousand` runs it against a server in another process.

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::ops::Range;
use std::rc::Rc;
use std::time::Duration;

use socket2::SockRef;
use stage04_futures_tasks::{Event, FutureError, Semaphore};
use stage05_cancellation::{gather_return_exceptions, yield_now};

use super::echo::{IDLE_FAREWELL, SHUTDOWN_FAREWELL};
use crate::streams::{StreamError, StreamReader, StreamWriter, open_connection};

/// How many connections are being made at a time. The server's kernel
/// queues connections it has not accepted yet, up to its listen backlog;
/// past that it drops the client's SYN, which the client's kernel sends
/// again only a second later. Ten thousand at once would be slower.
pub const CONNECTING_AT_ONCE: usize = 250;

/// What each client says first, to know the server holds its connection.
const HELLO: &[u8] = b"hello\n";

/// A client's open connection: it has said hello and heard it back, so
/// the server has accepted it and holds a task, a reader and a transport
/// for it.
pub struct Client {
    number: usize,
    reader: StreamReader,
    writer: StreamWriter,
}

/// What the clients saw.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    /// Clients whose whole exchange went as it should.
    pub served: usize,
    /// Bytes the served clients sent in their message.
    pub sent: usize,
    /// Of those, the bytes that came back as sent (after `echo: `).
    pub echoed: usize,
    /// Clients that reset their connection on purpose.
    pub reset: usize,
    /// Clients the server dropped for idling, with its goodbye.
    pub dropped_idle: usize,
    /// Clients the server told it was shutting down.
    pub told_shutdown: usize,
    /// Echoes that came back whole, before the server shut down.
    pub echoes: usize,
    /// Clients whose connection the server closed without a word.
    pub closed: usize,
    /// Anything else: what went wrong, one line per client.
    pub failures: Vec<String>,
}

impl Tally {
    /// Bytes sent and not echoed.
    pub fn lost(&self) -> usize {
        self.sent - self.echoed
    }

    fn add(&mut self, other: Tally) {
        self.served += other.served;
        self.sent += other.sent;
        self.echoed += other.echoed;
        self.reset += other.reset;
        self.dropped_idle += other.dropped_idle;
        self.told_shutdown += other.told_shutdown;
        self.echoes += other.echoes;
        self.closed += other.closed;
        self.failures.extend(other.failures);
    }
}

// ANCHOR: connect_all
/// Open `count` connections to the echo server at `address`, at most
/// [`CONNECTING_AT_ONCE`] connecting at a time, each in a task of its
/// own; each says hello and hears it back. Returns the clients open, and
/// what went wrong for the others.
///
/// # Errors
/// Outside a running loop.
pub async fn connect_all(
    address: SocketAddr,
    count: usize,
) -> Result<(Vec<Client>, Vec<String>), FutureError> {
    let connecting = Rc::new(Semaphore::new(CONNECTING_AT_ONCE));
    let clients = (0..count).map(|number| {
        let connecting = Rc::clone(&connecting);
        async move {
            let _turn = connecting.acquire().await?;
            Ok(Rc::new(Client::open(address, number).await?))
        }
    });
    let mut open = Vec::with_capacity(count);
    let mut failures = Vec::new();
    for outcome in gather_return_exceptions(clients)?.await? {
        match outcome.map(Rc::try_unwrap) {
            Ok(Ok(client)) => open.push(client),
            Ok(Err(_)) => unreachable!("gather holds no copy of a value it handed on"),
            Err(error) => failures.push(format!("connecting: {error}")),
        }
    }
    Ok((open, failures))
}
// ANCHOR_END: connect_all

impl Client {
    /// Connect, say hello, and hear it back.
    async fn open(address: SocketAddr, number: usize) -> Result<Client, FutureError> {
        let (reader, writer) = open_connection(address).await?;
        Client::greet(reader, writer, number).await
    }

    /// On a connection made: say hello, and hear it back.
    async fn greet(
        reader: StreamReader,
        writer: StreamWriter,
        number: usize,
    ) -> Result<Client, FutureError> {
        writer.write(HELLO)?;
        let answer = reader.readline().await?;
        if answer != b"echo: hello\n" {
            return Err(wrong_answer(&answer));
        }
        Ok(Client {
            number,
            reader,
            writer,
        })
    }

    /// Send a line of `size` bytes in `pieces` writes, check the answer
    /// to the byte, and close.
    async fn converse(self, size: usize, pieces: usize) -> Result<Tally, FutureError> {
        let line = line_of(self.number, size);
        send_in_pieces(&self.writer, &line, pieces).await?;
        let mut tally = Tally {
            sent: line.len(),
            ..Tally::default()
        };
        let answer = self.reader.readline().await?;
        let expected = [b"echo: ".as_slice(), &line].concat();
        if answer == expected {
            tally.echoed = line.len();
            tally.served = 1;
        } else {
            let failure = format!("client {}: {}", self.number, unexpected(&answer));
            tally.failures.push(failure);
        }
        self.writer.close();
        self.writer.wait_closed().await?;
        Ok(tally)
    }
}

/// The line client `number` sends: its number, then letters, `size`
/// bytes with the newline.
pub fn line_of(number: usize, size: usize) -> Vec<u8> {
    let mut line = format!("{number:06} ").into_bytes();
    line.extend((0..size.saturating_sub(line.len() + 1)).map(|i| b'a' + (i % 26) as u8));
    line.push(b'\n');
    line
}

// ANCHOR: exchange
/// Every client at once, each in a task of its own: send a line of
/// `size` bytes in `pieces` writes, a turn of the loop apart (so the
/// server reads it in several parts), and check the answer to the byte.
/// The first `reset` clients instead send half their line and reset the
/// connection. Every connection is closed after.
///
/// # Errors
/// Outside a running loop.
pub async fn exchange(
    clients: Vec<Client>,
    size: usize,
    pieces: usize,
    reset: usize,
) -> Result<Tally, FutureError> {
    let exchanges = clients.into_iter().map(|client| async move {
        if client.number >= reset {
            return client.converse(size, pieces).await;
        }
        let line = line_of(client.number, size);
        send_in_pieces(&client.writer, &line[..line.len() / 2], pieces / 2).await?;
        reset_connection(&client.writer);
        Ok(Tally {
            reset: 1,
            ..Tally::default()
        })
    });
    sum(gather_return_exceptions(exchanges)?.await?)
}
// ANCHOR_END: exchange

// ANCHOR: one_by_one
/// Clients numbered `numbers`, at most [`CONNECTING_AT_ONCE`] at a time, each
/// connecting, sending its line as in [`exchange`], and leaving once
/// answered: what a server short of descriptors can still serve, as each
/// client that leaves frees one. The first of them wait for each other to
/// be connected (the kernel completes a connection the server has not
/// accepted yet) before saying hello, so that a server with fewer
/// descriptors than [`CONNECTING_AT_ONCE`] surely runs out.
///
/// # Errors
/// Outside a running loop.
pub async fn one_by_one(
    address: SocketAddr,
    numbers: Range<usize>,
    size: usize,
    pieces: usize,
) -> Result<Tally, FutureError> {
    let connecting = Rc::new(Semaphore::new(CONNECTING_AT_ONCE));
    let first_wave = numbers.len().min(CONNECTING_AT_ONCE);
    let (connected, all_in) = (Rc::new(Cell::new(0)), Rc::new(Event::new()));
    let clients = numbers.map(|number| {
        let connecting = Rc::clone(&connecting);
        let (connected, all_in) = (Rc::clone(&connected), Rc::clone(&all_in));
        async move {
            let _turn = connecting.acquire().await?;
            let (reader, writer) = open_connection(address).await?;
            connected.set(connected.get() + 1);
            if connected.get() == first_wave {
                all_in.set();
            }
            all_in.wait().await?;
            let client = Client::greet(reader, writer, number).await?;
            client.converse(size, pieces).await
        }
    });
    sum(gather_return_exceptions(clients)?.await?)
}
// ANCHOR_END: one_by_one

/// `data` in `pieces` writes, each drained, a turn of the loop between.
async fn send_in_pieces(
    writer: &StreamWriter,
    data: &[u8],
    pieces: usize,
) -> Result<(), StreamError> {
    for piece in data.chunks(data.len().div_ceil(pieces.max(1)).max(1)) {
        writer.write(piece)?;
        writer.drain().await?;
        yield_now().await.map_err(StreamError::Future)?;
    }
    Ok(())
}

/// Close the connection with a reset (RST) instead of a goodbye (FIN):
/// linger zero, then close, as a client that crashes or gives up does.
fn reset_connection(writer: &StreamWriter) {
    let transport = writer.transport();
    transport.with_socket(|sock| SockRef::from(sock).set_linger(Some(Duration::ZERO)));
    transport.abort();
}

// ANCHOR: slowloris
/// `slow` clients that connect, send one byte of a line and nothing more
/// (slowloris), and expect the server to drop them with its goodbye for
/// idlers; meanwhile `normal` clients come one by one, as in
/// [`one_by_one`], and must be served.
///
/// # Errors
/// Outside a running loop.
pub async fn slowloris(
    address: SocketAddr,
    slow: usize,
    normal: usize,
    size: usize,
) -> Result<Tally, FutureError> {
    let connecting = Rc::new(Semaphore::new(CONNECTING_AT_ONCE));
    let dawdlers = (0..slow).map(|number| {
        let connecting = Rc::clone(&connecting);
        async move {
            let client = {
                let _turn = connecting.acquire().await?;
                Client::open(address, number).await?
            };
            client.writer.write(b"s")?;
            let mut tally = Tally::default();
            match client.hear_the_end().await? {
                End::Said(goodbye) if goodbye == IDLE_FAREWELL => tally.dropped_idle = 1,
                end => {
                    let failure = format!("slow client {number}: {}", end.describe());
                    tally.failures.push(failure);
                }
            }
            Ok(tally)
        }
    });
    let dropped = gather_return_exceptions(dawdlers)?;
    let served = one_by_one(address, slow..slow + normal, size, 2).await?;
    let mut tally = sum(dropped.await?)?;
    tally.add(served);
    Ok(tally)
}
// ANCHOR_END: slowloris

// ANCHOR: until_shutdown
/// Every client at once, each in a task of its own, sends its line and
/// reads the echo, again and again, until the server ends the
/// connection; once every client has had an echo, `shut_down` is called
/// (the example sends the server a Ctrl-C). Each must then be told the
/// server is shutting down, or closed cleanly: a line sent as the server
/// gave up is answered with the goodbye, never with a reset; an answer
/// that is neither the echo nor the goodbye is a failure.
///
/// # Errors
/// Outside a running loop.
pub async fn until_shutdown(
    clients: Vec<Client>,
    size: usize,
    shut_down: impl FnOnce() + 'static,
) -> Result<Tally, FutureError> {
    let everyone = clients.len();
    let echoed_once = Rc::new(Cell::new(0));
    let shut_down = Rc::new(RefCell::new(Some(shut_down)));
    let conversations = clients.into_iter().map(|client| {
        let (echoed_once, shut_down) = (Rc::clone(&echoed_once), Rc::clone(&shut_down));
        async move {
            let line = line_of(client.number, size);
            let expected = [b"echo: ".as_slice(), &line].concat();
            let mut tally = Tally::default();
            loop {
                send_in_pieces(&client.writer, &line, 2).await?;
                let answer = client.reader.readline().await?;
                if answer != expected {
                    let number = client.number;
                    let end = client.hear_the_end_after(answer).await?;
                    match end {
                        End::Said(goodbye) if goodbye == SHUTDOWN_FAREWELL => {
                            tally.told_shutdown = 1;
                        }
                        End::Closed => tally.closed = 1,
                        end => tally
                            .failures
                            .push(format!("client {number}: {}", end.describe())),
                    }
                    return Ok(tally);
                }
                tally.sent += line.len();
                tally.echoed += line.len();
                tally.echoes += 1;
                if tally.echoes == 1 {
                    echoed_once.set(echoed_once.get() + 1);
                    if echoed_once.get() == everyone {
                        if let Some(shut_down) = shut_down.borrow_mut().take() {
                            shut_down();
                        }
                    }
                }
            }
        }
    });
    sum(gather_return_exceptions(conversations)?.await?)
}
// ANCHOR_END: until_shutdown

/// How the server ended a connection.
enum End {
    /// With a line, then the end of the stream.
    Said(String),
    /// With the end of the stream, no word.
    Closed,
    /// Otherwise: more than a line, or an error.
    Other(String),
}

impl End {
    fn describe(&self) -> String {
        match self {
            End::Said(line) => format!("the server said {line:?}"),
            End::Closed => "the server closed the connection".into(),
            End::Other(what) => what.clone(),
        }
    }
}

impl Client {
    /// Read to the end of the stream, how the server ended it; then close.
    async fn hear_the_end(self) -> Result<End, FutureError> {
        self.hear_the_end_after(Vec::new()).await
    }

    /// [`hear_the_end`](Self::hear_the_end), `first` having come already.
    async fn hear_the_end_after(self, first: Vec<u8>) -> Result<End, FutureError> {
        let rest = self.reader.read_to_end().await;
        self.writer.close();
        let said = match rest {
            Ok(rest) => [first, rest].concat(),
            Err(error) => return Ok(End::Other(error.to_string())),
        };
        let text = String::from_utf8_lossy(&said);
        Ok(match text.split_once('\n') {
            None if text.is_empty() => End::Closed,
            Some((line, "")) => End::Said(line.to_string()),
            _ => End::Other(format!("{:?}", &text[..text.len().min(60)])),
        })
    }
}

/// The clients' tallies added up; a client that failed outright is a
/// failure.
fn sum(outcomes: Vec<Result<Tally, FutureError>>) -> Result<Tally, FutureError> {
    let mut total = Tally::default();
    for outcome in outcomes {
        match outcome {
            Ok(tally) => total.add(tally),
            Err(FutureError::Cancelled) => return Err(FutureError::Cancelled),
            Err(error) => total.failures.push(error.to_string()),
        }
    }
    Ok(total)
}

/// An answer that was not the one expected, said shortened.
fn unexpected(answer: &[u8]) -> String {
    let start = String::from_utf8_lossy(&answer[..answer.len().min(40)]).into_owned();
    format!("{} bytes came back, starting {start:?}", answer.len())
}

/// An answer that was not the one expected, as an error.
fn wrong_answer(answer: &[u8]) -> FutureError {
    FutureError::Exception(Rc::new(std::io::Error::other(unexpected(answer))))
}
