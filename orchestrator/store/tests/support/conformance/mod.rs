//! The behaviour every backend must show, written once and run against each backend through
//! `all_conformance_tests!`. Each case takes a fresh fixture and asserts what a client would see.

mod history;
mod reads;
mod writes;

// Used through `all_conformance_tests!`, which not every test binary expands.
#[allow(unused_imports)]
pub use history::*;
#[allow(unused_imports)]
pub use reads::*;
#[allow(unused_imports)]
pub use writes::*;
