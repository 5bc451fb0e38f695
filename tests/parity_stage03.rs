//! Stage 3 against CPython: readers and writers on real socket pairs, waking
//! a blocked loop from another thread, and the order of the work in one
//! iteration, on our `SelectorLoop` and on the real asyncio loop, both on a
//! virtual clock (tests/parity/stage03_read_readiness.py), section by
//! section, line by line.
//!
//! Our loop runs every case twice, once waiting with `select(2)` and once with
//! `poll(2)`; both must print what asyncio prints. Both loops really look at
//! the descriptors: only the waiting for time is virtual.

mod common;

use stage02_timed_events::AbstractEventLoop;
use std::cell::{Cell, RefCell};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

use stage01_generator_loop::VirtualClock;
use stage03_read_readiness::selector::Keys;
use stage03_read_readiness::selector_events::ReaderWriter;
use stage03_read_readiness::{
    Interest, PollSelector, SelectSelector, Selector, SelectorError, SelectorEventLoop,
    SelectorEvents,
};

/// The script both loops are compared with.
const SCRIPT: &str = "stage03_read_readiness.py";

/// Every section the Python script prints, each compared by one test below.
const SECTIONS: [&str; 7] = [
    "level_triggered",
    "end_of_file",
    "writer_with_room",
    "threadsafe_wakes_blocked_loop",
    "order_in_one_iteration",
    "threadsafe_before_later_call_soon",
    "reader_removed_before_it_runs",
];

/// A wait with no timeout that outlasts this has hung: fail instead. The
/// Python script's `BLOCKING_LIMIT`.
const BLOCKING_LIMIT: Duration = Duration::from_secs(30);

/// The system call our loop waits with.
#[derive(Debug, Clone, Copy)]
enum Syscall {
    Select,
    Poll,
}

/// What the [`Spy`] saw: how often the loop asked it to wait, and in which
/// of those calls (one per iteration) it asked to wait with no timeout.
#[derive(Debug, Default)]
struct Seen {
    calls: u64,
    blocked_in: Vec<u64>,
}

/// The Python script's `VirtualSelector`, as far as it differs from ours: a
/// real `select` or `poll` that notes each wait with no timeout, and says so
/// on `blocking` just before it waits, so that another thread can act only
/// once the loop is really asleep. (Waiting for a virtual timeout without
/// blocking is already our loop's job.)
struct Spy<S> {
    selector: S,
    seen: Rc<RefCell<Seen>>,
    blocking: Sender<()>,
}

impl<S: Selector<Data = ReaderWriter>> Selector for Spy<S> {
    type Data = ReaderWriter;

    fn keys(&self) -> &Keys<ReaderWriter> {
        self.selector.keys()
    }

    fn keys_mut(&mut self) -> &mut Keys<ReaderWriter> {
        self.selector.keys_mut()
    }

    fn check(&self, fd: RawFd) -> Result<(), SelectorError> {
        self.selector.check(fd)
    }

    fn select(
        &mut self,
        timeout: Option<Duration>,
        ready: &mut Vec<(RawFd, Interest)>,
    ) -> Result<(), SelectorError> {
        let call = {
            let mut seen = self.seen.borrow_mut();
            seen.calls += 1;
            seen.calls
        };
        if timeout.is_some() {
            return self.selector.select(timeout, ready);
        }
        self.seen.borrow_mut().blocked_in.push(call);
        // Nobody may be listening: that is fine.
        let _ = self.blocking.send(());
        self.selector.select(Some(BLOCKING_LIMIT), ready)?;
        assert!(
            !ready.is_empty(),
            "a wait with no timeout found nothing in {BLOCKING_LIMIT:?}: it would block forever"
        );
        Ok(())
    }
}

/// One case's loop on a virtual clock, and what it prints.
struct Case {
    event_loop: SelectorEventLoop,
    out: Log,
    seen: Rc<RefCell<Seen>>,
    /// A message each time the loop is about to wait with no timeout.
    blocking: Receiver<()>,
}

impl Case {
    fn new(syscall: Syscall) -> Self {
        let seen = Rc::default();
        let (sender, blocking) = mpsc::channel();
        let clock = VirtualClock::new();
        let event_loop = match syscall {
            Syscall::Select => {
                SelectorEventLoop::with_selector(clock, spy(SelectSelector::new(), &seen, sender))
            }
            Syscall::Poll => {
                SelectorEventLoop::with_selector(clock, spy(PollSelector::new(), &seen, sender))
            }
        }
        .expect("a new loop");
        Self {
            event_loop,
            out: Log::default(),
            seen,
            blocking,
        }
    }
}

