//! Stage 2's loop waiting on a selector: readers and writers, level
//! triggering inside the loop, timers next to a descriptor that is always
//! ready, waking the loop from another thread, and odd requests.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::time::Duration;

use demo_support::Transcript;
use stage01_generator_loop::{RealClock, VirtualClock};
use stage02_timed_events::{AbstractEventLoop, LoopError};
use stage03_read_readiness::{
    Interest, PollSelector, SelectSelector, SelectorError, SelectorEventLoop, SelectorEvents,
};

fn virtual_loop() -> (SelectorEventLoop, VirtualClock) {
    let clock = VirtualClock::new();
    let event_loop = SelectorEventLoop::with_selector(clock.clone(), PollSelector::new());
    (event_loop.unwrap(), clock)
}

#[test]
fn a_reader_runs_in_every_iteration_while_its_data_is_unread() {
    let (event_loop, _) = virtual_loop();
    let (ours, mut theirs) = UnixStream::pair().unwrap();
    theirs.write_all(b"abc").unwrap();
    let log = Transcript::new();
    let (reader_log, socket) = (log.clone(), Rc::new(ours));
    let fd = socket.as_raw_fd();
    event_loop
        .add_reader(fd, move |event_loop| {
            let mut byte = [0];
            (&*socket).read_exact(&mut byte).unwrap();
            let text = format!("iteration {}: {}", event_loop.iterations(), byte[0] as char);
            reader_log.say(text);
        })
        .unwrap();
    let stopper = log.clone();
    event_loop
        .call_later(1.0, move |event_loop| {
            stopper.say(format!("timer at {}", event_loop.time()));
            event_loop.stop();
        })
        .unwrap();
    event_loop.run_forever().unwrap();
    assert_eq!(
        log.lines(),
        [
            "iteration 1: a",
            "iteration 2: b",
            "iteration 3: c",
            "timer at 1"
        ]
    );
}

#[test]
fn a_second_reader_replaces_the_first_and_removing_says_whether_there_was_one() {
    let (event_loop, _) = virtual_loop();
    let (ours, mut theirs) = UnixStream::pair().unwrap();
    let fd = ours.as_raw_fd();
    theirs.write_all(b"x").unwrap();
    let log = Transcript::new();
    let first = log.clone();
    event_loop
        .add_reader(fd, move |_| first.say("first"))
        .unwrap();
    let second = log.clone();
    event_loop
        .add_reader(fd, move |event_loop| {
            second.say("second");
            event_loop.stop();
        })
        .unwrap();
    event_loop.run_forever().unwrap();
    assert_eq!(log.lines(), ["second"]);
    assert!(event_loop.remove_reader(fd));
    assert!(!event_loop.remove_reader(fd));
    assert!(!event_loop.remove_writer(fd));
}

#[test]
fn readers_and_writers_share_a_descriptor() {
    let (event_loop, _) = virtual_loop();
    let (ours, mut theirs) = UnixStream::pair().unwrap();
    let fd = ours.as_raw_fd();
    theirs.write_all(b"x").unwrap();
    let log = Transcript::new();
    let reads = log.clone();
    event_loop
        .add_reader(fd, move |_| reads.say("readable"))
        .unwrap();
    let writes = log.clone();
    event_loop
        .add_writer(fd, move |event_loop| {
            writes.say("writable");
            event_loop.stop();
        })
        .unwrap();
    event_loop.run_forever().unwrap();
    assert_eq!(log.lines(), ["readable", "writable"]);
    assert!(event_loop.remove_writer(fd));
    assert!(event_loop.remove_reader(fd));
    assert!(event_loop.watched().is_empty());
}

