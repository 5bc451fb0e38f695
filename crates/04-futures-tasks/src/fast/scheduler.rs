//! One loop's fast tasks: a table of them, and a run queue beside the
//! loop's ready queue.
//!
//! The textbook waker queues a task's next step with `call_soon`, which
//! makes a handle and a boxed callback for every wake. Here the loop has
//! one *drain handle*, made once; a wake puts the task at the back of the
//! run queue and, unless it is there already, that same handle at the back
//! of the loop's ready queue (`add_callback`, asyncio's `_add_callback`).
//! Each time the handle runs it steps the batch of tasks queued behind it:
//! the steps that, in asyncio, would be that many `call_soon(__step)`
//! entries in a row, with no other callback between them and all queued
//! for the same iteration. So the steps run exactly where asyncio would
//! run them among the other callbacks, and a wake allocates nothing.
//!
//! A loop with fast tasks also asks the kernel for I/O less often while
//! steps are ready: once in 61 iterations (stage 3's `BusyPoll`), as tokio
//! does, instead of in every one, as asyncio does.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::panic::Location;
use std::rc::{Rc, Weak};

use stage02_timed_events::{AbstractEventLoop, Callback, Handle, LoopError};
use stage03_read_readiness::{BusyPoll, SelectorEventLoop, SelectorEvents, SelectorPoller};

use super::key::{LoopKey, SLOTS, TaskKey, tag_of};
use super::remotes;
use crate::monitor::{Finished, Suspension};
use crate::tasks::{TaskId, TaskInfo, TaskRow, TaskState, report_destroyed_pending};

/// A fast task whatever its coroutine, as its loop steps it.
pub(crate) trait Step {
    /// asyncio's `__step`: poll the coroutine once.
    fn step(self: Rc<Self>, scheduler: &Scheduler, event_loop: &SelectorEventLoop);
    fn id(&self) -> TaskId;
    fn info(&self) -> TaskInfo;
    /// What it awaited when it last answered `Pending`.
    fn suspended(&self) -> Option<Suspension>;
    /// How it ended, once it is done: done, or cancelled.
    fn ended(&self) -> TaskState;
    /// A step is queued and has not started: more wakes add nothing.
    fn queued(&self) -> &Cell<bool>;
    /// The loop closed with the task pending: drop its coroutine.
    fn abandon(&self);
}

// ANCHOR: scheduler
/// What a loop keeps for its fast tasks (one of its attachments).
#[derive(Default)]
pub(crate) struct Scheduler {
    /// This loop's key in its tasks' wakers, once it has tasks.
    key: Cell<Option<LoopKey>>,
    /// The loop (a reference, not its owner): where the drain handle goes.
    event_loop: RefCell<Option<SelectorEventLoop>>,
    /// Every pending task, in the slot its wakers name.
    slots: RefCell<Vec<Option<Rc<dyn Step>>>>,
    /// Slots free to reuse.
    free: RefCell<Vec<u32>>,
    /// The done tasks that someone still holds (the task table).
    pub(crate) finished: Finished<dyn Step>,
    /// Tasks whose next step is queued, in the order they were woken.
    run_queue: RefCell<VecDeque<Rc<dyn Step>>>,
    /// How `run_queue` splits into batches, one per entry of the drain
    /// handle in the loop's ready queue, first to last.
    batches: RefCell<VecDeque<Batch>>,
    /// The one handle that steps the batch at the front of `run_queue`.
    drain: RefCell<Option<Handle<SelectorPoller>>>,
}

/// Steps queued one after the other, for one iteration.
struct Batch {
    steps: usize,
    /// The loop's iteration count when the batch was queued: a batch queued
    /// before the running iteration began runs in it, and takes no more.
    queued_in: u64,
}
// ANCHOR_END: scheduler

thread_local! {
    /// The loops of this thread that have fast tasks, by key: how a waker
    /// called on a loop's own thread finds it.
    static HERE: RefCell<Vec<(LoopKey, Weak<Scheduler>)>> = const { RefCell::new(Vec::new()) };
}

