//! Tasks waiting for each other: events, locks, semaphores, conditions.
//!
//! Mirrors CPython's `asyncio/locks.py`: `Event`, `Lock`, `Semaphore`,
//! `BoundedSemaphore` and `Condition`. Each keeps, as asyncio's do, a
//! first-come-first-served queue of waiters (`_waiters`), one bare
//! [`Future`] per waiting task: waking a waiter is `set_result` on its
//! future, which queues its task's next step. So nothing here runs a task
//! inline, and like asyncio's, none of it is thread-safe (`Rc`, `Cell`): it
//! is for the tasks of one loop.
//!
//! Two rules shape every primitive here:
//!
//! - A woken waiter stays in the queue until its task runs and takes it
//!   out. Until then it still counts as waiting, so a task that arrives in
//!   between queues behind it instead of barging ahead.
//! - A waiter that gives up before it returns, cancelled (stage 5: its
//!   wait answers `Err(Cancelled)`, as asyncio's raises `CancelledError`)
//!   or dropped with its task, passes on a wake-up it was given and will
//!   not use, or the next waiter would wait for ever.
//!
//! Waiting needs a running loop (a waiter is a future of it): awaiting any
//! of these outside one panics, as [`sleep`](crate::sleep()) does.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::error::Error;
use std::fmt;
use std::rc::Rc;

use stage02_timed_events::get_running_loop;
use stage03_read_readiness::SelectorEventLoop;

use crate::futures::{Future, FutureError};

// ANCHOR: waiters
/// asyncio's `_waiters`: one future per waiting task, first come first
/// served. A waiter's future is done once it is woken; the waiter leaves
/// the queue when its task runs again (or when it is dropped), not when it
/// is woken.
#[derive(Default)]
pub(crate) struct Waiters {
    queue: RefCell<VecDeque<Future<()>>>,
}

impl Waiters {
    /// Wait at the back of the queue until woken. Cancelled, or dropped,
    /// before it returns, the wait calls `abandoned`, told whether it had
    /// been woken: asyncio's `except CancelledError:`, where a waiter that
    /// gives up passes on what it was given.
    pub(crate) async fn wait(&self, abandoned: impl FnOnce(bool)) -> Result<(), FutureError> {
        let event_loop = get_running_loop::<SelectorEventLoop>()
            .expect("waiting for an event, a lock or a queue outside a running loop");
        let waiter = Waiter {
            waiters: self,
            future: Future::new(&event_loop),
            abandoned: Some(abandoned),
        };
        self.queue.borrow_mut().push_back(waiter.future.clone());
        // `wake` and `wake_first` finish a waiter with a result; a cancel of
        // the waiting task (stage 5) cancels it: then `waiter` goes here,
        // and says it gave up.
        waiter.future.clone().await?;
        waiter.returned();
        Ok(())
    }

    /// Wake up to `n` waiters not woken yet, in the order they came; answer
    /// how many it woke. Their tasks run in that order, in the next
    /// iteration.
    pub(crate) fn wake(&self, n: usize) -> usize {
        let queue = self.queue.borrow();
        let pending = queue.iter().filter(|waiter| !waiter.done()).take(n);
        let woken: Vec<Future<()>> = pending.cloned().collect();
        drop(queue);
        for waiter in &woken {
            // Pending, as just checked: `set_result` cannot fail.
            let _pending = waiter.set_result(());
        }
        woken.len()
    }

    /// asyncio's `Lock._wake_up_first`: wake the first waiter, unless it
    /// is woken already. A woken first waiter will run, and either take
    /// what it was woken for or, dropped, pass it on; waking the second as
    /// well would let two tasks in.
    pub(crate) fn wake_first(&self) {
        let first = self.queue.borrow().front().cloned();
        if let Some(first) = first.filter(|first| !first.done()) {
            let _pending = first.set_result(());
        }
    }
}
// ANCHOR_END: waiters

impl Waiters {
    /// Whether nobody waits (woken waiters whose task has not run yet
    /// still wait).
    pub(crate) fn is_empty(&self) -> bool {
        self.queue.borrow().is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.queue.borrow().len()
    }

    fn remove(&self, waiter: &Future<()>) {
        self.queue
            .borrow_mut()
            .retain(|queued| !queued.same_as(waiter));
    }

    /// asyncio's `__repr__`: `<Lock [locked, waiters:2]>`.
    fn describe(&self, f: &mut fmt::Formatter<'_>, name: &str, state: &str) -> fmt::Result {
        write!(f, "<{name} [{state}")?;
        if !self.is_empty() {
            write!(f, ", waiters:{}", self.len())?;
        }
        write!(f, "]>")
    }
}

