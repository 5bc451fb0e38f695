//! What ONE wait costs when K descriptors are registered and one of them is
//! ready: the price of asking the kernel "which of these can I read?".
//!
//! K is the number registered, the ready one included (K = 1: only the
//! ready one), from 1 to 1024. Every descriptor is one end of a Unix socket
//! pair; the other ends stay open (a closed peer would make its end readable:
//! end of file) and are renumbered to 1024 and above, so that the watched ends
//! get the lowest numbers: 3, 4, 5, and so on. The ready one (the first) holds
//! one byte that nobody reads: level-triggered, it is reported by every call.
//! Every wait has a zero timeout, so it never sleeps: the measurement is the
//! call itself, userspace bookkeeping included.
//!
//! In one group, so the chapter can plot them together:
//! - `select`: our [`SelectSelector`]: it rebuilds the bitmaps from
//!   its registrations, and the kernel tests every bit. `select` takes only
//!   descriptors below 1024 (`FD_SETSIZE`), and 0, 1 and 2 are stdin, stdout
//!   and stderr, so at most 1021 fit: it stops at K = 1000.
//! - `poll`: our [`PollSelector`]: it refills the array, and the
//!   kernel looks at every entry.
//! - `epoll`: `epoll_wait(2)`, level-triggered like the two above, with the
//!   same descriptors registered once (`epoll_ctl`) before: the kernel keeps
//!   a list of the ready ones, so a call costs the same whatever K is.
//! - `mio`: `mio::Poll::poll` on the same descriptors. mio registers every
//!   descriptor edge-triggered (`EPOLLET`), always: the ready one is reported
//!   by the first call only, and every call measured here finds nothing new.
//!   That is what an edge-triggered program pays for a wait while its K
//!   connections are quiet.
//!
//! Run with `cargo bench -p stage03-read-readiness --features bench --bench
//! selectors`, or add a filter after `--`, e.g. `-- /1000`.

use std::hint::black_box;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use mio::unix::SourceFd;
use mio::{Events, Token};
use stage03_read_readiness::{Interest, PollSelector, SelectSelector, Selector};

/// How many descriptors are registered, the ready one included.
const COUNTS: [usize; 5] = [1, 16, 256, 1000, 1024];

/// Where the far ends of the socket pairs go: out of the way of the watched
/// ends, which keep the lowest numbers (below `FD_SETSIZE` for `select`).
const HIGH: RawFd = 1024;

/// The watched ends and, kept open, their peers.
struct Sockets {
    /// In order of descriptor number. The first has a byte to read; the
    /// others never will.
    watched: Vec<UnixStream>,
    /// Renumbered to `HIGH` and above.
    _peers: Vec<OwnedFd>,
}

impl Sockets {
    fn open(count: usize) -> Self {
        let mut watched = Vec::with_capacity(count);
        let mut peers = Vec::with_capacity(count);
        for index in 0..count {
            let (end, mut peer) = UnixStream::pair().expect("a socket pair");
            if index == 0 {
                peer.write_all(&[1]).expect("a byte for the ready socket");
            }
            // Dropping the original peer frees its number for the next pair's
            // watched end: the watched ends are numbered one after another.
            peers.push(renumber_high(&OwnedFd::from(peer)));
            watched.push(end);
        }
        Self {
            watched,
            _peers: peers,
        }
    }

    /// The descriptors of the first `k` watched ends.
    fn first(&self, k: usize) -> Vec<RawFd> {
        self.watched[..k].iter().map(AsRawFd::as_raw_fd).collect()
    }
}

/// A copy of `fd` numbered `HIGH` or above (`fcntl(F_DUPFD_CLOEXEC)`).
fn renumber_high(fd: &OwnedFd) -> OwnedFd {
    // SAFETY: `F_DUPFD_CLOEXEC` only makes a new descriptor for the open file
    // `fd` names; it reads and writes no memory of ours.
    #[allow(unsafe_code)]
    let high = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, HIGH) };
    assert!(
        high >= HIGH,
        "fcntl(F_DUPFD_CLOEXEC): {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: `high` was just made for us, and nothing else owns it.
    #[allow(unsafe_code)]
    unsafe {
        OwnedFd::from_raw_fd(high)
    }
}

/// Level-triggered `epoll`, straight from libc: mio has no level-triggered
/// mode.
struct LevelEpoll {
    epoll: OwnedFd,
    events: Vec<libc::epoll_event>,
}

impl LevelEpoll {
    fn new(fds: &[RawFd]) -> Self {
        // SAFETY: `epoll_create1` takes no pointers.
        #[allow(unsafe_code)]
        let raw = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        assert!(
            raw >= 0,
            "epoll_create1: {}",
            std::io::Error::last_os_error()
        );
        // SAFETY: `raw` was just made for us, and nothing else owns it.
        #[allow(unsafe_code)]
        let epoll = unsafe { OwnedFd::from_raw_fd(raw) };
        for &fd in fds {
            let mut event = libc::epoll_event {
                events: libc::EPOLLIN as u32,
                u64: fd as u64,
            };
            // SAFETY: `event` is a live `epoll_event`, which the kernel only
            // reads.
            #[allow(unsafe_code)]
            let result =
                unsafe { libc::epoll_ctl(epoll.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut event) };
            assert_eq!(result, 0, "epoll_ctl: {}", std::io::Error::last_os_error());
        }
        Self {
            epoll,
            events: vec![libc::epoll_event { events: 0, u64: 0 }; 64],
        }
    }

