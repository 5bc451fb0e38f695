//! The epoll selector: edges kept as levels. What epoll reported is
//! reported again at every `select` until an operation says "would block";
//! nothing is lost when a descriptor is unregistered and registered again;
//! and stage 3's loop, with stage 4's and 5's tasks on it, runs on it.

use std::cell::{Cell, RefCell};
use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::time::Duration;

use stage01_generator_loop::VirtualClock;
use stage02_timed_events::AbstractEventLoop;
use stage03_read_readiness::{Interest, Selector, SelectorEventLoop, SelectorEvents};
use stage04_futures_tasks::{run_until_complete, task_outcome};
use stage05_cancellation::{create_task, sleep, wait_for};
use stage06_socket_io::EpollSelector;

/// A connected pair, both ends non-blocking.
fn pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    (a, b)
}

/// One look, without waiting: what the selector reports.
fn look(selector: &mut EpollSelector) -> Vec<(i32, Interest)> {
    let mut ready = Vec::new();
    selector.select(Some(Duration::ZERO), &mut ready).unwrap();
    ready
}

/// `n` turns of the loop. Each has a timer an hour away to wait for, so
/// that a turn with nothing ready moves the virtual clock to it instead of
/// waiting for the descriptor for ever.
fn turns(event_loop: &SelectorEventLoop, n: usize) {
    for _ in 0..n {
        event_loop.call_later(3600.0, |_| {}).unwrap();
        event_loop.run_once().unwrap();
    }
}

/// Read what is there, up to "would block".
fn drain(stream: &UnixStream) -> String {
    let mut got = Vec::new();
    let mut buffer = [0; 16];
    loop {
        match (&*stream).read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buffer[..n]),
            Err(error) if error.kind() == ErrorKind::WouldBlock => break,
            Err(error) => panic!("{error}"),
        }
    }
    String::from_utf8(got).unwrap()
}

#[test]
fn unread_data_is_reported_at_every_select_until_an_operation_would_block() {
    let mut selector = EpollSelector::new().unwrap();
    let (reader, mut writer) = pair();
    let fd = reader.as_raw_fd();
    selector.register(fd, Interest::READ, ()).unwrap();
    assert_eq!(look(&mut selector), []);

    writer.write_all(b"one edge").unwrap();
    // epoll says so once; the selector goes on saying so, as a
    // level-triggered one would, while the data is unread.
    for _ in 0..3 {
        assert_eq!(look(&mut selector), [(fd, Interest::READ)]);
    }
    assert_eq!(drain(&reader), "one edge");
    // Read, but nobody said "would block": still reported (a reader that
    // read only part must be called again).
    assert_eq!(look(&mut selector), [(fd, Interest::READ)]);
    selector.forget_readiness(fd, Interest::READ);
    assert_eq!(look(&mut selector), []);
    assert_eq!(selector.kept(), []);

    // New data is a new edge.
    writer.write_all(b"two").unwrap();
    assert_eq!(look(&mut selector), [(fd, Interest::READ)]);
}

#[test]
fn the_end_of_the_stream_stays_ready_whatever_a_read_says() {
    let mut selector = EpollSelector::new().unwrap();
    let (reader, mut writer) = pair();
    let fd = reader.as_raw_fd();
    selector.register(fd, Interest::READ, ()).unwrap();
    // The last bytes and the end arrive together: one edge for both.
    writer.write_all(b"last").unwrap();
    writer.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(look(&mut selector), [(fd, Interest::READ)]);
    // A read that came back short says so (the transport does), but the
    // end has not been read: forgetting it would leave it unread for good.
    let mut buffer = [0; 16];
    assert_eq!((&reader).read(&mut buffer).unwrap(), 4);
    selector.forget_readiness(fd, Interest::READ);
    assert_eq!(look(&mut selector), [(fd, Interest::READ)]);
    assert_eq!((&reader).read(&mut buffer).unwrap(), 0, "the end");
}

#[test]
fn data_that_comes_while_the_reader_is_away_is_not_lost() {
    let mut selector = EpollSelector::new().unwrap();
    let (reader, mut writer) = pair();
    let fd = reader.as_raw_fd();
    selector.register(fd, Interest::READ, ()).unwrap();
    writer.write_all(b"a").unwrap();
    assert_eq!(look(&mut selector), [(fd, Interest::READ)]);
    assert_eq!(drain(&reader), "a");
    selector.forget_readiness(fd, Interest::READ);

    // Removed, data arrives, added again: epoll reports what is ready at
    // registration as the first edge.
    selector.unregister(fd).unwrap();
    writer.write_all(b"b").unwrap();
    assert_eq!(look(&mut selector), []);
    selector.register(fd, Interest::READ, ()).unwrap();
    assert_eq!(look(&mut selector), [(fd, Interest::READ)]);

    // Removed while unread data waits, added again: still there.
    selector.unregister(fd).unwrap();
    selector.register(fd, Interest::READ, ()).unwrap();
    assert_eq!(look(&mut selector), [(fd, Interest::READ)]);
    assert_eq!(drain(&reader), "b");
}

