//! The administrators' API: accounts, permission groups, modules and the audit log.

use super::dto::{
    AuditQuery, GroupBody, ModuleBody, ModuleSwitch, NewUserBody, ResetBody, UserPatch, UserQuery,
};
use super::service::{self, GroupInputText, NewUserInput, PermissionLabel, UserRow};
use crate::access::service::{self as access, GroupView};
use crate::access::{Perm, can};
use crate::error::AppResult;
use crate::paging::{Page, PageReq};
use crate::state::AppState;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{State, get, patch, post, put};

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

#[get("/users/<id>")]
pub async fn api_user(
    _who: Perm<'_, can::ManageUsers>,
    state: &State<AppState>,
    id: i64,
) -> AppResult<Json<UserRow>> {
    Ok(Json(service::get_user(&state.db, id).await?))
}

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
    }
}

#[post("/groups", format = "json", data = "<body>")]
pub async fn api_group_create(
    who: Perm<'_, can::ManageUsers>,
    state: &State<AppState>,
    body: Json<GroupBody>,
) -> AppResult<(Status, Json<GroupView>)> {
    let group = service::save_group_answered(&state.db, who.id, None, group_text(&body)).await?;
    Ok((Status::Created, Json(group)))
}

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

#[get("/permissions")]
pub fn api_permissions(_who: Perm<'_, can::ManageUsers>) -> Json<Vec<PermissionLabel>> {
    Json(service::permission_catalogue(crate::i18n::Lang::En))
}

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
