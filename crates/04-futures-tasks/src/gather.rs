//! Waiting for several futures at once.
//!
//! Mirrors `gather`, `wait` and `as_completed` in CPython's
//! `asyncio/tasks.py`. Each works the way asyncio's does: it adds a
//! done-callback to every future it watches, and one outer future, which its
//! caller awaits, is finished by those callbacks when the condition holds:
//! all done, one done, one failed. Nothing is cancelled when the caller
//! stops waiting: the others go on running, as in asyncio.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use stage02_timed_events::{AbstractEventLoop, get_running_loop};
use stage03_read_readiness::SelectorEventLoop;

use crate::Task;
use crate::futures::{Future, FutureError};

// ANCHOR: awaitable
/// Something to wait for: a [`Future`], or a [`Task`], which is one.
pub trait Awaitable {
    /// What it gives when done.
    type Output: Clone + 'static;
    /// The future that says when it is done, and with what.
    fn future(&self) -> Future<Self::Output>;
}

impl<T: Clone + 'static> Awaitable for Future<T> {
    type Output = T;
    fn future(&self) -> Future<T> {
        self.clone()
    }
}

impl<T: Clone + 'static> Awaitable for Task<T> {
    type Output = T;
    fn future(&self) -> Future<T> {
        self.as_future().clone()
    }
}
// ANCHOR_END: awaitable

/// The kind of task the crate did not choose (see [`fast`](crate::fast)) is
/// awaitable too, so that benchmarks can run both kinds side by side.
#[cfg(not(feature = "fast"))]
impl<T: Clone + 'static> Awaitable for crate::fast::Task<T> {
    type Output = T;
    fn future(&self) -> Future<T> {
        self.as_future().clone()
    }
}

#[cfg(feature = "fast")]
impl<T: Clone + 'static> Awaitable for crate::tasks::Task<T> {
    type Output = T;
    fn future(&self) -> Future<T> {
        self.as_future().clone()
    }
}

// ANCHOR: gathered
/// What `gather` can wait for: a tuple of awaitables of any types (up to
/// six), or a `Vec` of one type. Their values come back in the same shape,
/// in argument order.
pub trait Gathered {
    /// The values, when every one succeeded: `(A, B)` for `(Task<A>, Task<B>)`.
    type Values;
    /// Every outcome, error or not: `(Result<A, _>, Result<B, _>)`.
    type Outcomes;
    /// The futures to watch, in argument order.
    #[doc(hidden)]
    fn watched(&self) -> Vec<Rc<dyn WatchedFuture>>;
    /// Every outcome, once all are done.
    fn outcomes(&self) -> Self::Outcomes;
    /// The values, or the first error in argument order.
    fn values(outcomes: Self::Outcomes) -> Result<Self::Values, FutureError>;
}
// ANCHOR_END: gathered

/// A watched future, whatever its result's type: how a gatherer sees it
/// (public only because `Gathered` names it).
#[doc(hidden)]
pub trait WatchedFuture {
    /// Call `done` (with the future's error, if it failed) once it is done.
    fn when_done(&self, done: Box<dyn FnOnce(Option<FutureError>)>);
}

impl<T: Clone + 'static> WatchedFuture for Future<T> {
    fn when_done(&self, done: Box<dyn FnOnce(Option<FutureError>)>) {
        self.add_done_callback(move |_, future| done(future.result().err()));
    }
}

impl<A: Awaitable> Gathered for Vec<A> {
    type Values = Vec<A::Output>;
    type Outcomes = Vec<Result<A::Output, FutureError>>;

    fn watched(&self) -> Vec<Rc<dyn WatchedFuture>> {
        self.iter()
            .map(|a| Rc::new(a.future()) as Rc<dyn WatchedFuture>)
            .collect()
    }

    fn outcomes(&self) -> Self::Outcomes {
        self.iter().map(|a| a.future().result()).collect()
    }

    fn values(outcomes: Self::Outcomes) -> Result<Self::Values, FutureError> {
        outcomes.into_iter().collect()
    }
}

/// `Gathered` for the tuples of one to six awaitables.
macro_rules! gathered_tuple {
    ($($a:ident),+) => {
        #[allow(non_snake_case)]
        impl<$($a: Awaitable),+> Gathered for ($($a,)+) {
            type Values = ($($a::Output,)+);
            type Outcomes = ($(Result<$a::Output, FutureError>,)+);

            fn watched(&self) -> Vec<Rc<dyn WatchedFuture>> {
                let ($($a,)+) = self;
                vec![$(Rc::new($a.future()) as Rc<dyn WatchedFuture>),+]
            }

            fn outcomes(&self) -> Self::Outcomes {
                let ($($a,)+) = self;
                ($($a.future().result(),)+)
            }

            fn values(outcomes: Self::Outcomes) -> Result<Self::Values, FutureError> {
                let ($($a,)+) = outcomes;
                Ok(($($a?,)+))
            }
        }
    };
}

gathered_tuple!(A);
gathered_tuple!(A, B);
gathered_tuple!(A, B, C);
gathered_tuple!(A, B, C, D);
gathered_tuple!(A, B, C, D, E);
gathered_tuple!(A, B, C, D, E, F);

// ANCHOR: gather
/// asyncio's `await gather(a, b, ...)`: the values of every awaitable, in
/// argument order. The first error (in the order they fail) is what the
/// gatherer gets, at once; the others go on running.
pub async fn gather<G: Gathered>(awaitables: G) -> Result<G::Values, FutureError> {
    if let Some(first) = all_done(&awaitables, Stop::AtFirstError).await {
        return Err(first);
    }
    G::values(awaitables.outcomes())
}