#[test]
fn writable_and_a_peer_gone_are_reported_too() {
    let mut selector = EpollSelector::new().unwrap();
    let (one, other) = pair();
    let fd = one.as_raw_fd();
    selector.register(fd, Interest::WRITE, ()).unwrap();
    assert_eq!(look(&mut selector), [(fd, Interest::WRITE)]);
    selector.modify(fd, Interest::READ).unwrap();
    assert_eq!(look(&mut selector), [], "kept, but not watched for");
    drop(other);
    // The peer gone: readable (a read answers end of file at once).
    assert_eq!(look(&mut selector), [(fd, Interest::READ)]);
    assert_eq!(drain(&one), "");
}

#[test]
fn a_loop_reader_that_says_would_block_runs_once_per_read_and_then_rests() {
    // A reader that reads one byte at a time: "abc" takes it three calls,
    // and the fourth finds nothing and says so. Then it is not called
    // again, however many turns the loop makes, until new data comes.
    let event_loop =
        SelectorEventLoop::with_selector(VirtualClock::new(), EpollSelector::new().unwrap())
            .unwrap();
    let (reader, mut writer) = pair();
    let fd = reader.as_raw_fd();
    let (calls, got) = (Rc::new(Cell::new(0)), Rc::new(RefCell::new(String::new())));
    let (counts, keeps) = (Rc::clone(&calls), Rc::clone(&got));
    event_loop
        .add_reader(fd, move |event_loop| {
            counts.set(counts.get() + 1);
            let mut byte = [0; 1];
            match (&reader).read(&mut byte) {
                Ok(1) => keeps.borrow_mut().push(char::from(byte[0])),
                Err(error) if error.kind() == ErrorKind::WouldBlock => {
                    event_loop.would_block(fd, Interest::READ);
                }
                other => panic!("{other:?}"),
            }
        })
        .unwrap();
    writer.write_all(b"abc").unwrap();
    turns(&event_loop, 10);
    assert_eq!((calls.get(), got.borrow().as_str()), (4, "abc"));
    writer.write_all(b"d").unwrap();
    turns(&event_loop, 10);
    assert_eq!((calls.get(), got.borrow().as_str()), (6, "abcd"));
}

#[test]
fn a_loop_reader_that_never_says_would_block_is_called_at_every_turn() {
    // The price of keeping edges as levels: a reader that does not say
    // "would block" is taken for one that left data unread.
    let event_loop =
        SelectorEventLoop::with_selector(VirtualClock::new(), EpollSelector::new().unwrap())
            .unwrap();
    let (reader, mut writer) = pair();
    let calls = Rc::new(Cell::new(0));
    let counts = Rc::clone(&calls);
    event_loop
        .add_reader(reader.as_raw_fd(), move |_| {
            counts.set(counts.get() + 1);
            drain(&reader);
        })
        .unwrap();
    writer.write_all(b"x").unwrap();
    turns(&event_loop, 10);
    assert_eq!(calls.get(), 10);
}

#[test]
fn stage_5_tasks_run_on_the_epoll_loop() {
    let event_loop =
        SelectorEventLoop::with_selector(VirtualClock::new(), EpollSelector::new().unwrap())
            .unwrap();
    let main = create_task(&event_loop, async {
        let late = wait_for(sleep(10.0, "late"), Some(1.0)).await;
        let in_time = sleep(0.5, "in time").await?;
        Ok((late.is_err(), in_time))
    })
    .unwrap();
    let outcome = task_outcome(run_until_complete(&event_loop, main)).unwrap();
    assert_eq!(outcome.unwrap(), (true, "in time"));
    assert_eq!(event_loop.time(), 1.5);
}

#[test]
fn other_threads_wake_the_epoll_loop_through_mios_waker_in_order() {
    // The loop waits with nothing of its own to wait for (no timer, no
    // descriptor): only a callback from the other thread can end the wait.
    let event_loop = SelectorEventLoop::with_selector(
        stage01_generator_loop::RealClock::new(),
        EpollSelector::new().unwrap(),
    )
    .unwrap();
    assert_eq!(event_loop.watched(), [], "no self-pipe to watch");
    let remote = event_loop.remote().unwrap();
    // A watchdog, so that a wake-up that never comes fails the test
    // instead of hanging it: the callbacks would then not have run.
    let _watchdog = event_loop.call_later(10.0, |event_loop| event_loop.stop());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sender = std::thread::spawn({
        let seen = std::sync::Arc::clone(&seen);
        move || {
            for i in 0..100 {
                let seen = std::sync::Arc::clone(&seen);
                remote
                    .call_soon_threadsafe(move |event_loop: &SelectorEventLoop| {
                        seen.lock().unwrap().push(i);
                        if i == 99 {
                            event_loop.stop();
                        }
                    })
                    .unwrap();
            }
        }
    });
    event_loop.run_forever().unwrap();
    sender.join().unwrap();
    assert_eq!(*seen.lock().unwrap(), (0..100).collect::<Vec<_>>());
}
