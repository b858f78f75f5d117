//! Permission groups (组权限管理), functional modules (功能模块管理) and the request guards
//! that prove a caller may reach a route.

pub mod client_addr;
mod guards;
pub mod permissions;
pub mod service;

pub use guards::{ModuleOn, Perm, client_ip, request_modules, require_module};
pub use permissions::{Module, Permission, can, on};