fn spy<S>(selector: S, seen: &Rc<RefCell<Seen>>, blocking: Sender<()>) -> Spy<S> {
    Spy {
        selector,
        seen: Rc::clone(seen),
        blocking,
    }
}

/// What a case prints. Like `Transcript`, but other threads can write too.
#[derive(Debug, Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    fn say(&self, line: impl Into<String>) {
        let mut lines = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        lines.push(line.into());
    }

    /// The Python script's `stamp`: `Transcript::at`'s format, the loop's
    /// time to the millisecond.
    fn stamp(&self, event_loop: &SelectorEventLoop, text: &str) {
        self.say(format!("{:7.3}  {text}", event_loop.time()));
    }

    /// The Python script's `stamp_iteration`: which iteration is running, too.
    fn stamp_iteration(&self, event_loop: &SelectorEventLoop, text: &str) {
        let iteration = event_loop.iterations();
        self.stamp(event_loop, &format!("iteration {iteration}: {text}"));
    }

    fn lines(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Python's `socket.socketpair()` on Linux, both ends non-blocking.
fn socket_pair() -> (UnixStream, UnixStream) {
    let (ours, theirs) = UnixStream::pair().expect("a socket pair");
    ours.set_nonblocking(true).expect("non-blocking");
    theirs.set_nonblocking(true).expect("non-blocking");
    (ours, theirs)
}

/// Python's `sock.recv(max)`.
fn recv(socket: &UnixStream, max: usize) -> io::Result<Vec<u8>> {
    let mut buffer = vec![0; max];
    let n = (&*socket).read(&mut buffer)?;
    buffer.truncate(n);
    Ok(buffer)
}

/// Python's `sock.send(data)`.
fn send(socket: &UnixStream, data: &[u8]) -> usize {
    (&*socket).write(data).expect("room to send")
}

/// Python's `repr` of a `bytes`.
fn py_bytes(data: &[u8]) -> String {
    let quote = if data.contains(&b'\'') && !data.contains(&b'"') {
        '"'
    } else {
        '\''
    };
    let mut repr = format!("b{quote}");
    for &byte in data {
        match byte {
            b'\\' => repr.push_str("\\\\"),
            b'\t' => repr.push_str("\\t"),
            b'\n' => repr.push_str("\\n"),
            b'\r' => repr.push_str("\\r"),
            _ if char::from(byte) == quote => repr.extend(['\\', quote]),
            0x20..=0x7e => repr.push(char::from(byte)),
            _ => repr.push_str(&format!("\\x{byte:02x}")),
        }
    }
    repr.push(quote);
    repr
}

/// Python's `repr` of a `bool`.
fn py_bool(value: bool) -> &'static str {
    if value { "True" } else { "False" }
}

/// Run `case` on each system call and compare what it prints with section
/// `name` of the Python trace.
fn compare(name: &str, case: fn(Syscall) -> Vec<String>) {
    let python = common::python_section(SCRIPT, name);
    for syscall in [Syscall::Select, Syscall::Poll] {
        let rust = case(syscall);
        if let Some(python) = &python {
            // Shown only if the comparison fails: the whole of our trace.
            eprintln!("section {name}, our loop on {syscall:?}:");
            eprintln!("{}", rust.join("\n"));
            common::assert_same_lines(&python.join("\n"), &rust);
        }
    }
}

#[test]
fn python_prints_exactly_the_sections_compared_here() {
    let Some(sections) = common::python_sections(SCRIPT) else {
        eprintln!("skipped: python3 not found");
        return;
    };
    let names: Vec<&str> = sections.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, SECTIONS);
}

fn level_triggered(syscall: Syscall) -> Vec<String> {
    let Case {
        event_loop, out, ..
    } = Case::new(syscall);
    let (ours, theirs) = socket_pair();
    let ours = Rc::new(ours);
    let fd = ours.as_raw_fd();
    let calls = Rc::new(Cell::new(0));
    out.say(format!("send(b'abc') -> {}", send(&theirs, b"abc")));
    let reader = {
        let (out, ours, calls) = (out.clone(), Rc::clone(&ours), Rc::clone(&calls));
        move |event_loop: &SelectorEventLoop| {
            calls.set(calls.get() + 1);
            let data = recv(&ours, 1).expect("readable");
            out.stamp_iteration(
                event_loop,
                &format!("reader: recv(1) -> {}", py_bytes(&data)),
            );
        }
    };
    event_loop.add_reader(fd, reader).unwrap();
    let later = {
        let (selector_loop, out) = (event_loop.clone(), out.clone());
        move |event_loop: &SelectorEventLoop| {
            let left = match recv(&ours, 1) {
                Ok(data) => py_bytes(&data),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    "none (recv would block)".to_string()
                }
                Err(error) => panic!("recv failed: {error}"),
            };
            let calls = calls.get();
            let text = format!("timer: the reader ran {calls} times; data left: {left}");
            out.stamp_iteration(event_loop, &text);
            let removed = selector_loop.remove_reader(fd);
            out.say(format!("remove_reader: {}", py_bool(removed)));
            event_loop.stop();
        }
    };
    event_loop.call_later(1.0, later).unwrap();
    event_loop.run_forever().unwrap();
    drop(theirs);
    out.lines()
}

