//! The task table: every live task, its state, what it awaits and the line
//! that awaited it (`#[track_caller]` on the awaitables).

use stage01_generator_loop::VirtualClock;
use stage02_timed_events::AbstractEventLoop;
use stage03_read_readiness::{PollSelector, SelectorEventLoop, SelectorEvents};
use stage04_futures_tasks::{
    Future, TaskState, create_task, keep_done_tasks, sleep, task_table, yield_now,
};

#[test]
fn the_table_says_what_each_task_awaits_and_where() {
    let event_loop =
        SelectorEventLoop::with_selector(VirtualClock::new(), PollSelector::new()).unwrap();
    let never: Future<()> = Future::new(&event_loop);
    let awaited = never.clone();
    let sleep_line = line!() + 1;
    let sleeper = create_task(&event_loop, sleep(5.0, ())).unwrap();
    let waiter = create_task(&event_loop, async move { awaited.await.ok() }).unwrap();
    let yielder = create_task(&event_loop, async {
        loop {
            yield_now().await;
        }
    })
    .unwrap();
    let (seen, inner) = (
        std::rc::Rc::new(std::cell::RefCell::new(Vec::new())),
        event_loop.clone(),
    );
    let kept = std::rc::Rc::clone(&seen);
    let inspector = create_task(&event_loop, async move {
        yield_now().await;
        *kept.borrow_mut() = task_table(&inner);
    })
    .unwrap();
    event_loop.run_once().unwrap();
    event_loop.run_once().unwrap();
    let rows = seen.borrow();
    let ids: Vec<_> = rows.iter().map(|row| row.task.id).collect();
    assert_eq!(
        ids,
        [sleeper.id(), waiter.id(), yielder.id(), inspector.id()],
        "in creation order"
    );
    let states: Vec<_> = rows.iter().map(|row| row.state).collect();
    assert_eq!(
        states,
        [
            TaskState::Pending,
            TaskState::Pending,
            TaskState::Pending,
            TaskState::Running
        ]
    );
    let awaiting: Vec<_> = rows
        .iter()
        .map(|row| row.suspended.map(|s| s.awaiting))
        .collect();
    assert_eq!(
        awaiting,
        [Some("sleep"), Some("future"), Some("yield"), None]
    );
    let at = rows[0].suspended.unwrap().at;
    assert_eq!(
        (at.file(), at.line()),
        (file!(), sleep_line),
        "the line that called sleep"
    );
    drop(rows);
    never.set_result(()).unwrap();
}

#[test]
fn a_done_task_stays_in_the_table_while_someone_holds_it() {
    let event_loop =
        SelectorEventLoop::with_selector(VirtualClock::new(), PollSelector::new()).unwrap();
    keep_done_tasks(&event_loop).unwrap();
    let held = create_task(&event_loop, async { 1 }).unwrap();
    let let_go = create_task(&event_loop, async { 2 }).unwrap();
    let pending = create_task(&event_loop, sleep(1.0, ())).unwrap();
    drop(let_go);
    event_loop.run_once().unwrap();
    let rows: Vec<_> = task_table(&event_loop)
        .into_iter()
        .map(|row| (row.task.id, row.state, row.suspended.is_some()))
        .collect();
    assert_eq!(
        rows,
        [
            (held.id(), TaskState::Done, false),
            (pending.id(), TaskState::Pending, true)
        ],
        "the task let go is gone; the done one shows no suspension"
    );
    let shown = task_table(&event_loop)[0].to_string();
    assert!(shown.ends_with(" done"), "{shown}");
    drop(held);
    let ids: Vec<_> = task_table(&event_loop)
        .iter()
        .map(|row| row.task.id)
        .collect();
    assert_eq!(ids, [pending.id()], "gone with its last handle");
}