impl Scheduler {
    /// `event_loop`'s scheduler, registered so that its wakers find it.
    ///
    /// # Panics
    /// If 2¹⁶ loops with fast tasks are open at once.
    pub(crate) fn of(event_loop: &SelectorEventLoop) -> Result<Rc<Self>, LoopError> {
        let scheduler = event_loop.attachment::<Scheduler>()?;
        if scheduler.key.get().is_none() {
            event_loop.remote()?; // closed? then say so before registering
            let key =
                remotes::register().expect("at most 65536 loops with fast tasks open at once");
            HERE.with_borrow_mut(|here| here.push((key, Rc::downgrade(&scheduler))));
            let drain = Rc::downgrade(&scheduler);
            let run_batch = move |event_loop: &SelectorEventLoop| {
                if let Some(scheduler) = drain.upgrade() {
                    scheduler.run_batch(event_loop);
                }
            };
            let handle = Handle::new(Callback::Repeat(Rc::new(run_batch)), Location::caller());
            *scheduler.drain.borrow_mut() = Some(handle);
            *scheduler.event_loop.borrow_mut() = Some(event_loop.clone());
            scheduler.key.set(Some(key));
            // While steps are ready, look for I/O once in 61 iterations,
            // not in every one (stage 3's `busy_poll`).
            event_loop.poller().set_busy_poll(BusyPoll::FAST_EVERY);
        }
        Ok(scheduler)
    }

    /// Put `task` in a free slot; the key its wakers will carry.
    ///
    /// # Panics
    /// If the loop holds 2²⁴ pending fast tasks already.
    pub(crate) fn insert(&self, task: Rc<dyn Step>) -> TaskKey {
        let id = task.id();
        let key = self.key.get().expect("registered");
        if self.pending() == 0 {
            // From now on a waker on another thread may need the loop.
            let event_loop = self.event_loop.borrow();
            let remote = event_loop
                .as_ref()
                .and_then(|event_loop| event_loop.remote().ok());
            remotes::set_remote(key, remote);
        }
        let mut slots = self.slots.borrow_mut();
        let slot = match self.free.borrow_mut().pop() {
            Some(slot) => {
                slots[slot as usize] = Some(task);
                slot
            }
            None => {
                assert!(slots.len() < SLOTS, "at most 2²⁴ pending fast tasks");
                slots.push(Some(task));
                (slots.len() - 1) as u32
            }
        };
        TaskKey::new(key, slot, id)
    }

    /// How many tasks are pending.
    fn pending(&self) -> usize {
        self.slots.borrow().len() - self.free.borrow().len()
    }

    /// The task at `key` is done: free its slot.
    pub(crate) fn remove(&self, key: TaskKey) {
        let removed = self.slots.borrow_mut()[key.slot as usize].take();
        self.free.borrow_mut().push(key.slot);
        if self.pending() == 0 {
            // No task left for another thread to wake.
            remotes::set_remote(key.event_loop, None);
        }
        drop(removed); // after the borrow
    }

    // ANCHOR: schedule
    /// Queue `task`'s next step, unless one is queued already: in the last
    /// batch if nothing was queued in the ready queue after it and it runs
    /// in the same iteration, else in a new batch behind the drain handle.
    pub(crate) fn schedule(&self, task: Rc<dyn Step>) {
        if task.queued().replace(true) {
            return;
        }
        self.run_queue.borrow_mut().push_back(task);
        let (drain, event_loop) = (self.drain.borrow(), self.event_loop.borrow());
        let (Some(drain), Some(event_loop)) = (&*drain, &*event_loop) else {
            return;
        };
        let iteration = event_loop.iterations();
        let mut batches = self.batches.borrow_mut();
        match batches.back_mut() {
            // In debug mode every step is a callback of its own, timed on its
            // own.
            Some(last)
                if last.queued_in == iteration
                    && !event_loop.get_debug()
                    && event_loop.is_last_ready(drain) =>
            {
                last.steps += 1;
            }
            _ => {
                batches.push_back(Batch {
                    steps: 1,
                    queued_in: iteration,
                });
                // A closed loop runs nothing more: the task stays queued
                // until the scheduler goes, with the loop's attachments.
                let _closed = event_loop.add_callback(drain);
            }
        }
    }

