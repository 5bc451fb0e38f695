//! Scenario 15 on a real socket: don't synchronise by timing.
//!
//! From the thread about chunked HTTP in Elixir beside the Stack Overflow
//! question "How does asyncio enable parallel IO waits?": a handler
//! answers a GET with a chunked response, "Start", a chunk from each of
//! ten workers, "End", and must keep the response open until the last
//! worker's chunk is in. Ended at once, it reads "StartEnd". Stage 4
//! simulated it (`stage04_futures_tasks::scenarios::chunked_response`);
//! here it is an HTTP/1.1 server on this stage's streams, which `curl -N`
//! reads as the chunks come, and a client of our own that does the same.
//!
//! The chunked transfer coding is HTTP/1.1's (RFC 9112, section 7.1):
//! each chunk is its size in hexadecimal, CRLF, the bytes, CRLF; a chunk
//! of size zero ends the body, and with it the response.
//!
//! The ten workers (stage 5 tasks) work at the same time, for different
//! times, and finish out of order. Each then waits for its turn (the
//! worker before it has reported: an event, not a clock) and reports on
//! one first-in, first-out [`Queue`]; so the reports come off it 1 to 10.
//! Behind the last of them, on the same queue, travels the
//! acknowledgement that every worker is done. The handler writes each
//! report as a chunk as it takes it off, and "End" only once it takes the
//! acknowledgement: no chunk can be behind it.

use std::error::Error;
use std::fmt;
use std::net::SocketAddr;
use std::rc::Rc;

use demo_support::Transcript;
use stage01_generator_loop::Clock;
use stage02_timed_events::{AbstractEventLoop, LoopError, get_running_loop};
use stage03_read_readiness::SelectorEventLoop;
use stage04_futures_tasks::{Event, FutureError, Queue};
use stage05_cancellation::{Runner, create_task, gather_return_exceptions, sleep, wait_for};

use super::stamp;
use crate::EpollSelector;
use crate::server::{Server, start_server};
use crate::streams::{StreamError, StreamReader, StreamWriter, open_connection};

/// How many workers make a chunk each, numbered from 1.
pub const WORKERS: u32 = 10;

/// How long worker `n` works, in seconds: from 0.1 s to 1 s, in pairs
/// that finish the wrong way round (2 before 1, 4 before 3, ...).
pub fn work_time(n: u32) -> f64 {
    let tenths = if n % 2 == 1 { n + 1 } else { n - 1 };
    f64::from(tenths) / 10.0
}

// ANCHOR: end
/// How the handler decides that the response is complete.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum End {
    /// Right: when it takes the acknowledgement off the queue, behind the
    /// last report.
    AfterAcknowledgement,
    /// Wrong: at once, without waiting for anything (the Elixir thread's
    /// "StartEnd").
    AtOnce,
    /// Wrong: after sleeping this many seconds, a guess at "long enough".
    AfterSleeping(f64),
}
// ANCHOR_END: end

/// The head of the response: its status, and that its body comes in
/// chunks and the connection closes after it.
const CHUNKED_HEAD: &[u8] = b"HTTP/1.1 200 OK\r\n\
    Content-Type: text/plain\r\n\
    Transfer-Encoding: chunked\r\n\
    Connection: close\r\n\r\n";

/// The chunk of size zero, with no trailer after it: the end of the body.
const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// A request this server does not understand.
pub(super) const BAD_REQUEST: &[u8] =
    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

/// A request for anything but a GET.
const NOT_ALLOWED: &[u8] = b"HTTP/1.1 405 Method Not Allowed\r\n\
    Allow: GET\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

// ANCHOR: serve_chunked
/// Listen on `address` and answer every GET with the chunked response
/// of ten workers, ended as `end` says; one line on `log` for each.
///
/// # Errors
/// As [`start_server`]: the address in use, or no running loop.
pub async fn serve_chunked(
    end: End,
    address: SocketAddr,
    log: &Transcript,
) -> Result<Server, StreamError> {
    let log = log.clone();
    start_server(
        move |reader, writer| respond(reader, writer, end, log.clone()),
        address,
    )
    .await
}
// ANCHOR_END: serve_chunked

