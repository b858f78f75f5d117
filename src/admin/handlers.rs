//! Administrator pages and API: users, permission groups, modules and the audit log.

use super::service::{self, AuditFilter, NewUser, UserFilter};
use crate::access::service::{self as access, GroupInput};
use crate::access::{Module, Perm, Permission, can};
use crate::audit::Entry;
use crate::error::{AppError, AppResult};
use crate::paging::{Page, PageReq};
use crate::state::AppState;
use crate::web::Ctx;
use chrono::NaiveDate;
use rocket::form::Form;
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::serde::json::Json;
use rocket::{State, get, patch, post, put};
use rocket_dyn_templates::Template;
use serde::Deserialize;
use serde_json::{Value, json};

fn permission_catalogue(ctx_lang: crate::i18n::Lang) -> Value {
    Permission::ALL
        .iter()
        .map(|p| json!({"code": p.code(), "label": ctx_lang.t(&format!("perm.{}", p.code()))}))
        .collect()
}

/// The current filters as a query-string prefix for the pager's links.
fn query_prefix(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}&", crate::web::url_encode(v)))
        .collect()
}

fn parse_date(s: Option<&str>) -> Option<NaiveDate> {
    s.and_then(|s| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok())
}

// ---------------------------------------------------------------- users (pages)

#[get("/admin/users?<q>&<kind>&<group>&<page>")]
pub async fn users_page(
    ctx: Ctx<'_>,
    _who: Perm<'_, can::ManageUsers>,
    state: &State<AppState>,
    q: Option<String>,
    kind: Option<String>,
    group: Option<i64>,
    page: Option<u64>,
) -> AppResult<Template> {
    let filter = UserFilter {
        q,
        kind,
        group_id: group,
    };
    users_list(&ctx, state, &filter, page, json!({})).await
}

/// The user list with its filters, and `extra` (an error and the submitted form) merged in.
async fn users_list(
    ctx: &Ctx<'_>,
    state: &AppState,
    filter: &UserFilter,
    page: Option<u64>,
    extra: Value,
) -> AppResult<Template> {
    let list = service::list_users(&state.db, filter, PageReq::new(page, Some(50))).await?;
    let groups = access::list_groups(&state.db).await?;
    let query = query_prefix(&[
        ("q", filter.q.clone().unwrap_or_default()),
        ("kind", filter.kind.clone().unwrap_or_default()),
        (
            "group",
            filter.group_id.map(|g| g.to_string()).unwrap_or_default(),
        ),
    ]);
    let mut data = json!({"list": list, "pages": list.pages(), "q": filter.q, "kind": filter.kind, "group": filter.group_id,
                          "groups": groups, "kinds": service::USER_KINDS, "query": query});
    if let (Value::Object(d), Value::Object(e)) = (&mut data, extra) {
        d.extend(e);
    }
    Ok(ctx.render("admin/users", "users.title", data))
}

#[get("/admin/users/<id>")]
pub async fn user_page(
    ctx: Ctx<'_>,
    _who: Perm<'_, can::ManageUsers>,
    state: &State<AppState>,
    id: i64,
) -> AppResult<Template> {
    user_detail(&ctx, state, id, None).await
}

