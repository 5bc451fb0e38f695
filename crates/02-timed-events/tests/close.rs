//! A loop's end: `close`, dropping the loop's owner with work pending, and a
//! loop used after it ended; and the running loop, as code on the loop finds
//! it. Every test runs on the textbook loop and on the fast one.

use std::cell::Cell;
use std::rc::Rc;

use stage01_generator_loop::VirtualClock;
use stage02_timed_events::fast::on_both_loops;
use stage02_timed_events::{
    AbstractEventLoop, EventLoop, LoopError, TimerHandle, get_running_loop,
};

/// Something a callback captures, to see when the callback is dropped.
fn capture() -> (Rc<()>, Rc<()>) {
    let kept = Rc::new(());
    (kept.clone(), kept)
}

#[test]
fn close_drops_everything_pending_and_the_loop_refuses_what_comes_after() {
    fn test<L: AbstractEventLoop>(event_loop: L, _: VirtualClock) {
        let (soon, soon_seen) = capture();
        let (timer, timer_seen) = capture();
        let handle = event_loop.call_soon(move |_| drop(soon)).unwrap();
        event_loop.call_later(5.0, move |_| drop(timer)).unwrap();

        event_loop.close().unwrap();
        assert_eq!(Rc::strong_count(&soon_seen), 1, "the callback was dropped");
        assert_eq!(Rc::strong_count(&timer_seen), 1, "the timer was dropped");
        assert!(handle.cancelled(), "a handle kept by the caller says so");
        assert!(event_loop.is_closed());
        assert_eq!(event_loop.scheduled_count(), 0);

        assert!(matches!(
            event_loop.call_soon(|_| {}),
            Err(LoopError::Closed)
        ));
        assert!(matches!(
            event_loop.call_later(1.0, |_| {}),
            Err(LoopError::Closed)
        ));
        assert!(matches!(event_loop.run_forever(), Err(LoopError::Closed)));
        assert!(matches!(event_loop.run_once(), Err(LoopError::Closed)));
        assert_eq!(LoopError::Closed.to_string(), "the event loop is closed");
        event_loop.close().unwrap(); // twice: nothing more to do
    }
    on_both_loops(test, test);
}

#[test]
fn close_is_refused_while_the_loop_runs() {
    fn test<L: AbstractEventLoop>(event_loop: L, _: VirtualClock) {
        let refused = Rc::new(Cell::new(false));
        let seen = refused.clone();
        event_loop
            .call_soon(move |event_loop| {
                seen.set(matches!(
                    event_loop.close(),
                    Err(LoopError::CloseWhileRunning)
                ));
                event_loop.stop();
            })
            .unwrap();
        event_loop.run_forever().unwrap();
        assert!(refused.get());
        assert!(!event_loop.is_closed());
    }
    on_both_loops(test, test);
}

#[test]
fn dropping_loops_with_pending_work_that_holds_them_frees_them_all() {
    // Each loop has a timer, a ready callback and an exception handler, each
    // holding a clone of the loop: a cycle that only closing can break.
    let clock = VirtualClock::new();
    let (captured, seen) = capture();
    for _ in 0..1_000 {
        let event_loop = EventLoop::new(clock.clone());
        let (clone, kept) = (event_loop.clone(), captured.clone());
        event_loop
            .call_later(10.0, move |_| drop((clone, kept)))
            .unwrap();
        let clone = event_loop.clone();
        event_loop.call_soon(move |_| drop(clone)).unwrap();
        let clone = event_loop.clone();
        event_loop.set_exception_handler(move |_, _| {
            let _ = &clone;
        });
    }
    // Each loop owned a clone of the clock: none is left but ours.
    assert_eq!(clock.clones(), 1, "every loop was freed");
    assert_eq!(Rc::strong_count(&seen), 2, "every callback was dropped");
    drop(captured);
}

#[test]
fn a_clone_that_outlives_the_owner_finds_the_loop_closed() {
    let event_loop = EventLoop::new(VirtualClock::new());
    let clone = event_loop.clone();
    drop(clone.clone()); // dropping a clone closes nothing
    assert!(!event_loop.is_closed());
    drop(event_loop);
    assert!(clone.is_closed());
    assert!(matches!(clone.call_soon(|_| {}), Err(LoopError::Closed)));
}

#[test]
fn code_on_the_loop_finds_it_running_and_code_elsewhere_does_not() {
    fn test<L: AbstractEventLoop>(event_loop: L, _: VirtualClock) {
        assert!(matches!(
            get_running_loop::<L>(),
            Err(LoopError::NoRunningLoop)
        ));
        let found = Rc::new(Cell::new(false));
        let seen = found.clone();
        event_loop
            .call_soon(move |_| {
                // No loop was handed in: ask for the running one.
                let running = get_running_loop::<L>().expect("a loop is running");
                running
                    .call_later(1.0, move |event_loop| {
                        seen.set(true);
                        event_loop.stop();
                    })
                    .unwrap();
            })
            .unwrap();
        event_loop.run_forever().unwrap();
        assert!(found.get());
        assert_eq!(event_loop.time(), 1.0);
        assert!(get_running_loop::<L>().is_err(), "none after the run");
    }
    on_both_loops(test, test);
}

#[test]
fn what_a_later_stage_attaches_lives_as_long_as_the_loop() {
    #[derive(Default)]
    struct Kept(Cell<u32>);

    let event_loop = EventLoop::new(VirtualClock::new());
    let kept = event_loop.attachment::<Kept>().unwrap();
    kept.0.set(7);
    // The same one each time it is asked for.
    assert_eq!(event_loop.attachment::<Kept>().unwrap().0.get(), 7);
    assert_eq!(Rc::strong_count(&kept), 2, "ours, and the loop's");
    event_loop.close().unwrap();
    assert_eq!(Rc::strong_count(&kept), 1, "the loop dropped its own");
    assert!(matches!(
        event_loop.attachment::<Kept>(),
        Err(LoopError::Closed)
    ));
}
