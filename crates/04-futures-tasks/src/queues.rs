//! A queue between producer and consumer tasks.
//!
//! Mirrors `Queue` in CPython's `asyncio/queues.py`: `put` waits while the
//! queue is full, `get` while it is empty, each in a first-come-first-served
//! queue of waiters (`_putters`, `_getters`), built as the locks' are
//! ([`locks`](crate::locks)); `task_done` and `join` count the items not yet
//! processed. Clones are the same queue.
//!
//! Unlike a [`Lock`](crate::Lock), a queue lets a newcomer barge, as
//! asyncio's does: a getter woken by `put` is not handed the item, and if
//! `get_nowait` takes it before the getter's task runs, the getter finds
//! the queue empty and waits again, at the back.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::error::Error;
use std::fmt;
use std::rc::Rc;

use crate::futures::FutureError;
use crate::locks::{Event, Waiters};

// ANCHOR: queue
/// asyncio's `Queue`: items first in, first out, at most `maxsize` of
/// them (0: no limit). Clones are the same queue.
pub struct Queue<T> {
    state: Rc<QueueState<T>>,
}

struct QueueState<T> {
    maxsize: usize,
    items: RefCell<VecDeque<T>>,
    /// Tasks waiting for an item.
    getters: Waiters,
    /// Tasks waiting for room.
    putters: Waiters,
    /// Items put and not yet marked done with `task_done`.
    unfinished_tasks: Cell<usize>,
    /// Set while `unfinished_tasks` is 0: what `join` waits for.
    finished: Event,
}
// ANCHOR_END: queue

/// asyncio's `QueueFull`: `put_nowait` on a full queue. It hands the item
/// back.
pub struct QueueFull<T>(pub T);

/// asyncio's `QueueEmpty`: `get_nowait` on an empty queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueEmpty;

/// asyncio's `ValueError('task_done() called too many times')`: more
/// `task_done` calls than items put.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskDoneTooManyTimes;

impl<T> Queue<T> {
    /// A queue of at most `maxsize` items; 0 for no limit.
    pub fn new(maxsize: usize) -> Self {
        let finished = Event::new();
        finished.set();
        let state = QueueState {
            maxsize,
            items: RefCell::new(VecDeque::new()),
            getters: Waiters::default(),
            putters: Waiters::default(),
            unfinished_tasks: Cell::new(0),
            finished,
        };
        Self {
            state: Rc::new(state),
        }
    }

    /// The most items it holds; 0 for no limit.
    pub fn maxsize(&self) -> usize {
        self.state.maxsize
    }

    /// How many items it holds.
    pub fn qsize(&self) -> usize {
        self.state.items.borrow().len()
    }

    /// Whether it holds no item.
    pub fn empty(&self) -> bool {
        self.qsize() == 0
    }

    /// Whether it holds `maxsize` items (never, without a limit).
    pub fn full(&self) -> bool {
        self.state.maxsize > 0 && self.qsize() >= self.state.maxsize
    }

    // ANCHOR: put
    /// asyncio's `await queue.put(item)`: wait while the queue is full, in
    /// turn with the other putters, then put `item` at the end.
    /// `Err(Cancelled)` if its task is cancelled while it waits (the item
    /// is not put).
    pub async fn put(&self, item: T) -> Result<(), FutureError> {
        let mut item = item;
        loop {
            match self.put_nowait(item) {
                Ok(()) => return Ok(()),
                Err(QueueFull(back)) => item = back,
            }
            let putters = &self.state.putters;
            putters
                .wait(|woken| {
                    // Woken by a `get`, gone before using the room: the
                    // next putter may have it.
                    if woken && !self.full() {
                        putters.wake(1);
                    }
                })
                .await?;
        }
    }

