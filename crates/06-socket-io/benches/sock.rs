//! What a round trip through the loop's socket operations costs: one side
//! sends 64 bytes, the other echoes them, the first receives them. Every
//! case in one criterion group, so that one run measures them side by
//! side; `asyncio_sock.py`, beside this file, measures asyncio the same way
//! on the same machine.
//!
//! An element is one round trip; a run is 10⁴ of them, one after the
//! other, over one connection made before the run (not timed). Two tasks
//! on one thread: the main one sends 64 bytes and receives until 64 have
//! come back; the echo task receives what comes and sends it back, until
//! it has echoed 10⁴ × 64 bytes. TCP sockets have `TCP_NODELAY` on both
//! ends (as asyncio's transports set it), though a strict ping-pong never
//! waits for Nagle's algorithm anyway.
//!
//! - `unix_*`: over a Unix socket pair (`socketpair(2)`).
//! - `tcp_*`: over a TCP connection on 127.0.0.1.
//!   - `*_stage06`: stage 6's [`sock_sendall`] and [`sock_recv`], the
//!     echo side a second stage 5 task on the same loop, which waits in
//!     the [`EpollSelector`] (edges kept as levels). Each operation tries
//!     its system call first; a receive that would block adds a reader,
//!     waits for the loop to run it, and the reader is removed once it
//!     has read (an `epoll_ctl` to add and one to remove, per wait, as in
//!     asyncio). A round trip is about four turns of the loop: the echo
//!     task woken by its reader, then the main task by its own.
//!   - `*_tokio`: tokio's `current_thread` runtime with its IO driver,
//!     `tokio::net::UnixStream` and `TcpStream`, `write_all` and `read`
//!     (`read_exact` on the main side), the echo task spawned on a
//!     `LocalSet`. tokio registers each socket once, edge-triggered, and
//!     never again.
//! - `idle_epoll_stage06/N` and `idle_poll_stage06/N`: the Unix round trip
//!   on our loop, with N idle socket pairs (N = 1, 100, 1000) besides the
//!   active one, one end of each watched by a reader that never runs. With
//!   the `EpollSelector` the kernel keeps the watched set, and a wait
//!   costs the same whatever N is. With stage 3's `PollSelector` every
//!   wait hands the kernel the whole set again (`poll(2)` over N + 2
//!   descriptors, the loop's self-pipe included), and the kernel looks at
//!   each (and, in a wait that may sleep, hooks itself onto the wait queue
//!   of each it passes before it finds one ready: the idle ones, opened
//!   first, come first), so a round trip costs more as N grows. Stage 3's
//!   `selectors` benchmark measured one wait with a zero timeout; this
//!   measures what waiting in poll does to a round trip. (At N = 1 poll
//!   may well win: a wait in the epoll selector costs two `epoll_ctl`
//!   calls, the reader added and removed, which poll does in userspace.)
//!
//! Our rows run stage 5's tasks, which are stage 4's underneath: the
//! textbook ones, or, when stage 5's `fast` feature is on (`cargo bench
//! --workspace --all-features` turns it on), stage 4's fast ones, and our
//! rows are then named `*_stage06_fast`. Our loops run on the real clock
//! (`RealClock`), as tokio's runtime does. Every loop, runtime and
//! connection is made once and reused from run to run; each run starts
//! from the runtime's own entry point (`run_until_complete`,
//! `LocalSet::block_on`), timed too, once per run. Criterion reports the
//! time of one run and its throughput in elements per second: at 10⁴ round
//! trips a run of 10 ms is 1 µs per round trip.
//!
//! Run with `cargo bench -p stage06-socket-io --features bench --bench
//! sock`, or pass a filter after `--`, e.g. `-- idle_`; `-- --warm-up-time
//! 1 --measurement-time 2` is a short run. Then, for asyncio:
//! `/usr/bin/python3 crates/06-socket-io/benches/asyncio_sock.py`.

use std::cell::RefCell;
use std::hint::black_box;
use std::io;
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::rc::Rc;

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use stage01_generator_loop::RealClock;
use stage03_read_readiness::{PollSelector, SelectorEventLoop, SelectorEvents};
use stage04_futures_tasks::{FutureError, run_until_complete};
use stage05_cancellation::create_task;
use stage06_socket_io::{EpollSelector, SockError, sock_recv, sock_sendall};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Round trips in one run.
const ROUND_TRIPS: usize = 10_000;
/// Bytes sent each way in a round trip.
const MESSAGE: usize = 64;
/// Idle socket pairs besides the active one, in `idle_*`.
const IDLE: [usize; 3] = [1, 100, 1000];

