//! What only the fast tasks (src/fast) do, checked on them directly. Every
//! other test of this crate runs on them too with the `fast` feature
//! (`cargo test -p stage04-futures-tasks --features fast`).

mod manual;

use std::cell::{Cell, RefCell};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::rc::Rc;

use manual::Manual;
use stage01_generator_loop::VirtualClock;
use stage02_timed_events::AbstractEventLoop;
use stage03_read_readiness::{BusyPoll, PollSelector, SelectorEventLoop, SelectorEvents};
use stage04_futures_tasks::{fast, tasks, yield_now};

fn new_loop() -> SelectorEventLoop {
    SelectorEventLoop::with_selector(VirtualClock::new(), PollSelector::new()).unwrap()
}

#[test]
fn a_stale_waker_does_not_wake_the_task_that_took_its_slot() {
    let event_loop = new_loop();
    let first = Manual::default();
    let task = fast::create_task(&event_loop, first.clone()).unwrap();
    event_loop.run_once().unwrap();
    let stale = first.waker.borrow().clone().unwrap();
    first.done.set(true);
    stale.wake_by_ref();
    event_loop.run_once().unwrap();
    assert!(task.done());

    // The next task takes the slot the first one left.
    let second = Manual::default();
    let _task = fast::create_task(&event_loop, second.clone()).unwrap();
    event_loop.run_once().unwrap();
    assert_eq!(second.polls.get(), 1);
    stale.wake();
    event_loop.stop();
    event_loop.run_once().unwrap();
    assert_eq!(second.polls.get(), 1, "the old waker woke the new task");
}

/// Wake task A, queue a callback, wake task B: asyncio runs A's step, the
/// callback, B's step, in that order, since each wake is a `call_soon`.
/// The fast tasks' run queue keeps that order.
#[test]
fn fast_steps_keep_their_place_among_the_loops_callbacks() {
    for fast_tasks in [false, true] {
        let event_loop = new_loop();
        let log = Rc::new(RefCell::new(Vec::new()));
        let (a, b) = (Manual::default(), Manual::default());
        let watch = |name: &'static str, manual: &Manual| {
            let (log, manual) = (Rc::clone(&log), manual.clone());
            async move {
                manual.clone().await;
                log.borrow_mut().push(name);
            }
        };
        if fast_tasks {
            fast::create_task(&event_loop, watch("A", &a)).unwrap();
            fast::create_task(&event_loop, watch("B", &b)).unwrap();
        } else {
            tasks::create_task(&event_loop, watch("A", &a)).unwrap();
            tasks::create_task(&event_loop, watch("B", &b)).unwrap();
        }
        event_loop.run_once().unwrap();
        a.done.set(true);
        b.done.set(true);
        a.waker.borrow().as_ref().unwrap().wake_by_ref();
        let callback_log = Rc::clone(&log);
        event_loop
            .call_soon(move |_| callback_log.borrow_mut().push("callback"))
            .unwrap();
        b.waker.borrow().as_ref().unwrap().wake_by_ref();
        event_loop.run_once().unwrap();
        assert_eq!(*log.borrow(), ["A", "callback", "B"], "fast: {fast_tasks}");
    }
}

/// While steps are ready, a loop with fast tasks looks for I/O once in
/// `BusyPoll::FAST_EVERY` iterations: a descriptor that became readable
/// is seen within that many, never later, even while tasks keep the loop
/// busy; the textbook tasks' loop sees it in the next iteration.
#[test]
fn a_busy_loop_with_fast_tasks_still_sees_a_readable_socket_within_61_iterations() {
    for fast_tasks in [false, true] {
        let event_loop = new_loop();
        let spin = async {
            for _ in 0..1_000 {
                yield_now().await;
            }
        };
        if fast_tasks {
            fast::create_task(&event_loop, spin).unwrap();
        } else {
            tasks::create_task(&event_loop, spin).unwrap();
        }
        let (mut writer, reader) = UnixStream::pair().unwrap();
        let seen_at = Rc::new(Cell::new(None));
        let seen = Rc::clone(&seen_at);
        event_loop
            .add_reader(reader.as_raw_fd(), move |event_loop| {
                if seen.get().is_none() {
                    seen.set(Some(event_loop.iterations()));
                }
            })
            .unwrap();
        for _ in 0..10 {
            event_loop.run_once().unwrap();
        }
        writer.write_all(b"x").unwrap();
        let written_at = event_loop.iterations();
        while seen_at.get().is_none() {
            event_loop.run_once().unwrap();
        }
        let waited = seen_at.get().unwrap() - written_at;
        if fast_tasks {
            assert!(
                (1..=u64::from(BusyPoll::FAST_EVERY)).contains(&waited),
                "seen {waited} iterations after"
            );
        } else {
            assert_eq!(waited, 1, "asyncio's way: seen in the next iteration");
        }
        assert!(event_loop.remove_reader(reader.as_raw_fd()));
    }
}
