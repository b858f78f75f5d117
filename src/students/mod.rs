//! Student information (学生基本信息管理): records, the scope rules for who may read them,
//! search, the 360° profile, lifecycle stages, bulk import and export.

pub mod accounts;
pub mod export;
pub mod forms;
pub mod handlers;
pub mod identifiers;
pub mod import;
pub mod lifecycle;
pub mod merge;
pub mod pages;
pub mod query;
pub mod record;
pub mod service;

pub use handlers::api_routes;
pub use pages::page_routes;
