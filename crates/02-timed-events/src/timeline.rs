//! A record of what the loop did, and pictures of it.
//!
//! Mirrors nothing in asyncio (its debug mode logs slow callbacks, but draws
//! nothing). The loop and the task driver add marks as they work; the
//! renderers draw one row per task with time running across.

use std::cell::RefCell;
use std::rc::Rc;

use crate::seconds::Nanos;

/// Something the loop did, at a time the timeline stores beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mark {
    /// The loop waited from `from` until the time of the mark.
    Slept {
        /// When the wait began.
        from: Nanos,
    },
    /// A task's coroutine was resumed.
    Resumed {
        /// The task's name: its row in the picture.
        task: String,
    },
    /// A task's coroutine completed.
    Completed {
        /// The task's name.
        task: String,
    },
}

/// A shared, growing list of `(time, mark)`. Clones add to the same list.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    marks: Rc<RefCell<Vec<(Nanos, Mark)>>>,
}

impl Timeline {
    /// An empty timeline.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a mark made at `at`.
    pub fn record(&self, at: Nanos, mark: Mark) {
        self.marks.borrow_mut().push((at, mark));
    }

    /// Every mark so far, in the order they were made.
    pub fn marks(&self) -> Vec<(Nanos, Mark)> {
        self.marks.borrow().clone()
    }
}

impl Timeline {
    /// A terminal picture: one row per task, time across `width` columns.
    /// (A placeholder renderer; see `render_svg` for the book's picture.)
    pub fn render_text(&self, width: usize) -> String {
        let _ = width;
        String::new()
    }
}