async fn user_detail(
    ctx: &Ctx<'_>,
    state: &AppState,
    id: i64,
    error: Option<String>,
) -> AppResult<Template> {
    let user = service::get_user(&state.db, id).await?;
    let groups = access::list_groups(&state.db).await?;
    let throttles: Vec<Value> = crate::auth::service::throttles_of(&state.db, &user.username)
        .await?
        .into_iter()
        .map(|t| {
            let last = chrono::DateTime::from_timestamp(t.last_failure, 0)
                .map(|d| d.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                .unwrap_or_default();
            json!({"key": t.key, "failures": t.failures, "last": last})
        })
        .collect();
    Ok(ctx.render(
        "admin/user",
        "users.detail",
        json!({"user": user, "groups": groups, "error": error, "throttles": throttles}),
    ))
}

/// Clears the sign-in and activation throttles of an account.
#[post("/admin/users/<id>/throttles/clear", data = "<form>")]
pub async fn user_throttles_clear(
    who: Perm<'_, can::ManageUsers>,
    state: &State<AppState>,
    id: i64,
    form: Form<crate::web::CsrfForm<'_>>,
) -> AppResult<Redirect> {
    who.check_csrf(form.csrf)?;
    let user = service::get_user(&state.db, id).await?;
    crate::auth::service::clear_throttles(&state.db, who.id, id, &user.username).await?;
    Ok(Redirect::to(format!("/admin/users/{id}")))
}

/// A new account as typed into the form or sent to the API.
struct NewUserInput<'a> {
    username: &'a str,
    display_name: &'a str,
    email: Option<&'a str>,
    kind: &'a str,
    groups: &'a [String],
    password: &'a str,
}

/// Validates, creates (hashing off the request threads) and audits a new account.
async fn create_user_audited(
    state: &AppState,
    actor: i64,
    new: NewUserInput<'_>,
) -> AppResult<i64> {
    let parsed = NewUser::parse(
        new.username,
        new.display_name,
        new.email,
        new.kind,
        new.groups.to_vec(),
    )?;
    let turn = state.hashing_turn().await?;
    let id = service::create_user(&state.db, state.hash_cost(), &parsed, new.password).await?;
    drop(turn);
    Entry::new(Some(actor), "users.create", "user")
        .id(id)
        .detail(json!({"username": new.username, "kind": new.kind, "groups": new.groups}))
        .write(&state.db)
        .await?;
    Ok(id)
}

/// Validates, saves and audits a group (new when `id` is `None`).
async fn save_group_audited(
    state: &AppState,
    actor: i64,
    id: Option<i64>,
    code: &str,
    name: &str,
    description: &str,
    permissions: &[String],
) -> AppResult<i64> {
    let input = GroupInput::parse(code, name, description, permissions)?;
    let gid = access::save_group(&state.db, id, input).await?;
    let action = if id.is_some() {
        "groups.update"
    } else {
        "groups.create"
    };
    Entry::new(Some(actor), action, "group")
        .id(gid)
        .detail(json!({"code": code, "permissions": permissions}))
        .write(&state.db)
        .await?;
    Ok(gid)
}

#[derive(rocket::FromForm)]
pub struct NewUserForm<'a> {
    username: &'a str,
    display_name: &'a str,
    email: Option<&'a str>,
    kind: &'a str,
    password: &'a str,
    groups: Vec<String>,
    #[field(name = "_csrf", default = "")]
    csrf: &'a str,
}

#[post("/admin/users", data = "<form>")]
pub async fn user_create(
    ctx: Ctx<'_>,
    who: Perm<'_, can::ManageUsers>,
    state: &State<AppState>,
    form: Form<NewUserForm<'_>>,
) -> AppResult<Result<Redirect, (Status, Template)>> {
    who.check_csrf(form.csrf)?;
    let new = NewUserInput {
        username: form.username,
        display_name: form.display_name,
        email: form.email,
        kind: form.kind,
        groups: &form.groups,
        password: form.password,
    };
    match create_user_audited(state, who.id, new).await {
        Ok(id) => Ok(Ok(Redirect::to(format!("/admin/users/{id}")))),
        Err(e @ (AppError::Unprocessable { .. } | AppError::Conflict { .. })) => {
            let extra = json!({"error": ctx.t(&format!("users.err.{}", e.code())), "form": {
                "username": form.username, "display_name": form.display_name, "email": form.email, "kind": form.kind}});
            Ok(Err((
                e.status(),
                users_list(&ctx, state, &UserFilter::default(), None, extra).await?,
            )))
        }
        Err(e) => Err(e),
    }
}

#[derive(rocket::FromForm)]
pub struct GroupsForm<'a> {
    groups: Vec<String>,
    #[field(name = "_csrf", default = "")]
    csrf: &'a str,
}

