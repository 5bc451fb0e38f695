//! Coroutines that wait to read, on the virtual clock: scenario 5 with exact
//! times, a descriptor that is always ready next to a timer, the end of a
//! file, readiness that turns out to be a false hope, and descriptors the
//! loop cannot watch.

use std::cell::RefCell;
use std::fs::File;
use std::future::Future;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use demo_support::transcript::assert_matches_file;
use demo_support::{Timeline, Transcript};
use stage01_generator_loop::{AsyncCoroutine, Clock, VirtualClock, Yielder};
use stage02_timed_events::{AbstractEventLoop, RunCoroutines};
use stage03_read_readiness::events::fd_ready_mark;
use stage03_read_readiness::scenarios::{self, pipe};
use stage03_read_readiness::selector_events::ReaderWriter;
use stage03_read_readiness::{
    IoEvent, PollSelector, SelectSelector, Selector, SelectorError, SelectorEventLoop,
    SelectorEvents, read, writable,
};

/// What the test coroutines return: what they read, or why they could not.
type Body = Pin<Box<dyn Future<Output = io::Result<Vec<u8>>>>>;
type Task = AsyncCoroutine<Body, IoEvent>;

/// A test coroutine.
fn task<F>(body: impl FnOnce(Yielder<IoEvent>) -> F) -> Task
where
    F: Future<Output = io::Result<Vec<u8>>> + 'static,
{
    AsyncCoroutine::new(|co| Box::pin(body(co)) as Body)
}

/// The tests in this file take turns. Descriptors found ready in the same
/// iteration are served in the order of their numbers (both selectors report
/// them so: `tests/selector.rs`), and the number a new descriptor gets
/// depends on which ones the process holds open at that moment. The tests
/// run on threads of one process: if one opened or closed a descriptor while
/// scenario 5 was opening its own, their order could change, and with it
/// the exact transcript that scenario 5's tests check.
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static DESCRIPTORS: Mutex<()> = Mutex::new(());
    DESCRIPTORS.lock().unwrap_or_else(PoisonError::into_inner)
}

fn virtual_loop() -> (SelectorEventLoop, VirtualClock) {
    let clock = VirtualClock::new();
    let event_loop = SelectorEventLoop::with_selector(clock.clone(), PollSelector::new()).unwrap();
    (event_loop, clock)
}

/// Scenario 5 on the virtual clock with `wait`: its transcript and timeline.
fn scenario_5(selector: impl Selector<Data = ReaderWriter> + 'static) -> (Transcript, Timeline) {
    let (out, timeline) = (Transcript::new(), Timeline::new());
    scenarios::read_readiness(VirtualClock::new(), selector, &out, &timeline)
        .expect("scenario 5 runs");
    (out, timeline)
}

#[test]
fn scenario_5_on_the_virtual_clock_has_exact_times() {
    let _lock = one_at_a_time();
    let (out, _) = scenario_5(SelectSelector::new());
    let expected = [
        "Scenario 5: a ticker every 0.25 s, while coroutines read from a pipe, a socket",
        "pair, /dev/urandom and a regular file, all in one thread",
        // Always ready: read at once.
        "  0.000  urandom: 16 bytes",
        // Due while the file was being read: late by one read of the file.
        "  0.251  tick 1 (due 0.250)",
        "  0.300  pipe: \"message 1\\n\" (10 bytes)",
        "  0.300  file: 30000 bytes in 300 reads, each blocking the loop 1 ms (a slow disk)",
        "  0.300  file: at its end, still ready: 3 reads of 0 bytes",
        "  0.300  file: 303 of 303 waits for readability ended in the next iteration",
        // One write of 35 bytes, read 16 at a time: the socket stays ready
        // until every byte has been read.
        "  0.450  socket: \"one write, read \" (16 bytes)",
        "  0.450  socket: \"16 bytes at a ti\" (16 bytes)",
        "  0.450  socket: \"me\\n\" (3 bytes)",
        "  0.500  tick 2 (due 0.500)",
        "  0.500  urandom: 16 bytes",
        "  0.600  pipe: \"message 2\\n\" (10 bytes)",
        "  0.750  tick 3 (due 0.750)",
        "  0.900  pipe: \"message 3\\n\" (10 bytes)",
        "  0.900  pipe: end of file",
        "  1.000  tick 4 (due 1.000)",
        "  1.000  urandom: 16 bytes",
        "  1.200  socket: end of file",
        // The last reader is done: the ticker stops after this tick.
        "  1.250  tick 5 (due 1.250)",
        // 3 + 303 + 4 + 4: urandom, file, pipe and socket reads.
        "  all done at 1.250 s, in 321 iterations; descriptors found ready 314 times",
    ];
    assert_eq!(out.lines(), expected);
}

