//! `sock_recv` on real socket pairs and a virtual clock: what it reads,
//! when it waits, that its reader goes away in every case (read, error,
//! dropped await, closed loop), and what it refuses. Real sockets, so the
//! tests assert orders and counts, never wall times.

mod common;

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::rc::Rc;

use demo_support::Transcript;
use stage02_timed_events::{AbstractEventLoop, get_running_loop};
use stage03_read_readiness::{SelectorError, SelectorEventLoop, SelectorEvents};
use stage04_futures_tasks::{
    SockError, create_task, current_task, run_until_complete, sleep, sock_recv,
};

use common::{Abort, new_loop, stamp};

/// A socket pair: ours non-blocking, as `sock_recv` requires, and shared
/// (`sock_recv` hands its reader a clone); theirs to write into.
fn socket_pair() -> (Rc<UnixStream>, UnixStream) {
    let (ours, theirs) = UnixStream::pair().unwrap();
    ours.set_nonblocking(true).unwrap();
    (Rc::new(ours), theirs)
}

/// A timer callback that writes `data` into `theirs` after `delay`.
fn send_later(event_loop: &SelectorEventLoop, delay: f64, theirs: UnixStream, data: &'static [u8]) {
    event_loop
        .call_later(delay, move |_| (&theirs).write_all(data).unwrap())
        .unwrap();
}

#[test]
fn data_already_there_is_read_at_once_without_a_reader() {
    let event_loop = new_loop();
    let (ours, theirs) = socket_pair();
    (&theirs).write_all(b"early").unwrap();
    let inner = event_loop.clone();
    let read = run_until_complete(&event_loop, async move {
        let data = sock_recv(&inner, &ours, 100).await;
        (data, inner.iterations(), inner.watched())
    });
    let (data, iteration, watched) = read.unwrap();
    // As asyncio: the first recv got it, in the task's first step.
    assert_eq!(data.unwrap(), b"early");
    assert_eq!(iteration, 1);
    assert!(watched.is_empty());
}

#[test]
fn sock_recv_waits_with_a_reader_that_removes_itself_having_read() {
    let (event_loop, out) = (new_loop(), Transcript::new());
    let (ours, theirs) = socket_pair();
    let fd = ours.as_raw_fd();
    let log = out.clone();
    let look = move |event_loop: &SelectorEventLoop| {
        let watched = event_loop.has_reader(fd);
        stamp(&log, event_loop, &format!("has a reader: {watched}"));
    };
    event_loop.call_later(0.5, look).unwrap();
    let log = out.clone();
    let send = move |event_loop: &SelectorEventLoop| {
        (&theirs).write_all(b"data").unwrap();
        stamp(&log, event_loop, "sent");
    };
    event_loop.call_later(1.0, send).unwrap();
    let (inner, log) = (event_loop.clone(), out.clone());
    run_until_complete(&event_loop, async move {
        stamp(&log, &inner, "sock_recv");
        let data = sock_recv(&inner, &ours, 100).await.unwrap();
        let (data, watched) = (String::from_utf8_lossy(&data), inner.has_reader(fd));
        stamp(
            &log,
            &inner,
            &format!("got {data:?}, has a reader: {watched}"),
        );
    })
    .unwrap();
    let expected = [
        "0.000 #1 sock_recv",
        "0.500 #2 has a reader: true",
        "1.000 #3 sent",
        // #4: select reports the socket; the reader reads, sets the result.
        "1.000 #5 got \"data\", has a reader: false",
    ];
    assert_eq!(out.lines(), expected);
}

/// A real socket that, when a reader (not a task) reads it, queues a look
/// at whether the loop still has a reader for it: the look runs in the next
/// iteration, before the step of the task that the read wakes.
struct LookAfterReading {
    socket: UnixStream,
    reader_left: Rc<Cell<Option<bool>>>,
}

impl AsRawFd for LookAfterReading {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }
}

impl Read for &LookAfterReading {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let event_loop = get_running_loop::<SelectorEventLoop>().unwrap();
        if current_task().is_none() {
            let (fd, reader_left) = (self.socket.as_raw_fd(), Rc::clone(&self.reader_left));
            let look = move |event_loop: &SelectorEventLoop| {
                reader_left.set(Some(event_loop.has_reader(fd)));
            };
            event_loop.call_soon(look).unwrap();
        }
        (&self.socket).read(buffer)
    }
}

