//! Scenario 5 (read readiness), from the Stack Overflow question "How does
//! asyncio enable parallel IO waits?", and a session that reads what you
//! type while a ticker ticks, as functions the demo, the tests and the book
//! all run. Each writes what it prints to a [`Transcript`].
//!
//! Everything runs in one thread, on one loop. Timer callbacks write into a
//! pipe and a socket pair, coroutines read them, and the loop, waiting in
//! `select` or `poll` with the next timer's deadline as the timeout, resumes
//! whichever is ready. On the virtual clock the run is exact and the same
//! every time; on the real clock a thread writes into a second pipe as well.

use std::cell::Cell;
use std::fs::File;
use std::future::Future;
use std::io::{self, Read, Seek, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use demo_support::{Mark, Timeline, Transcript};
use stage01_generator_loop::{AsyncCoroutine, Clock, Yielder};
use stage02_timed_events::{
    AbstractEventLoop, LoopError, RunCoroutines, get_running_loop, sleep, sleep_until,
};

use crate::events::{IoEvent, read};
use crate::selector::{Selector, SelectorError};
use crate::selector_events::{ReaderWriter, SelectorEventLoop, SelectorEvents};

/// How often the ticker ticks.
pub const TICK: Duration = Duration::from_millis(250);
/// The messages the timer callbacks write into the pipe, one per
/// [`PIPE_EVERY`]; the pipe is closed after the last.
pub const PIPE_MESSAGES: [&str; 3] = ["message 1\n", "message 2\n", "message 3\n"];
/// How far apart the pipe's messages are written.
pub const PIPE_EVERY: Duration = Duration::from_millis(300);
/// The most bytes each read of a pipe asks for: more than any message.
pub const PIPE_CHUNK: usize = 64;
/// What a timer callback writes into the socket pair, all at once, at
/// [`SOCKET_WRITE`]; longer than [`SOCKET_CHUNK`], so it takes several reads.
pub const SOCKET_MESSAGE: &str = "one write, read 16 bytes at a time\n";
/// When the socket's message is written.
pub const SOCKET_WRITE: Duration = Duration::from_millis(450);
/// When the writing end of the socket pair is closed.
pub const SOCKET_CLOSE: Duration = Duration::from_millis(1200);
/// The most bytes each read of the socket asks for.
pub const SOCKET_CHUNK: usize = 16;
/// How many bytes each read of `/dev/urandom` asks for.
pub const RANDOM_BYTES: usize = 16;
/// How many times `/dev/urandom` is read, [`RANDOM_EVERY`] apart.
pub const RANDOM_READS: u32 = 3;
/// How far apart `/dev/urandom` is read.
pub const RANDOM_EVERY: Duration = Duration::from_millis(500);
/// The size of the regular file read through.
pub const FILE_SIZE: usize = 30_000;
/// The most bytes each read of the regular file asks for.
pub const FILE_CHUNK: usize = 100;
/// How long each read of the regular file takes: a slow disk. The read
/// blocks the thread, and so the loop, for this long.
pub const DISK_READ: Duration = Duration::from_millis(1);
/// The most bytes each read of standard input asks for: a long typed line.
pub const LINE_CHUNK: usize = 1024;
/// How many times the regular file is read at its end: each read gets 0
/// bytes, and each wait before it ends at once all the same.
pub const READS_AT_THE_END: u32 = 3;

/// Why a scenario stopped: its loop, or the I/O of one of its tasks.
#[derive(Debug)]
pub enum ScenarioError {
    /// The loop refused or failed.
    Loop(LoopError),
    /// The selector refused to watch a descriptor.
    Selector(SelectorError),
    /// A read, a write, or opening what is read, failed.
    Io(io::Error),
}

impl std::fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScenarioError::Loop(error) => write!(f, "the loop stopped: {error}"),
            ScenarioError::Selector(error) => write!(f, "the selector refused: {error}"),
            ScenarioError::Io(error) => write!(f, "a task's I/O failed: {error}"),
        }
    }
}

impl std::error::Error for ScenarioError {}

impl From<LoopError> for ScenarioError {
    fn from(error: LoopError) -> Self {
        ScenarioError::Loop(error)
    }
}

impl From<SelectorError> for ScenarioError {
    fn from(error: SelectorError) -> Self {
        ScenarioError::Selector(error)
    }
}

impl From<io::Error> for ScenarioError {
    fn from(error: io::Error) -> Self {
        ScenarioError::Io(error)
    }
}

/// What every task here returns.
type Body = Pin<Box<dyn Future<Output = io::Result<()>>>>;
/// A task: a named coroutine that yields [`IoEvent`]s.
type Task = (String, AsyncCoroutine<Body, IoEvent>);