#[post("/admin/users/<id>/groups", data = "<form>")]
pub async fn user_groups_submit(
    who: Perm<'_, can::ManageUsers>,
    state: &State<AppState>,
    id: i64,
    form: Form<GroupsForm<'_>>,
) -> AppResult<Redirect> {
    who.check_csrf(form.csrf)?;
    change_groups(state, who.id, id, &form.groups).await?;
    Ok(Redirect::to(format!("/admin/users/{id}")))
}

async fn change_groups(state: &AppState, actor: i64, id: i64, groups: &[String]) -> AppResult<()> {
    let before = service::get_user(&state.db, id).await?;
    access::set_user_groups(&state.db, id, groups).await?;
    Entry::new(Some(actor), "users.groups", "user")
        .id(id)
        .change(json!(before.groups), json!(groups))
        .write(&state.db)
        .await
}

#[derive(rocket::FromForm)]
pub struct ActiveForm<'a> {
    active: bool,
    #[field(name = "_csrf", default = "")]
    csrf: &'a str,
}

#[post("/admin/users/<id>/active", data = "<form>")]
pub async fn user_active_submit(
    who: Perm<'_, can::ManageUsers>,
    state: &State<AppState>,
    id: i64,
    form: Form<ActiveForm<'_>>,
) -> AppResult<Redirect> {
    who.check_csrf(form.csrf)?;
    change_active(state, who.id, id, form.active).await?;
    Ok(Redirect::to(format!("/admin/users/{id}")))
}

async fn change_active(state: &AppState, actor: i64, id: i64, active: bool) -> AppResult<()> {
    if actor == id && !active {
        return Err(AppError::unprocessable(
            "cannot_disable_self",
            "you cannot disable your own account",
        ));
    }
    let before = service::set_active(&state.db, id, active).await?;
    Entry::new(
        Some(actor),
        if active {
            "users.enable"
        } else {
            "users.disable"
        },
        "user",
    )
    .id(id)
    .change(json!({"is_active": before}), json!({"is_active": active}))
    .write(&state.db)
    .await
}

#[derive(rocket::FromForm)]
pub struct ResetForm<'a> {
    password: &'a str,
    #[field(name = "_csrf", default = "")]
    csrf: &'a str,
}

