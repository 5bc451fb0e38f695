//! A radix heap: the schedule of the fast loop.
//!
//! Mirrors nothing in asyncio, which keeps its timers in a binary heap
//! (`heapq`). See chapter 2, "Making it fast", for why a loop's schedule can
//! do better and by how much.

use std::collections::{BinaryHeap, VecDeque};

use crate::schedule::{Entry, Key, Schedule};
use crate::seconds::Nanos;

// ANCHOR: radix_heap
/// A radix heap: a schedule for a clock that never runs backwards.
///
/// Entries are kept in 65 buckets by how far their time is from `last`, the
/// time of the earliest entry found so far: bucket `i > 0` holds the times
/// whose highest bit differing from `last` is bit `i - 1`, and bucket 0 the
/// times equal to `last`, in arrival order. `push` is a bit trick and an
/// append. When bucket 0 runs dry, the loop's clock has moved on: `last`
/// becomes the earliest time in the first non-empty bucket, and that bucket's
/// entries are redistributed, each into a lower bucket. An entry can only
/// move down, so it moves at most 64 times in its life, and every move is a
/// sequential scan of a vector: no pointer chasing, few cache misses. A
/// binary heap instead walks a path from the root to a leaf on every `pop`,
/// which, past a few hundred thousand entries, misses the cache at every step.
///
/// Ties in the buckets stay first-in, first-out without any sorting. Moving
/// `last` up to a time in the nearest bucket does not change which bucket
/// any entry of the *other* buckets belongs in (the new `last` agrees with
/// the old one on every bit above the nearest bucket's), so every entry is
/// always in the bucket its time calls for, and entries due at the same
/// time always share one. A bucket only ever grows at its end, so it keeps
/// the order its entries came in.
///
/// The one thing a radix heap cannot take is an entry earlier than `last`
/// (a timer set for a time the schedule has already moved past, such as
/// `call_later(-1)`). Those go to a small ordinary heap, `near`, and come out
/// first: they are all earlier than anything in the buckets. The nearest
/// bucket goes there too, once it holds no more than [`SMALL_BUCKET`]
/// entries, and `last` moves up to the latest of them.
#[derive(Debug)]
pub struct RadixHeap<T> {
    last: Nanos,
    /// Bucket 0: entries due at `last`, first in, first out.
    due: VecDeque<Entry<T>>,
    /// Buckets 1 to 64; `farther[i - 1]` is bucket `i`.
    farther: [Vec<Entry<T>>; 64],
    /// Bit `i - 1` set when bucket `i` has entries: finding the nearest
    /// non-empty bucket is then one instruction, not a walk over 64 vectors.
    occupied: u64,
    /// Entries due at or before `last`, served before `due`.
    near: BinaryHeap<Entry<T>>,
    /// An empty vector with room in it, swapped in for a bucket being refilled.
    spare: Vec<Entry<T>>,
    len: usize,
    pushed: u64,
}

/// The most entries a bucket may hold for a refill to hand them all to the
/// `near` heap rather than spread them out again. Of 0 (always spread out),
/// 4, 8, 16 and 32, 16 was the fastest with 10⁶ timers, taking about a
/// tenth fewer processor cycles per timer than 0.
pub const SMALL_BUCKET: usize = 16;

/// Which bucket a time belongs in, seen from `last`: 0 if equal, else one
/// more than the index of the highest bit in which the two differ.
fn bucket(last: Nanos, when: Nanos) -> usize {
    let differing = (last ^ when) as u64;
    (u64::BITS - differing.leading_zeros()) as usize
}

/// Which buckets have entries, as `RadixHeap::occupied` records it.
fn occupancy<T>(farther: &[Vec<Entry<T>>; 64]) -> u64 {
    (0..64)
        .filter(|&i| !farther[i].is_empty())
        .fold(0, |bits, i| bits | 1 << i)
}

impl<T> RadixHeap<T> {
    fn file(&mut self, entry: Entry<T>) {
        match bucket(self.last, entry.key.when) {
            0 => self.due.push_back(entry),
            i => {
                self.farther[i - 1].push(entry);
                self.occupied |= 1 << (i - 1);
            }
        }
    }

