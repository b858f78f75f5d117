//! Student information (学生基本信息管理): records and the rules for who may read them.

pub mod handlers;
pub mod service;

pub use handlers::api_routes;