    /// asyncio's `put_nowait(item)`: put `item` at the end, and wake the
    /// first getter; or, if the queue is full, `QueueFull` with the item.
    pub fn put_nowait(&self, item: T) -> Result<(), QueueFull<T>> {
        if self.full() {
            return Err(QueueFull(item));
        }
        self.state.items.borrow_mut().push_back(item);
        let state = &self.state;
        state.unfinished_tasks.set(state.unfinished_tasks.get() + 1);
        state.finished.clear();
        state.getters.wake(1);
        Ok(())
    }
    // ANCHOR_END: put

    // ANCHOR: get
    /// asyncio's `await queue.get()`: wait while the queue is empty, in
    /// turn with the other getters, then take the first item.
    /// `Err(Cancelled)` if its task is cancelled while it waits: no item is
    /// taken, so none is lost.
    pub async fn get(&self) -> Result<T, FutureError> {
        loop {
            if let Ok(item) = self.get_nowait() {
                return Ok(item);
            }
            let getters = &self.state.getters;
            getters
                .wait(|woken| {
                    // Woken by a `put`, gone before taking the item: the
                    // next getter may have it.
                    if woken && !self.empty() {
                        getters.wake(1);
                    }
                })
                .await?;
        }
    }

    /// asyncio's `get_nowait()`: take the first item, and wake the first
    /// putter; or `QueueEmpty`.
    pub fn get_nowait(&self) -> Result<T, QueueEmpty> {
        let item = self.state.items.borrow_mut().pop_front();
        let item = item.ok_or(QueueEmpty)?;
        self.state.putters.wake(1);
        Ok(item)
    }
    // ANCHOR_END: get

    // ANCHOR: task_done
    /// asyncio's `task_done()`: one item taken out is processed. When every
    /// item put is, `join` returns. `TaskDoneTooManyTimes` if there is no
    /// such item: more calls than items put.
    pub fn task_done(&self) -> Result<(), TaskDoneTooManyTimes> {
        let state = &self.state;
        let unfinished = state.unfinished_tasks.get();
        if unfinished == 0 {
            return Err(TaskDoneTooManyTimes);
        }
        state.unfinished_tasks.set(unfinished - 1);
        if unfinished == 1 {
            state.finished.set();
        }
        Ok(())
    }

    /// asyncio's `await queue.join()`: wait until every item put has been
    /// marked done with `task_done`.
    pub async fn join(&self) -> Result<(), FutureError> {
        if self.state.unfinished_tasks.get() > 0 {
            self.state.finished.wait().await?;
        }
        Ok(())
    }
    // ANCHOR_END: task_done
}

impl<T> Clone for Queue<T> {
    fn clone(&self) -> Self {
        Self {
            state: Rc::clone(&self.state),
        }
    }
}

/// asyncio's `repr`: `<Queue maxsize=2 qsize=1 _putters[1] tasks=3>`, with
/// the size instead of the items, which need not be `Debug`. A woken
/// waiter counts until its task runs (asyncio drops it when it wakes it).
impl<T> fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = &self.state;
        write!(f, "<Queue maxsize={} qsize={}", state.maxsize, self.qsize())?;
        for (name, waiters) in [("_getters", &state.getters), ("_putters", &state.putters)] {
            if !waiters.is_empty() {
                write!(f, " {name}[{}]", waiters.len())?;
            }
        }
        if state.unfinished_tasks.get() > 0 {
            write!(f, " tasks={}", state.unfinished_tasks.get())?;
        }
        write!(f, ">")
    }
}

/// Without the item, which need not be `Debug` (as std's `TrySendError`).
impl<T> fmt::Debug for QueueFull<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "QueueFull(..)")
    }
}

impl<T> fmt::Display for QueueFull<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the queue is full")
    }
}

impl<T> Error for QueueFull<T> {}

impl fmt::Display for QueueEmpty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the queue is empty")
    }
}

impl Error for QueueEmpty {}

impl fmt::Display for TaskDoneTooManyTimes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task_done() called more times than items were put")
    }
}

impl Error for TaskDoneTooManyTimes {}
