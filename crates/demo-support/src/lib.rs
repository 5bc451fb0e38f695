//! What every stage's demo needs and no stage teaches.
//!
//! The numbered crates each hold one layer of asyncio. Their demos, tests
//! and book pictures also need a few things that have nothing to do with
//! asyncio, and they live here, so that no stage carries another's tools:
//!
//! | module | what it holds |
//! |---|---|
//! | [`transcript`] | what a demo prints, kept so that a test can read it back; comparing it with a committed file (`BLESS=1` rewrites the file) |
//! | [`timeline`] | a record of what a loop did, drawn as text or as SVG |
//! | [`demo_options`] | a demo's command line, and printing that survives a closed pipe |
//! | [`descriptors`] | the descriptor limit, raised for ten thousand sockets |

pub mod demo_options;
pub mod descriptors;
pub mod timeline;
pub mod transcript;

pub use timeline::{EventKind, Mark, Timeline};
pub use transcript::Transcript;
