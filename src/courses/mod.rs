//! Courses and course selection (选课信息管理): terms, the catalogue of sections.

pub mod handlers;
pub mod service;

pub use handlers::{api_routes, page_routes};