// ANCHOR: waiter
/// One task's place in a queue of [`Waiters`], while it waits.
struct Waiter<'a, F: FnOnce(bool)> {
    waiters: &'a Waiters,
    future: Future<()>,
    /// What to do if the wait is dropped before it returns.
    abandoned: Option<F>,
}

impl<F: FnOnce(bool)> Waiter<'_, F> {
    /// Woken, and its task ran: it used its wake-up.
    fn returned(mut self) {
        self.abandoned = None;
    }
}

impl<F: FnOnce(bool)> Drop for Waiter<'_, F> {
    /// asyncio's `finally: self._waiters.remove(fut)`; then, for a waiter
    /// that never returned, its `except CancelledError:`. In that order, so
    /// that a waiter passing on its wake-up cannot pass it to itself.
    fn drop(&mut self) {
        self.waiters.remove(&self.future);
        if let Some(abandoned) = self.abandoned.take() {
            // A cancelled waiter was never woken.
            abandoned(self.future.done() && !self.future.cancelled());
        }
    }
}
// ANCHOR_END: waiter

/// asyncio's `RuntimeError` for releasing a lock that is not held, and for
/// waiting on or notifying a condition whose lock is not held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotAcquired;

impl fmt::Display for NotAcquired {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the lock is not acquired")
    }
}

impl Error for NotAcquired {}

/// `NotAcquired` raised in a coroutine: its exception.
impl From<NotAcquired> for FutureError {
    fn from(error: NotAcquired) -> Self {
        FutureError::Exception(Rc::new(error))
    }
}

// ANCHOR: event
/// asyncio's `Event`: a flag that tasks wait for. Clones are the same
/// event.
#[derive(Clone, Default)]
pub struct Event {
    state: Rc<EventState>,
}

#[derive(Default)]
struct EventState {
    value: Cell<bool>,
    waiters: Waiters,
}

impl Event {
    /// A new event, not set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether it is set.
    pub fn is_set(&self) -> bool {
        self.state.value.get()
    }

    /// Set it, and wake every waiter, in the order they began to wait.
    pub fn set(&self) {
        if !self.state.value.replace(true) {
            self.state.waiters.wake(usize::MAX);
        }
    }

    /// Unset it: later waiters wait again. Those already woken by `set`
    /// still return.
    pub fn clear(&self) {
        self.state.value.set(false);
    }

    /// asyncio's `await event.wait()`: at once if it is set; else until it
    /// is. `Err(Cancelled)` if its task is cancelled meanwhile.
    pub async fn wait(&self) -> Result<(), FutureError> {
        if self.is_set() {
            return Ok(());
        }
        // A waiter that gives up owes nobody anything: `set` woke them all.
        self.state.waiters.wait(|_woken| ()).await
    }
}
// ANCHOR_END: event

// ANCHOR: lock
/// asyncio's `Lock`: one task at a time, the others wait their turn, first
/// come first served. Clones are the same lock.
///
/// `acquire` evaluates to a [`LockGuard`] that releases the lock when
/// dropped. asyncio's explicit `release` is here too. Why both: `release`
/// is asyncio's API, which this crate mirrors, and a [`Condition`] must
/// release and retake a lock its caller holds; the guard is what a Rust
/// reader expects, and with it no early `return`, `?` or panic can leave
/// the lock held (in Python, `async with lock:` does that job).
#[derive(Clone, Default)]
pub struct Lock {
    state: Rc<LockState>,
}

#[derive(Default)]
struct LockState {
    /// Who holds it, or `None` when it is free: asyncio's `_locked`, with
    /// a name, so that a guard can tell whether it still holds the lock.
    holder: Cell<Option<Holder>>,
    /// How many holders it has had: the last one's number.
    holders: Cell<u64>,
    waiters: Waiters,
}

/// One holding of a lock, from `acquire` to `release`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Holder(u64);
// ANCHOR_END: lock

impl Lock {
    /// A new lock, free.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether some task holds it.
    pub fn locked(&self) -> bool {
        self.state.holder.get().is_some()
    }

    // ANCHOR: acquire
    /// asyncio's `await lock.acquire()`: take the lock, when it is this
    /// task's turn, and hold it until the guard is dropped (or `release`).
    /// `Err(Cancelled)` if its task is cancelled while it waits.
    pub async fn acquire(&self) -> Result<LockGuard, FutureError> {
        let holder = Holder(self.state.holders.get() + 1);
        self.state.holders.set(holder.0);
        self.take(holder).await?;
        Ok(LockGuard {
            lock: self.clone(),
            holder,
        })
    }