// ANCHOR: respond
/// One connection: read the request, and answer it with "Start", the
/// workers' chunks in the order they come off the queue, and "End".
async fn respond(
    reader: StreamReader,
    writer: StreamWriter,
    end: End,
    log: Transcript,
) -> Result<(), StreamError> {
    let event_loop = get_running_loop::<SelectorEventLoop>().map_err(StreamError::Loop)?;
    let request = match read_request(&reader).await {
        Ok(request) => request,
        Err(HttpError::Malformed(_)) => return answer(&writer, BAD_REQUEST).await,
        Err(HttpError::Stream(error)) => return Err(error),
    };
    if request.method != "GET" {
        return answer(&writer, NOT_ALLOWED).await;
    }
    let started = event_loop.time();
    writer.write(CHUNKED_HEAD)?;
    writer.write(&chunk("Start"))?;
    let queue = Queue::new(0);
    start_workers(&event_loop, &queue).map_err(StreamError::Loop)?;
    match end {
        End::AfterAcknowledgement => write_reports(&queue, &writer).await?,
        End::AtOnce | End::AfterSleeping(_) => {
            // The handler takes nothing off the queue: a task of its own
            // writes the reports meanwhile, until the response has ended
            // and the writer refuses them.
            let (queue, writer) = (queue.clone(), writer.clone());
            let writing = create_task(&event_loop, async move {
                let _refused = write_reports(&queue, &writer).await;
                Ok(())
            });
            writing.map_err(StreamError::Loop)?;
            if let End::AfterSleeping(nap) = end {
                sleep(nap, ()).await.map_err(StreamError::Future)?;
            }
        }
    }
    writer.write(&chunk("End"))?;
    writer.write(LAST_CHUNK)?;
    writer.drain().await?;
    writer.close();
    let took = event_loop.time() - started;
    let peer = writer
        .peer_addr()
        .map_or("?".to_string(), |peer| peer.to_string());
    let what = format!("{} {}", request.method, request.target);
    stamp(
        &log,
        &event_loop,
        &format!("{peer}: {what}, ended after {took:.3} s"),
    );
    Ok(())
}

/// Write each report as a chunk, in the order they come off `queue`,
/// until the acknowledgement.
async fn write_reports(queue: &Queue<Report>, writer: &StreamWriter) -> Result<(), StreamError> {
    while let Report::Chunk(n) = queue.get().await.map_err(StreamError::Future)? {
        writer.write(&chunk(&n.to_string()))?;
        writer.drain().await?;
    }
    Ok(())
}
// ANCHOR_END: respond

// ANCHOR: workers
/// What travels on the queue, in this order: the workers' reports, then
/// the acknowledgement.
enum Report {
    /// Worker `n` has made its chunk.
    Chunk(u32),
    /// Every worker has ended: nothing comes after this.
    AllDone,
}

/// Start the workers, and the task that puts the acknowledgement behind
/// their reports. Worker `n` works [`work_time`]`(n)` seconds, then waits
/// for its turn, then reports.
fn start_workers(event_loop: &SelectorEventLoop, queue: &Queue<Report>) -> Result<(), LoopError> {
    let mut workers = Vec::new();
    let mut turn = Event::new();
    turn.set(); // worker 1 waits for nobody
    for n in 1..=WORKERS {
        let (mine, next) = (turn, Event::new());
        turn = next.clone();
        let queue = queue.clone();
        workers.push(create_task(event_loop, async move {
            // However this worker ends (reported, failed, cancelled), the
            // next one's turn comes: a missing chunk holds up no other.
            let _pass = PassTurn(next);
            sleep(work_time(n), ()).await?; // the work, beside the others'
            mine.wait().await?; // the worker before has reported
            queue.put(Report::Chunk(n)).await
        })?);
    }
    let queue = queue.clone();
    create_task(event_loop, async move {
        // Each worker reported before it ended, so once all have ended,
        // every report is on the queue, and this goes in behind the last.
        // All of them, even after a failure: `gather` would answer at the
        // first, and the acknowledgement could overtake a report.
        let _outcomes = gather_return_exceptions(workers)?.await?;
        queue.put(Report::AllDone).await
    })?;
    Ok(())
}

/// Lets the next worker report, when dropped.
struct PassTurn(Event);

impl Drop for PassTurn {
    fn drop(&mut self) {
        self.0.set();
    }
}
// ANCHOR_END: workers

/// `text` as one chunk of a chunked body.
fn chunk(text: &str) -> Vec<u8> {
    format!("{:X}\r\n{text}\r\n", text.len()).into_bytes()
}

