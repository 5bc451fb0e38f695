//! Stage 3: waiting for file descriptors with `select` and `poll`.

pub mod poll;
pub mod select;
pub mod selector;
pub mod selector_loop;
pub mod wakeup;

pub use selector::{Interest, SelectorError};
pub use selector_loop::SelectorLoop;
pub use wakeup::Remote;
