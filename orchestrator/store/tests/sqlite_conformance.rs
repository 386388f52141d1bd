//! The conformance suite against embedded SQLite.

mod support;

all_conformance_tests!(support::SqliteFixture);