/// asyncio's `gather(..., return_exceptions=True)`: wait for every one,
/// and give every outcome, errors included, in argument order.
pub async fn gather_return_exceptions<G: Gathered>(awaitables: G) -> G::Outcomes {
    all_done(&awaitables, Stop::WhenAllDone).await;
    awaitables.outcomes()
}

/// When `all_done` finishes early.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stop {
    AtFirstError,
    WhenAllDone,
}

/// Wait until every one of `awaitables` is done, or (with `AtFirstError`)
/// one has failed: asyncio's `_GatheringFuture` and its `_done_callback`.
/// The first error, if it stopped at one.
async fn all_done<G: Gathered>(awaitables: &G, stop: Stop) -> Option<FutureError> {
    let watched = awaitables.watched();
    if watched.is_empty() {
        return None;
    }
    let event_loop = running_loop("gather");
    let outer: Future<Option<FutureError>> = Future::new(&event_loop);
    let left = Rc::new(Cell::new(watched.len()));
    for future in watched {
        let (outer, left) = (outer.clone(), Rc::clone(&left));
        future.when_done(Box::new(move |error| {
            left.set(left.get() - 1);
            match error {
                Some(error) if stop == Stop::AtFirstError => {
                    let _ = outer.set_result(Some(error));
                }
                _ if left.get() == 0 => {
                    let _ = outer.set_result(None);
                }
                _ => {}
            }
        }));
    }
    outer.await.unwrap_or(None)
}
// ANCHOR_END: gather

/// The loop running in this thread, for a combinator that needs one.
fn running_loop(what: &str) -> SelectorEventLoop {
    get_running_loop::<SelectorEventLoop>()
        .unwrap_or_else(|_| panic!("{what}() awaited outside a running loop"))
}

// ANCHOR: wait
/// When `wait` returns: asyncio's `FIRST_COMPLETED`, `FIRST_EXCEPTION`,
/// `ALL_COMPLETED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnWhen {
    /// As soon as one is done.
    FirstCompleted,
    /// As soon as one fails (or all are done).
    FirstException,
    /// When all are done.
    AllCompleted,
}

/// asyncio's `await wait(aws, timeout, return_when)`: wait until
/// `return_when` holds or `timeout` seconds have passed (`None`: no limit),
/// and split the awaitables into those done and those still pending, each in
/// argument order. Nothing is cancelled.
pub async fn wait<A: Awaitable + Clone>(
    awaitables: Vec<A>,
    timeout: Option<f64>,
    return_when: ReturnWhen,
) -> (Vec<A>, Vec<A>) {
    let event_loop = running_loop("wait");
    let outer: Future<()> = Future::new(&event_loop);
    let left = Rc::new(Cell::new(awaitables.len()));
    for awaitable in &awaitables {
        let (outer, left) = (outer.clone(), Rc::clone(&left));
        WatchedFuture::when_done(
            &awaitable.future(),
            Box::new(move |error| {
                left.set(left.get() - 1);
                let now = match return_when {
                    ReturnWhen::FirstCompleted => true,
                    ReturnWhen::FirstException => error.is_some() || left.get() == 0,
                    ReturnWhen::AllCompleted => left.get() == 0,
                };
                if now {
                    let _ = outer.set_result(());
                }
            }),
        );
    }
    if awaitables.is_empty() {
        let _ = outer.set_result(());
    }
    let timer = timeout.map(|timeout| {
        let outer = outer.clone();
        let timer = event_loop.call_later(timeout, move |_| {
            let _ = outer.set_result(());
        });
        timer.expect("a running loop is open")
    });
    let _ = outer.await;
    if let Some(timer) = timer {
        timer.cancel();
    }
    awaitables.into_iter().partition(|a| a.future().done())
}
// ANCHOR_END: wait

// ANCHOR: as_completed
/// asyncio's `as_completed(aws)`: the outcomes in the order the awaitables
/// finish, one `next().await` at a time.
pub struct AsCompleted<T> {
    /// Outcomes in the order they came, not yet taken.
    finished: Rc<RefCell<VecDeque<Result<T, FutureError>>>>,
    /// Finished when an outcome arrives for a `next` that waits.
    arrived: Rc<RefCell<Option<Future<()>>>>,
    left: usize,
}

/// Watch `awaitables`, to take their outcomes as they finish.
pub fn as_completed<A: Awaitable>(awaitables: Vec<A>) -> AsCompleted<A::Output> {
    let finished: Rc<RefCell<VecDeque<_>>> = Rc::default();
    let arrived: Rc<RefCell<Option<Future<()>>>> = Rc::default();
    for awaitable in &awaitables {
        let (finished, arrived) = (Rc::clone(&finished), Rc::clone(&arrived));
        awaitable.future().add_done_callback(move |_, future| {
            finished.borrow_mut().push_back(future.result());
            if let Some(arrived) = arrived.borrow_mut().take() {
                let _ = arrived.set_result(());
            }
        });
    }
    AsCompleted {
        finished,
        arrived,
        left: awaitables.len(),
    }
}

impl<T: 'static> AsCompleted<T> {
    /// The next outcome to finish; `None` once every one was taken.
    pub async fn next(&mut self) -> Option<Result<T, FutureError>> {
        if self.left == 0 {
            return None;
        }
        loop {
            if let Some(outcome) = self.finished.borrow_mut().pop_front() {
                self.left -= 1;
                return Some(outcome);
            }
            let arrived = Future::new(&running_loop("as_completed"));
            *self.arrived.borrow_mut() = Some(arrived.clone());
            let _ = arrived.await;
        }
    }
}
// ANCHOR_END: as_completed