#[test]
fn an_always_ready_descriptor_does_not_starve_a_timer() {
    // A regular file is always readable. Each call of its reader "costs"
    // 0.1 s of virtual time, as real work would cost real time; the timer
    // due at 1 s must still fire. (In the iteration in which it is due, the
    // reader runs first, as in asyncio: I/O callbacks join the ready queue
    // before due timers. So the 11th read makes the timer 0.1 s late.)
    let (event_loop, clock) = virtual_loop();
    let file = File::open(env!("CARGO_MANIFEST_PATH")).unwrap();
    let log = Transcript::new();
    let reads = log.clone();
    event_loop
        .add_reader(file.as_raw_fd(), move |_| {
            clock.advance(Duration::from_millis(100));
            reads.say("read");
        })
        .unwrap();
    let timer = log.clone();
    event_loop
        .call_later(1.0, move |event_loop| {
            timer.say(format!("timer at {}", event_loop.time()));
            event_loop.stop();
        })
        .unwrap();
    event_loop.run_forever().unwrap();
    let entries = log.lines();
    assert_eq!(entries.iter().filter(|e| *e == "read").count(), 11);
    assert_eq!(entries.last().unwrap(), "timer at 1.1");
}

#[test]
fn bad_descriptors_are_refused_when_added() {
    let (event_loop, _) = virtual_loop();
    let (ours, _theirs) = UnixStream::pair().unwrap();
    let fd = ours.as_raw_fd();
    drop(ours);
    assert!(matches!(
        event_loop.add_reader(fd, |_| {}),
        Err(SelectorError::BadDescriptor(f)) if f == fd
    ));
    assert!(matches!(
        event_loop.add_writer(-5, |_| {}),
        Err(SelectorError::BadDescriptor(-5))
    ));
    assert!(event_loop.watched().is_empty());
}

#[test]
fn with_nothing_to_watch_and_nobody_to_wake_it_the_loop_says_so() {
    let (event_loop, _) = virtual_loop();
    let error = event_loop.run_forever().unwrap_err();
    assert!(matches!(error, LoopError::NothingToWaitFor), "{error}");
}

#[test]
fn another_thread_wakes_a_loop_waiting_with_no_timeout() {
    // Real clock, nothing scheduled, nothing watched: the loop waits in
    // select() with no timeout at all until the other thread's call arrives.
    let event_loop = SelectorEventLoop::with_selector(RealClock::new(), SelectSelector::new());
    let event_loop = event_loop.unwrap();
    let remote = event_loop.remote().unwrap();
    let log = Transcript::new();
    let worker = std::thread::spawn(move || {
        remote
            .call_soon_threadsafe(|event_loop| event_loop.stop())
            .unwrap();
    });
    let started = log.clone();
    event_loop
        .call_soon(move |_| started.say("loop running"))
        .unwrap();
    event_loop.run_forever().unwrap();
    worker.join().unwrap();
    assert_eq!(log.lines(), ["loop running"]);
}

