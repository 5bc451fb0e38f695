//! The selectors, `select(2)` and `poll(2)`, on real descriptors: what they
//! report as ready, that they are level-triggered, and how they refuse what
//! they cannot watch.
//!
//! Every test here takes one lock: a test that closes a descriptor must not
//! see another test open a new one under the same number in the meantime.

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use stage03_read_readiness::{Interest, PollSelector, SelectSelector, Selector, SelectorError};

fn one_at_a_time() -> MutexGuard<'static, ()> {
    static DESCRIPTORS: Mutex<()> = Mutex::new(());
    DESCRIPTORS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What one `select` with no waiting reports.
fn ready_now(selector: &mut impl Selector) -> Vec<(RawFd, Interest)> {
    let mut ready = Vec::new();
    selector.select(Some(Duration::ZERO), &mut ready).unwrap();
    ready
}

/// A selector of either kind, chosen at run time.
type AnySelector = Box<dyn Selector<Data = ()>>;

/// Run `check` on a `SelectSelector` and on a `PollSelector`.
fn for_both(check: impl Fn(&mut dyn FnMut() -> AnySelector)) {
    check(&mut || Box::new(SelectSelector::new()) as AnySelector);
    check(&mut || Box::new(PollSelector::new()) as AnySelector);
}

#[test]
fn a_socket_is_readable_only_once_data_arrives_and_stays_so_until_read() {
    let _lock = one_at_a_time();
    for_both(|new| {
        let mut selector = new();
        let (ours, mut theirs) = UnixStream::pair().unwrap();
        let fd = ours.as_raw_fd();
        selector.register(fd, Interest::READ, ()).unwrap();
        assert_eq!(ready_now(&mut selector), []);

        theirs.write_all(b"abc").unwrap();
        assert_eq!(ready_now(&mut selector), [(fd, Interest::READ)]);
        // Level-triggered: nobody read the data, so it is reported again.
        assert_eq!(ready_now(&mut selector), [(fd, Interest::READ)]);
    });
}

#[test]
fn descriptors_ready_together_are_reported_in_the_order_of_their_numbers() {
    let _lock = one_at_a_time();
    for_both(|new| {
        let mut selector = new();
        let pairs: Vec<_> = (0..3).map(|_| UnixStream::pair().unwrap()).collect();
        // Registered from the highest number down: the report does not
        // follow the order of registration.
        for (ours, theirs) in pairs.iter().rev() {
            selector
                .register(ours.as_raw_fd(), Interest::READ, ())
                .unwrap();
            (&*theirs).write_all(b"x").unwrap();
        }
        let mut numbers: Vec<RawFd> = pairs.iter().map(|(ours, _)| ours.as_raw_fd()).collect();
        numbers.sort_unstable();
        let expected: Vec<_> = numbers.into_iter().map(|fd| (fd, Interest::READ)).collect();
        assert_eq!(ready_now(&mut selector), expected);
    });
}

#[test]
fn end_of_file_counts_as_readable() {
    let _lock = one_at_a_time();
    for_both(|new| {
        let mut selector = new();
        let (ours, theirs) = UnixStream::pair().unwrap();
        selector
            .register(ours.as_raw_fd(), Interest::READ, ())
            .unwrap();
        drop(theirs);
        assert_eq!(
            ready_now(&mut selector),
            [(ours.as_raw_fd(), Interest::READ)]
        );
    });
}

#[test]
fn a_socket_with_room_is_writable_and_only_what_was_asked_is_reported() {
    let _lock = one_at_a_time();
    for_both(|new| {
        let mut selector = new();
        let (ours, mut theirs) = UnixStream::pair().unwrap();
        let fd = ours.as_raw_fd();
        selector.register(fd, Interest::WRITE, ()).unwrap();
        theirs.write_all(b"x").unwrap(); // readable too, but not asked
        assert_eq!(ready_now(&mut selector), [(fd, Interest::WRITE)]);
        selector.modify(fd, Interest::BOTH).unwrap();
        assert_eq!(ready_now(&mut selector), [(fd, Interest::BOTH)]);
    });
}

#[test]
fn a_regular_file_is_always_ready() {
    let _lock = one_at_a_time();
    for_both(|new| {
        let mut selector = new();
        let file = File::open(env!("CARGO_MANIFEST_PATH")).unwrap();
        let fd = file.as_raw_fd();
        selector.register(fd, Interest::BOTH, ()).unwrap();
        // Nothing was written, nobody is waiting for the disk: still "ready",
        // because a read of a regular file never waits for data to arrive.
        for _ in 0..3 {
            assert_eq!(ready_now(&mut selector), [(fd, Interest::BOTH)]);
        }
    });
}

