//! Signing in and the caller's own account (系统登录): the login, first sign-in, password and
//! language pages, and the `/auth` API. The logic lives in `crate::auth`, which knows no pages.

mod api;
mod cookies;
mod dto;
mod forms;
mod pages;

crate::typed_api! {
    tag: "auth",
    routes: [
        api::api_login,
        api::api_logout,
        api::api_password,
        api::api_me,
        api::api_activate,
    ],
    schemas: [],
}

pub fn page_routes() -> Vec<rocket::Route> {
    rocket::routes![
        pages::index,
        pages::login_form,
        pages::login_submit,
        pages::logout,
        pages::password_form,
        pages::password_submit,
        pages::switch_lang,
        pages::activate_form,
        pages::activate_submit,
        pages::sso_start,
        pages::sso_callback
    ]
}