    /// One `epoll_wait` with a zero timeout: how many descriptors are ready.
    fn wait(&mut self) -> usize {
        // SAFETY: the pointer and length describe `self.events`, a live array
        // the kernel may write to, and nothing else touches during the call.
        #[allow(unsafe_code)]
        let found = unsafe {
            libc::epoll_wait(
                self.epoll.as_raw_fd(),
                self.events.as_mut_ptr(),
                self.events.len() as libc::c_int,
                0,
            )
        };
        usize::try_from(found).expect("epoll_wait failed")
    }
}

/// Raise this process's soft limit on open descriptors to its hard limit,
/// and return the limit now in force. The usual soft limit, 1024, is too
/// low for the peers, numbered from [`HIGH`] up.
fn raise_descriptor_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `getrlimit` writes one `rlimit` into the one we hand it.
    #[allow(unsafe_code)]
    let read = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    assert_eq!(read, 0, "getrlimit: {}", std::io::Error::last_os_error());
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: `setrlimit` only reads the `rlimit` we hand it.
        #[allow(unsafe_code)]
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit = raised;
        }
    }
    limit.rlim_cur
}

/// Whether `k` socket pairs fit under `limit` open descriptors: the peers
/// take numbers from [`HIGH`] up, and the process has a few of its own.
fn fits(k: usize, limit: u64) -> bool {
    HIGH as u64 + k as u64 + 64 <= limit
}

/// Our `selector`, with `fds` registered for reading; checked to report
/// exactly the ready one, `fds[0]`.
fn our_selector<S: Selector<Data = ()>>(mut selector: S, fds: &[RawFd]) -> S {
    for &fd in fds {
        selector.register(fd, Interest::READ, ()).expect("register");
    }
    let mut ready = Vec::new();
    selector
        .select(Some(Duration::ZERO), &mut ready)
        .expect("select");
    assert_eq!(ready, [(fds[0], Interest::READ)]);
    selector
}

fn selectors(c: &mut Criterion) {
    let limit = raise_descriptor_limit();
    let (counts, skipped): (Vec<usize>, Vec<usize>) = COUNTS.iter().partition(|&&k| fits(k, limit));
    for k in skipped {
        let needed = HIGH as u64 + k as u64 + 64;
        eprintln!(
            "skipped K = {k}: it needs `ulimit -n` of {needed} or more, and the hard limit is {limit}"
        );
    }
    let Some(&largest) = counts.iter().max() else {
        return;
    };
    let sockets = Sockets::open(largest);
    let mut group = c.benchmark_group("stage03_one_ready_of_k");
    group
        .sample_size(50)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));

    for k in counts {
        let fds = sockets.first(k);
        let mut ready = Vec::with_capacity(k);

        let fits_select = fds.iter().all(|&fd| (fd as usize) < libc::FD_SETSIZE);
        if fits_select {
            let mut selector = our_selector(SelectSelector::new(), &fds);
            group.bench_function(BenchmarkId::new("select", k), |b| {
                b.iter(|| {
                    selector
                        .select(Some(Duration::ZERO), &mut ready)
                        .expect("select");
                    assert_eq!(ready.len(), 1);
                });
            });
        }

        let mut selector = our_selector(PollSelector::new(), &fds);
        group.bench_function(BenchmarkId::new("poll", k), |b| {
            b.iter(|| {
                selector
                    .select(Some(Duration::ZERO), &mut ready)
                    .expect("poll");
                assert_eq!(ready.len(), 1);
            });
        });
        drop(selector);

        let mut epoll = LevelEpoll::new(&fds);
        assert_eq!(epoll.wait(), 1, "level-triggered: the ready one, again");
        group.bench_function(BenchmarkId::new("epoll", k), |b| {
            b.iter(|| assert_eq!(epoll.wait(), 1));
        });
        drop(epoll);

        let mut poll = mio::Poll::new().expect("mio::Poll");
        for (token, fd) in fds.iter().enumerate() {
            poll.registry()
                .register(&mut SourceFd(fd), Token(token), mio::Interest::READABLE)
                .expect("mio register");
        }
        let mut events = Events::with_capacity(64);
        poll.poll(&mut events, Some(Duration::ZERO))
            .expect("mio poll");
        assert_eq!(events.iter().count(), 1, "the ready one, once");
        group.bench_function(BenchmarkId::new("mio", k), |b| {
            b.iter(|| {
                poll.poll(&mut events, Some(Duration::ZERO))
                    .expect("mio poll");
                black_box(&events);
            });
        });
        // Edge-triggered: nothing new happened, so nothing is reported (polled
        // once more here, as a filter may have left the benchmark out).
        poll.poll(&mut events, Some(Duration::ZERO))
            .expect("mio poll");
        assert!(events.is_empty());
    }
    group.finish();
}

criterion_group!(benches, selectors);
criterion_main!(benches);
