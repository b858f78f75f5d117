#![allow(clippy::unwrap_used)]
//! The portal's one integration-test binary: every test goes through HTTP against the app that
//! `srm::build` makes, on a fresh database of its own.

mod access_matrix;
mod account_security;
mod admin;
mod auth;
mod backup;
mod browser;
mod cli;
mod common;
mod csrf;
mod fuzz;
mod grade_entry;
mod grades;
mod interaction;
mod mining;
mod ops;
mod pages;
mod registration;
mod registration_flow;
mod schemathesis;
mod security_data;
mod seed;
mod students;
mod tokens;
