//! Procedural macros for `wamp-runtime`.
//!
//! The typed service and topic macros land with the typed-layer work; this crate is
//! re-exported by `wamp-runtime` so users depend on one crate only.