// ---------------------------------------------------------------------------
// Connections, made once, blocking calls allowed: not timed.

/// A connected Unix socket pair, both ends non-blocking.
fn unix_pair() -> (UnixStream, UnixStream) {
    let (one, other) = UnixStream::pair().expect("a socket pair");
    one.set_nonblocking(true).expect("non-blocking");
    other.set_nonblocking(true).expect("non-blocking");
    (one, other)
}

/// A TCP connection on 127.0.0.1: the client's end, the server's end, both
/// non-blocking, `TCP_NODELAY` on both.
fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a listener");
    let client = TcpStream::connect(listener.local_addr().expect("an address")).expect("connect");
    let (server, _) = listener.accept().expect("accept");
    for end in [&client, &server] {
        end.set_nonblocking(true).expect("non-blocking");
        end.set_nodelay(true).expect("TCP_NODELAY");
    }
    (client, server)
}

/// 2 × `pairs` descriptors, with room for the rest of the process: raise
/// the soft limit on open files towards the hard one if it is lower.
fn make_room_for(pairs: usize) {
    let needed = (2 * pairs + 256) as libc::rlim_t;
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: a live `rlimit` for getrlimit(2) to fill, then to read.
    #[allow(unsafe_code)]
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 || limit.rlim_cur >= needed {
            return;
        }
        limit.rlim_cur = needed.min(limit.rlim_max);
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
    }
}

// ---------------------------------------------------------------------------
// Stage 6: the loop's socket operations, stage 5 tasks, on the real clock.

/// Whether stage 5 runs on stage 4's fast tasks (its `fast` feature), for
/// the rows' names.
fn on_fast_tasks() -> bool {
    std::any::type_name::<stage04_futures_tasks::Task<()>>().contains("::fast::")
}

fn epoll_loop() -> SelectorEventLoop {
    let selector = EpollSelector::new().expect("an epoll instance");
    SelectorEventLoop::with_selector(RealClock::new(), selector).expect("a selector loop")
}

fn poll_loop() -> SelectorEventLoop {
    SelectorEventLoop::with_selector(RealClock::new(), PollSelector::new())
        .expect("a selector loop")
}

/// A socket error as a task's exception (none is expected).
fn failed(error: SockError) -> FutureError {
    FutureError::Exception(Rc::new(error))
}

/// `n` round trips from `near` to `far` and back, `far` echoed by a second
/// task on the same loop; the main task's end at once.
fn stage06_round_trips<S>(event_loop: &SelectorEventLoop, near: &Rc<S>, far: &Rc<S>, n: usize)
where
    S: AsRawFd + 'static,
    for<'a> &'a S: io::Read + io::Write,
{
    let (here, near, far) = (event_loop.clone(), Rc::clone(near), Rc::clone(far));
    let main = create_task(event_loop, async move {
        let echoing = here.clone();
        let echo = create_task(&here, async move {
            let mut echoed = 0;
            while echoed < n * MESSAGE {
                let data = sock_recv(&echoing, &far, MESSAGE).await.map_err(failed)?;
                assert!(!data.is_empty(), "the main task closed its end");
                sock_sendall(&echoing, &far, &data).await.map_err(failed)?;
                echoed += data.len();
            }
            Ok(())
        })
        .expect("an open loop");
        let message = [7; MESSAGE];
        for _ in 0..n {
            sock_sendall(&here, &near, black_box(&message))
                .await
                .map_err(failed)?;
            let mut got = 0;
            while got < MESSAGE {
                let data = sock_recv(&here, &near, MESSAGE - got)
                    .await
                    .map_err(failed)?;
                assert!(!data.is_empty(), "the echo task closed its end");
                got += black_box(data).len();
            }
        }
        echo.await
    })
    .expect("an open loop");
    run_until_complete(event_loop, main).expect("every round trip succeeds");
}

/// A loop of kind `new_loop`, watching one end of each of `idle` socket
/// pairs with a reader that never runs, and the pairs (kept open: a closed
/// peer would make its end readable).
fn with_idle_pairs(
    new_loop: fn() -> SelectorEventLoop,
    idle: usize,
) -> (SelectorEventLoop, Vec<(UnixStream, UnixStream)>) {
    let event_loop = new_loop();
    let pairs: Vec<_> = (0..idle).map(|_| unix_pair()).collect();
    for (watched, _) in &pairs {
        event_loop
            .add_reader(watched.as_raw_fd(), |_| {
                unreachable!("an idle socket is never readable")
            })
            .expect("a watched socket");
    }
    (event_loop, pairs)
}

