//! Signal handlers: real signals, sent to this process, run their handler
//! as a callback on the loop's thread; removing the handler gives the
//! signal its default action back. Each test uses a signal of its own:
//! the tests of this file run at once, in one process.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::thread;

use signal_hook::consts::{SIGKILL, SIGUSR1, SIGUSR2, SIGWINCH};
use signal_hook::low_level::raise;
use stage01_generator_loop::{RealClock, VirtualClock};
use stage02_timed_events::AbstractEventLoop;
use stage03_read_readiness::{PollSelector, SelectorEventLoop, SelectorEvents};
use stage05_cancellation::signals::has_signal_handler;
use stage05_cancellation::{SignalError, add_signal_handler, remove_signal_handler};

fn new_loop(clock: impl stage01_generator_loop::Clock + 'static) -> SelectorEventLoop {
    SelectorEventLoop::with_selector(clock, PollSelector::new()).unwrap()
}

#[test]
fn a_signal_runs_its_handler_on_the_loops_thread_as_a_callback() {
    let event_loop = new_loop(RealClock::new());
    let log = Rc::new(RefCell::new(Vec::new()));
    let heard = Rc::clone(&log);
    let test_thread = thread::current().id();
    add_signal_handler(&event_loop, SIGUSR1, move |event_loop| {
        let on_this_thread = thread::current().id() == test_thread;
        heard
            .borrow_mut()
            .push(format!("handler, on the loop's thread: {on_this_thread}"));
        event_loop.stop();
    })
    .unwrap();
    let sent = Rc::clone(&log);
    event_loop
        .call_soon(move |_| {
            // kill(2), as another process would: any thread may take it.
            // SAFETY: kill has no memory-safety preconditions.
            #[allow(unsafe_code)]
            let killed = unsafe { libc::kill(libc::getpid(), SIGUSR1) };
            assert_eq!(killed, 0);
            sent.borrow_mut().push("sent SIGUSR1".to_string());
        })
        .unwrap();
    // No timer and nothing ready: the loop waits for the signal's byte.
    event_loop.run_forever().unwrap();
    assert_eq!(
        *log.borrow(),
        ["sent SIGUSR1", "handler, on the loop's thread: true"],
        "the handler ran later, as a callback of the loop, not in the signal handler"
    );
    assert!(remove_signal_handler(&event_loop, SIGUSR1).unwrap());
}

#[test]
fn signals_that_come_before_the_loop_looks_are_one_run_of_the_handler() {
    let event_loop = new_loop(VirtualClock::new());
    let runs = Rc::new(Cell::new(0));
    let counted = Rc::clone(&runs);
    add_signal_handler(&event_loop, SIGUSR2, move |_| {
        counted.set(counted.get() + 1)
    })
    .unwrap();
    for _ in 0..3 {
        raise(SIGUSR2).unwrap(); // handled in this thread before it returns
    }
    assert_eq!(runs.get(), 0, "nothing runs inside the signal handler");
    event_loop.run_once().unwrap();
    assert_eq!(runs.get(), 1, "three bytes, read at once: one run");
    event_loop.call_soon(|_| {}).unwrap(); // an iteration that cannot wait
    event_loop.run_once().unwrap();
    assert_eq!(runs.get(), 1, "nothing left to read: no run");
    raise(SIGUSR2).unwrap();
    event_loop.run_once().unwrap();
    assert_eq!(runs.get(), 2, "a later signal runs it again");
    assert!(remove_signal_handler(&event_loop, SIGUSR2).unwrap());
}

#[test]
fn removing_the_handler_gives_the_signal_its_default_back_and_adding_it_again_works() {
    // SIGWINCH's default is to be ignored: this process survives it.
    let event_loop = new_loop(VirtualClock::new());
    let runs = Rc::new(Cell::new(0));
    let counted = Rc::clone(&runs);
    let handler = move |_: &SelectorEventLoop| counted.set(counted.get() + 1);
    add_signal_handler(&event_loop, SIGWINCH, handler.clone()).unwrap();
    assert!(has_signal_handler(&event_loop, SIGWINCH));
    assert_eq!(event_loop.watched().len(), 1, "its socket is a reader");

    assert!(remove_signal_handler(&event_loop, SIGWINCH).unwrap());
    assert!(
        !remove_signal_handler(&event_loop, SIGWINCH).unwrap(),
        "gone"
    );
    assert!(!has_signal_handler(&event_loop, SIGWINCH));
    assert!(event_loop.watched().is_empty(), "its socket is closed");
    raise(SIGWINCH).unwrap();
    event_loop
        .call_soon(|event_loop| event_loop.stop())
        .unwrap();
    event_loop.run_forever().unwrap();
    assert_eq!(runs.get(), 0, "removed: the signal does what it did before");

    add_signal_handler(&event_loop, SIGWINCH, handler).unwrap();
    raise(SIGWINCH).unwrap();
    event_loop.run_once().unwrap();
    assert_eq!(runs.get(), 1, "added again, it runs again");
    event_loop.close().unwrap();
    assert!(
        !has_signal_handler(&event_loop, SIGWINCH),
        "close removes it"
    );
}

#[test]
fn signals_that_cannot_be_caught_and_closed_loops_are_refused() {
    let event_loop = new_loop(VirtualClock::new());
    for signal in [SIGKILL, 0, 999] {
        assert!(matches!(
            add_signal_handler(&event_loop, signal, |_| {}),
            Err(SignalError::CannotCatch(refused)) if refused == signal
        ));
    }
    event_loop.close().unwrap();
    assert!(matches!(
        add_signal_handler(&event_loop, SIGUSR1, |_| {}),
        Err(SignalError::Closed)
    ));
}
