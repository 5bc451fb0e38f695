//! Queues on a virtual clock, each test with the exact order of events:
//! putters wait while the queue is full and getters while it is empty,
//! each first come first served; `task_done` and `join`; the errors; a
//! woken waiter dropped passes its turn on; and, as in asyncio, a
//! `get_nowait` may take an item from under a woken getter.

mod common;

use demo_support::Transcript;
use stage04_futures_tasks::{
    Queue, QueueEmpty, QueueFull, TaskDoneTooManyTimes, create_task, run_until_complete, sleep,
};

use common::{Abort, new_loop, stamp};

#[test]
fn putters_wait_while_the_queue_is_full_and_are_served_first_come_first_served() {
    let event_loop = new_loop();
    let (queue, out) = (Queue::new(2), Transcript::new());
    // They come to put in the order z, x, y.
    for (name, delay) in [("x", 0.2), ("y", 0.3), ("z", 0.1)] {
        let (queue, out, inner) = (queue.clone(), out.clone(), event_loop.clone());
        create_task(&event_loop, async move {
            sleep(delay, ()).await;
            stamp(&out, &inner, &format!("{name} puts"));
            queue.put(name.to_string()).await.unwrap();
            stamp(&out, &inner, &format!("{name} put: {queue:?}"));
        })
        .unwrap();
    }
    let (consumer, log, inner) = (queue.clone(), out.clone(), event_loop.clone());
    run_until_complete(&event_loop, async move {
        consumer.put_nowait("1".to_string()).unwrap();
        consumer.put_nowait("2".to_string()).unwrap();
        for _ in 0..5 {
            sleep(1.0, ()).await;
            let item = consumer.get_nowait().unwrap();
            stamp(&log, &inner, &format!("main got {item}"));
        }
    })
    .unwrap();
    assert_eq!(
        out.lines(),
        [
            "0.100 #3 z puts",
            "0.200 #5 x puts",
            "0.300 #7 y puts",
            "1.000 #9 main got 1",
            "1.000 #10 z put: <Queue maxsize=2 qsize=2 _putters[2] tasks=3>",
            "2.000 #12 main got 2",
            "2.000 #13 x put: <Queue maxsize=2 qsize=2 _putters[1] tasks=4>",
            "3.000 #15 main got z",
            "3.000 #16 y put: <Queue maxsize=2 qsize=2 tasks=5>",
            "4.000 #18 main got x",
            "5.000 #20 main got y",
        ]
    );
}

#[test]
fn getters_wait_while_the_queue_is_empty_and_are_served_first_come_first_served() {
    let event_loop = new_loop();
    let (queue, out) = (Queue::new(0), Transcript::new());
    // They come to get in the order g2, g3, g1.
    for (name, delay) in [("g1", 0.3), ("g2", 0.1), ("g3", 0.2)] {
        let (queue, out, inner) = (queue.clone(), out.clone(), event_loop.clone());
        create_task(&event_loop, async move {
            sleep(delay, ()).await;
            stamp(&out, &inner, &format!("{name} waits"));
            let item = queue.get().await.unwrap();
            stamp(&out, &inner, &format!("{name} got {item}"));
        })
        .unwrap();
    }
    let (producer, log, inner) = (queue.clone(), out.clone(), event_loop.clone());
    run_until_complete(&event_loop, async move {
        sleep(1.0, ()).await;
        for item in ["a", "b", "c"] {
            producer.put(item).await.unwrap();
        }
        stamp(&log, &inner, &format!("main put a, b, c: {producer:?}"));
    })
    .unwrap();
    run_until_complete(&event_loop, sleep(1.0, ())).unwrap();
    assert_eq!(
        out.lines(),
        [
            "0.100 #3 g2 waits",
            "0.200 #5 g3 waits",
            "0.300 #7 g1 waits",
            "1.000 #9 main put a, b, c: <Queue maxsize=0 qsize=3 _getters[3] tasks=3>",
            "1.000 #10 g2 got a",
            "1.000 #10 g3 got b",
            "1.000 #10 g1 got c",
        ]
    );
}

