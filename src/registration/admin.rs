//! What registrars do around registration: place and lift holds, grant a one-student override
//! of capacity or prerequisites (with a reason), and read a section's roster.

use crate::access::{ModuleOn, Perm, Permission, can, on};
use crate::audit::Entry;
use crate::auth::CurrentUser;
use crate::entity::{enrolments, holds, registration_overrides, sections, students};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::Ctx;
use chrono::Utc;
use rocket::form::Form;
use rocket::http::Status;
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect};
use rocket::serde::json::Json;
use rocket::{State, delete, get, post};
use rocket_dyn_templates::Template;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

fn reason(text: &str) -> AppResult<String> {
    let t = text.trim();
    if t.is_empty() || t.chars().count() > 500 {
        return Err(AppError::unprocessable(
            "invalid_reason",
            "give a reason of 1-500 characters",
        ));
    }
    Ok(t.to_string())
}

async fn student_exists(db: &impl ConnectionTrait, id: i64) -> AppResult<()> {
    students::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(|_| ())
        .ok_or(AppError::NotFound)
}

#[derive(Deserialize)]
pub struct HoldBody {
    reason: String,
}

/// Places a hold that blocks the student's registration; audited in the same transaction.
pub async fn place_hold(
    db: &DatabaseConnection,
    actor: i64,
    student_id: i64,
    reason_text: &str,
) -> AppResult<holds::Model> {
    let reason = reason(reason_text)?;
    let txn = crate::db::write_txn(db).await?;
    student_exists(&txn, student_id).await?;
    let hold = holds::ActiveModel {
        student_id: Set(student_id),
        reason: Set(reason.clone()),
        placed_by: Set(Some(actor)),
        placed_at: Set(Utc::now().fixed_offset()),
        lifted_by: Set(None),
        lifted_at: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    Entry::new(Some(actor), "registration.hold_placed", "hold")
        .id(hold.id)
        .student(student_id)
        .detail(json!({"reason": reason}))
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(hold)
}

/// Lifts a hold (once); audited in the same transaction.
pub async fn lift_hold(db: &DatabaseConnection, actor: i64, id: i64) -> AppResult<holds::Model> {
    let txn = crate::db::write_txn(db).await?;
    let hold = holds::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    if hold.lifted_at.is_some() {
        return Err(AppError::conflict(
            "already_lifted",
            "this hold was already lifted",
        ));
    }
    let student = hold.student_id;
    let mut am: holds::ActiveModel = hold.into();
    am.lifted_at = Set(Some(Utc::now().fixed_offset()));
    am.lifted_by = Set(Some(actor));
    let hold = am.update(&txn).await?;
    Entry::new(Some(actor), "registration.hold_lifted", "hold")
        .id(id)
        .student(student)
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(hold)
}

#[derive(Deserialize)]
pub struct OverrideBody {
    section_id: i64,
    /// `capacity` or `prerequisite`
    kind: String,
    reason: String,
}

/// Lets one student exceed a section's capacity or skip its prerequisites, with a reason.
pub async fn grant_override(
    db: &DatabaseConnection,
    actor: i64,
    student_id: i64,
    body: &OverrideBody,
) -> AppResult<registration_overrides::Model> {
    if body.kind != "capacity" && body.kind != "prerequisite" {
        return Err(AppError::unprocessable(
            "invalid_kind",
            "an override is for 'capacity' or 'prerequisite'",
        ));
    }
    let reason = reason(&body.reason)?;
    let txn = crate::db::write_txn(db).await?;
    student_exists(&txn, student_id).await?;
    sections::Entity::find_by_id(body.section_id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::unprocessable("unknown_section", "no such section"))?;
    let row = registration_overrides::ActiveModel {
        student_id: Set(student_id),
        section_id: Set(body.section_id),
        kind: Set(body.kind.clone()),
        reason: Set(reason.clone()),
        granted_by: Set(Some(actor)),
        granted_at: Set(Utc::now().fixed_offset()),
        used_at: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    Entry::new(Some(actor), "registration.override_granted", "override")
        .id(row.id)
        .student(student_id)
        .detail(json!({"section_id": body.section_id, "kind": body.kind, "reason": reason}))
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(row)
}

async fn holds_of(db: &impl ConnectionTrait, student_id: i64) -> AppResult<Vec<holds::Model>> {
    Ok(holds::Entity::find()
        .filter(holds::Column::StudentId.eq(student_id))
        .order_by_desc(holds::Column::Id)
        .all(db)
        .await?)
}

#[get("/students/<id>/holds")]
pub async fn api_holds(
    _on: ModuleOn<on::Courses>,
    _who: Perm<'_, can::ManageRegistrations>,
    state: &State<AppState>,
    id: i64,
) -> AppResult<Json<Vec<holds::Model>>> {
    student_exists(&state.db, id).await?;
    Ok(Json(holds_of(&state.db, id).await?))
}

#[post("/students/<id>/holds", format = "json", data = "<body>")]
pub async fn api_place_hold(
    _on: ModuleOn<on::Courses>,
    who: Perm<'_, can::ManageRegistrations>,
    state: &State<AppState>,
    id: i64,
    body: Json<HoldBody>,
) -> AppResult<(Status, Json<holds::Model>)> {
    let hold = place_hold(&state.db, who.id, id, &body.reason).await?;
    Ok((Status::Created, Json(hold)))
}

#[delete("/holds/<id>")]
pub async fn api_lift_hold(
    _on: ModuleOn<on::Courses>,
    who: Perm<'_, can::ManageRegistrations>,
    state: &State<AppState>,
    id: i64,
) -> AppResult<Json<holds::Model>> {
    Ok(Json(lift_hold(&state.db, who.id, id).await?))
}

#[post("/students/<id>/overrides", format = "json", data = "<body>")]
pub async fn api_grant_override(
    _on: ModuleOn<on::Courses>,
    who: Perm<'_, can::ManageRegistrations>,
    state: &State<AppState>,
    id: i64,
    body: Json<OverrideBody>,
) -> AppResult<(Status, Json<registration_overrides::Model>)> {
    let row = grant_override(&state.db, who.id, id, &body).await?;
    Ok((Status::Created, Json(row)))
}

// ---------------------------------------------------------------- the registrar's page

#[derive(Serialize)]
struct OverrideRow {
    #[serde(flatten)]
    row: registration_overrides::Model,
    section: String,
}

/// Holds and overrides of one student, with the forms to place, lift and grant them.
#[get("/students/<id>/holds?<error>&<done>")]
#[allow(clippy::too_many_arguments)]
pub async fn holds_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Courses>,
    _who: Perm<'_, can::ManageRegistrations>,
    state: &State<AppState>,
    id: i64,
    error: Option<&str>,
    done: Option<&str>,
    flash: Option<FlashMessage<'_>>,
) -> AppResult<Template> {
    let error = crate::web::flash_or_code(&ctx, flash, "holds.err", error);
    let student = students::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let holds = holds_of(&state.db, id).await?;
    let overrides = registration_overrides::Entity::find()
        .filter(registration_overrides::Column::StudentId.eq(id))
        .order_by_desc(registration_overrides::Column::Id)
        .all(&state.db)
        .await?;
    let mut rows = Vec::with_capacity(overrides.len());
    for o in overrides {
        let section = crate::courses::service::section_row(&state.db, o.section_id)
            .await
            .map(|s| format!("{}-{}", s.course_code, s.section_no))
            .unwrap_or_else(|_| o.section_id.to_string());
        rows.push(OverrideRow { row: o, section });
    }
    Ok(ctx.render(
        "registration/holds",
        "holds.title",
        json!({"student": student, "holds": holds, "overrides": rows, "error": error,
               "done": ctx.known("holds.done", done)}),
    ))
}

#[derive(rocket::FromForm)]
pub struct HoldForm<'a> {
    #[field(default = "")]
    reason: &'a str,
    #[field(name = "_csrf", default = "")]
    csrf: &'a str,
}