/// A task called `name`, running `body`.
fn task<F>(name: &str, body: impl FnOnce(Yielder<IoEvent>) -> F) -> Task
where
    F: Future<Output = io::Result<()>> + 'static,
{
    let coroutine = AsyncCoroutine::new(|co| Box::pin(body(co)) as Body);
    (name.to_string(), coroutine)
}

/// How many readers are still reading: the ticker ticks until none are.
/// (Stopping it at once would take cancellation, which is stage 5's.)
#[derive(Clone, Default)]
struct Readers(Rc<Cell<usize>>);

impl Readers {
    /// A task called `name`, running `body`, counted as a reader until its
    /// body is done.
    fn task<F>(&self, name: &str, body: impl FnOnce(Yielder<IoEvent>) -> F) -> Task
    where
        F: Future<Output = io::Result<()>> + 'static,
    {
        let readers = self.clone();
        readers.0.set(readers.0.get() + 1);
        task(name, |co| {
            let body = body(co);
            async move {
                let outcome = body.await;
                readers.0.set(readers.0.get() - 1);
                outcome
            }
        })
    }

    fn busy(&self) -> bool {
        self.0.get() > 0
    }
}

// ANCHOR: ticker
/// The background sleeper: ticks every `every`, on a fixed grid so that a
/// late tick does not delay the next, until no reader is left. Each line
/// says when the tick was due, to compare with when it came.
async fn ticker(
    co: Yielder<IoEvent>,
    every: Duration,
    readers: Readers,
    out: Transcript,
) -> io::Result<()> {
    let start = co.now();
    let mut ticks = 0;
    while readers.busy() {
        ticks += 1;
        let due = start + every * ticks;
        sleep_until(&co, due).await;
        let due = due.as_secs_f64();
        out.at(co.now(), &format!("tick {ticks} (due {due:.3})"));
    }
    Ok(())
}
// ANCHOR_END: ticker

// ANCHOR: stream_reader
/// Read `source` until its end, printing what each read got, as text.
async fn print_until_end<R: Read + AsRawFd>(
    co: Yielder<IoEvent>,
    name: &str,
    mut source: R,
    max: usize,
    out: Transcript,
) -> io::Result<()> {
    loop {
        let data = read(&co, &mut source, max).await?;
        if data.is_empty() {
            out.at(co.now(), &format!("{name}: end of file"));
            return Ok(());
        }
        let text = String::from_utf8_lossy(&data);
        let count = data.len();
        out.at(co.now(), &format!("{name}: {text:?} ({count} bytes)"));
    }
}
// ANCHOR_END: stream_reader

/// Read `/dev/urandom` a few times, printing only how much each read got.
async fn random_reader(co: Yielder<IoEvent>, mut random: File, out: Transcript) -> io::Result<()> {
    for n in 1..=RANDOM_READS {
        let data = read(&co, &mut random, RANDOM_BYTES).await?;
        out.at(co.now(), &format!("urandom: {} bytes", data.len()));
        if n < RANDOM_READS {
            sleep(&co, RANDOM_EVERY).await;
        }
    }
    Ok(())
}

// ANCHOR: file_reader
/// Read a regular file through, then a few times at its end, counting
/// the waits for readability that ended in the very next iteration of the
/// loop: for a regular file, all of them.
async fn file_reader<C: Clock>(
    co: Yielder<IoEvent>,
    mut file: File,
    disk: C,
    out: Transcript,
) -> io::Result<()> {
    let event_loop = get_running_loop::<SelectorEventLoop>().map_err(io::Error::other)?;
    let (mut bytes, mut reads, mut waits, mut at_once) = (0, 0, 0, 0);
    let mut ends = 0;
    while ends < READS_AT_THE_END {
        let before = event_loop.iterations();
        let data = read(&co, &mut file, FILE_CHUNK).await?;
        waits += 1;
        if event_loop.iterations() == before + 1 {
            at_once += 1;
        }
        if data.is_empty() {
            ends += 1;
            continue;
        }
        // Stand-in for a slow disk: the read blocks the whole thread, and
        // with it the loop. On the virtual clock, the clock moves as much.
        disk.sleep(DISK_READ);
        bytes += data.len();
        reads += 1;
    }
    let ms = DISK_READ.as_millis();
    let summary = [
        format!(
            "file: {bytes} bytes in {reads} reads, each blocking the loop {ms} ms (a slow disk)"
        ),
        format!("file: at its end, still ready: {ends} reads of 0 bytes"),
        format!("file: {at_once} of {waits} waits for readability ended in the next iteration"),
    ];
    for line in summary {
        out.at(co.now(), &line);
    }
    Ok(())
}
// ANCHOR_END: file_reader

