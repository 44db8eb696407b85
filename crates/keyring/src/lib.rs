//! Trustplane's keys: the master key that seals secrets before they reach the database, and
//! the rings of signing keys each federation protocol publishes and rotates.
#![deny(missing_docs)]

mod rings;
mod sealer;

pub use rings::{KeyKind, KeyRing, KeyRingError, LoadedKeys, PublishedKey};
pub use sealer::{KeyError, Sealer};