    /// Bucket 0 (and `near`) is empty: move `last` to the earliest time in
    /// the nearest bucket and spread that bucket out below it, or, if it is
    /// small, hand it to `near` whole.
    fn refill(&mut self) {
        if self.occupied == 0 {
            return;
        }
        let nearest = self.occupied.trailing_zeros() as usize;
        self.occupied &= !(1 << nearest);
        if self.farther[nearest].len() <= SMALL_BUCKET {
            // A few entries are quicker to order in a heap than to spread
            // out again and again, one refill per `pop`. They are the
            // earliest of all, so `last` can move up to the latest of them.
            let bucket = &mut self.farther[nearest];
            self.last = bucket.iter().map(|e| e.key.when).max().expect("non-empty");
            self.near.extend(bucket.drain(..));
            return;
        }
        // Swap the bucket with a spare vector rather than take it, so both
        // keep their memory: refills would otherwise allocate all the time.
        let mut entries = std::mem::take(&mut self.spare);
        std::mem::swap(&mut entries, &mut self.farther[nearest]);
        self.last = entries.iter().map(|e| e.key.when).min().expect("non-empty");
        for entry in entries.drain(..) {
            self.file(entry);
        }
        self.spare = entries;
    }

    // ANCHOR: upcoming
    /// Every item, roughly in the order they will come out: first those
    /// whose turn is next (`near`, then `due`), then the buckets, nearest
    /// first, each bucket in no particular order. The loop uses it to fetch
    /// its next callbacks' memory before it needs them.
    pub fn upcoming(&self) -> impl Iterator<Item = &T> {
        let mut occupied = self.occupied;
        let buckets = std::iter::from_fn(move || {
            let nearest = (occupied != 0).then(|| occupied.trailing_zeros() as usize)?;
            occupied &= occupied - 1; // clear the lowest set bit
            Some(&self.farther[nearest])
        });
        let due = self.near.iter().chain(&self.due);
        due.chain(buckets.flatten()).map(|e| &e.item)
    }
    // ANCHOR_END: upcoming
}

impl<T> Schedule<T> for RadixHeap<T> {
    fn push(&mut self, when: Nanos, item: T) -> Key {
        let key = Key {
            when,
            seq: self.pushed,
        };
        self.pushed += 1;
        self.len += 1;
        let entry = Entry { key, item };
        if when < self.last {
            self.near.push(entry);
        } else {
            self.file(entry);
        }
        key
    }

    fn peek(&mut self) -> Option<(Key, &T)> {
        if self.near.is_empty() && self.due.is_empty() {
            self.refill();
        }
        match self.near.peek() {
            Some(e) => Some((e.key, &e.item)),
            None => self.due.front().map(|e| (e.key, &e.item)),
        }
    }

    fn pop(&mut self) -> Option<(Key, T)> {
        self.peek()?;
        let entry = match self.near.pop() {
            Some(entry) => entry,
            None => self.due.pop_front().expect("peek found it"),
        };
        self.len -= 1;
        Some((entry.key, entry.item))
    }
    // ANCHOR_END: radix_heap

    /// O(n), as for the binary heap: keys are unique, so at most one goes.
    fn remove(&mut self, key: Key) -> Option<T> {
        let mut removed = None;
        let mut take = |entries: &mut Vec<Entry<T>>| {
            if let Some(at) = entries.iter().position(|e| e.key == key) {
                removed = Some(entries.remove(at).item);
            }
        };
        let mut near = std::mem::take(&mut self.near).into_vec();
        take(&mut near);
        self.near = BinaryHeap::from(near);
        let mut due = Vec::from(std::mem::take(&mut self.due));
        take(&mut due);
        self.due = VecDeque::from(due);
        self.farther.iter_mut().for_each(take);
        self.occupied = occupancy(&self.farther);
        self.len -= usize::from(removed.is_some());
        removed
    }

    fn retain(&mut self, keep: &mut dyn FnMut(&T) -> bool) {
        // In place: a compaction must not allocate a second schedule.
        self.near.retain(|e| keep(&e.item));
        self.due.retain(|e| keep(&e.item));
        for bucket in &mut self.farther {
            bucket.retain(|e| keep(&e.item));
        }
        self.occupied = occupancy(&self.farther);
        self.len =
            self.near.len() + self.due.len() + self.farther.iter().map(Vec::len).sum::<usize>();
    }

    fn len(&self) -> usize {
        self.len
    }
}

impl<T> Default for RadixHeap<T> {
    fn default() -> Self {
        Self {
            last: Nanos::MIN,
            due: VecDeque::new(),
            farther: std::array::from_fn(|_| Vec::new()),
            occupied: 0,
            near: BinaryHeap::new(),
            spare: Vec::new(),
            len: 0,
            pushed: 0,
        }
    }
}