#[test]
fn the_reader_removes_itself_in_the_iteration_it_reads() {
    let event_loop = new_loop();
    let (ours, theirs) = socket_pair();
    send_later(&event_loop, 1.0, theirs, b"data");
    let reader_left = Rc::new(Cell::new(None));
    let socket = Rc::new(LookAfterReading {
        socket: Rc::try_unwrap(ours).unwrap(),
        reader_left: Rc::clone(&reader_left),
    });
    let inner = event_loop.clone();
    let read = run_until_complete(&event_loop, async move {
        sock_recv(&inner, &socket, 100).await.unwrap()
    });
    assert_eq!(read.unwrap(), b"data");
    // asyncio removes it one iteration later, in a done-callback.
    assert_eq!(
        reader_left.get(),
        Some(false),
        "removed before the task ran"
    );
}

#[test]
fn sock_recv_reads_at_most_n_bytes_and_leaves_the_rest() {
    let event_loop = new_loop();
    let (ours, theirs) = socket_pair();
    send_later(&event_loop, 1.0, theirs, b"abcdef");
    let inner = event_loop.clone();
    let reads = run_until_complete(&event_loop, async move {
        let first = sock_recv(&inner, &ours, 4).await.unwrap();
        let rest = sock_recv(&inner, &ours, 4).await.unwrap();
        (first, rest)
    });
    assert_eq!(reads.unwrap(), (b"abcd".to_vec(), b"ef".to_vec()));
}

#[test]
fn a_peer_that_closed_gives_an_empty_read() {
    let event_loop = new_loop();
    let (ours, theirs) = socket_pair();
    // Closed while the task waits: the reader reads the end of the stream.
    event_loop.call_later(1.0, move |_| drop(theirs)).unwrap();
    let inner = event_loop.clone();
    let reads = run_until_complete(&event_loop, async move {
        let waited = sock_recv(&inner, &ours, 100).await.unwrap();
        // Closed already: the first recv says so, at once.
        let at_once = sock_recv(&inner, &ours, 100).await.unwrap();
        (waited, at_once, inner.time())
    });
    let (waited, at_once, time) = reads.unwrap();
    assert!(waited.is_empty() && at_once.is_empty());
    assert_eq!(time, 1.0);
}

/// A socket closed before it was read, as Python reports one: its
/// descriptor is -1. Its reads would block, so `sock_recv` goes on to ask
/// the loop to watch it.
struct NotOpen;

impl AsRawFd for NotOpen {
    fn as_raw_fd(&self) -> RawFd {
        -1
    }
}

impl Read for &NotOpen {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::ErrorKind::WouldBlock.into())
    }
}

#[test]
fn a_descriptor_that_is_not_open_is_refused_and_the_loop_goes_on() {
    let event_loop = new_loop();
    let (ours, theirs) = socket_pair();
    send_later(&event_loop, 1.0, theirs, b"after");
    let inner = event_loop.clone();
    let reads = run_until_complete(&event_loop, async move {
        let refused = sock_recv(&inner, &Rc::new(NotOpen), 100).await;
        let read = sock_recv(&inner, &ours, 100).await;
        (refused, read)
    });
    let (refused, read) = reads.unwrap();
    assert!(
        matches!(
            refused,
            Err(SockError::Refused(SelectorError::BadDescriptor(-1)))
        ),
        "{refused:?}"
    );
    assert_eq!(read.unwrap(), b"after");
}

#[test]
fn a_second_sock_recv_on_one_socket_is_refused_as_busy() {
    let event_loop = new_loop();
    let (ours, theirs) = socket_pair();
    let fd = ours.as_raw_fd();
    send_later(&event_loop, 1.0, theirs, b"one reader");
    let (first_loop, first_socket) = (event_loop.clone(), Rc::clone(&ours));
    let first = create_task(&event_loop, async move {
        sock_recv(&first_loop, &first_socket, 100).await.unwrap()
    })
    .unwrap();
    let inner = event_loop.clone();
    let second = run_until_complete(&event_loop, async move {
        sleep(0.5, ()).await; // the first waits already
        sock_recv(&inner, &ours, 100).await
    });
    let second = second.unwrap();
    assert!(
        matches!(second, Err(SockError::Refused(SelectorError::Busy(busy))) if busy == fd),
        "{second:?}"
    );
    // Refused, the second took nothing from the first, which still reads.
    assert_eq!(
        run_until_complete(&event_loop, first).unwrap(),
        b"one reader"
    );
}

