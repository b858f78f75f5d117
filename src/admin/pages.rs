//! Administrator pages: users, permission groups, modules and the audit log.

use super::dto::{AuditQuery, UserQuery};
use super::forms::{ActiveForm, GroupForm, GroupsForm, ModuleForm, NewUserForm, ResetForm};
use super::service::{self, GroupInputText, NewUserInput};
use crate::access::service as access;
use crate::access::{Perm, can};
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::paging::PageReq;
use crate::state::AppState;
use crate::web::Ctx;
use crate::web::csrf::Csrf;
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::{State, get, post};
use rocket_dyn_templates::Template;
use serde_json::{Value, json};

/// The current filters as a query-string prefix for the pager's links.
fn query_prefix(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}&", crate::web::url_encode(v)))
        .collect()
}

// ---------------------------------------------------------------- users

#[get("/admin/users?<f..>")]
pub async fn users_page(
    ctx: Ctx<'_>,
    _who: Perm<'_, can::ManageUsers>,
    state: &State<AppState>,
    f: UserQuery,
) -> AppResult<Template> {
    users_list(&ctx, state, &f, json!({})).await
}

/// The user list with its filters, and `extra` (an error and the submitted form) merged in.
/// Groups as a page names them: a built-in group still under its built-in name by its label
/// in the page's language (`group.<code>`); a renamed or custom group by its own name.
fn shown_groups(lang: Lang, groups: Vec<access::GroupView>) -> Vec<access::GroupView> {
    groups
        .into_iter()
        .map(|mut g| {
            g.name = group_name(lang, &g.code, &g.name);
            g
        })
        .collect()
}

/// Each account kind by its label in `lang`.
fn kind_names(lang: Lang) -> serde_json::Map<String, Value> {
    service::USER_KINDS
        .iter()
        .map(|k| (k.to_string(), json!(lang.t(&format!("users.kinds.{k}")))))
        .collect()
}

fn group_name(lang: Lang, code: &str, name: &str) -> String {
    let builtin = crate::access::permissions::BUILTIN_GROUPS
        .iter()
        .any(|b| b.code == code && b.name == name);
    match lang.find(&format!("group.{code}")) {
        Some(label) if builtin => label,
        _ => name.to_string(),
    }
}

async fn users_list(
    ctx: &Ctx<'_>,
    state: &AppState,
    f: &UserQuery,
    extra: Value,
) -> AppResult<Template> {
    let filter = f.filter();
    let list = service::list_users(&state.db, &filter, PageReq::new(f.page, Some(50))).await?;
    let groups = shown_groups(ctx.lang, access::list_groups(&state.db).await?);
    let query = query_prefix(&[
        ("q", filter.q.clone().unwrap_or_default()),
        ("kind", filter.kind.clone().unwrap_or_default()),
        (
            "group",
            filter.group_id.map(|g| g.to_string()).unwrap_or_default(),
        ),
    ]);
    let group_names: serde_json::Map<String, Value> = groups
        .iter()
        .map(|g| (g.code.clone(), json!(g.name)))
        .collect();
    let mut data = json!({"list": list, "pages": list.pages(), "q": filter.q, "kind": filter.kind, "group": filter.group_id, "group_names": group_names,
                          "groups": groups, "kinds": service::USER_KINDS, "kind_names": kind_names(ctx.lang), "query": query});
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
    let detail = service::user_detail(&state.db, id).await?;
    let groups = shown_groups(ctx.lang, access::list_groups(&state.db).await?);
    Ok(ctx.render(
        "admin/user",
        "users.detail",
        json!({"user": detail.user, "groups": groups, "kind_names": kind_names(ctx.lang), "error": error, "throttles": detail.throttles}),
    ))
}

/// Clears the sign-in and activation throttles of an account.
#[post("/admin/users/<id>/throttles/clear", data = "<_form>")]
pub async fn user_throttles_clear(
    who: Perm<'_, can::ManageUsers>,
    state: &State<AppState>,
    id: i64,
    _form: Csrf<crate::web::CsrfForm<'_>>,
) -> AppResult<Redirect> {
    service::clear_user_throttles(&state.db, who.id, id).await?;
    Ok(Redirect::to(format!("/admin/users/{id}")))
}

#[post("/admin/users", data = "<form>")]
pub async fn user_create(
    ctx: Ctx<'_>,
    who: Perm<'_, can::ManageUsers>,
    state: &State<AppState>,
    form: Csrf<NewUserForm<'_>>,
) -> AppResult<Result<Redirect, (Status, Template)>> {
    let new = NewUserInput {
        username: form.username,
        display_name: form.display_name,
        email: form.email,
        kind: form.kind,
        groups: &form.groups,
        password: form.password,
    };
    match service::create_user_audited(state, who.id, new).await {
        Ok(id) => Ok(Ok(Redirect::to(format!("/admin/users/{id}")))),
        Err(e @ (AppError::Unprocessable { .. } | AppError::Conflict { .. })) => {
            let extra = json!({"error": ctx.t(&format!("users.err.{}", e.code())), "form": {
                "username": form.username, "display_name": form.display_name, "email": form.email, "kind": form.kind}});
            Ok(Err((
                e.status(),
                users_list(&ctx, state, &UserQuery::default(), extra).await?,
            )))
        }
        Err(e) => Err(e),
    }
}

#[post("/admin/users/<id>/groups", data = "<form>")]
pub async fn user_groups_submit(
    who: Perm<'_, can::ManageUsers>,
    state: &State<AppState>,
    id: i64,
    form: Csrf<GroupsForm>,
) -> AppResult<Redirect> {
    service::change_groups(&state.db, who.id, id, &form.groups).await?;
    Ok(Redirect::to(format!("/admin/users/{id}")))
}