#[derive(rocket::FromForm)]
pub struct OverrideForm<'a> {
    #[field(default = "")]
    section: &'a str,
    #[field(default = "")]
    kind: &'a str,
    #[field(default = "")]
    reason: &'a str,
    #[field(name = "_csrf", default = "")]
    csrf: &'a str,
}

/// Back to the student's holds page, with a confirmation or the reason it was refused.
/// NOTE: the reason travels in a flash cookie, never as query text the page would show (a
/// crafted `?error=` link could otherwise put any words in an official-looking alert).
fn back(student: i64, outcome: AppResult<&str>) -> AppResult<Result<Redirect, Flash<Redirect>>> {
    match outcome {
        Ok(done) => Ok(Ok(Redirect::to(format!(
            "/students/{student}/holds?done={done}"
        )))),
        Err(
            e @ (AppError::Unprocessable { .. } | AppError::Conflict { .. } | AppError::NotFound),
        ) => Ok(Err(Flash::error(
            Redirect::to(format!(
                "/students/{student}/holds?error={}",
                crate::web::url_encode(e.code())
            )),
            e.public_message(),
        ))),
        Err(e) => Err(e),
    }
}

#[post("/students/<id>/holds", data = "<form>")]
pub async fn place_hold_submit(
    _on: ModuleOn<on::Courses>,
    who: Perm<'_, can::ManageRegistrations>,
    state: &State<AppState>,
    id: i64,
    form: Form<HoldForm<'_>>,
) -> AppResult<Result<Redirect, Flash<Redirect>>> {
    who.check_csrf(form.csrf)?;
    let outcome = place_hold(&state.db, who.id, id, form.reason).await;
    back(id, outcome.map(|_| "hold_placed"))
}

