//! The schedule: items ordered by wake-up time, earliest first, and items due
//! at the same time in the order they were scheduled.
//!
//! Mirrors `BaseEventLoop._scheduled` in CPython's `asyncio/base_events.py`: a
//! list kept as a heap by `heapq`, ordered by `TimerHandle._when` alone
//! (`asyncio/events.py`, `TimerHandle.__lt__`). `heapq` is not stable, so
//! CPython may run two handles with the very same `when` in either order. Ours
//! keys every entry on `(when, sequence number)`: ties run first-in, first-out.
//!
//! Two implementations of one interface, [`Schedule`]: the first idea of
//! the Stack Overflow question "How does asyncio enable parallel IO waits?",
//! a [`SortedList`]; and the one asyncio uses, and so does our textbook
//! loop, a binary [`Heap`]. Chapter 2's "Making it fast" adds a third,
//! [`RadixHeap`](crate::fast::RadixHeap), for a million timers.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::seconds::Nanos;

/// Where an entry sits in the schedule's order: its time, then its arrival.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    /// When the item is due.
    pub when: Nanos,
    /// How many items this schedule had been given before this one.
    pub seq: u64,
}

// ANCHOR: schedule
/// A schedule of items by wake-up time.
pub trait Schedule<T> {
    /// Add `item`, due at `when`. Returns its key, which can remove it.
    fn push(&mut self, when: Nanos, item: T) -> Key;
    /// The earliest entry, without removing it. (`&mut`, because a
    /// schedule may tidy itself up to find it, as the fast one does.)
    fn peek(&mut self) -> Option<(Key, &T)>;
    /// Remove and return the earliest entry.
    fn pop(&mut self) -> Option<(Key, T)>;
    /// Remove the entry with this key, if it is still there.
    fn remove(&mut self, key: Key) -> Option<T>;
    /// Keep only the items for which `keep` says yes.
    fn retain(&mut self, keep: &mut dyn FnMut(&T) -> bool);
    /// How many entries there are.
    fn len(&self) -> usize;
    /// Whether there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
// ANCHOR_END: schedule

/// An entry: the item, and where it sits in the schedule's order.
#[derive(Debug)]
pub(crate) struct Entry<T> {
    pub(crate) key: Key,
    pub(crate) item: T,
}

// ANCHOR: sorted_list
/// The naive schedule: a vector kept sorted, latest first, so that the
/// earliest entry is at the end and `pop` is cheap. Each `push` shifts on
/// average half the vector to make room: O(n).
#[derive(Debug)]
pub struct SortedList<T> {
    entries: Vec<Entry<T>>,
    pushed: u64,
}

impl<T> Schedule<T> for SortedList<T> {
    fn push(&mut self, when: Nanos, item: T) -> Key {
        let key = Key {
            when,
            seq: self.pushed,
        };
        self.pushed += 1;
        // Latest first: the new entry goes after every later-or-equal key.
        let at = self.entries.partition_point(|e| e.key > key);
        self.entries.insert(at, Entry { key, item });
        key
    }

    fn peek(&mut self) -> Option<(Key, &T)> {
        self.entries.last().map(|e| (e.key, &e.item))
    }

    fn pop(&mut self) -> Option<(Key, T)> {
        self.entries.pop().map(|e| (e.key, e.item))
    }
    // ANCHOR_END: sorted_list

    fn remove(&mut self, key: Key) -> Option<T> {
        let at = self.entries.partition_point(|e| e.key > key);
        match self.entries.get(at) {
            Some(entry) if entry.key == key => Some(self.entries.remove(at).item),
            _ => None,
        }
    }

    fn retain(&mut self, keep: &mut dyn FnMut(&T) -> bool) {
        self.entries.retain(|e| keep(&e.item));
    }

    fn len(&self) -> usize {
        self.entries.len()
    }
}

impl<T> Default for SortedList<T> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
            pushed: 0,
        }
    }
}

// ANCHOR: heap
/// A binary min-heap on `(when, seq)`: `push` and `pop` are O(log n).
///
/// `std`'s `BinaryHeap` keeps the *greatest* element on top, so an entry
/// compares greater when its key is *smaller*: the earliest is on top.
#[derive(Debug)]
pub struct Heap<T> {
    entries: BinaryHeap<Entry<T>>,
    pushed: u64,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl<T> Eq for Entry<T> {}

impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> Ord for Entry<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        other.key.cmp(&self.key) // reversed: earliest on top
    }
}

impl<T> Schedule<T> for Heap<T> {
    fn push(&mut self, when: Nanos, item: T) -> Key {
        let key = Key {
            when,
            seq: self.pushed,
        };
        self.pushed += 1;
        self.entries.push(Entry { key, item });
        key
    }

    fn peek(&mut self) -> Option<(Key, &T)> {
        self.entries.peek().map(|e| (e.key, &e.item))
    }

    fn pop(&mut self) -> Option<(Key, T)> {
        self.entries.pop().map(|e| (e.key, e.item))
    }
    // ANCHOR_END: heap

    /// O(n): a heap can find an entry only by looking at all of them. This
    /// is why asyncio cancels lazily (see `EventLoop`), and why the
    /// benchmark measures this only up to 10⁴ timers.
    fn remove(&mut self, key: Key) -> Option<T> {
        let mut removed = None;
        let entries = std::mem::take(&mut self.entries).into_vec();
        let mut kept = Vec::with_capacity(entries.len());
        for entry in entries {
            if entry.key == key {
                removed = Some(entry.item);
            } else {
                kept.push(entry);
            }
        }
        self.entries = BinaryHeap::from(kept);
        removed
    }

    fn retain(&mut self, keep: &mut dyn FnMut(&T) -> bool) {
        self.entries.retain(|e| keep(&e.item));
    }

    fn len(&self) -> usize {
        self.entries.len()
    }
}

impl<T> Heap<T> {
    /// The key the next push would get, taken now for an entry pushed
    /// later with [`push_at`](Self::push_at): among entries due at the same
    /// moment, it sorts as if pushed now.
    pub fn reserve(&mut self, when: Nanos) -> Key {
        let key = Key {
            when,
            seq: self.pushed,
        };
        self.pushed += 1;
        key
    }

    /// Push `item` with a key [`reserve`](Self::reserve) handed out.
    pub fn push_at(&mut self, key: Key, item: T) {
        self.entries.push(Entry { key, item });
    }
}

impl<T> Default for Heap<T> {
    fn default() -> Self {
        Self {
            entries: BinaryHeap::new(),
            pushed: 0,
        }
    }
}