/// A reader is called in every iteration while its data is unread, here one
/// byte a call for three bytes; then no more, while a later timer still runs.
#[test]
fn a_reader_is_level_triggered() {
    compare("level_triggered", level_triggered);
}

fn end_of_file(syscall: Syscall) -> Vec<String> {
    let Case {
        event_loop, out, ..
    } = Case::new(syscall);
    let (ours, theirs) = socket_pair();
    let fd = ours.as_raw_fd();
    let reader = {
        let (selector_loop, out) = (event_loop.clone(), out.clone());
        move |event_loop: &SelectorEventLoop| {
            let data = recv(&ours, 16).expect("readable");
            let (repr, n) = (py_bytes(&data), data.len());
            let text = format!("reader: recv(16) -> {repr}, {n} bytes: end of file");
            out.stamp_iteration(event_loop, &text);
            let removed = selector_loop.remove_reader(fd);
            out.say(format!("remove_reader: {}", py_bool(removed)));
            let again = selector_loop.remove_reader(fd);
            out.say(format!("remove_reader again: {}", py_bool(again)));
        }
    };
    event_loop.add_reader(fd, reader).unwrap();
    let close_peer = {
        let out = out.clone();
        move |event_loop: &SelectorEventLoop| {
            out.stamp_iteration(event_loop, "timer: close the peer");
            drop(theirs);
        }
    };
    event_loop.call_later(0.5, close_peer).unwrap();
    let stop = {
        let out = out.clone();
        move |event_loop: &SelectorEventLoop| {
            out.stamp_iteration(event_loop, "timer: stop");
            event_loop.stop();
        }
    };
    event_loop.call_later(1.0, stop).unwrap();
    event_loop.run_forever().unwrap();
    out.lines()
}

/// End of file is readable: the reader runs and reads 0 bytes, then removes
/// itself; removing it again finds nothing to remove.
#[test]
fn end_of_file_is_readable() {
    compare("end_of_file", end_of_file);
}

fn writer_with_room(syscall: Syscall) -> Vec<String> {
    let Case {
        event_loop, out, ..
    } = Case::new(syscall);
    let (ours, theirs) = socket_pair();
    let ours = Rc::new(ours);
    let fd = ours.as_raw_fd();
    let calls = Rc::new(Cell::new(0));
    let writer = {
        let (selector_loop, out) = (event_loop.clone(), out.clone());
        let (ours, calls) = (Rc::clone(&ours), Rc::clone(&calls));
        move |event_loop: &SelectorEventLoop| {
            calls.set(calls.get() + 1);
            if calls.get() == 1 {
                let n = send(&ours, b"hello");
                out.stamp_iteration(event_loop, &format!("writer: send(b'hello') -> {n}"));
            } else {
                out.stamp_iteration(event_loop, "writer: still room, called again");
                let removed = selector_loop.remove_writer(fd);
                out.say(format!("remove_writer: {}", py_bool(removed)));
            }
        }
    };
    let start = {
        let (selector_loop, out) = (event_loop.clone(), out.clone());
        move |event_loop: &SelectorEventLoop| {
            out.stamp_iteration(event_loop, "start: add_writer");
            selector_loop.add_writer(fd, writer).unwrap();
        }
    };
    event_loop.call_soon(start).unwrap();
    let later = {
        let (selector_loop, out) = (event_loop.clone(), out.clone());
        move |event_loop: &SelectorEventLoop| {
            let (calls, read) = (calls.get(), recv(&theirs, 16).expect("readable"));
            let read = py_bytes(&read);
            let text = format!("timer: the writer ran {calls} times; the peer reads {read}");
            out.stamp_iteration(event_loop, &text);
            let again = selector_loop.remove_writer(fd);
            out.say(format!("remove_writer again: {}", py_bool(again)));
            event_loop.stop();
        }
    };
    event_loop.call_later(1.0, later).unwrap();
    event_loop.run_forever().unwrap();
    drop(ours);
    out.lines()
}