#[post("/holds/<id>/lift", data = "<form>")]
pub async fn lift_hold_submit(
    _on: ModuleOn<on::Courses>,
    who: Perm<'_, can::ManageRegistrations>,
    state: &State<AppState>,
    id: i64,
    form: Form<crate::web::CsrfForm<'_>>,
) -> AppResult<Result<Redirect, Flash<Redirect>>> {
    who.check_csrf(form.csrf)?;
    let hold = holds::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let outcome = lift_hold(&state.db, who.id, id).await;
    back(hold.student_id, outcome.map(|_| "hold_lifted"))
}

#[post("/students/<id>/overrides", data = "<form>")]
pub async fn override_submit(
    _on: ModuleOn<on::Courses>,
    who: Perm<'_, can::ManageRegistrations>,
    state: &State<AppState>,
    id: i64,
    form: Form<OverrideForm<'_>>,
) -> AppResult<Result<Redirect, Flash<Redirect>>> {
    who.check_csrf(form.csrf)?;
    let outcome = match find_section(&state.db, form.section).await {
        Ok(section_id) => {
            let body = OverrideBody {
                section_id,
                kind: form.kind.to_string(),
                reason: form.reason.to_string(),
            };
            grant_override(&state.db, who.id, id, &body)
                .await
                .map(|_| "override_granted")
        }
        Err(e) => Err(e),
    };
    back(id, outcome)
}

/// A section named as `CODE-NO` in the current term (or by its id).
async fn find_section(db: &DatabaseConnection, text: &str) -> AppResult<i64> {
    let text = text.trim();
    if let Ok(id) = text.parse::<i64>() {
        return Ok(id);
    }
    let unknown = || {
        AppError::unprocessable(
            "unknown_section",
            format!("no section {text} in the current term; write it as COURSE-NO, e.g. CS101-01"),
        )
    };
    let (code, no) = text.rsplit_once('-').ok_or_else(unknown)?;
    let term = crate::courses::service::resolve_term(db, None)
        .await?
        .ok_or_else(unknown)?;
    let course = crate::entity::courses::Entity::find()
        .filter(crate::entity::courses::Column::Code.eq(code.trim().to_uppercase()))
        .one(db)
        .await?
        .ok_or_else(unknown)?;
    sections::Entity::find()
        .filter(sections::Column::TermId.eq(term.id))
        .filter(sections::Column::CourseId.eq(course.id))
        .filter(sections::Column::SectionNo.eq(no.trim()))
        .one(db)
        .await?
        .map(|s| s.id)
        .ok_or_else(unknown)
}