#[test]
fn select_and_poll_run_scenario_5_alike() {
    let _lock = one_at_a_time();
    let (with_select, select_timeline) = scenario_5(SelectSelector::new());
    let (with_poll, poll_timeline) = scenario_5(PollSelector::new());
    assert_eq!(with_select.lines(), with_poll.lines());
    assert_eq!(select_timeline.marks(), poll_timeline.marks());
}

#[test]
fn the_timeline_of_scenario_5_marks_every_descriptor_found_ready() {
    let _lock = one_at_a_time();
    let (_, timeline) = scenario_5(PollSelector::new());
    let ready = timeline
        .marks()
        .into_iter()
        .filter(|(_, mark)| *mark == fd_ready_mark())
        .count();
    assert_eq!(ready, 314);
    let text = timeline.render_text(60) + "\n";
    assert_matches_file(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/output/timeline.txt"),
        &text,
    );
}

// ANCHOR: starve
#[test]
fn an_always_ready_reader_does_not_starve_a_timer() {
    let _lock = one_at_a_time();
    // /dev/zero is always ready. Each read "takes" 1 ms, so that time
    // passes; 1000 reads would take a second.
    let (event_loop, clock) = virtual_loop();
    let reads = Rc::new(RefCell::new(0));
    let log = Transcript::new();
    let (counter, timer_log) = (Rc::clone(&reads), log.clone());
    event_loop
        .call_later(0.25, move |event_loop| {
            let reads = *counter.borrow();
            timer_log.say(format!(
                "timer at {} after {reads} reads",
                event_loop.time()
            ));
        })
        .unwrap();
    let reader = task(move |co| async move {
        let mut zeros = File::open("/dev/zero")?;
        for _ in 0..1000 {
            read(&co, &mut zeros, 64).await?;
            *reads.borrow_mut() += 1;
            clock.advance(Duration::from_millis(1));
        }
        Ok(Vec::new())
    });
    event_loop
        .run_until_complete("reader", reader)
        .unwrap()
        .unwrap();
    // Due at 0.25 s, it ran in the first iteration after: behind the one
    // read the selector found ready in that iteration, 1 ms late.
    assert_eq!(log.lines(), ["timer at 0.251 after 251 reads"]);
    assert_eq!(event_loop.time(), 1.0);
}
// ANCHOR_END: starve

#[test]
fn the_end_of_a_file_reads_as_nothing_and_stays_ready() {
    let _lock = one_at_a_time();
    let (event_loop, _) = virtual_loop();
    let (mut from_pipe, mut into_pipe) = pipe().unwrap();
    into_pipe.write_all(b"last words").unwrap();
    drop(into_pipe);
    let reader = task(move |co| async move {
        let mut seen = Vec::new();
        for _ in 0..3 {
            let data = read(&co, &mut from_pipe, 64).await?;
            seen.push(String::from_utf8_lossy(&data).into_owned());
        }
        Ok(seen.join("|").into_bytes())
    });
    let seen = event_loop.run_until_complete("reader", reader).unwrap();
    assert_eq!(seen.unwrap(), b"last words||");
    // The loop watches nothing once the reader is done.
    assert_eq!(event_loop.watched(), []);
}