#[test]
fn calls_from_other_threads_run_in_the_order_they_were_sent() {
    let (event_loop, _) = virtual_loop();
    let remote = event_loop.remote().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    let worker = std::thread::spawn(move || {
        for n in 0..5 {
            let sender = sender.clone();
            remote
                .call_soon_threadsafe(move |_| sender.send(n).unwrap())
                .unwrap();
        }
        remote
            .call_soon_threadsafe(|event_loop| event_loop.stop())
            .unwrap();
    });
    worker.join().unwrap();
    event_loop.run_forever().unwrap();
    assert_eq!(receiver.try_iter().collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
}

#[test]
fn a_reader_removes_itself_through_the_loop_it_is_handed() {
    // No clone of the loop captured: the reader is handed the loop it runs
    // on, with all of stage 3's methods.
    let (event_loop, _) = virtual_loop();
    let (ours, mut theirs) = UnixStream::pair().unwrap();
    theirs.write_all(b"xyz").unwrap();
    let fd = ours.as_raw_fd();
    let log = Transcript::new();
    let reader_log = log.clone();
    event_loop
        .add_reader(fd, move |event_loop| {
            reader_log.say(format!("removed: {}", event_loop.remove_reader(fd)));
        })
        .unwrap();
    event_loop.call_later(1.0, SelectorEventLoop::stop).unwrap();
    event_loop.run_forever().unwrap();
    // Level-triggered, the data still unread: only removal stopped it.
    assert_eq!(log.lines(), ["removed: true"]);
    assert!(event_loop.watched().is_empty());
}

#[test]
fn a_cancelled_reader_does_not_run_and_is_dropped_when_its_descriptor_is_next_ready() {
    let (event_loop, _) = virtual_loop();
    let (ours, mut theirs) = UnixStream::pair().unwrap();
    let fd = ours.as_raw_fd();
    let handle = event_loop.add_reader(fd, |_| panic!("cancelled")).unwrap();
    handle.cancel();
    assert!(
        !event_loop.has_reader(fd),
        "a cancelled reader does not count"
    );
    assert_eq!(event_loop.watched(), [(fd, Interest::READ)], "until ready");
    theirs.write_all(b"x").unwrap();
    event_loop.call_later(1.0, SelectorEventLoop::stop).unwrap();
    event_loop.run_forever().unwrap();
    // As asyncio's `_process_events` does with a cancelled reader's handle.
    assert!(event_loop.watched().is_empty());
}

/// Making it fast: a loop that looks before it sleeps is written to only
/// while it may sleep. A call that races with its falling asleep is never
/// lost: another thread sends 10⁴ calls, each when the one before has run,
/// so each may arrive as the loop stops looking; every one runs.
#[test]
fn a_quiet_self_pipe_loses_no_call_that_races_with_the_loop_falling_asleep() {
    const CALLS: u32 = 10_000;
    let event_loop = SelectorEventLoop::with_selector(RealClock::new(), PollSelector::new());
    let event_loop = event_loop.unwrap();
    event_loop.poller().set_idle_spin(2);
    let remote = event_loop.remote().unwrap();
    let worker = std::thread::spawn(move || {
        let (sender, receiver) = std::sync::mpsc::channel();
        for n in 0..CALLS {
            let sender = sender.clone();
            remote
                .call_soon_threadsafe(move |_| {
                    // Sent late, after a lost call, nobody listens.
                    let _late = sender.send(n);
                })
                .unwrap();
            // Not a time limit, a guard: a lost call would wait for ever.
            match receiver.recv_timeout(Duration::from_secs(10)) {
                Ok(ran) => assert_eq!(ran, n),
                Err(_) => return Err(format!("call {n} was lost")),
            }
        }
        remote
            .call_soon_threadsafe(|event_loop| event_loop.stop())
            .unwrap();
        Ok(())
    });
    // A lost call leaves the loop asleep: the worker's answer stops it.
    let stop = event_loop.remote().unwrap();
    let watcher = std::thread::spawn(move || {
        let answer = worker.join().unwrap();
        stop.call_soon_threadsafe(|event_loop| event_loop.stop())
            .unwrap();
        answer
    });
    event_loop.run_forever().unwrap();
    assert_eq!(watcher.join().unwrap(), Ok(()));
}

/// A quiet loop is told of calls without a byte while it is awake. A call
/// sent by a thread that has gone since still runs: the loop, with nobody
/// left to wake it, looks in its queue before it says it has nothing to
/// wait for.
#[test]
fn a_quiet_loop_runs_a_call_from_a_thread_that_has_gone() {
    let event_loop = SelectorEventLoop::with_selector(RealClock::new(), PollSelector::new());
    let event_loop = event_loop.unwrap();
    event_loop.poller().set_idle_spin(2);
    let remote = event_loop.remote().unwrap();
    let ran = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = std::sync::Arc::clone(&ran);
    remote
        .call_soon_threadsafe(move |event_loop| {
            flag.store(true, std::sync::atomic::Ordering::Relaxed);
            event_loop.stop();
        })
        .unwrap();
    drop(remote); // the only remote: nobody can wake the loop now
    event_loop.run_forever().unwrap();
    assert!(ran.load(std::sync::atomic::Ordering::Relaxed));
}