#[test]
fn the_timeout_is_waited_when_nothing_is_ready() {
    let _lock = one_at_a_time();
    for_both(|new| {
        let mut selector = new();
        let (ours, _theirs) = UnixStream::pair().unwrap();
        selector
            .register(ours.as_raw_fd(), Interest::READ, ())
            .unwrap();
        let mut ready = Vec::new();
        let start = std::time::Instant::now();
        selector
            .select(Some(Duration::from_millis(20)), &mut ready)
            .unwrap();
        // A lower bound only: the kernel may wake us late, never early.
        assert!(start.elapsed() >= Duration::from_millis(20));
        assert!(ready.is_empty());
    });
}

#[test]
fn registration_mistakes_are_refused_by_name() {
    let _lock = one_at_a_time();
    for_both(|new| {
        let mut selector = new();
        let (ours, _theirs) = UnixStream::pair().unwrap();
        let fd = ours.as_raw_fd();
        selector.register(fd, Interest::READ, ()).unwrap();
        assert!(matches!(
            selector.register(fd, Interest::WRITE, ()),
            Err(SelectorError::AlreadyRegistered(f)) if f == fd
        ));
        assert!(matches!(
            selector.modify(fd + 1000, Interest::READ),
            Err(SelectorError::NotRegistered(_))
        ));
        assert!(matches!(
            selector.unregister(fd + 1000),
            Err(SelectorError::NotRegistered(_))
        ));
        assert!(matches!(
            selector.register(-1, Interest::READ, ()),
            Err(SelectorError::BadDescriptor(-1))
        ));
        let (other, _peer) = UnixStream::pair().unwrap();
        assert!(matches!(
            selector.register(other.as_raw_fd(), Interest::default(), ()),
            Err(SelectorError::NoInterest(_))
        ));
        selector.unregister(fd).unwrap();
        assert!(selector.keys().is_empty());
    });
}

#[test]
fn a_closed_descriptor_is_refused_and_one_closed_later_is_named() {
    let _lock = one_at_a_time();
    for_both(|new| {
        let mut selector = new();
        let (ours, _theirs) = UnixStream::pair().unwrap();
        let fd = ours.as_raw_fd();
        drop(ours);
        assert!(matches!(
            selector.register(fd, Interest::READ, ()),
            Err(SelectorError::BadDescriptor(f)) if f == fd
        ));

        let (ours, _theirs) = UnixStream::pair().unwrap();
        let fd = ours.as_raw_fd();
        selector.register(fd, Interest::READ, ()).unwrap();
        drop(ours); // closed behind the selector's back
        let mut ready = Vec::new();
        let error = selector
            .select(Some(Duration::ZERO), &mut ready)
            .unwrap_err();
        assert!(
            matches!(error, SelectorError::BadDescriptor(f) if f == fd),
            "{error}"
        );
        // Unregistering a closed descriptor is how a connection ends: allowed.
        selector.unregister(fd).unwrap();
    });
}

#[test]
fn select_refuses_descriptors_past_fd_setsize_and_poll_takes_them() {
    let _lock = one_at_a_time();
    // Open files until one is numbered past select's limit (1024 on Linux).
    let limit = libc::FD_SETSIZE as RawFd;
    let mut files = Vec::new();
    let high = loop {
        let Ok(file) = File::open(env!("CARGO_MANIFEST_PATH")) else {
            eprintln!("skipped: this process may not open {limit} files");
            return;
        };
        let fd = file.as_raw_fd();
        files.push(file);
        if fd >= limit {
            break fd;
        }
    };
    let mut select = SelectSelector::new();
    let error = select.register(high, Interest::READ, ()).unwrap_err();
    assert!(matches!(error, SelectorError::TooHigh { fd, limit: 1024 } if fd == high));
    assert!(error.to_string().contains("use poll"), "{error}");

    let mut poll = PollSelector::new();
    poll.register(high, Interest::READ, ()).unwrap();
    assert_eq!(ready_now(&mut poll), [(high, Interest::READ)]);
}

#[test]
fn each_registration_keeps_its_data_until_unregistered() {
    let _lock = one_at_a_time();
    let mut selector: PollSelector<&str> = PollSelector::new();
    let (ours, mut theirs) = UnixStream::pair().unwrap();
    let fd = ours.as_raw_fd();
    selector.register(fd, Interest::READ, "the reader").unwrap();
    theirs.write_all(b"x").unwrap();
    // What the loop does with a ready descriptor: look up what it registered.
    let ready = ready_now(&mut selector);
    assert_eq!(ready, [(fd, Interest::READ)]);
    let key = selector.get_key(ready[0].0).expect("registered");
    assert_eq!(key.data, "the reader");
    selector.modify(fd, Interest::BOTH).unwrap();
    let key = selector.get_key(fd).expect("registered");
    assert_eq!(key.events, Interest::BOTH);
    assert_eq!(key.data, "the reader", "modify keeps the data");
    assert_eq!(selector.unregister(fd).unwrap(), "the reader");
    assert!(selector.get_key(fd).is_none());
}