// ---------------------------------------------------------------------------
// tokio: a current-thread runtime with its IO driver, and a `LocalSet` for
// the echo task.

struct Tokio {
    runtime: tokio::runtime::Runtime,
    local: tokio::task::LocalSet,
}

fn tokio_runtime() -> Tokio {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("a current-thread runtime");
    Tokio {
        runtime,
        local: tokio::task::LocalSet::new(),
    }
}

/// The two ends of a tokio connection, between runs: each run takes them,
/// hands the far end to its echo task, and puts both back at its end.
type Ends<S> = RefCell<Option<(S, S)>>;

fn tokio_round_trips<S>(tokio: &Tokio, ends: &Ends<S>, n: usize)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + 'static,
{
    let (mut near, mut far) = ends.borrow_mut().take().expect("the ends, between runs");
    let (near, far) = tokio.local.block_on(&tokio.runtime, async move {
        let echo = tokio::task::spawn_local(async move {
            let mut buffer = [0; MESSAGE];
            let mut echoed = 0;
            while echoed < n * MESSAGE {
                let count = far.read(&mut buffer).await.expect("read");
                assert!(count > 0, "the main task closed its end");
                far.write_all(&buffer[..count]).await.expect("write");
                echoed += count;
            }
            far
        });
        let message = [7; MESSAGE];
        let mut buffer = [0; MESSAGE];
        for _ in 0..n {
            near.write_all(black_box(&message)).await.expect("write");
            near.read_exact(&mut buffer).await.expect("read");
            black_box(&buffer);
        }
        (near, echo.await.expect("the echo task ends"))
    });
    *ends.borrow_mut() = Some((near, far));
}

// ---------------------------------------------------------------------------

fn sock(c: &mut Criterion) {
    let mut group = c.benchmark_group("stage06_sock");
    // A run takes some milliseconds (tokio) to some hundreds (poll(2) over
    // a thousand idle sockets): ten samples of whole runs.
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .throughput(Throughput::Elements(ROUND_TRIPS as u64));
    let kind = if on_fast_tasks() { "_fast" } else { "" };
    let ours = |case: &str, n: usize| BenchmarkId::new(format!("{case}_stage06{kind}"), n);

    let event_loop = epoll_loop();
    let tokio = tokio_runtime();

    let (near, far) = unix_pair();
    let (near, far) = (Rc::new(near), Rc::new(far));
    group.bench_function(ours("unix", ROUND_TRIPS), |b| {
        b.iter(|| stage06_round_trips(&event_loop, &near, &far, black_box(ROUND_TRIPS)));
    });
    let ends =
        RefCell::new(Some(tokio.runtime.block_on(async {
            tokio::net::UnixStream::pair().expect("a socket pair")
        })));
    group.bench_function(BenchmarkId::new("unix_tokio", ROUND_TRIPS), |b| {
        b.iter(|| tokio_round_trips(&tokio, &ends, black_box(ROUND_TRIPS)));
    });

    let (near, far) = tcp_pair();
    let (near, far) = (Rc::new(near), Rc::new(far));
    group.bench_function(ours("tcp", ROUND_TRIPS), |b| {
        b.iter(|| stage06_round_trips(&event_loop, &near, &far, black_box(ROUND_TRIPS)));
    });
    let ends = RefCell::new(Some(tokio.runtime.block_on(async {
        let (near, far) = tcp_pair();
        let wrap = |end| tokio::net::TcpStream::from_std(end).expect("a tokio TcpStream");
        (wrap(near), wrap(far))
    })));
    group.bench_function(BenchmarkId::new("tcp_tokio", ROUND_TRIPS), |b| {
        b.iter(|| tokio_round_trips(&tokio, &ends, black_box(ROUND_TRIPS)));
    });

    make_room_for(IDLE.iter().max().copied().unwrap_or(0) + 2);
    let selectors: [(&str, fn() -> SelectorEventLoop); 2] =
        [("idle_epoll", epoll_loop), ("idle_poll", poll_loop)];
    for (case, new_loop) in selectors {
        for idle in IDLE {
            let (event_loop, _idle_pairs) = with_idle_pairs(new_loop, idle);
            let (near, far) = unix_pair();
            let (near, far) = (Rc::new(near), Rc::new(far));
            group.bench_function(ours(case, idle), |b| {
                b.iter(|| stage06_round_trips(&event_loop, &near, &far, black_box(ROUND_TRIPS)));
            });
        }
    }
    group.finish();
}

criterion_group!(benches, sock);
criterion_main!(benches);