    /// Wait for the lock, then hold it as `holder`.
    async fn take(&self, holder: Holder) -> Result<(), FutureError> {
        let state = &self.state;
        // asyncio takes it at once only if it is free *and* nobody queues.
        // A waiter that `release` woke stays in the queue until its task
        // runs, so a task that comes in between queues behind it: no
        // barging.
        if self.locked() || !state.waiters.is_empty() {
            state
                .waiters
                .wait(|_woken| {
                    // Dropped while waiting: if the lock is free, a wake-up
                    // may have been meant for this waiter; give it to the
                    // next one (a no-op if that one is woken already).
                    if !self.locked() {
                        state.waiters.wake_first();
                    }
                })
                .await?;
        }
        state.holder.set(Some(holder));
        Ok(())
    }

    /// asyncio's `release()`: free the lock, and wake the first waiter,
    /// who takes it when its task runs. `NotAcquired` if it is free.
    pub fn release(&self) -> Result<(), NotAcquired> {
        if self.state.holder.take().is_none() {
            return Err(NotAcquired);
        }
        self.state.waiters.wake_first();
        Ok(())
    }
    // ANCHOR_END: acquire

    /// Who holds it now.
    fn holder(&self) -> Option<Holder> {
        self.state.holder.get()
    }
}

// ANCHOR: lock_guard
/// Holding a [`Lock`]: dropping it releases the lock, as the end of an
/// `async with lock:` block does in Python.
#[must_use = "dropping the guard releases the lock at once"]
pub struct LockGuard {
    lock: Lock,
    holder: Holder,
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        // Released by hand (`release`), or by a `Condition::wait` dropped
        // before it took the lock back, and perhaps taken since by another
        // task: then the lock is no longer this guard's to release.
        if self.lock.holder() == Some(self.holder) {
            let _held = self.lock.release();
        }
    }
}
// ANCHOR_END: lock_guard

// ANCHOR: semaphore
/// asyncio's `Semaphore`: a count of free units; `acquire` takes one,
/// waiting while none is free, first come first served. Clones are the
/// same semaphore.
#[derive(Clone)]
pub struct Semaphore {
    state: Rc<SemaphoreState>,
}

struct SemaphoreState {
    /// asyncio's `_value`: the units free, not promised to a woken waiter.
    value: Cell<usize>,
    /// A bounded semaphore's initial value, above which it cannot go.
    bound: Option<usize>,
    waiters: Waiters,
}
// ANCHOR_END: semaphore

/// asyncio's `ValueError('BoundedSemaphore released too many times')`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReleasedTooManyTimes;

impl fmt::Display for ReleasedTooManyTimes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the bounded semaphore was released too many times")
    }
}

impl Error for ReleasedTooManyTimes {}

impl Semaphore {
    /// A semaphore with `value` free units (asyncio's default is 1).
    pub fn new(value: usize) -> Self {
        Self::bounded(value, None)
    }

    fn bounded(value: usize, bound: Option<usize>) -> Self {
        let state = SemaphoreState {
            value: Cell::new(value),
            bound,
            waiters: Waiters::default(),
        };
        Self {
            state: Rc::new(state),
        }
    }

    /// How many units are free.
    pub fn value(&self) -> usize {
        self.state.value.get()
    }

    /// Whether `acquire` would wait: no unit is free, or somebody waits
    /// already (a woken waiter whose task has not run yet still waits).
    pub fn locked(&self) -> bool {
        self.value() == 0 || !self.state.waiters.is_empty()
    }

    // ANCHOR: semaphore_acquire
    /// asyncio's `await semaphore.acquire()`: take a unit, when it is this
    /// task's turn, and hold it until the guard is dropped. `Err(Cancelled)`
    /// if its task is cancelled while it waits.
    pub async fn acquire(&self) -> Result<SemaphoreGuard, FutureError> {
        let state = &self.state;
        if !self.locked() {
            state.value.set(state.value.get() - 1);
        } else {
            state
                .waiters
                .wait(|woken| {
                    // Woken, it was handed a unit it will never use: give
                    // it back, to the next waiter.
                    if woken {
                        state.value.set(state.value.get() + 1);
                        self.wake_up_next();
                    }
                })
                .await?;
            // The unit `wake_up_next` handed over is this task's. If more
            // were freed meanwhile, the next waiter may have one too.
            if self.value() > 0 {
                self.wake_up_next();
            }
        }
        Ok(SemaphoreGuard {
            semaphore: self.clone(),
            held: true,
        })
    }

