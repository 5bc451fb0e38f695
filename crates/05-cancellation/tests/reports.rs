//! A stage 5 task's coroutine ends its task with its `Err`, as an
//! exception raised out of an asyncio coroutine does: a cancellation makes
//! it `cancelled` in stage 4's task table, and an error nobody retrieved is
//! reported when the task goes, "Task exception was never retrieved".

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::new_loop;
use stage02_timed_events::AbstractEventLoop;
use stage04_futures_tasks::{FutureError, TaskState, keep_done_tasks, task_table};
use stage05_cancellation::{create_task, sleep};

#[test]
fn a_cancelled_task_is_cancelled_in_the_task_table() {
    let event_loop = new_loop();
    keep_done_tasks(&event_loop).unwrap();
    let cancelled = create_task(&event_loop, sleep(10.0, ())).unwrap();
    let finished = create_task(&event_loop, async { Ok(1) }).unwrap();
    event_loop.run_once().unwrap();
    cancelled.cancel(None);
    event_loop.run_once().unwrap();
    let states: Vec<_> = task_table(&event_loop)
        .into_iter()
        .map(|row| (row.task.id, row.state))
        .collect();
    assert_eq!(
        states,
        [
            (cancelled.id(), TaskState::Cancelled),
            (finished.id(), TaskState::Done)
        ]
    );
}

#[test]
fn an_error_nobody_retrieved_is_reported_when_its_task_goes_and_one_read_is_not() {
    let event_loop = new_loop();
    let heard = Rc::new(RefCell::new(Vec::new()));
    let kept = Rc::clone(&heard);
    event_loop
        .set_exception_handler(move |_, report| kept.borrow_mut().push(report.message.clone()));
    let broken = || async {
        let error = std::io::Error::other("broken");
        Err::<(), _>(FutureError::Exception(Rc::new(error)))
    };
    let unread = create_task(&event_loop, broken()).unwrap();
    let read = create_task(&event_loop, broken()).unwrap();
    event_loop.run_once().unwrap();
    assert!(read.exception().is_some());
    drop((unread, read));
    assert_eq!(
        *heard.borrow(),
        ["Task exception was never retrieved: broken"]
    );
}