/// Write a whole response, and close.
pub(super) async fn answer(writer: &StreamWriter, response: &[u8]) -> Result<(), StreamError> {
    writer.write(response)?;
    writer.drain().await?;
    writer.close();
    Ok(())
}

/// What a server needs of a request: the first line's method and target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `GET`, say.
    pub method: String,
    /// The path asked for, such as `/`.
    pub target: String,
}

/// Read a request's head: its first line (`GET / HTTP/1.1`), then the
/// header lines, up to the empty line that ends them. Headers are read
/// and not kept: these servers need none.
///
/// # Errors
/// `Malformed` for a first line of other than three words, or a head the
/// client ends before its empty line; `Stream` if reading fails.
pub async fn read_request(reader: &StreamReader) -> Result<Request, HttpError> {
    let line = text(reader.readline().await?);
    let words: Vec<&str> = line.split_whitespace().collect();
    let [method, target, version] = words[..] else {
        return Err(HttpError::Malformed(format!("request line {line:?}")));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(HttpError::Malformed(format!("version {version:?}")));
    }
    let request = Request {
        method: method.to_string(),
        target: target.to_string(),
    };
    skip_headers(reader).await?;
    Ok(request)
}

/// Read header lines up to the empty one that ends them.
async fn skip_headers(reader: &StreamReader) -> Result<(), HttpError> {
    loop {
        let line = reader.readline().await?;
        if line.is_empty() {
            return Err(HttpError::Malformed("the head ends early".to_string()));
        }
        if text(line).is_empty() {
            return Ok(());
        }
    }
}

/// A line as text, without its line end.
fn text(line: Vec<u8>) -> String {
    String::from_utf8_lossy(&line).trim_end().to_string()
}

// ANCHOR: client
/// One chunk of a body, as a client received it.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    /// The loop's time when it was read, in seconds.
    pub at: f64,
    /// Its bytes, as text.
    pub data: String,
}

/// A chunked body, as a client received it.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    /// The chunks, in order.
    pub chunks: Vec<Chunk>,
    /// The loop's time when the last chunk (of size zero) was read.
    pub ended_at: f64,
}

impl Received {
    /// The whole body.
    pub fn body(&self) -> String {
        self.chunks
            .iter()
            .map(|chunk| chunk.data.as_str())
            .collect()
    }
}

/// GET `path` from the server at `address`, and read the chunked body
/// that answers it, noting when each chunk came.
///
/// # Errors
/// `Malformed` if the answer is not a chunked 200 response; `Stream` if
/// the connection fails or ends early.
pub async fn get_chunked(address: SocketAddr, path: &str) -> Result<Received, HttpError> {
    let event_loop = get_running_loop::<SelectorEventLoop>().map_err(StreamError::Loop)?;
    let (reader, writer) = open_connection(address).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    writer.write(request.as_bytes())?;
    let status = text(reader.readline().await?);
    if !status.starts_with("HTTP/1.1 200 ") {
        return Err(HttpError::Malformed(format!("status line {status:?}")));
    }
    let mut chunked = false;
    loop {
        let header = text(reader.readline().await?);
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').unwrap_or((&header, ""));
        chunked |= name.eq_ignore_ascii_case("transfer-encoding")
            && value.trim().eq_ignore_ascii_case("chunked");
    }
    if !chunked {
        return Err(HttpError::Malformed("the body is not chunked".to_string()));
    }
    let mut chunks = Vec::new();
    loop {
        let size_line = text(reader.readline().await?);
        // A size may be followed by extensions (`;name=value`): ignored.
        let digits = size_line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(digits, 16)
            .map_err(|_| HttpError::Malformed(format!("chunk size {size_line:?}")))?;
        if size == 0 {
            skip_headers(&reader).await?; // the trailer: none, here
            let ended_at = event_loop.time();
            return Ok(Received { chunks, ended_at });
        }
        let mut data = reader.readexactly(size + 2).await?;
        if !data.ends_with(b"\r\n") {
            return Err(HttpError::Malformed("a chunk without its CRLF".to_string()));
        }
        data.truncate(size);
        let data = String::from_utf8_lossy(&data).into_owned();
        chunks.push(Chunk {
            at: event_loop.time(),
            data,
        });
    }
}
// ANCHOR_END: client