#[derive(Debug, Serialize)]
pub struct RosterRow {
    pub registration_id: i64,
    pub student_id: i64,
    pub student_no: String,
    pub name_zh: String,
    pub name_en: String,
    pub status: String,
    pub waitlist_position: Option<u64>,
}

/// The enrolled and waitlisted students of a section, for its teacher and for staff who may
/// see every student. The read is audited.
pub async fn roster(
    db: &impl ConnectionTrait,
    user: &CurrentUser,
    section_id: i64,
) -> AppResult<Vec<RosterRow>> {
    let section = sections::Entity::find_by_id(section_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let allowed = user.can(Permission::ViewAnyStudent)
        || user.can(Permission::ManageCourses)
        || (section.teacher_id == Some(user.id) && user.can(Permission::ViewScopedStudents));
    if !allowed {
        Entry::new(Some(user.id), "sections.roster.read", "section")
            .id(section_id)
            .denied()
            .write(db)
            .await?;
        return Err(AppError::Forbidden);
    }
    let rows = enrolments::Entity::find()
        .filter(enrolments::Column::SectionId.eq(section_id))
        .filter(
            enrolments::Column::Status
                .is_in([super::service::ENROLLED, super::service::WAITLISTED]),
        )
        .order_by_asc(enrolments::Column::Status)
        .order_by_asc(enrolments::Column::WaitlistPosition)
        .all(db)
        .await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.student_id).collect();
    let people: std::collections::HashMap<i64, students::Model> = students::Entity::find()
        .filter(students::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let mut out = Vec::with_capacity(rows.len());
    let mut rank = 0u64;
    for r in rows {
        let Some(s) = people.get(&r.student_id) else {
            continue;
        };
        let waitlist_position = if r.status == super::service::WAITLISTED {
            rank += 1;
            Some(rank)
        } else {
            None
        };
        out.push(RosterRow {
            registration_id: r.id,
            student_id: s.id,
            student_no: s.student_no.clone(),
            name_zh: s.name_zh.clone(),
            name_en: s.name_en.clone(),
            status: r.status,
            waitlist_position,
        });
    }
    Entry::new(Some(user.id), "sections.roster.read", "section")
        .id(section_id)
        .detail(json!({"students": out.len()}))
        .write(db)
        .await?;
    Ok(out)
}

#[get("/sections/<id>/roster")]
pub async fn api_roster(
    _on: ModuleOn<on::Courses>,
    user: &CurrentUser,
    state: &State<AppState>,
    id: i64,
) -> AppResult<Json<Vec<RosterRow>>> {
    Ok(Json(roster(&state.db, user, id).await?))
}

#[get("/sections/<id>/roster")]
pub async fn roster_page(
    ctx: crate::web::Ctx<'_>,
    _on: ModuleOn<on::Courses>,
    user: &CurrentUser,
    state: &State<AppState>,
    id: i64,
) -> AppResult<rocket_dyn_templates::Template> {
    let rows = roster(&state.db, user, id).await?;
    let section = crate::courses::service::section_row(&state.db, id).await?;
    Ok(ctx.render(
        "courses/roster",
        "roster.title",
        json!({"roster": rows, "section": section}),
    ))
}

pub fn api_routes() -> Vec<rocket::Route> {
    rocket::routes![
        api_holds,
        api_place_hold,
        api_lift_hold,
        api_grant_override,
        api_roster
    ]
}

pub fn page_routes() -> Vec<rocket::Route> {
    rocket::routes![
        roster_page,
        holds_page,
        place_hold_submit,
        lift_hold_submit,
        override_submit
    ]
}
