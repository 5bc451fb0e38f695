//! What the loop's exception handler hears, as asyncio's does: a task or
//! future whose exception nobody retrieved, reported when it goes, and a
//! task destroyed while pending, reported when its loop closes. Both kinds
//! of task (`--features fast` runs these on the fast ones).

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

use demo_support::transcript::assert_matches_file;
use stage01_generator_loop::{Clock, VirtualClock};
use stage02_timed_events::AbstractEventLoop;
use stage03_read_readiness::{PollSelector, SelectorEventLoop, SelectorEvents};
use stage04_futures_tasks::{Future, create_task, run_until_complete, yield_now};

/// A loop whose exception handler keeps `message — handle` of each report.
fn listened_loop() -> (SelectorEventLoop, Rc<RefCell<Vec<String>>>) {
    let event_loop =
        SelectorEventLoop::with_selector(VirtualClock::new(), PollSelector::new()).unwrap();
    let heard = Rc::new(RefCell::new(Vec::new()));
    let kept = Rc::clone(&heard);
    event_loop.set_exception_handler(move |_, report| {
        kept.borrow_mut()
            .push(format!("{} — {}", report.message, report.handle));
    });
    (event_loop, heard)
}

#[derive(Debug)]
struct Broke;

impl fmt::Display for Broke {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "it broke")
    }
}

impl std::error::Error for Broke {}

#[test]
fn a_future_whose_exception_nobody_retrieved_says_so_when_it_goes() {
    let (event_loop, heard) = listened_loop();
    let future: Future<u8> = Future::new(&event_loop);
    future.set_exception(Broke).unwrap();
    drop(future);
    let heard = heard.borrow();
    assert_eq!(heard.len(), 1);
    assert!(
        heard[0].starts_with("Future exception was never retrieved: it broke — <Future finished created at crates/04-futures-tasks/tests/reports.rs:"),
        "{}",
        heard[0]
    );
}

#[test]
fn a_retrieved_exception_and_a_result_are_not_reported() {
    let (event_loop, heard) = listened_loop();
    let failed: Future<u8> = Future::new(&event_loop);
    failed.set_exception(Broke).unwrap();
    assert!(failed.exception().unwrap().is_some());
    let fine: Future<u8> = Future::new(&event_loop);
    fine.set_result(1).unwrap();
    drop((failed, fine));
    assert!(heard.borrow().is_empty(), "{:?}", heard.borrow());
}

#[test]
fn a_task_that_panicked_unwatched_says_so_when_it_goes() {
    let (event_loop, heard) = listened_loop();
    let task = create_task(&event_loop, async { panic!("boom") }).unwrap();
    task.set_name("unwatched");
    event_loop.run_once().unwrap();
    assert!(task.done());
    drop(task);
    let heard = heard.borrow();
    assert_eq!(heard.len(), 1, "{heard:?}");
    assert!(
        heard[0].starts_with("Task exception was never retrieved: task unwatched panicked: boom — <Task finished created at crates/04-futures-tasks/tests/reports.rs:"),
        "{}",
        heard[0]
    );
}

#[test]
fn a_task_awaited_is_not_reported() {
    let (event_loop, heard) = listened_loop();
    let task = create_task(&event_loop, async { panic!("boom") }).unwrap();
    let awaited = task.clone();
    let failed = run_until_complete(&event_loop, async move { awaited.await.is_err() });
    assert!(failed.unwrap());
    drop(task);
    assert!(heard.borrow().is_empty(), "{:?}", heard.borrow());
}

#[test]
fn closing_the_loop_reports_each_task_still_pending() {
    let (event_loop, heard) = listened_loop();
    for name in ["first", "second"] {
        let task = create_task(&event_loop, async {
            loop {
                yield_now().await;
            }
        })
        .unwrap();
        task.set_name(name);
    }
    event_loop.run_once().unwrap();
    event_loop.close().unwrap();
    let heard = heard.borrow();
    assert_eq!(heard.len(), 2, "{heard:?}");
    for (line, name) in heard.iter().zip(["first", "second"]) {
        let start = format!(
            "Task was destroyed but it is pending! — <Task pending name={name} created at "
        );
        assert!(line.starts_with(&start), "{line}");
    }
}

/// Debug mode's three reports, as the default exception handler prints
/// them to standard error (it prints each report's `Display`): a step that
/// held the loop, a task's exception nobody retrieved, a task destroyed
/// pending. The book shows `tests/output/reports.txt`.
#[test]
fn the_book_shows_the_three_reports_as_the_default_handler_prints_them() {
    let clock = VirtualClock::new();
    let event_loop = SelectorEventLoop::with_selector(clock.clone(), PollSelector::new()).unwrap();
    event_loop.set_debug(true);
    let printed = Rc::new(RefCell::new(String::new()));
    let kept = Rc::clone(&printed);
    event_loop.set_exception_handler(move |_, report| {
        kept.borrow_mut().push_str(&format!("{report}\n"));
    });
    let slow = create_task(&event_loop, async move {
        // A blocking call, as the virtual clock sees it.
        clock.sleep(std::time::Duration::from_millis(250));
    })
    .unwrap();
    slow.set_name("slow");
    let failing = create_task(&event_loop, async { panic!("boom") }).unwrap();
    failing.set_name("failing");
    let forever = create_task(&event_loop, async {
        loop {
            yield_now().await;
        }
    })
    .unwrap();
    forever.set_name("forever");
    event_loop.run_once().unwrap();
    drop((slow, failing, forever));
    event_loop.close().unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/output/reports.txt");
    assert_matches_file(&path, &printed.borrow());
}
