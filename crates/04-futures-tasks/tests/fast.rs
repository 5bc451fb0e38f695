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

/// Wake tasks A and B, queue a callback, wake task C: asyncio runs A's
/// step, B's, the callback, then C's, since each wake is a `call_soon`.
/// The fast tasks' batches keep that order: A and B share a batch, C gets
/// one of its own behind the callback.
#[test]
fn fast_steps_keep_their_place_among_the_loops_callbacks() {
    for fast_tasks in [false, true] {
        let event_loop = new_loop();
        let log = Rc::new(RefCell::new(Vec::new()));
        let manuals = [Manual::default(), Manual::default(), Manual::default()];
        for (name, manual) in ["A", "B", "C"].into_iter().zip(&manuals) {
            let (log, manual) = (Rc::clone(&log), manual.clone());
            let watch = async move {
                manual.await;
                log.borrow_mut().push(name);
            };
            if fast_tasks {
                fast::create_task(&event_loop, watch).unwrap();
            } else {
                tasks::create_task(&event_loop, watch).unwrap();
            }
        }
        event_loop.run_once().unwrap();
        let wake = |manual: &Manual| {
            manual.done.set(true);
            manual.waker.borrow().as_ref().unwrap().wake_by_ref();
        };
        wake(&manuals[0]);
        wake(&manuals[1]);
        let callback_log = Rc::clone(&log);
        event_loop
            .call_soon(move |_| callback_log.borrow_mut().push("callback"))
            .unwrap();
        wake(&manuals[2]);
        event_loop.run_once().unwrap();
        assert_eq!(
            *log.borrow(),
            ["A", "B", "callback", "C"],
            "fast: {fast_tasks}"
        );
    }
}

/// A step woken while its batch runs waits for the next iteration, as a
/// `call_soon` from a running callback does in asyncio: two tasks that
/// yield take turns, one iteration per round, both in one batch.
#[test]
fn a_task_woken_during_an_iteration_runs_in_the_next_one() {
    for fast_tasks in [false, true] {
        let event_loop = new_loop();
        let log = Rc::new(RefCell::new(Vec::new()));
        for name in ["A", "B"] {
            let (log, inner) = (Rc::clone(&log), event_loop.clone());
            let turns = async move {
                for _ in 0..3 {
                    log.borrow_mut()
                        .push(format!("{name}{}", inner.iterations()));
                    yield_now().await;
                }
            };
            if fast_tasks {
                fast::create_task(&event_loop, turns).unwrap();
            } else {
                tasks::create_task(&event_loop, turns).unwrap();
            }
        }
        for _ in 0..4 {
            event_loop.run_once().unwrap();
        }
        assert_eq!(
            *log.borrow(),
            ["A1", "B1", "A2", "B2", "A3", "B3"],
            "fast: {fast_tasks}"
        );
    }
}

/// A batch queued before an iteration runs in it and takes no more steps:
/// here A's batch, a callback, then B's batch are all queued before the
/// first iteration; A, woken again while it runs, must wait for the next
/// iteration even though B's batch is then the last thing in the ready
/// queue.
#[test]
fn a_batch_that_runs_in_this_iteration_takes_no_more_steps() {
    for fast_tasks in [false, true] {
        let event_loop = new_loop();
        let log = Rc::new(RefCell::new(Vec::new()));
        let turns = |name: &'static str| {
            let (log, inner) = (Rc::clone(&log), event_loop.clone());
            async move {
                for _ in 0..2 {
                    log.borrow_mut()
                        .push(format!("{name}{}", inner.iterations()));
                    yield_now().await;
                }
            }
        };
        let spawn = |coroutine| {
            if fast_tasks {
                drop(fast::create_task(&event_loop, coroutine).unwrap());
            } else {
                drop(tasks::create_task(&event_loop, coroutine).unwrap());
            }
        };
        spawn(turns("A"));
        let (callback_log, inner) = (Rc::clone(&log), event_loop.clone());
        event_loop
            .call_soon(move |_| {
                callback_log
                    .borrow_mut()
                    .push(format!("X{}", inner.iterations()))
            })
            .unwrap();
        spawn(turns("B"));
        for _ in 0..3 {
            event_loop.run_once().unwrap();
        }
        assert_eq!(
            *log.borrow(),
            ["A1", "X1", "B1", "A2", "B2"],
            "fast: {fast_tasks}"
        );
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
        // A bound, so that a loop that never looked fails instead of
        // spinning: the spinning task yields for 1,000 iterations.
        for _ in 0..200 {
            if seen_at.get().is_some() {
                break;
            }
            event_loop.run_once().unwrap();
        }
        let waited = seen_at.get().expect("seen within 200 iterations") - written_at;
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