#[post("/admin/users/<id>/password", data = "<form>")]
pub async fn user_password_submit(
    ctx: Ctx<'_>,
    who: Perm<'_, can::ManageUsers>,
    state: &State<AppState>,
    id: i64,
    form: Form<ResetForm<'_>>,
) -> AppResult<Result<Redirect, (Status, Template)>> {
    who.check_csrf(form.csrf)?;
    match crate::auth::service::set_password(state, id, form.password, who.id).await {
        Ok(()) => Ok(Ok(Redirect::to(format!(
            "/admin/users/{id}?flash=password_reset"
        )))),
        Err(AppError::Unprocessable { code, .. }) => {
            let msg = ctx.t(&format!("password.{code}"));
            Ok(Err((
                Status::UnprocessableEntity,
                user_detail(&ctx, state, id, Some(msg)).await?,
            )))
        }
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------- groups (pages)

#[get("/admin/groups")]
pub async fn groups_page(
    ctx: Ctx<'_>,
    _who: Perm<'_, can::ManageUsers>,
    state: &State<AppState>,
) -> AppResult<Template> {
    let groups = access::list_groups(&state.db).await?;
    Ok(ctx.render(
        "admin/groups",
        "groups.title",
        json!({"groups": groups, "catalogue": permission_catalogue(ctx.lang)}),
    ))
}

#[get("/admin/groups/<id>")]
pub async fn group_page(
    ctx: Ctx<'_>,
    _who: Perm<'_, can::ManageUsers>,
    state: &State<AppState>,
    id: i64,
) -> AppResult<Template> {
    let group = access::find_group(&state.db, id).await?;
    Ok(ctx.render(
        "admin/group",
        "groups.edit",
        json!({"group": group, "catalogue": permission_catalogue(ctx.lang)}),
    ))
}

#[derive(rocket::FromForm)]
pub struct GroupForm<'a> {
    code: &'a str,
    name: &'a str,
    description: Option<&'a str>,
    permissions: Vec<String>,
    #[field(name = "_csrf", default = "")]
    csrf: &'a str,
}

async fn save_group_form(
    ctx: &Ctx<'_>,
    state: &AppState,
    actor: i64,
    id: Option<i64>,
    form: &GroupForm<'_>,
) -> AppResult<Result<Redirect, (Status, Template)>> {
    let result = save_group_audited(
        state,
        actor,
        id,
        form.code,
        form.name,
        form.description.unwrap_or(""),
        &form.permissions,
    )
    .await;
    match result {
        Ok(_) => Ok(Ok(Redirect::to("/admin/groups"))),
        Err(e @ (AppError::Unprocessable { .. } | AppError::Conflict { .. })) => {
            let groups = access::list_groups(&state.db).await?;
            Ok(Err((
                e.status(),
                ctx.render(
                    "admin/groups",
                    "groups.title",
                    json!({"groups": groups, "catalogue": permission_catalogue(ctx.lang),
                           "error": e.public_message(), "form": {"code": form.code, "name": form.name}}),
                ),
            )))
        }
        Err(e) => Err(e),
    }
}

#[post("/admin/groups", data = "<form>")]
pub async fn group_create(
    ctx: Ctx<'_>,
    who: Perm<'_, can::ManageUsers>,
    state: &State<AppState>,
    form: Form<GroupForm<'_>>,
) -> AppResult<Result<Redirect, (Status, Template)>> {
    who.check_csrf(form.csrf)?;
    save_group_form(&ctx, state, who.id, None, &form).await
}

#[post("/admin/groups/<id>", data = "<form>")]
pub async fn group_update(
    ctx: Ctx<'_>,
    who: Perm<'_, can::ManageUsers>,
    state: &State<AppState>,
    id: i64,
    form: Form<GroupForm<'_>>,
) -> AppResult<Result<Redirect, (Status, Template)>> {
    who.check_csrf(form.csrf)?;
    save_group_form(&ctx, state, who.id, Some(id), &form).await
}

// ---------------------------------------------------------------- modules and audit (pages)

#[get("/admin/modules")]
pub async fn modules_page(
    ctx: Ctx<'_>,
    _who: Perm<'_, can::ManageModules>,
    state: &State<AppState>,
) -> AppResult<Template> {
    let on = access::enabled_modules(&state.db).await?;
    let modules: Vec<Value> = Module::ALL
        .iter()
        .map(|m| json!({"code": m.code(), "label": ctx.t(&format!("module.{}", m.code())), "enabled": on.contains(m)}))
        .collect();
    Ok(ctx.render(
        "admin/modules",
        "modules.title",
        json!({"modules": modules}),
    ))
}

#[derive(rocket::FromForm)]
pub struct ModuleForm<'a> {
    enabled: bool,
    #[field(name = "_csrf", default = "")]
    csrf: &'a str,
}

#[post("/admin/modules/<code>", data = "<form>")]
pub async fn module_submit(
    who: Perm<'_, can::ManageModules>,
    state: &State<AppState>,
    code: &str,
    form: Form<ModuleForm<'_>>,
) -> AppResult<Redirect> {
    who.check_csrf(form.csrf)?;
    switch_module(state, who.id, code, form.enabled).await?;
    Ok(Redirect::to("/admin/modules"))
}

async fn switch_module(state: &AppState, actor: i64, code: &str, enabled: bool) -> AppResult<()> {
    let module = Module::from_code(code).ok_or(AppError::NotFound)?;
    let txn = crate::db::write_txn(&state.db).await?;
    let before = access::set_module(&txn, module, enabled, actor).await?;
    Entry::new(Some(actor), "modules.switch", "module")
        .id(code)
        .change(json!({"enabled": before}), json!({"enabled": enabled}))
        .write(&txn)
        .await?;
    txn.commit().await?;
    state.modules.forget();
    Ok(())
}

