//! Administration: accounts, permission groups, functional modules, the audit log.

mod api;
mod dto;
mod forms;
mod pages;
pub mod service;

crate::typed_api! {
    tag: "admin",
    routes: [
        api::api_users,
        api::api_user,
        api::api_user_create,
        api::api_user_patch,
        api::api_user_password,
        api::api_groups,
        api::api_group_create,
        api::api_group_update,
        api::api_permissions,
        api::api_modules,
        api::api_module_switch,
        api::api_audit,
    ],
    schemas: [],
}

pub fn page_routes() -> Vec<rocket::Route> {
    rocket::routes![
        pages::users_page,
        pages::user_page,
        pages::user_create,
        pages::user_groups_submit,
        pages::user_active_submit,
        pages::user_throttles_clear,
        pages::user_password_submit,
        pages::groups_page,
        pages::group_page,
        pages::group_create,
        pages::group_update,
        pages::modules_page,
        pages::module_submit,
        pages::audit_page
    ]
}