#[test]
fn join_waits_until_every_item_put_is_marked_done() {
    let event_loop = new_loop();
    let (queue, out) = (Queue::new(0), Transcript::new());
    let (worker, log, inner) = (queue.clone(), out.clone(), event_loop.clone());
    create_task(&event_loop, async move {
        loop {
            let item: u32 = worker.get().await.unwrap();
            sleep(1.0, ()).await;
            stamp(&log, &inner, &format!("worker done with {item}"));
            worker.task_done().unwrap();
        }
    })
    .unwrap();
    let (producer, log, inner) = (queue.clone(), out.clone(), event_loop.clone());
    run_until_complete(&event_loop, async move {
        producer.join().await.unwrap();
        stamp(&log, &inner, "main joined an empty queue");
        for item in 1..=3 {
            producer.put(item).await.unwrap();
        }
        producer.join().await.unwrap();
        stamp(&log, &inner, &format!("main joined: {producer:?}"));
    })
    .unwrap();
    assert_eq!(
        out.lines(),
        [
            "0.000 #1 main joined an empty queue",
            "1.000 #4 worker done with 1",
            "2.000 #6 worker done with 2",
            "3.000 #8 worker done with 3",
            "3.000 #9 main joined: <Queue maxsize=0 qsize=0 _getters[1]>",
        ]
    );
}

#[test]
fn task_done_more_times_than_items_put_is_an_error() {
    let queue = Queue::new(0);
    assert_eq!(queue.task_done(), Err(TaskDoneTooManyTimes));
    queue.put_nowait('a').unwrap();
    assert_eq!(queue.get_nowait(), Ok('a'));
    assert_eq!(queue.task_done(), Ok(()));
    assert_eq!(queue.task_done(), Err(TaskDoneTooManyTimes));
    assert_eq!(
        TaskDoneTooManyTimes.to_string(),
        "task_done() called more times than items were put"
    );
}

#[test]
fn the_nowait_calls_fail_with_typed_errors_and_hand_the_item_back() {
    let bounded = Queue::new(1);
    assert_eq!(bounded.get_nowait(), Err(QueueEmpty));
    bounded.put_nowait(String::from("first")).unwrap();
    assert!(bounded.full() && !bounded.empty());
    let Err(QueueFull(back)) = bounded.put_nowait(String::from("second")) else {
        panic!("put_nowait on a full queue succeeded");
    };
    assert_eq!(back, "second", "the item comes back");
    assert_eq!(bounded.qsize(), 1);
    assert_eq!(QueueFull(back).to_string(), "the queue is full");
    assert_eq!(QueueEmpty.to_string(), "the queue is empty");

    let unbounded = Queue::new(0);
    for item in 0..1000 {
        unbounded.put_nowait(item).unwrap();
    }
    assert!(!unbounded.full(), "maxsize 0: never full");
    assert_eq!((unbounded.qsize(), unbounded.maxsize()), (1000, 0));
}