    /// The drain handle's callback: step the batch at the front, in order.
    fn run_batch(&self, event_loop: &SelectorEventLoop) {
        let batch = self.batches.borrow_mut().pop_front();
        for _ in 0..batch.map_or(0, |batch| batch.steps) {
            let next = self.run_queue.borrow_mut().pop_front();
            if let Some(task) = next {
                task.step(self, event_loop);
            }
        }
    }
    // ANCHOR_END: schedule

    /// The task at `key`, if it is still there and still pending.
    fn wake(&self, key: TaskKey) {
        let slots = self.slots.borrow();
        let task = slots.get(key.slot as usize).and_then(Option::as_ref);
        if let Some(task) = task.filter(|task| tag_of(task.id()) == key.tag) {
            let task = Rc::clone(task);
            drop(slots);
            self.schedule(task);
        }
    }

    /// The task table's rows (pending tasks, and done ones still held), in
    /// creation order; `running` is the task
    /// whose step runs now.
    pub(crate) fn rows(&self, running: Option<TaskId>) -> Vec<TaskRow> {
        let pending = |task: &Rc<dyn Step>| {
            TaskRow::pending(task.info(), Some(task.id()) == running, task.suspended())
        };
        let ended = |task: Rc<dyn Step>| TaskRow::ended(task.info(), task.ended());
        let mut rows: Vec<TaskRow> = self.slots.borrow().iter().flatten().map(pending).collect();
        rows.extend(self.finished.live().into_iter().map(ended));
        rows.sort_by_key(|row| row.task.id);
        rows
    }

    /// What `all_tasks` tells: every pending task, in creation order.
    pub(crate) fn infos(&self) -> Vec<TaskInfo> {
        let mut infos: Vec<TaskInfo> = self
            .slots
            .borrow()
            .iter()
            .flatten()
            .map(|task| task.info())
            .collect();
        infos.sort_by_key(|info| info.id);
        infos
    }
}

/// The scheduler of the loop `key` names, if that loop lives on this
/// thread: `Ok(None)` if it is closing; `Err` if it lives elsewhere (or
/// this thread's locals are gone).
fn here(key: TaskKey) -> Result<Option<Rc<Scheduler>>, ()> {
    let found = HERE.try_with(|here| {
        let here = here.borrow();
        let found = here.iter().find(|(known, _)| *known == key.event_loop);
        found.map(|(_, scheduler)| scheduler.upgrade())
    });
    found.ok().flatten().ok_or(())
}

/// What `current_task` tells of the task at `key`, on this thread.
pub(crate) fn info_here(key: TaskKey) -> Option<TaskInfo> {
    let scheduler = here(key).ok().flatten()?;
    let slots = scheduler.slots.borrow();
    let task = slots.get(key.slot as usize)?.as_ref()?;
    Some(task.info())
}

/// Wake the task at `key` if its loop lives on this thread; `false` if it
/// does not (or this thread's locals are gone).
pub(crate) fn wake_here(key: TaskKey) -> bool {
    match here(key) {
        Ok(Some(scheduler)) => {
            scheduler.wake(key);
            true
        }
        // Its loop is closing, here: nothing left to step.
        Ok(None) => true,
        Err(()) => false,
    }
}

/// Closing the loop drops its attachments: forget the loop, then drop
/// every pending task's coroutine (a coroutine may hold its own task, a
/// cycle that only this breaks).
impl Drop for Scheduler {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            remotes::unregister(key);
            let _gone = HERE.try_with(|here| {
                here.borrow_mut().retain(|(known, _)| *known != key);
            });
        }
        let queued = self.run_queue.take();
        self.batches.take();
        let tasks = self.slots.take();
        let event_loop = self.event_loop.take();
        for task in tasks.iter().flatten() {
            if let Some(event_loop) = &event_loop {
                report_destroyed_pending(event_loop, &task.info());
            }
            task.abandon();
        }
        drop((queued, tasks, self.drain.take(), event_loop));
    }
}