    /// asyncio's `release()`: one more free unit, for the first waiter if
    /// one waits. Anyone may call it, whether they acquired or not.
    pub fn release(&self) {
        // A semaphore made by `new` has no bound: this cannot fail.
        let _unbounded = self.try_release();
    }

    fn try_release(&self) -> Result<(), ReleasedTooManyTimes> {
        let state = &self.state;
        if state.bound.is_some_and(|bound| self.value() >= bound) {
            return Err(ReleasedTooManyTimes);
        }
        state.value.set(self.value() + 1);
        self.wake_up_next();
        Ok(())
    }

    /// asyncio's `_wake_up_next`: hand a free unit to the first waiter not
    /// woken yet, so that nobody else can take it before that waiter's
    /// task runs. Called only when a unit is free.
    fn wake_up_next(&self) {
        if self.state.waiters.wake(1) == 1 {
            self.state.value.set(self.value() - 1);
        }
    }
    // ANCHOR_END: semaphore_acquire
}

/// asyncio's default semaphore: one unit.
impl Default for Semaphore {
    fn default() -> Self {
        Self::new(1)
    }
}

/// asyncio's `BoundedSemaphore`: a semaphore that refuses to be released
/// above its initial value, which would be a release without an acquire.
/// Clones are the same semaphore.
#[derive(Clone)]
pub struct BoundedSemaphore {
    semaphore: Semaphore,
}

impl BoundedSemaphore {
    /// A semaphore with `value` free units, and never more.
    pub fn new(value: usize) -> Self {
        Self {
            semaphore: Semaphore::bounded(value, Some(value)),
        }
    }

    /// How many units are free.
    pub fn value(&self) -> usize {
        self.semaphore.value()
    }

    /// Whether `acquire` would wait.
    pub fn locked(&self) -> bool {
        self.semaphore.locked()
    }

    /// As [`Semaphore::acquire`].
    pub async fn acquire(&self) -> Result<SemaphoreGuard, FutureError> {
        self.semaphore.acquire().await
    }

    /// asyncio's `release()`: as [`Semaphore::release`], or
    /// `ReleasedTooManyTimes` if every unit is free already.
    pub fn release(&self) -> Result<(), ReleasedTooManyTimes> {
        self.semaphore.try_release()
    }
}

// ANCHOR: semaphore_guard
/// Holding a unit of a semaphore: dropping it releases the unit, as the
/// end of an `async with semaphore:` block does in Python.
///
/// A lock's guard can tell whether the lock is still its holding, but the
/// units of a semaphore are all alike: code that releases by hand, in
/// asyncio's style, must say so with [`forget`](Self::forget), or the unit
/// would be released twice.
#[must_use = "dropping the guard releases the unit at once"]
pub struct SemaphoreGuard {
    semaphore: Semaphore,
    held: bool,
}

impl SemaphoreGuard {
    /// Keep the unit taken after the guard is gone: it is released by
    /// `release()`, by hand, as after asyncio's `await semaphore.acquire()`.
    pub fn forget(mut self) {
        self.held = false;
    }
}

impl Drop for SemaphoreGuard {
    fn drop(&mut self) {
        if self.held {
            // A bounded semaphore refuses only if its units were released
            // by hand as well: then this one is back already.
            let _back = self.semaphore.try_release();
        }
    }
}
// ANCHOR_END: semaphore_guard

// ANCHOR: condition
/// asyncio's `Condition`: a lock, and a queue of tasks that wait, lock
/// released, until another task holding the lock notifies them. Clones are
/// the same condition.
#[derive(Clone, Default)]
pub struct Condition {
    state: Rc<ConditionState>,
}

#[derive(Default)]
struct ConditionState {
    lock: Lock,
    waiters: Waiters,
}
// ANCHOR_END: condition

impl Condition {
    /// A condition with a lock of its own.
    pub fn new() -> Self {
        Self::default()
    }

    /// asyncio's `Condition(lock)`: a condition on a lock that others may
    /// take too.
    pub fn with_lock(lock: Lock) -> Self {
        let state = ConditionState {
            lock,
            waiters: Waiters::default(),
        };
        Self {
            state: Rc::new(state),
        }
    }

    /// Whether its lock is held.
    pub fn locked(&self) -> bool {
        self.state.lock.locked()
    }

