//! The conformance suite against a real etcd (skipped, saying how to install it, if etcd is absent).

mod support;

all_conformance_tests!(support::EtcdFixture);