// ANCHOR: feeders
/// A timer callback [`PIPE_EVERY`] from now that writes the first of `messages`
/// into `pipe` and schedules the next; after the last it drops `pipe`,
/// closing it, and the reader sees the end of the file.
fn feed_pipe(event_loop: &SelectorEventLoop, mut pipe: File, messages: &'static [&'static str]) {
    let Some((first, rest)) = messages.split_first() else {
        return;
    };
    let delay = PIPE_EVERY.as_secs_f64();
    let write_next = move |event_loop: &SelectorEventLoop| {
        pipe.write_all(first.as_bytes())
            .expect("a pipe with a reader takes a short write");
        feed_pipe(event_loop, pipe, rest);
    };
    event_loop
        .call_later(delay, write_next)
        .expect("the loop is open");
}

/// Timer callbacks that write [`SOCKET_MESSAGE`] into `socket` at
/// [`SOCKET_WRITE`], then close it at [`SOCKET_CLOSE`].
fn feed_socket(event_loop: &SelectorEventLoop, mut socket: UnixStream) {
    let write_at = SOCKET_WRITE.as_secs_f64();
    let close_at = SOCKET_CLOSE.as_secs_f64();
    let write = move |event_loop: &SelectorEventLoop| {
        socket
            .write_all(SOCKET_MESSAGE.as_bytes())
            .expect("a socket with a reader takes a short write");
        event_loop
            .call_at(close_at, move |_| drop(socket))
            .expect("the loop is open");
    };
    event_loop
        .call_at(write_at, write)
        .expect("the loop is open");
}

/// A thread that writes into `pipe` a few times, then closes it: on the real
/// clock only, since when it writes is up to the operating system. Each
/// write wakes the loop if it is waiting in `select`: no other signal needed.
fn feed_pipe_from_a_thread(mut pipe: File) {
    std::thread::spawn(move || {
        for n in 1..=3 {
            std::thread::sleep(Duration::from_millis(350));
            let line = format!("from a thread {n}\n");
            // One write, so the reader never sees half a line. If the loop
            // has stopped, the reader is gone: there is no one to tell.
            let _ = pipe.write_all(line.as_bytes());
        }
    });
}
// ANCHOR_END: feeders

// ANCHOR: read_readiness
/// Scenario 5, recording on `timeline`: a ticker ticks every [`TICK`] while
/// coroutines read from a pipe and a socket pair that timer callbacks write
/// into, from `/dev/urandom`, and from a regular file, which is always
/// ready. On a real clock, a thread writes into a second pipe as well.
/// `clock` is also the slow disk's: each read of the file sleeps on it for
/// [`DISK_READ`].
pub fn read_readiness<C: Clock + Clone + 'static>(
    clock: C,
    selector: impl Selector<Data = ReaderWriter> + 'static,
    out: &Transcript,
    timeline: &Timeline,
) -> Result<(), ScenarioError> {
    out.say("Scenario 5: a ticker every 0.25 s, while coroutines read from a pipe, a socket");
    out.say("pair, /dev/urandom and a regular file, all in one thread");
    let event_loop = SelectorEventLoop::with_selector(clock.clone(), selector)?;
    event_loop.set_timeline(timeline.clone());
    let readers = Readers::default();
    let mut tasks = vec![task("ticker", |co| {
        ticker(co, TICK, readers.clone(), out.clone())
    })];
    let reading = reading_tasks(&event_loop, clock, &readers, out)?;
    tasks.extend(reading);
    for outcome in event_loop.gather(tasks)? {
        outcome?;
    }
    let found_ready = timeline
        .marks()
        .iter()
        .filter(|(_, mark)| matches!(mark, Mark::Event { .. }))
        .count();
    out.say(format!(
        "  all done at {:.3} s, in {} iterations; descriptors found ready {found_ready} times",
        event_loop.time(),
        event_loop.iterations()
    ));
    Ok(())
}

/// Open what scenario 5 reads, start what writes into it, and make a reader
/// task for each.
fn reading_tasks<C: Clock + 'static>(
    event_loop: &SelectorEventLoop,
    clock: C,
    readers: &Readers,
    out: &Transcript,
) -> io::Result<Vec<Task>> {
    let (from_pipe, into_pipe) = pipe()?;
    feed_pipe(event_loop, into_pipe, &PIPE_MESSAGES);
    let (from_socket, into_socket) = UnixStream::pair()?;
    from_socket.set_nonblocking(true)?;
    feed_socket(event_loop, into_socket);
    let random = File::open("/dev/urandom")?;
    let file = scratch_file(FILE_SIZE)?;
    // A thread writes when the operating system lets it: only on the real
    // clock, so that the virtual run stays exact.
    let with_a_thread = !clock.is_virtual();

    let o = out;
    let mut tasks = vec![
        readers.task("pipe", |co| {
            print_until_end(co, "pipe", from_pipe, PIPE_CHUNK, o.clone())
        }),
        readers.task("socket", |co| {
            print_until_end(co, "socket", from_socket, SOCKET_CHUNK, o.clone())
        }),
        readers.task("urandom", |co| random_reader(co, random, o.clone())),
        readers.task("file", |co| file_reader(co, file, clock, o.clone())),
    ];
    if with_a_thread {
        let (from_thread, into_thread) = pipe()?;
        feed_pipe_from_a_thread(into_thread);
        let name = "thread pipe";
        tasks.push(readers.task(name, |co| {
            print_until_end(co, name, from_thread, PIPE_CHUNK, o.clone())
        }));
    }
    Ok(tasks)
}
// ANCHOR_END: read_readiness

