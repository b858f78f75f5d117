#![allow(clippy::unwrap_used)]
//! The portal's one integration-test binary: every test goes through HTTP against the app that
//! `srm::build` makes, on a fresh database of its own.

mod access_matrix;
mod account_security;
mod admin;
mod auth;
mod browser;
mod cli;
mod common;
mod grades;
mod interaction;
mod mining;
mod pages;
mod registration;
mod seed;
mod students;
mod tokens;
