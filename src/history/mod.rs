//! Importing a university's history (issue 18): `srm import history DIR` and the registrar's
//! page `/import/history`, the same code.

pub mod read;
pub mod service;