// ANCHOR: typing
/// Read what is typed on `input` (standard input, in the demo) while a
/// ticker ticks every second, until the end of the input: both in one
/// thread, on one loop.
pub fn typing<R: Read + AsRawFd + 'static>(
    clock: impl Clock + 'static,
    selector: impl Selector<Data = ReaderWriter> + 'static,
    input: R,
    out: &Transcript,
) -> Result<(), ScenarioError> {
    out.say("Type a line and press Enter, while a ticker ticks every second; Ctrl-D ends.");
    let event_loop = SelectorEventLoop::with_selector(clock, selector)?;
    let readers = Readers::default();
    let every = Duration::from_secs(1);
    let tasks = vec![
        task("ticker", |co| {
            ticker(co, every, readers.clone(), out.clone())
        }),
        readers.task("stdin", |co| {
            print_until_end(co, "stdin", input, LINE_CHUNK, out.clone())
        }),
    ];
    for outcome in event_loop.gather(tasks)? {
        outcome?;
    }
    Ok(())
}
// ANCHOR_END: typing

/// A pipe, as two files: the end to read from (non-blocking, like every
/// descriptor an asyncio loop reads) and the end to write to. Like every
/// descriptor Rust opens, neither is passed on to programs this one starts
/// (close-on-exec): a copy of the writing end there would keep the reader
/// from ever seeing the end of the file.
pub fn pipe() -> io::Result<(File, File)> {
    let mut ends: [RawFd; 2] = [-1; 2];
    // SAFETY: `pipe` writes two descriptors into the array it is handed,
    // which has room for exactly two.
    #[allow(unsafe_code)]
    let made = unsafe { libc::pipe(ends.as_mut_ptr()) };
    if made == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `pipe` succeeded, so both descriptors are open and nothing
    // else owns them: each `OwnedFd` becomes the one owner, which closes it.
    #[allow(unsafe_code)]
    let (reader, writer) =
        unsafe { (OwnedFd::from_raw_fd(ends[0]), OwnedFd::from_raw_fd(ends[1])) };
    add_flag(&reader, libc::F_GETFD, libc::F_SETFD, libc::FD_CLOEXEC)?;
    add_flag(&writer, libc::F_GETFD, libc::F_SETFD, libc::FD_CLOEXEC)?;
    add_flag(&reader, libc::F_GETFL, libc::F_SETFL, libc::O_NONBLOCK)?;
    Ok((File::from(reader), File::from(writer)))
}

/// Set `flag` among the flags that `fcntl(get)` reads and `fcntl(set)` writes.
fn add_flag(fd: &OwnedFd, get: libc::c_int, set: libc::c_int, flag: libc::c_int) -> io::Result<()> {
    let fd = fd.as_raw_fd();
    // SAFETY: `fcntl` with F_GETFD or F_GETFL only reads flags of `fd`,
    // which the caller's `OwnedFd` keeps open.
    #[allow(unsafe_code)]
    let flags = unsafe { libc::fcntl(fd, get) };
    // SAFETY: as above; F_SETFD and F_SETFL only change those flags.
    #[allow(unsafe_code)]
    if flags == -1 || unsafe { libc::fcntl(fd, set, flags | flag) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A regular file of `size` bytes, open for reading at its start. Its name is
/// removed at once: the file lives while it is open, and nothing is left
/// behind.
pub fn scratch_file(size: usize) -> io::Result<File> {
    static MADE: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "stage03-{}-{}.txt",
        std::process::id(),
        MADE.fetch_add(1, Ordering::Relaxed)
    );
    let path = std::env::temp_dir().join(name);
    let mut file = File::options()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)?;
    std::fs::remove_file(&path)?;
    let line = b"a line of a regular file, which select always finds ready\n";
    let content: Vec<u8> = line.iter().copied().cycle().take(size).collect();
    file.write_all(&content)?;
    file.rewind()?;
    Ok(file)
}
