//! The administrators' API: accounts, permission groups, modules and the audit log.

use super::dto::{
    AuditQuery, GroupBody, ModuleBody, ModuleSwitch, NewUserBody, ResetBody, UserPatch, UserQuery,
};
use super::service::{self, GroupInputText, NewUserInput, PermissionLabel, UserRow};
use crate::access::service::{self as access, GroupView};
use crate::access::{Perm, can};
use crate::error::{AppResult, ErrorBody};
use crate::paging::{Page, PageReq};
use crate::state::AppState;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{State, get, patch, post, put};

/// List accounts (search, filter, paginate).
#[utoipa::path(
    params(UserQuery),
    responses(
        (status = 200, description = "One page of accounts", body = Page<UserRow>),
    )
)]
#[get("/users?<f..>")]
pub async fn api_users(
    _who: Perm<'_, can::ManageUsers>,
    state: &State<AppState>,
    f: UserQuery,
) -> AppResult<Json<Page<UserRow>>> {
    let page = PageReq::new(f.page, f.per_page);
    Ok(Json(
        service::list_users(&state.db, &f.filter(), page).await?,
    ))
}

/// One account.
#[utoipa::path(
    params(("id" = i64, Path, description = "The account id")),
    responses(
        (status = 200, description = "The account", body = UserRow),
        (status = 404, description = "No such account", body = ErrorBody),
    )
)]
#[get("/users/<id>")]
pub async fn api_user(
    _who: Perm<'_, can::ManageUsers>,
    state: &State<AppState>,
    id: i64,
) -> AppResult<Json<UserRow>> {
    Ok(Json(service::get_user(&state.db, id).await?))
}

/// Create an account.
#[utoipa::path(
    request_body = NewUserBody,
    responses(
        (status = 201, description = "Created", body = UserRow),
        (status = 409, description = "The name is taken", body = ErrorBody),
        (status = 422, description = "Invalid input", body = ErrorBody),
    )
)]
#[post("/users", format = "json", data = "<body>")]
pub async fn api_user_create(
    who: Perm<'_, can::ManageUsers>,
    state: &State<AppState>,
    body: Json<NewUserBody>,
) -> AppResult<(Status, Json<UserRow>)> {
    let new = NewUserInput {
        username: &body.username,
        display_name: &body.display_name,
        email: body.email.as_deref(),
        kind: &body.kind,
        groups: &body.groups,
        password: &body.password,
    };
    let user = service::create_user_answered(state, who.id, new).await?;
    Ok((Status::Created, Json(user)))
}

/// Enable or disable an account, or replace its groups.
#[utoipa::path(
    params(("id" = i64, Path, description = "The account id")),
    request_body = UserPatch,
    responses(
        (status = 200, description = "The account after the change", body = UserRow),
        (status = 404, description = "No such account", body = ErrorBody),
        (status = 409, description = "It would leave no active account that can manage accounts (`last_administrator`)", body = ErrorBody),
        (status = 422, description = "Invalid input", body = ErrorBody),
    )
)]
#[patch("/users/<id>", format = "json", data = "<body>")]
pub async fn api_user_patch(
    who: Perm<'_, can::ManageUsers>,
    state: &State<AppState>,
    id: i64,
    body: Json<UserPatch>,
) -> AppResult<Json<UserRow>> {
    let groups = body.groups.as_deref();
    Ok(Json(
        service::patch_user(&state.db, who.id, id, body.is_active, groups).await?,
    ))
}

/// Reset an account's password; its sessions are signed out.
#[utoipa::path(
    params(("id" = i64, Path, description = "The account id")),
    request_body = ResetBody,
    responses(
        (status = 204, description = "Reset"),
        (status = 404, description = "No such account", body = ErrorBody),
        (status = 422, description = "Invalid input", body = ErrorBody),
    )
)]
#[post("/users/<id>/password", format = "json", data = "<body>")]
pub async fn api_user_password(
    who: Perm<'_, can::ManageUsers>,
    state: &State<AppState>,
    id: i64,
    body: Json<ResetBody>,
) -> AppResult<Status> {
    crate::auth::service::set_password(state, id, &body.password, who.id).await?;
    Ok(Status::NoContent)
}

/// List permission groups.
#[utoipa::path(
    responses(
        (status = 200, description = "Every group", body = Vec<GroupView>),
    )
)]
#[get("/groups")]
pub async fn api_groups(
    _who: Perm<'_, can::ManageUsers>,
    state: &State<AppState>,
) -> AppResult<Json<Vec<GroupView>>> {
    Ok(Json(access::list_groups(&state.db).await?))
}