/// What the HTTP pieces of this stage's scenarios can meet.
#[derive(Debug)]
pub enum HttpError {
    /// The stream failed or ended.
    Stream(StreamError),
    /// The other side does not speak HTTP/1.1 as this one expects.
    Malformed(String),
}

impl From<StreamError> for HttpError {
    fn from(error: StreamError) -> Self {
        HttpError::Stream(error)
    }
}

/// In a task's coroutine, `?` passes a cancellation on as one.
impl From<HttpError> for FutureError {
    fn from(error: HttpError) -> Self {
        match error {
            HttpError::Stream(error) => error.into(),
            malformed => FutureError::Exception(Rc::new(malformed)),
        }
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Stream(error) => write!(f, "{error}"),
            HttpError::Malformed(what) => write!(f, "not HTTP as expected: {what}"),
        }
    }
}

impl Error for HttpError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            HttpError::Stream(error) => Some(error),
            HttpError::Malformed(_) => None,
        }
    }
}

impl fmt::Display for End {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            End::AfterAcknowledgement => write!(f, "after the acknowledgement"),
            End::AtOnce => write!(f, "at once"),
            End::AfterSleeping(nap) => write!(f, "after sleeping {nap} s"),
        }
    }
}

/// How many seconds of its clock a scenario's exchange may take before it
/// is given up: a second or so is what it needs, and a hang (which no
/// right program has) becomes a timeout error instead.
pub const GIVE_UP_AFTER: f64 = 10.0;

/// 127.0.0.1, on a port the kernel picks.
pub(super) fn any_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

// ANCHOR: receive
/// Serve one response ended as `end`, and read it with [`get_chunked`],
/// both on one epoll loop on `clock`, run by a stage 5 [`Runner`] (which
/// cancels, as it closes, the workers that a wrong handler left at work).
///
/// # Errors
/// If the loop cannot be had, or the server or the client fails, or the
/// exchange is not over after [`GIVE_UP_AFTER`] seconds.
pub fn receive(clock: impl Clock + 'static, end: End) -> Result<Received, Box<dyn Error>> {
    let runner = Runner::with_selector(clock, EpollSelector::new()?)?;
    let exchange = async move {
        let server = serve_chunked(end, any_port(), &Transcript::new()).await?;
        let received = get_chunked(server.local_addr(), "/").await?;
        server.close();
        server.wait_closed().await?;
        Ok(received)
    };
    let received = runner.run(wait_for(exchange, Some(GIVE_UP_AFTER)));
    let closed = runner.close();
    let received = received?;
    closed?;
    Ok(received)
}
// ANCHOR_END: receive

/// Scenario 15: what the client reads, chunk by chunk, from the right
/// handler; then the body each way of ending the response gives. Each on
/// a fresh clock from `new_clock`.
///
/// # Errors
/// As [`receive`].
pub fn chunked_response<C: Clock + 'static>(
    new_clock: impl Fn() -> C,
    out: &Transcript,
) -> Result<(), Box<dyn Error>> {
    out.say(format!(
        "Scenario 15 on a real socket: {WORKERS} workers answer GET / in chunks"
    ));
    let times: Vec<String> = (1..=WORKERS)
        .map(|n| format!("{:.1}", work_time(n)))
        .collect();
    out.say(format!(
        "  worker n works {} s, for n = 1 to {WORKERS}",
        times.join(" ")
    ));

    out.say("\nWhat the client reads, the response ended after the acknowledgement:");
    let right = receive(new_clock(), End::AfterAcknowledgement)?;
    let mut lines: Vec<(f64, Vec<&str>)> = Vec::new();
    for chunk in &right.chunks {
        match lines.last_mut() {
            Some((at, data)) if *at == chunk.at => data.push(&chunk.data),
            _ => lines.push((chunk.at, vec![&chunk.data])),
        }
    }
    for (at, data) in lines {
        out.say(format!("  {at:6.3}  {}", data.join(" ")));
    }

    out.say("\nThe body, each way of ending the response:");
    for end in [
        End::AfterAcknowledgement,
        End::AtOnce,
        End::AfterSleeping(0.5),
        End::AfterSleeping(1.5),
    ] {
        let received = receive(new_clock(), end)?;
        out.say(format!(
            "  {:<27} {:<21} complete at {:.3} s",
            end.to_string(),
            received.body(),
            received.ended_at
        ));
    }
    Ok(())
}