#[get("/admin/audit?<actor>&<student>&<action>&<from>&<to>&<page>")]
#[allow(clippy::too_many_arguments)]
pub async fn audit_page(
    ctx: Ctx<'_>,
    _who: Perm<'_, can::ViewAuditLog>,
    state: &State<AppState>,
    actor: Option<i64>,
    student: Option<i64>,
    action: Option<String>,
    from: Option<String>,
    to: Option<String>,
    page: Option<u64>,
) -> AppResult<Template> {
    let filter = AuditFilter {
        actor_id: actor,
        student_id: student,
        action: action.clone(),
        from: parse_date(from.as_deref()),
        to: parse_date(to.as_deref()),
    };
    let list = service::query_audit(&state.db, &filter, PageReq::new(page, Some(100))).await?;
    let opt = |v: Option<String>| v.unwrap_or_default();
    let query = query_prefix(&[
        ("actor", opt(actor.map(|a| a.to_string()))),
        ("student", opt(student.map(|a| a.to_string()))),
        ("action", opt(action.clone())),
        ("from", opt(from.clone())),
        ("to", opt(to.clone())),
    ]);
    Ok(ctx.render(
        "admin/audit",
        "audit.title",
        json!({"list": list, "pages": list.pages(), "query": query,
               "f": {"actor": actor, "student": student, "action": action, "from": from, "to": to}}),
    ))
}

// ---------------------------------------------------------------- JSON API

#[get("/users?<q>&<kind>&<group>&<page>&<per_page>")]
pub async fn api_users(
    _who: Perm<'_, can::ManageUsers>,
    state: &State<AppState>,
    q: Option<String>,
    kind: Option<String>,
    group: Option<i64>,
    page: Option<u64>,
    per_page: Option<u64>,
) -> AppResult<Json<Page<service::UserRow>>> {
    let filter = UserFilter {
        q,
        kind,
        group_id: group,
    };
    Ok(Json(
        service::list_users(&state.db, &filter, PageReq::new(page, per_page)).await?,
    ))
}

#[get("/users/<id>")]
pub async fn api_user(
    _who: Perm<'_, can::ManageUsers>,
    state: &State<AppState>,
    id: i64,
) -> AppResult<Json<service::UserRow>> {
    Ok(Json(service::get_user(&state.db, id).await?))
}

#[derive(Deserialize)]
pub struct NewUserBody {
    username: String,
    display_name: String,
    email: Option<String>,
    kind: String,
    password: String,
    #[serde(default)]
    groups: Vec<String>,
}

#[post("/users", format = "json", data = "<body>")]
pub async fn api_user_create(
    who: Perm<'_, can::ManageUsers>,
    state: &State<AppState>,
    body: Json<NewUserBody>,
) -> AppResult<(Status, Json<service::UserRow>)> {
    let new = NewUserInput {
        username: &body.username,
        display_name: &body.display_name,
        email: body.email.as_deref(),
        kind: &body.kind,
        groups: &body.groups,
        password: &body.password,
    };
    let id = create_user_audited(state, who.id, new).await?;
    Ok((
        Status::Created,
        Json(service::get_user(&state.db, id).await?),
    ))
}

#[derive(Deserialize)]
pub struct UserPatch {
    is_active: Option<bool>,
    groups: Option<Vec<String>>,
}

#[patch("/users/<id>", format = "json", data = "<body>")]
pub async fn api_user_patch(
    who: Perm<'_, can::ManageUsers>,
    state: &State<AppState>,
    id: i64,
    body: Json<UserPatch>,
) -> AppResult<Json<service::UserRow>> {
    service::get_user(&state.db, id).await?;
    if let Some(active) = body.is_active {
        change_active(state, who.id, id, active).await?;
    }
    if let Some(groups) = &body.groups {
        change_groups(state, who.id, id, groups).await?;
    }
    Ok(Json(service::get_user(&state.db, id).await?))
}

