//! The replay engine: in-memory forward port of a queue with a verdict per patch.