#[test]
fn a_socket_closed_at_the_other_end_reads_as_its_end() {
    let _lock = one_at_a_time();
    let (event_loop, _) = virtual_loop();
    let (ours, theirs) = UnixStream::pair().unwrap();
    ours.set_nonblocking(true).unwrap();
    event_loop.call_later(0.5, move |_| drop(theirs)).unwrap();
    let reader = task(move |co| async move {
        let mut ours = ours;
        let data = read(&co, &mut ours, 64).await?;
        assert_eq!(co.now(), Duration::from_millis(500));
        Ok(data)
    });
    let data = event_loop.run_until_complete("reader", reader).unwrap();
    assert_eq!(data.unwrap(), b"");
}

/// A descriptor number that is never open, read with the system call itself,
/// so that the error comes from the operating system.
struct NeverOpen;

impl Read for NeverOpen {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        // SAFETY: `read` writes at most `buffer.len()` bytes into `buffer`,
        // which is valid for that many; on descriptor -1 it writes nothing
        // and fails with EBADF.
        #[allow(unsafe_code)]
        let count = unsafe { libc::read(-1, buffer.as_mut_ptr().cast(), buffer.len()) };
        usize::try_from(count).map_err(|_| io::Error::last_os_error())
    }
}

impl AsRawFd for NeverOpen {
    fn as_raw_fd(&self) -> RawFd {
        -1
    }
}

#[test]
fn a_read_of_a_bad_descriptor_reports_the_operating_systems_error() {
    let _lock = one_at_a_time();
    let (event_loop, _) = virtual_loop();
    let reader = task(move |co| async move { read(&co, &mut NeverOpen, 64).await });
    let outcome = event_loop.run_until_complete("reader", reader).unwrap();
    let error = outcome.expect_err("descriptor -1 cannot be read");
    assert_eq!(error.raw_os_error(), Some(libc::EBADF), "{error}");
    // Resumed at once, in the next iteration, without waiting.
    assert_eq!(event_loop.iterations(), 2);
    assert_eq!(event_loop.watched(), []);
}

/// A socket that two parties read: `&UnixStream` reads as well as a
/// `UnixStream` does.
#[derive(Clone)]
struct Shared(Rc<UnixStream>);

impl Read for Shared {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        (&*self.0).read(buffer)
    }
}