#[derive(Deserialize)]
pub struct ResetBody {
    password: String,
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
) -> AppResult<Json<Vec<access::GroupView>>> {
    Ok(Json(access::list_groups(&state.db).await?))
}

#[derive(Deserialize)]
pub struct GroupBody {
    code: String,
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    permissions: Vec<String>,
}

async fn api_save_group(
    state: &AppState,
    actor: i64,
    id: Option<i64>,
    body: &GroupBody,
) -> AppResult<access::GroupView> {
    let gid = save_group_audited(
        state,
        actor,
        id,
        &body.code,
        &body.name,
        &body.description,
        &body.permissions,
    )
    .await?;
    access::find_group(&state.db, gid).await
}

#[post("/groups", format = "json", data = "<body>")]
pub async fn api_group_create(
    who: Perm<'_, can::ManageUsers>,
    state: &State<AppState>,
    body: Json<GroupBody>,
) -> AppResult<(Status, Json<access::GroupView>)> {
    Ok((
        Status::Created,
        Json(api_save_group(state, who.id, None, &body).await?),
    ))
}

#[put("/groups/<id>", format = "json", data = "<body>")]
pub async fn api_group_update(
    who: Perm<'_, can::ManageUsers>,
    state: &State<AppState>,
    id: i64,
    body: Json<GroupBody>,
) -> AppResult<Json<access::GroupView>> {
    Ok(Json(api_save_group(state, who.id, Some(id), &body).await?))
}

#[get("/permissions")]
pub fn api_permissions(_who: Perm<'_, can::ManageUsers>) -> Json<Value> {
    Json(permission_catalogue(crate::i18n::Lang::En))
}

#[get("/modules")]
pub async fn api_modules(
    _who: Perm<'_, can::ManageModules>,
    state: &State<AppState>,
) -> AppResult<Json<Value>> {
    let on = access::enabled_modules(&state.db).await?;
    Ok(Json(
        Module::ALL
            .iter()
            .map(|m| json!({"code": m.code(), "enabled": on.contains(m)}))
            .collect(),
    ))
}

#[derive(Deserialize)]
pub struct ModuleBody {
    enabled: bool,
}

#[put("/modules/<code>", format = "json", data = "<body>")]
pub async fn api_module_switch(
    who: Perm<'_, can::ManageModules>,
    state: &State<AppState>,
    code: &str,
    body: Json<ModuleBody>,
) -> AppResult<Json<Value>> {
    switch_module(state, who.id, code, body.enabled).await?;
    Ok(Json(json!({"code": code, "enabled": body.enabled})))
}

#[get("/audit?<actor>&<student>&<action>&<from>&<to>&<page>&<per_page>")]
#[allow(clippy::too_many_arguments)]
pub async fn api_audit(
    _who: Perm<'_, can::ViewAuditLog>,
    state: &State<AppState>,
    actor: Option<i64>,
    student: Option<i64>,
    action: Option<String>,
    from: Option<String>,
    to: Option<String>,
    page: Option<u64>,
    per_page: Option<u64>,
) -> AppResult<Json<Page<service::AuditRow>>> {
    let filter = AuditFilter {
        actor_id: actor,
        student_id: student,
        action,
        from: parse_date(from.as_deref()),
        to: parse_date(to.as_deref()),
    };
    Ok(Json(
        service::query_audit(&state.db, &filter, PageReq::new(page, per_page)).await?,
    ))
}

pub fn page_routes() -> Vec<rocket::Route> {
    rocket::routes![
        users_page,
        user_page,
        user_create,
        user_groups_submit,
        user_active_submit,
        user_throttles_clear,
        user_password_submit,
        groups_page,
        group_page,
        group_create,
        group_update,
        modules_page,
        module_submit,
        audit_page
    ]
}

pub fn api_routes() -> Vec<rocket::Route> {
    rocket::routes![
        api_users,
        api_user,
        api_user_create,
        api_user_patch,
        api_user_password,
        api_groups,
        api_group_create,
        api_group_update,
        api_permissions,
        api_modules,
        api_module_switch,
        api_audit
    ]
}