#[post("/admin/users/<id>/active", data = "<form>")]
pub async fn user_active_submit(
    who: Perm<'_, can::ManageUsers>,
    state: &State<AppState>,
    id: i64,
    form: Csrf<ActiveForm>,
) -> AppResult<Redirect> {
    service::change_active(&state.db, who.id, id, form.active).await?;
    Ok(Redirect::to(format!("/admin/users/{id}")))
}

#[post("/admin/users/<id>/password", data = "<form>")]
pub async fn user_password_submit(
    ctx: Ctx<'_>,
    who: Perm<'_, can::ManageUsers>,
    state: &State<AppState>,
    id: i64,
    form: Csrf<ResetForm<'_>>,
) -> AppResult<Result<Redirect, (Status, Template)>> {
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

// ---------------------------------------------------------------- groups

#[get("/admin/groups")]
pub async fn groups_page(
    ctx: Ctx<'_>,
    _who: Perm<'_, can::ManageUsers>,
    state: &State<AppState>,
) -> AppResult<Template> {
    let groups = shown_groups(ctx.lang, access::list_groups(&state.db).await?);
    Ok(ctx.render(
        "admin/groups",
        "groups.title",
        json!({"groups": groups, "catalogue": service::permission_catalogue(ctx.lang)}),
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
        json!({"group": group, "shown_name": group_name(ctx.lang, &group.code, &group.name),
               "catalogue": service::permission_catalogue(ctx.lang)}),
    ))
}

async fn save_group_form(
    ctx: &Ctx<'_>,
    state: &AppState,
    actor: i64,
    id: Option<i64>,
    form: &GroupForm<'_>,
) -> AppResult<Result<Redirect, (Status, Template)>> {
    let group = GroupInputText {
        code: form.code,
        name: form.name,
        description: form.description.unwrap_or(""),
        permissions: &form.permissions,
        local_password: match form.sign_in {
            Some("sso") => Some(false),
            Some("password") => Some(true),
            _ => None,
        },
    };
    match service::save_group_audited(&state.db, actor, id, group).await {
        Ok(_) => Ok(Ok(Redirect::to("/admin/groups"))),
        Err(e @ (AppError::Unprocessable { .. } | AppError::Conflict { .. })) => {
            let groups = shown_groups(ctx.lang, access::list_groups(&state.db).await?);
            Ok(Err((
                e.status(),
                ctx.render(
                    "admin/groups",
                    "groups.title",
                    json!({"groups": groups, "catalogue": service::permission_catalogue(ctx.lang),
                           "error": ctx.lang.error(&e), "form": {"code": form.code, "name": form.name}}),
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
    form: Csrf<GroupForm<'_>>,
) -> AppResult<Result<Redirect, (Status, Template)>> {
    save_group_form(&ctx, state, who.id, None, &form).await
}

#[post("/admin/groups/<id>", data = "<form>")]
pub async fn group_update(
    ctx: Ctx<'_>,
    who: Perm<'_, can::ManageUsers>,
    state: &State<AppState>,
    id: i64,
    form: Csrf<GroupForm<'_>>,
) -> AppResult<Result<Redirect, (Status, Template)>> {
    save_group_form(&ctx, state, who.id, Some(id), &form).await
}

// ---------------------------------------------------------------- modules and audit

#[get("/admin/modules")]
pub async fn modules_page(
    ctx: Ctx<'_>,
    _who: Perm<'_, can::ManageModules>,
    state: &State<AppState>,
) -> AppResult<Template> {
    let modules = service::module_states(&state.db, ctx.lang).await?;
    Ok(ctx.render(
        "admin/modules",
        "modules.title",
        json!({"modules": modules}),
    ))
}

#[post("/admin/modules/<code>", data = "<form>")]
pub async fn module_submit(
    who: Perm<'_, can::ManageModules>,
    state: &State<AppState>,
    code: &str,
    form: Csrf<ModuleForm>,
) -> AppResult<Redirect> {
    service::switch_module(state, who.id, code, form.enabled).await?;
    Ok(Redirect::to("/admin/modules"))
}

#[get("/admin/audit?<f..>")]
pub async fn audit_page(
    ctx: Ctx<'_>,
    _who: Perm<'_, can::ViewAuditLog>,
    state: &State<AppState>,
    f: AuditQuery,
) -> AppResult<Template> {
    let list =
        service::query_audit(&state.db, &f.filter(), PageReq::new(f.page, Some(100))).await?;
    let opt = |v: Option<String>| v.unwrap_or_default();
    let query = query_prefix(&[
        ("actor", opt(f.actor.map(|a| a.to_string()))),
        ("student", opt(f.student.map(|a| a.to_string()))),
        ("action", opt(f.action.clone())),
        ("from", opt(f.from.clone())),
        ("to", opt(f.to.clone())),
    ]);
    let rows: Vec<Value> = list
        .items
        .iter()
        .map(|r| {
            let mut v = json!(r);
            if let (Value::Object(row), Value::Object(more)) = (
                &mut v,
                crate::audit::readable(ctx.lang, &r.action, &r.entity, &r.outcome, &r.detail),
            ) {
                row.extend(more);
            }
            v
        })
        .collect();
    Ok(ctx.render(
        "admin/audit",
        "audit.title",
        json!({"list": list, "rows": rows, "pages": list.pages(), "query": query,
               "f": {"actor": f.actor, "student": f.student, "action": f.action, "from": f.from, "to": f.to}}),
    ))
}