impl AsRawFd for Shared {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

#[test]
fn a_read_that_would_block_after_all_waits_again() {
    let _lock = one_at_a_time();
    // At 0.1 s a timer writes a byte and queues a callback that steals it.
    // The selector then finds the socket readable, but the thief runs first:
    // the coroutine's read would block, so it waits again, for 0.2 s.
    let (event_loop, _) = virtual_loop();
    let (ours, mut theirs) = UnixStream::pair().unwrap();
    ours.set_nonblocking(true).unwrap();
    let socket = Shared(Rc::new(ours));
    let log = Transcript::new();
    let (mut thief, thief_log) = (socket.clone(), log.clone());
    event_loop
        .call_later(0.1, move |event_loop| {
            theirs.write_all(b"s").unwrap();
            event_loop
                .call_soon(move |_| {
                    let mut byte = [0];
                    thief.read_exact(&mut byte).unwrap();
                    thief_log.say(format!("stolen: {}", byte[0] as char));
                })
                .unwrap();
            event_loop
                .call_later(0.1, move |_| theirs.write_all(b"x").unwrap())
                .unwrap();
        })
        .unwrap();
    let reader_log = log.clone();
    let reader = task(move |co| async move {
        let mut socket = socket;
        let data = read(&co, &mut socket, 64).await?;
        let at = co.now().as_secs_f64();
        reader_log.say(format!("read at {at}: {}", String::from_utf8_lossy(&data)));
        Ok(data)
    });
    event_loop
        .run_until_complete("reader", reader)
        .unwrap()
        .unwrap();
    assert_eq!(log.lines(), ["stolen: s", "read at 0.2: x"]);
}

#[test]
fn a_second_coroutine_waiting_on_the_same_descriptor_is_told_so() {
    let _lock = one_at_a_time();
    // Two waiters for one descriptor: the loop keeps one reader per
    // descriptor, so the second is refused rather than silently replacing
    // the first (whose coroutine would then never be resumed).
    let (event_loop, _) = virtual_loop();
    let (ours, mut theirs) = UnixStream::pair().unwrap();
    ours.set_nonblocking(true).unwrap();
    let socket = Shared(Rc::new(ours));
    event_loop
        .call_later(0.5, move |_| theirs.write_all(b"hello").unwrap())
        .unwrap();
    let readers = ["first", "second"].map(|name| {
        let mut socket = socket.clone();
        let body = task(move |co| async move { read(&co, &mut socket, 64).await });
        (name.to_string(), body)
    });
    let [first, second] = event_loop
        .gather(readers.into())
        .unwrap()
        .try_into()
        .unwrap();
    assert_eq!(first.unwrap(), b"hello");
    let refusal = second.expect_err("the second waiter is refused");
    let fd = socket.as_raw_fd();
    assert_eq!(refusal.to_string(), SelectorError::Busy(fd).to_string());
}

#[test]
fn typed_lines_are_read_while_the_ticker_ticks() {
    let _lock = one_at_a_time();
    // Standard input, stood in for by a pipe that already holds two lines
    // and is closed: both are read at once, and the ticker ticks once more.
    let (from_pipe, mut into_pipe) = pipe().unwrap();
    into_pipe.write_all(b"hello\nworld\n").unwrap();
    drop(into_pipe);
    let out = Transcript::new();
    let clock = VirtualClock::new();
    scenarios::typing(clock.clone(), SelectSelector::new(), from_pipe, &out).unwrap();
    assert_eq!(
        out.lines(),
        [
            "Type a line and press Enter, while a ticker ticks every second; Ctrl-D ends.",
            "  0.000  stdin: \"hello\\nworld\\n\" (12 bytes)",
            "  0.000  stdin: end of file",
            "  1.000  tick 1 (due 1.000)",
        ]
    );
    assert_eq!(clock.now(), Duration::from_secs(1));
}

#[test]
fn a_coroutine_waits_for_room_to_write() {
    let _lock = one_at_a_time();
    // The socket's buffer is full: a write would block until, at 0.5 s, a
    // timer reads everything from the other end.
    let (event_loop, _) = virtual_loop();
    let (ours, theirs) = UnixStream::pair().unwrap();
    ours.set_nonblocking(true).unwrap();
    theirs.set_nonblocking(true).unwrap();
    while (&ours).write(&[0; 4096]).is_ok() {}
    // Kept open to the end: closed, it would make the write fail instead.
    let theirs = Rc::new(theirs);
    let reader = Rc::clone(&theirs);
    event_loop
        .call_later(0.5, move |_| {
            let mut buffer = [0; 4096];
            while (&*reader).read(&mut buffer).is_ok_and(|n| n > 0) {}
        })
        .unwrap();
    let writer = task(move |co| async move {
        writable(&co, ours.as_raw_fd())
            .await
            .map_err(io::Error::other)?;
        let written = (&ours).write(b"room again")?;
        Ok(format!("{written} bytes at {:?}", co.now()).into_bytes())
    });
    let outcome = event_loop.run_until_complete("writer", writer).unwrap();
    assert_eq!(outcome.unwrap(), b"10 bytes at 500ms");
    assert!(event_loop.watched().is_empty(), "the writer removed itself");
}

#[test]
fn a_failed_read_is_reported_as_the_tasks_io_not_the_loops() {
    let _lock = one_at_a_time();
    let out = Transcript::new();
    let error = scenarios::typing(VirtualClock::new(), SelectSelector::new(), NeverOpen, &out)
        .expect_err("descriptor -1 cannot be read");
    assert!(
        matches!(&error, scenarios::ScenarioError::Io(e) if e.raw_os_error() == Some(libc::EBADF))
    );
    let message = error.to_string();
    assert!(message.starts_with("a task's I/O failed: "), "{message}");
}
