//! Courses and course selection (选课信息管理): terms, courses and sections, browsed by
//! students and managed by staff.

pub mod handlers;
pub mod manage;
pub mod service;

pub use handlers::{api_routes, page_routes};
