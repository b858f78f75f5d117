//! Browser test (added below).
