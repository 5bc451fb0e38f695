//! Loops that end with work pending: closed, or dropped by their owner,
//! they give back every descriptor they opened and every one their pending
//! coroutines held, and nothing keeps them alive.
//!
//! The tests count this process's open descriptors, so they take turns, and
//! no other test file shares their process.

use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use stage01_generator_loop::{AsyncCoroutine, VirtualClock, Yielder};
use stage02_timed_events::{AbstractEventLoop, LoopError, spawn};
use stage03_read_readiness::{
    IoEvent, PollSelector, SelectorError, SelectorEventLoop, SelectorEvents, read,
};

fn one_at_a_time() -> MutexGuard<'static, ()> {
    static DESCRIPTORS: Mutex<()> = Mutex::new(());
    DESCRIPTORS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// How many descriptors this process has open.
fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("Linux lists a process's descriptors in /proc/self/fd")
        .count()
}

/// A loop on a clone of `clock`: the loop owns the clone, so
/// `clock.clones()` tells whether the loop was freed.
fn loop_on(clock: &VirtualClock) -> SelectorEventLoop {
    SelectorEventLoop::with_selector(clock.clone(), PollSelector::new()).expect("a loop")
}

#[test]
fn dropping_loops_with_a_pending_read_or_a_reader_holding_the_loop_frees_everything() {
    let _lock = one_at_a_time();
    let before = open_descriptors();
    let clock = VirtualClock::new();
    for n in 0..1_000 {
        let event_loop = loop_on(&clock);
        let (ours, theirs) = UnixStream::pair().unwrap();
        ours.set_nonblocking(true).unwrap();
        if n % 2 == 0 {
            // A coroutine waiting to read `ours`, which it owns.
            let reader = AsyncCoroutine::new(move |co: Yielder<IoEvent>| async move {
                let mut ours = ours;
                read(&co, &mut ours, 16).await
            });
            spawn(&event_loop, "reader", reader, |_, _| {}).unwrap();
            event_loop.run_once().unwrap(); // the coroutine starts, and waits
        } else {
            // A reader that holds a clone of its own loop.
            let (clone, fd) = (event_loop.clone(), ours.as_raw_fd());
            event_loop
                .add_reader(fd, move |_| {
                    let _ = (&clone, &ours);
                })
                .unwrap();
        }
        assert_eq!(event_loop.watched().len(), 1);
        drop((event_loop, theirs));
    }
    assert_eq!(clock.clones(), 1, "every loop was freed");
    assert_eq!(open_descriptors(), before, "every descriptor was closed");
}

#[test]
fn close_gives_back_the_loops_descriptors_and_refuses_what_comes_after() {
    let _lock = one_at_a_time();
    let before = open_descriptors();
    let clock = VirtualClock::new();
    let event_loop = loop_on(&clock);
    let remote = event_loop.remote().unwrap();
    assert_eq!(open_descriptors(), before + 2, "the self-pipe's two ends");
    let (ours, _theirs) = UnixStream::pair().unwrap();
    event_loop.add_reader(ours.as_raw_fd(), |_| {}).unwrap();

    event_loop.close().unwrap();
    assert_eq!(
        open_descriptors(),
        before + 2,
        "only the socket pair is left"
    );
    assert!(event_loop.watched().is_empty());
    assert!(matches!(
        event_loop.add_reader(ours.as_raw_fd(), |_| {}),
        Err(SelectorError::Closed)
    ));
    assert!(matches!(event_loop.remote(), Err(LoopError::Closed)));
    // A thread that still holds a `Remote` is told, and its callback is
    // dropped there and then, not kept.
    let sent = Arc::new(());
    let held = Arc::clone(&sent);
    let refused = std::thread::spawn(move || {
        remote
            .call_soon_threadsafe(move |_| drop(held))
            .unwrap_err()
    })
    .join()
    .unwrap();
    assert!(matches!(refused, LoopError::Closed));
    assert_eq!(Arc::strong_count(&sent), 1, "the callback was dropped");
    drop(event_loop);
    assert_eq!(clock.clones(), 1, "the loop was freed");
}