#[test]
fn a_get_nowait_can_take_the_item_from_under_a_woken_getter() {
    // As asyncio's queue, unlike its lock: `put` wakes g1 but does not hand
    // it the item; main takes it first, so g1 waits again, behind g2.
    let event_loop = new_loop();
    let (queue, out) = (Queue::new(0), Transcript::new());
    for name in ["g1", "g2"] {
        let (queue, out, inner) = (queue.clone(), out.clone(), event_loop.clone());
        create_task(&event_loop, async move {
            stamp(&out, &inner, &format!("{name} waits"));
            let item = queue.get().await.unwrap();
            stamp(&out, &inner, &format!("{name} got {item}"));
        })
        .unwrap();
    }
    let (main, log, inner) = (queue.clone(), out.clone(), event_loop.clone());
    run_until_complete(&event_loop, async move {
        sleep(1.0, ()).await;
        main.put_nowait("x").unwrap();
        let taken = main.get_nowait().unwrap();
        stamp(&log, &inner, &format!("main put x, then took {taken}"));
        for item in ["y", "z"] {
            sleep(1.0, ()).await;
            main.put_nowait(item).unwrap();
            stamp(&log, &inner, &format!("main put {item}"));
        }
        sleep(1.0, ()).await;
    })
    .unwrap();
    assert_eq!(
        out.lines(),
        [
            "0.000 #1 g1 waits",
            "0.000 #1 g2 waits",
            "1.000 #3 main put x, then took x",
            "2.000 #6 main put y",
            "2.000 #7 g2 got y",
            "3.000 #9 main put z",
            "3.000 #10 g1 got z",
        ]
    );
}

#[test]
fn a_woken_getter_dropped_before_it_runs_passes_the_item_on() {
    let event_loop = new_loop();
    let (queue, out) = (Queue::new(0), Transcript::new());
    let abort_g1 = Abort::default();
    for (name, abort) in [("g1", abort_g1.clone()), ("g2", Abort::default())] {
        let (queue, out, inner) = (queue.clone(), out.clone(), event_loop.clone());
        create_task(&event_loop, async move {
            match abort.run(queue.get()).await {
                Some(item) => stamp(&out, &inner, &format!("{name} got {}", item.unwrap())),
                None => stamp(&out, &inner, &format!("{name} was dropped: {queue:?}")),
            }
        })
        .unwrap();
    }
    let (main, log, inner) = (queue.clone(), out.clone(), event_loop.clone());
    run_until_complete(&event_loop, async move {
        sleep(1.0, ()).await;
        main.put_nowait("x").unwrap();
        abort_g1.abort();
        stamp(&log, &inner, "main put x, dropped g1's wait");
        sleep(1.0, ()).await;
    })
    .unwrap();
    assert_eq!(
        out.lines(),
        [
            "1.000 #3 main put x, dropped g1's wait",
            "1.000 #4 g1 was dropped: <Queue maxsize=0 qsize=1 _getters[1] tasks=1>",
            "1.000 #5 g2 got x",
        ]
    );
}

#[test]
fn a_woken_putter_dropped_before_it_runs_passes_the_room_on() {
    let event_loop = new_loop();
    let (queue, out) = (Queue::new(1), Transcript::new());
    queue.put_nowait("0").unwrap();
    let abort_p1 = Abort::default();
    for (name, abort) in [("p1", abort_p1.clone()), ("p2", Abort::default())] {
        let (queue, out, inner) = (queue.clone(), out.clone(), event_loop.clone());
        create_task(&event_loop, async move {
            match abort.run(queue.put(name)).await {
                Some(put) => {
                    put.unwrap();
                    stamp(&out, &inner, &format!("{name} put"));
                }
                None => stamp(&out, &inner, &format!("{name} was dropped: {queue:?}")),
            }
        })
        .unwrap();
    }
    let (main, log, inner) = (queue.clone(), out.clone(), event_loop.clone());
    run_until_complete(&event_loop, async move {
        sleep(1.0, ()).await;
        let item = main.get_nowait().unwrap();
        abort_p1.abort();
        stamp(&log, &inner, &format!("main got {item}, dropped p1's wait"));
        sleep(1.0, ()).await;
        stamp(
            &log,
            &inner,
            &format!("main got {}", main.get_nowait().unwrap()),
        );
    })
    .unwrap();
    assert_eq!(
        out.lines(),
        [
            "1.000 #3 main got 0, dropped p1's wait",
            "1.000 #4 p1 was dropped: <Queue maxsize=1 qsize=0 _putters[1] tasks=1>",
            "1.000 #5 p2 put",
            "2.000 #7 main got p2",
        ]
    );
}
