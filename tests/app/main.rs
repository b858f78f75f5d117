#![allow(clippy::unwrap_used)]
//! The portal's one integration-test binary: every test goes through HTTP against the app that
//! `srm::build` makes, on a fresh database of its own.

mod access_matrix;
mod account_security;
mod admin;
mod analysis_store;
mod analytics;
mod analytics_crm;
mod architecture;
mod attendance;
mod auth;
mod backup;
mod browser;
mod charts;
mod cli;
mod common;
mod csrf;
mod early_warning;
mod fuzz;
mod grade_entry;
mod grades;
mod hardening;
mod history_import;
mod i18n_sweep;
mod interaction;
mod mail;
mod mining;
mod ops;
mod pages;
mod phone;
mod privacy;
mod recommend;
mod registration;
mod registration_flow;
mod risk_reasons;
mod schemathesis;
mod security_data;
mod seed;
mod sso;
mod students;
mod tokens;
mod units;
