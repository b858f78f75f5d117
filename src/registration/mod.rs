//! Course selection (选课): add, drop and swap sections with waitlists that promote
//! automatically, safe under any number of racing requests and app instances.

pub mod admin;
pub mod handlers;
pub mod idempotency;
pub mod rules;
pub mod service;