/// A writer whose socket has room in its buffer runs in the very next
/// iteration, and again in the one after, until it is removed.
#[test]
fn a_writer_with_room_runs_at_once() {
    compare("writer_with_room", writer_with_room);
}

fn threadsafe_wakes_blocked_loop(syscall: Syscall) -> Vec<String> {
    let Case {
        event_loop,
        out,
        seen,
        blocking,
    } = Case::new(syscall);
    let loop_thread = thread::current().id();
    let remote = event_loop.remote().unwrap();
    let threads = Rc::new(RefCell::new(Vec::new()));
    let start = {
        let (out, threads) = (out.clone(), Rc::clone(&threads));
        move |event_loop: &SelectorEventLoop| {
            let text = "start: start a thread; nothing else is ready or scheduled";
            out.stamp_iteration(event_loop, text);
            let thread = thread::spawn(move || {
                // Only once the loop waits with no timeout: that is what is tested.
                blocking
                    .recv_timeout(BLOCKING_LIMIT)
                    .expect("the loop never waited with no timeout");
                out.say("thread: the loop waits with no timeout; call_soon_threadsafe(woken)");
                let woken = move |event_loop: &SelectorEventLoop| {
                    let same = py_bool(thread::current().id() == loop_thread);
                    let text = format!("woken: on the loop's thread: {same}; stop");
                    out.stamp_iteration(event_loop, &text);
                    event_loop.stop();
                };
                remote.call_soon_threadsafe(woken).unwrap();
            });
            threads.borrow_mut().push(thread);
        }
    };
    event_loop.call_soon(start).unwrap();
    event_loop.run_forever().unwrap();
    for thread in threads.take() {
        thread.join().expect("the thread ran to its end");
    }
    let blocked_in = &seen.borrow().blocked_in;
    out.say(format!(
        "waited with no timeout in iterations: {blocked_in:?}"
    ));
    out.lines()
}

/// With nothing ready and nothing scheduled, the loop waits with no timeout;
/// `call_soon_threadsafe` from another thread wakes it, and the callback
/// runs on the loop's thread.
#[test]
fn call_soon_threadsafe_wakes_a_loop_waiting_with_no_timeout() {
    compare(
        "threadsafe_wakes_blocked_loop",
        threadsafe_wakes_blocked_loop,
    );
}

fn order_in_one_iteration(syscall: Syscall) -> Vec<String> {
    let Case {
        event_loop, out, ..
    } = Case::new(syscall);
    let (ours, theirs) = socket_pair();
    let fd = ours.as_raw_fd();
    let reader = {
        let (selector_loop, out) = (event_loop.clone(), out.clone());
        move |event_loop: &SelectorEventLoop| {
            let data = recv(&ours, 1).expect("readable");
            out.stamp_iteration(
                event_loop,
                &format!("reader: recv(1) -> {}", py_bytes(&data)),
            );
            selector_loop.remove_reader(fd);
        }
    };
    let timer = {
        let out = out.clone();
        move |event_loop: &SelectorEventLoop| {
            out.stamp_iteration(event_loop, "timer: call_later(0, ...)");
            event_loop.stop();
        }
    };
    let soon = {
        let out = out.clone();
        move |event_loop: &SelectorEventLoop| out.stamp_iteration(event_loop, "soon: call_soon")
    };
    let start = {
        let (selector_loop, out) = (event_loop.clone(), out.clone());
        move |event_loop: &SelectorEventLoop| {
            // Registered in the opposite order of the order they run in.
            let text = "start: call_later(0, timer), add_reader, call_soon(soon)";
            out.stamp_iteration(event_loop, text);
            event_loop.call_later(0.0, timer).unwrap();
            selector_loop.add_reader(fd, reader).unwrap();
            event_loop.call_soon(soon).unwrap();
        }
    };
    send(&theirs, b"x");
    event_loop.call_soon(start).unwrap();
    event_loop.run_forever().unwrap();
    out.lines()
}

/// In one iteration: first what was queued with `call_soon`, then readers
/// found ready (`_process_events` appends them to `_ready`), then timers due.
#[test]
fn call_soon_then_ready_readers_then_due_timers() {
    compare("order_in_one_iteration", order_in_one_iteration);
}