#[test]
fn dropping_the_await_removes_the_reader_and_leaves_the_data() {
    let event_loop = new_loop();
    let (ours, theirs) = socket_pair();
    let fd = ours.as_raw_fd();
    send_later(&event_loop, 1.0, theirs, b"kept");
    let abort = Abort::default();
    let (abort_later, reading_loop, reading_socket) =
        (abort.clone(), event_loop.clone(), Rc::clone(&ours));
    let dropped = create_task(&event_loop, async move {
        let read = sock_recv(&reading_loop, &reading_socket, 100);
        abort.run(read).await.is_some()
    })
    .unwrap();
    event_loop
        .call_later(0.5, move |_| abort_later.abort())
        .unwrap();
    let inner = event_loop.clone();
    let after = run_until_complete(&event_loop, async move {
        sleep(0.75, ()).await;
        let reader_left = inner.has_reader(fd);
        // Had the reader stayed, it would have read the data at 1.0, for
        // no one; it is still there for the next read.
        let data = sock_recv(&inner, &ours, 100).await.unwrap();
        (reader_left, data, Rc::strong_count(&ours))
    });
    let (reader_left, data, holders) = after.unwrap();
    assert!(dropped.done(), "the dropped await ended its task");
    assert!(!dropped.result().unwrap(), "it ended without data");
    assert!(!reader_left, "dropping the await removed the reader");
    assert_eq!(data, b"kept");
    assert_eq!(
        holders, 1,
        "no reader and no task holds the socket any more"
    );
}

/// A real socket whose reads follow a script first: each entry makes one
/// read fail with that kind of error (`None`: read for real). It counts
/// every read.
struct Scripted {
    socket: UnixStream,
    script: RefCell<VecDeque<Option<io::ErrorKind>>>,
    reads: Cell<usize>,
}

impl Scripted {
    fn new(socket: Rc<UnixStream>, script: &[Option<io::ErrorKind>]) -> Rc<Self> {
        Rc::new(Self {
            socket: Rc::try_unwrap(socket).unwrap(),
            script: RefCell::new(script.iter().copied().collect()),
            reads: Cell::new(0),
        })
    }
}

impl AsRawFd for Scripted {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }
}

impl Read for &Scripted {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        self.reads.set(self.reads.get() + 1);
        match self.script.borrow_mut().pop_front().flatten() {
            Some(kind) => Err(kind.into()),
            None => (&self.socket).read(buffer),
        }
    }
}

#[test]
fn a_recv_that_fails_in_the_reader_fails_sock_recv_and_removes_the_reader() {
    let event_loop = new_loop();
    let (ours, theirs) = socket_pair();
    let fd = ours.as_raw_fd();
    send_later(&event_loop, 1.0, theirs, b"never read");
    // The task's recv finds nothing; the reader's fails.
    let reset = io::ErrorKind::ConnectionReset;
    let socket = Scripted::new(ours, &[None, Some(reset)]);
    let inner = event_loop.clone();
    let read = run_until_complete(&event_loop, async move {
        let read = sock_recv(&inner, &socket, 100).await;
        (read, socket.reads.get(), inner.has_reader(fd))
    });
    let (read, reads, reader_left) = read.unwrap();
    assert!(
        matches!(&read, Err(SockError::Recv(error)) if error.kind() == reset),
        "{read:?}"
    );
    assert_eq!(reads, 2);
    assert!(!reader_left);
}

#[test]
fn a_read_that_would_block_after_all_leaves_the_reader_waiting() {
    let event_loop = new_loop();
    let (ours, theirs) = socket_pair();
    send_later(&event_loop, 1.0, theirs, b"second try");
    // The task's recv finds nothing; the reader's first is told "would
    // block" (someone read first); the selector reports the data again.
    let would_block = io::ErrorKind::WouldBlock;
    let socket = Scripted::new(ours, &[None, Some(would_block)]);
    let inner = event_loop.clone();
    let read = run_until_complete(&event_loop, async move {
        let read = sock_recv(&inner, &socket, 100).await;
        (read, socket.reads.get(), inner.iterations())
    });
    let (read, reads, iteration) = read.unwrap();
    assert_eq!(read.unwrap(), b"second try");
    assert_eq!(reads, 3);
    assert_eq!(iteration, 5, "one iteration later than without the miss");
}

#[test]
fn closing_the_loop_with_a_sock_recv_waiting_drops_its_reader() {
    let event_loop = new_loop();
    let (ours, _theirs) = socket_pair();
    let (reading_loop, reading_socket) = (event_loop.clone(), Rc::clone(&ours));
    let waiting = create_task(&event_loop, async move {
        sock_recv(&reading_loop, &reading_socket, 100).await.is_ok()
    })
    .unwrap();
    run_until_complete(&event_loop, sleep(1.0, ())).unwrap();
    assert!(event_loop.has_reader(ours.as_raw_fd()));
    assert_eq!(Rc::strong_count(&ours), 3, "ours, the task's, the reader's");
    event_loop.close().unwrap();
    assert!(!waiting.done());
    assert_eq!(
        Rc::strong_count(&ours),
        1,
        "the task and its reader are gone"
    );
}