    /// Take its lock: [`Lock::acquire`].
    pub async fn acquire(&self) -> Result<LockGuard, FutureError> {
        self.state.lock.acquire().await
    }

    /// Release its lock: [`Lock::release`].
    pub fn release(&self) -> Result<(), NotAcquired> {
        self.state.lock.release()
    }

    // ANCHOR: condition_wait
    /// asyncio's `await condition.wait()`: release the lock, wait to be
    /// notified, take the lock back (in turn, behind tasks already waiting
    /// for it), and return holding it as before: the caller's guard still
    /// releases it. `NotAcquired` (as an exception) if the lock is free;
    /// `Err(Cancelled)`, holding the lock again, if its task is cancelled.
    pub async fn wait(&self) -> Result<(), FutureError> {
        let lock = &self.state.lock;
        let holder = lock.holder().ok_or(NotAcquired)?;
        // asyncio retakes the lock even when the wait is cancelled, by
        // awaiting in `finally`; so does a cancelled wait here, below. A
        // dropped Rust future cannot await: a wait dropped before its end
        // does not hold the lock, and the caller's guard, whose holding it
        // no longer is, leaves the lock alone.
        lock.release()?;
        let waiters = &self.state.waiters;
        // Dropped once notified, before it returns, the task will never act
        // on the notification: notify the next waiter instead (asyncio does
        // since 3.13, gh-112202; 3.11 loses the notification).
        let waited = waiters
            .wait(|notified| {
                if notified {
                    waiters.wake(1);
                }
            })
            .await;
        // Notified, and queueing for the lock: the same, if dropped now.
        let pass_on = OnDrop::new(|| {
            if waited.is_ok() {
                waiters.wake(1);
            }
        });
        // Retake the lock, however often the task is cancelled meanwhile,
        // and say it was (asyncio's `finally:` loop).
        let mut cancelled = waited.is_err();
        while lock.take(holder).await.is_err() {
            cancelled = true;
        }
        pass_on.defuse();
        if cancelled {
            return Err(FutureError::Cancelled);
        }
        Ok(())
    }
    // ANCHOR_END: condition_wait

    /// asyncio's `await condition.wait_for(predicate)`: wait until
    /// `predicate` is true, checking it first and after each notification,
    /// with the lock held. `NotAcquired` if it has to wait and the lock is
    /// free.
    pub async fn wait_for(&self, mut predicate: impl FnMut() -> bool) -> Result<(), FutureError> {
        while !predicate() {
            self.wait().await?;
        }
        Ok(())
    }

    /// asyncio's `notify(n)`: wake the first `n` waiters not notified yet.
    /// Each returns from `wait` once it has the lock, so not before the
    /// caller releases it. `NotAcquired` if the lock is free.
    pub fn notify(&self, n: usize) -> Result<(), NotAcquired> {
        if !self.locked() {
            return Err(NotAcquired);
        }
        self.state.waiters.wake(n);
        Ok(())
    }

    /// asyncio's `notify_all()`: wake every waiter.
    pub fn notify_all(&self) -> Result<(), NotAcquired> {
        self.notify(usize::MAX)
    }
}

/// Runs its closure when dropped, unless defused: a `finally` for a wait
/// that may be dropped between two of its awaits.
struct OnDrop<F: FnOnce()>(Option<F>);

impl<F: FnOnce()> OnDrop<F> {
    fn new(run: F) -> Self {
        Self(Some(run))
    }

    fn defuse(mut self) {
        self.0 = None;
    }
}

impl<F: FnOnce()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        if let Some(run) = self.0.take() {
            run();
        }
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = if self.is_set() { "set" } else { "unset" };
        self.state.waiters.describe(f, "Event", state)
    }
}

impl fmt::Debug for Lock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = if self.locked() { "locked" } else { "unlocked" };
        self.state.waiters.describe(f, "Lock", state)
    }
}

impl fmt::Debug for LockGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<LockGuard of {:?}>", self.lock)
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = if self.locked() {
            "locked".to_string()
        } else {
            format!("unlocked, value:{}", self.value())
        };
        let name = match self.state.bound {
            Some(_) => "BoundedSemaphore",
            None => "Semaphore",
        };
        self.state.waiters.describe(f, name, &state)
    }
}

impl fmt::Debug for BoundedSemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.semaphore, f)
    }
}

impl fmt::Debug for SemaphoreGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<SemaphoreGuard of {:?}>", self.semaphore)
    }
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = if self.locked() { "locked" } else { "unlocked" };
        self.state.waiters.describe(f, "Condition", state)
    }
}