fn group_text(body: &GroupBody) -> GroupInputText<'_> {
    GroupInputText {
        code: &body.code,
        name: &body.name,
        description: &body.description,
        permissions: &body.permissions,
        local_password: body.local_password,
    }
}

/// Create a permission group.
#[utoipa::path(
    request_body = GroupBody,
    responses(
        (status = 201, description = "Created", body = GroupView),
        (status = 409, description = "The code is taken", body = ErrorBody),
        (status = 422, description = "Invalid input", body = ErrorBody),
    )
)]
#[post("/groups", format = "json", data = "<body>")]
pub async fn api_group_create(
    who: Perm<'_, can::ManageUsers>,
    state: &State<AppState>,
    body: Json<GroupBody>,
) -> AppResult<(Status, Json<GroupView>)> {
    let group = service::save_group_answered(&state.db, who.id, None, group_text(&body)).await?;
    Ok((Status::Created, Json(group)))
}

/// Replace a group's name and permissions.
#[utoipa::path(
    params(("id" = i64, Path, description = "The group id")),
    request_body = GroupBody,
    responses(
        (status = 200, description = "The group after the change", body = GroupView),
        (status = 404, description = "No such group", body = ErrorBody),
        (status = 409, description = "The code is taken, or no active account could manage accounts any more (`last_administrator`)", body = ErrorBody),
        (status = 422, description = "Invalid input", body = ErrorBody),
    )
)]
#[put("/groups/<id>", format = "json", data = "<body>")]
pub async fn api_group_update(
    who: Perm<'_, can::ManageUsers>,
    state: &State<AppState>,
    id: i64,
    body: Json<GroupBody>,
) -> AppResult<Json<GroupView>> {
    Ok(Json(
        service::save_group_answered(&state.db, who.id, Some(id), group_text(&body)).await?,
    ))
}

/// The catalogue of permissions.
#[utoipa::path(
    responses(
        (status = 200, description = "Every permission with its label", body = Vec<PermissionLabel>),
    )
)]
#[get("/permissions")]
pub fn api_permissions(_who: Perm<'_, can::ManageUsers>) -> Json<Vec<PermissionLabel>> {
    Json(service::permission_catalogue(crate::i18n::Lang::En))
}

/// Functional modules and whether each is on.
#[utoipa::path(
    responses(
        (status = 200, description = "Every module", body = Vec<ModuleSwitch>),
    )
)]
#[get("/modules")]
pub async fn api_modules(
    _who: Perm<'_, can::ManageModules>,
    state: &State<AppState>,
) -> AppResult<Json<Vec<ModuleSwitch>>> {
    let modules = service::module_states(&state.db, crate::i18n::Lang::En).await?;
    Ok(Json(
        modules
            .into_iter()
            .map(|m| ModuleSwitch {
                code: m.code,
                enabled: m.enabled,
            })
            .collect(),
    ))
}

/// Switch a module on or off.
#[utoipa::path(
    params(("code" = String, Path, description = "students, courses, grades, mining or messages")),
    request_body = ModuleBody,
    responses(
        (status = 200, description = "The module after the change", body = ModuleSwitch),
        (status = 404, description = "No such module", body = ErrorBody),
        (status = 422, description = "Invalid input", body = ErrorBody),
    )
)]
#[put("/modules/<code>", format = "json", data = "<body>")]
pub async fn api_module_switch(
    who: Perm<'_, can::ManageModules>,
    state: &State<AppState>,
    code: &str,
    body: Json<ModuleBody>,
) -> AppResult<Json<ModuleSwitch>> {
    service::switch_module(state, who.id, code, body.enabled).await?;
    Ok(Json(ModuleSwitch {
        code: code.to_string(),
        enabled: body.enabled,
    }))
}

/// Query the audit log.
#[utoipa::path(
    params(AuditQuery),
    responses(
        (status = 200, description = "One page of the log, newest first", body = Page<service::AuditRow>),
    )
)]
#[get("/audit?<f..>")]
pub async fn api_audit(
    _who: Perm<'_, can::ViewAuditLog>,
    state: &State<AppState>,
    f: AuditQuery,
) -> AppResult<Json<Page<service::AuditRow>>> {
    let page = PageReq::new(f.page, f.per_page);
    Ok(Json(
        service::query_audit(&state.db, &f.filter(), page).await?,
    ))
}
