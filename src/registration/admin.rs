//! What registrars do around registration: place and lift holds, grant a one-student override
//! of capacity or prerequisites (with a reason), and read a section's roster.

use crate::access::{ModuleOn, Perm, Permission, can, on};
use crate::audit::Entry;
use crate::auth::CurrentUser;
use crate::entity::{enrolments, holds, registration_overrides, sections, students};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use chrono::Utc;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{State, delete, get, post};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
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

#[get("/students/<id>/holds")]
pub async fn api_holds(
    _on: ModuleOn<on::Courses>,
    _who: Perm<'_, can::ManageRegistrations>,
    state: &State<AppState>,
    id: i64,
) -> AppResult<Json<Vec<holds::Model>>> {
    student_exists(&state.db, id).await?;
    Ok(Json(
        holds::Entity::find()
            .filter(holds::Column::StudentId.eq(id))
            .order_by_desc(holds::Column::Id)
            .all(&state.db)
            .await?,
    ))
}

#[post("/students/<id>/holds", format = "json", data = "<body>")]
pub async fn api_place_hold(
    _on: ModuleOn<on::Courses>,
    who: Perm<'_, can::ManageRegistrations>,
    state: &State<AppState>,
    id: i64,
    body: Json<HoldBody>,
) -> AppResult<(Status, Json<holds::Model>)> {
    let reason = reason(&body.reason)?;
    student_exists(&state.db, id).await?;
    let hold = holds::ActiveModel {
        student_id: Set(id),
        reason: Set(reason.clone()),
        placed_by: Set(Some(who.id)),
        placed_at: Set(Utc::now().fixed_offset()),
        lifted_by: Set(None),
        lifted_at: Set(None),
        ..Default::default()
    }
    .insert(&state.db)
    .await?;
    Entry::new(Some(who.id), "registration.hold_placed", "hold")
        .id(hold.id)
        .student(id)
        .detail(json!({"reason": reason}))
        .write(&state.db)
        .await?;
    Ok((Status::Created, Json(hold)))
}

#[delete("/holds/<id>")]
pub async fn api_lift_hold(
    _on: ModuleOn<on::Courses>,
    who: Perm<'_, can::ManageRegistrations>,
    state: &State<AppState>,
    id: i64,
) -> AppResult<Json<holds::Model>> {
    let hold = holds::Entity::find_by_id(id)
        .one(&state.db)
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
    am.lifted_by = Set(Some(who.id));
    let hold = am.update(&state.db).await?;
    Entry::new(Some(who.id), "registration.hold_lifted", "hold")
        .id(id)
        .student(student)
        .write(&state.db)
        .await?;
    Ok(Json(hold))
}

#[derive(Deserialize)]
pub struct OverrideBody {
    section_id: i64,
    /// `capacity` or `prerequisite`
    kind: String,
    reason: String,
}

#[post("/students/<id>/overrides", format = "json", data = "<body>")]
pub async fn api_grant_override(
    _on: ModuleOn<on::Courses>,
    who: Perm<'_, can::ManageRegistrations>,
    state: &State<AppState>,
    id: i64,
    body: Json<OverrideBody>,
) -> AppResult<(Status, Json<registration_overrides::Model>)> {
    if body.kind != "capacity" && body.kind != "prerequisite" {
        return Err(AppError::unprocessable(
            "invalid_kind",
            "an override is for 'capacity' or 'prerequisite'",
        ));
    }
    let reason = reason(&body.reason)?;
    student_exists(&state.db, id).await?;
    sections::Entity::find_by_id(body.section_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let row = registration_overrides::ActiveModel {
        student_id: Set(id),
        section_id: Set(body.section_id),
        kind: Set(body.kind.clone()),
        reason: Set(reason.clone()),
        granted_by: Set(Some(who.id)),
        granted_at: Set(Utc::now().fixed_offset()),
        used_at: Set(None),
        ..Default::default()
    }
    .insert(&state.db)
    .await?;
    Entry::new(Some(who.id), "registration.override_granted", "override")
        .id(row.id)
        .student(id)
        .detail(json!({"section_id": body.section_id, "kind": body.kind, "reason": reason}))
        .write(&state.db)
        .await?;
    Ok((Status::Created, Json(row)))
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
    rocket::routes![roster_page]
}