fn threadsafe_before_later_call_soon(syscall: Syscall) -> Vec<String> {
    let Case {
        event_loop, out, ..
    } = Case::new(syscall);
    let remote = event_loop.remote().unwrap();
    let start = {
        let out = out.clone();
        move |event_loop: &SelectorEventLoop| {
            let thread_out = out.clone();
            thread::spawn(move || {
                remote
                    .call_soon_threadsafe(move |event_loop| {
                        thread_out.stamp_iteration(event_loop, "from the thread");
                    })
                    .unwrap();
            })
            .join()
            .expect("the thread ran to its end");
            let text = "start: a thread sent a callback (and ended); now call_soon(soon)";
            out.stamp_iteration(event_loop, text);
            let out = out.clone();
            event_loop
                .call_soon(move |event_loop| out.stamp_iteration(event_loop, "soon: call_soon"))
                .unwrap();
        }
    };
    event_loop.call_soon(start).unwrap();
    let stop = {
        let out = out.clone();
        move |event_loop: &SelectorEventLoop| {
            out.stamp_iteration(event_loop, "timer: stop");
            event_loop.stop();
        }
    };
    event_loop.call_later(1.0, stop).unwrap();
    event_loop.run_forever().unwrap();
    out.lines()
}

/// A difference on purpose. In asyncio, a callback another thread sends with
/// `call_soon_threadsafe` goes straight onto `_ready` (`call_soon_threadsafe`
/// calls `_call_soon`, base_events.py; the GIL makes the append safe), so it
/// runs before a `call_soon` the loop's thread makes later. Rust has no GIL
/// and our ready queue is not thread-safe: a sent callback waits in the
/// `Remote`'s own queue until the next poll hands it over, behind every
/// `call_soon` of the iteration in which it was sent. Sent callbacks keep
/// their order among themselves (`calls_from_other_threads_run_in_the_order_they_were_sent`
/// in the stage 3 crate's tests). This test fails if either side changes.
#[test]
fn call_soon_threadsafe_joins_the_ready_queue_at_the_next_poll() {
    let python = common::python_section(SCRIPT, "threadsafe_before_later_call_soon");
    let from_thread = "  0.000  iteration 2: from the thread";
    let soon = "  0.000  iteration 2: soon: call_soon";
    if let Some(python) = python {
        let at = |line: &str| python.iter().position(|l| l == line).expect(line);
        assert!(
            at(from_thread) < at(soon),
            "asyncio: the thread's callback first"
        );
    }
    for syscall in [Syscall::Select, Syscall::Poll] {
        let ours = threadsafe_before_later_call_soon(syscall);
        let at = |line: &str| ours.iter().position(|l| l == line).expect(line);
        assert!(
            at(soon) < at(from_thread),
            "ours: the loop's own call_soon first"
        );
    }
}

fn reader_removed_before_it_runs(syscall: Syscall) -> Vec<String> {
    let Case {
        event_loop, out, ..
    } = Case::new(syscall);
    let (ours, theirs) = socket_pair();
    let fd = ours.as_raw_fd();
    let calls = Rc::new(Cell::new(0));
    let reader = {
        let (out, calls) = (out.clone(), Rc::clone(&calls));
        move |event_loop: &SelectorEventLoop| {
            calls.set(calls.get() + 1);
            let data = recv(&ours, 1).expect("readable");
            out.stamp_iteration(
                event_loop,
                &format!("reader: recv(1) -> {}", py_bytes(&data)),
            );
        }
    };
    let remover = {
        let (selector_loop, out) = (event_loop.clone(), out.clone());
        move |event_loop: &SelectorEventLoop| {
            let removed = py_bool(selector_loop.remove_reader(fd));
            out.stamp_iteration(event_loop, &format!("remover: remove_reader: {removed}"));
        }
    };
    let later = {
        let out = out.clone();
        move |event_loop: &SelectorEventLoop| {
            let text = format!("timer: the reader ran {} times", calls.get());
            out.stamp_iteration(event_loop, &text);
            event_loop.stop();
        }
    };
    send(&theirs, b"x");
    event_loop.add_reader(fd, reader).unwrap();
    event_loop.call_soon(remover).unwrap();
    event_loop.call_later(1.0, later).unwrap();
    event_loop.run_forever().unwrap();
    out.lines()
}

/// A reader found ready, then removed by a callback that runs before it in
/// the same iteration, does not run: asyncio's `_remove_reader` cancels the
/// reader's handle (selector_events.py), already in `_ready`, and
/// `_run_once` skips cancelled handles (base_events.py). Ours marks the
/// reader inactive, and the call queued for it checks that before running.
/// (This test found the difference; the fix followed.)
#[test]
fn a_reader_removed_earlier_in_the_iteration_does_not_run() {
    compare(
        "reader_removed_before_it_runs",
        reader_removed_before_it_runs,
    );
}
