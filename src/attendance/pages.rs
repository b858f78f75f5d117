//! The attendance pages: the teacher's meetings (today's first), a meeting's roll on a phone
//! (everyone present, one tap per exception), and the student's own record.

use super::service::{self, Mark, MeetingOut, today};
use super::{forms, import};
use crate::access::{ModuleOn, Perm, Permission, can, on};
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::state::AppState;
use crate::web::Ctx;
use crate::web::csrf::Csrf;
use crate::web::upload::Upload;
use chrono::NaiveDate;
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::{State, get, post, uri};
use rocket_dyn_templates::Template;
use serde_json::{Value, json};
use std::collections::HashMap;

fn parse_date(text: &str) -> AppResult<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        AppError::unprocessable("invalid_parameter", "date must be a date, YYYY-MM-DD")
    })
}

/// A meeting as the pages show it: its day, periods and clock times, its roll's state.
fn meeting_json(lang: Lang, m: &MeetingOut, today: NaiveDate) -> Value {
    json!({
        "date": m.date.to_string(),
        "label": crate::courses::timetable::meeting_label(lang, m.weekday, m.start_period, m.end_period),
        "today": m.date == today,
        "taken": m.taken,
        "absent": m.absent,
        "late": m.late,
        "excused": m.excused,
    })
}

fn mark_label(lang: Lang, m: Mark) -> String {
    lang.t(&format!("attendance.mark.{}", m.as_str()))
}

/// The teacher's sections this term with their meetings: today's first, then the recent ones,
/// those without a roll marked.
#[get("/attendance")]
pub async fn index(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Courses>,
    user: &CurrentUser,
    state: &State<AppState>,
) -> AppResult<Result<Template, Redirect>> {
    let staff = user.can(Permission::ManageRegistrations);
    if !staff && !user.can(Permission::EnterOwnGrades) {
        if user.student_id.is_some() && user.can(Permission::ViewOwnRecord) {
            return Ok(Err(Redirect::to(uri!(mine))));
        }
        return Err(AppError::Forbidden);
    }
    let day = today();
    let zh = ctx.lang == Lang::Zh;
    let sections = service::teacher_sections(&state.db, user.id, day).await?;
    let list: Vec<Value> = sections
        .iter()
        .map(|s| {
            json!({
                "section_id": s.section_id,
                "code": format!("{}-{}", s.course_code, s.section_no),
                "title": if zh { &s.title_zh } else { &s.title_en },
                "term_code": s.term_code,
                "untaken": s.untaken,
                "meetings": s.meetings.iter().take(6).map(|m| meeting_json(ctx.lang, m, day)).collect::<Vec<_>>(),
                "more": s.meetings.len() > 6,
            })
        })
        .collect();
    Ok(Ok(ctx.render(
        "attendance/index",
        "attendance.title",
        json!({"sections": list, "can_import": staff, "today": day.to_string()}),
    )))
}

/// Every meeting of one section so far, newest first.
#[get("/attendance/sections/<id>")]
pub async fn section_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Courses>,
    user: &CurrentUser,
    state: &State<AppState>,
    id: i64,
) -> AppResult<Template> {
    let s = service::section_access(&state.db, user, id).await?;
    let day = today();
    let mut m = service::meetings_of(&state.db, &[&s], day).await?;
    let meetings: Vec<Value> = m
        .remove(&s.id)
        .unwrap_or_default()
        .iter()
        .map(|m| meeting_json(ctx.lang, m, day))
        .collect();
    let title = if ctx.lang == Lang::Zh {
        &s.title_zh
    } else {
        &s.title_en
    };
    Ok(ctx.render(
        "attendance/section",
        "attendance.section_title",
        json!({"section": {"id": s.id, "code": format!("{}-{}", s.course_code, s.section_no),
                           "title": title, "term_code": s.term_code},
               "meetings": meetings}),
    ))
}

/// One meeting's roll: every enrolled student present unless marked.
#[get("/attendance/sections/<id>/<date>?<saved>")]
pub async fn roll_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Courses>,
    user: &CurrentUser,
    state: &State<AppState>,
    id: i64,
    date: &str,
    saved: Option<bool>,
) -> AppResult<Template> {
    let date = parse_date(date)?;
    let s = service::section_access(&state.db, user, id).await?;
    let roll = service::roll(&state.db, user, &s, date, today()).await?;
    let zh = ctx.lang == Lang::Zh;
    let marks: Vec<Value> = Mark::ALL
        .iter()
        .map(|m| json!({"code": m.as_str(), "label": mark_label(ctx.lang, *m)}))
        .collect();
    let students: Vec<Value> = roll
        .students
        .iter()
        .map(|r| {
            json!({"id": r.student_id, "no": r.student_no,
                   "name": if zh { &r.name_zh } else { &r.name_en },
                   "status": r.status.as_str()})
        })
        .collect();
    let counts: HashMap<&str, usize> = Mark::ALL
        .iter()
        .map(|m| {
            (
                m.as_str(),
                roll.students.iter().filter(|r| r.status == *m).count(),
            )
        })
        .collect();
    let title = if zh { &s.title_zh } else { &s.title_en };
    Ok(ctx.render(
        "attendance/roll",
        "attendance.roll_title",
        json!({
            "section": {"id": s.id, "code": format!("{}-{}", s.course_code, s.section_no), "title": title},
            "date": date.to_string(),
            "label": crate::courses::timetable::meeting_label(ctx.lang, roll.weekday, roll.start_period, roll.end_period),
            "taken": roll.taken,
            "taken_at": roll.taken_at.map(|t| t.to_rfc3339()),
            "students": students,
            "marks": marks,
            "counts": counts,
            "saved": saved.unwrap_or(false),
        }),
    ))
}

/// Saves a meeting's roll from the page form.
#[post("/attendance/sections/<id>/<date>", data = "<form>")]
pub async fn roll_submit(
    _on: ModuleOn<on::Courses>,
    user: &CurrentUser,
    state: &State<AppState>,
    id: i64,
    date: &str,
    form: Csrf<HashMap<String, String>>,
) -> AppResult<Redirect> {
    let day = parse_date(date)?;
    let s = service::section_access(&state.db, user, id).await?;
    let marks = forms::marks(&form)?;
    service::save_roll(&state.db, user, &s, day, today(), &marks).await?;
    Ok(Redirect::to(format!(
        "/attendance/sections/{id}/{day}?saved=true"
    )))
}

/// The student's own attendance this term.
#[get("/me/attendance")]
pub async fn mine(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Courses>,
    user: &CurrentUser,
    state: &State<AppState>,
) -> AppResult<Template> {
    let id = service::own_student(user)?;
    let data = service::student_attendance(&state.db, id, today()).await?;
    Ok(ctx.render(
        "attendance/mine",
        "attendance.mine_title",
        json!({"sections": sections_json(ctx.lang, &data)}),
    ))
}

/// A student's sections for the pages: the rate in words and each exception labelled.
pub fn sections_json(lang: Lang, data: &service::StudentAttendance) -> Vec<Value> {
    let zh = lang == Lang::Zh;
    data.sections
        .iter()
        .map(|s| {
            json!({
                "code": format!("{}-{}", s.course_code, s.section_no),
                "title": if zh { &s.title_zh } else { &s.title_en },
                "held": s.held,
                "absent": s.absent,
                "late": s.late,
                "excused": s.excused,
                "rate": s.rate.map(|r| format!("{:.0}%", r * 100.0)),
                "low": s.rate.is_some_and(|r| r < 0.8),
                "marks": s.marks.iter().map(|m| json!({"date": m.date.to_string(), "status": m.status.as_str(),
                    "label": mark_label(lang, m.status)})).collect::<Vec<_>>(),
            })
        })
        .collect()
}

// ---------------------------------------------------------------- import

/// The card-reader import: a file, and whether to only try it.
#[get("/attendance/import")]
pub async fn import_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Courses>,
    _who: Perm<'_, can::ManageRegistrations>,
) -> Template {
    ctx.render("attendance/import", "attendance.import.title", json!({}))
}

/// Runs the import (or the dry run) and shows its report.
#[post("/attendance/import", data = "<form>")]
pub async fn import_submit(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Courses>,
    who: Perm<'_, can::ManageRegistrations>,
    state: &State<AppState>,
    form: Result<Upload, AppError>,
) -> AppResult<Result<Redirect, (Status, Template)>> {
    let form = match form {
        Ok(form) => form,
        Err(e @ AppError::Csrf) => return Err(e),
        Err(_) => return Err(AppError::unprocessable("invalid_form", "choose a CSV file")),
    };
    let dry_run = form.flag("dry_run");
    match import::import(&state.db, &form.file, dry_run, Some(who.id), today()).await {
        Ok((_, id)) => Ok(Ok(Redirect::to(format!("/attendance/import/{id}")))),
        Err(e @ AppError::Unprocessable { .. }) => Ok(Err((
            Status::UnprocessableEntity,
            ctx.render(
                "attendance/import",
                "attendance.import.title",
                json!({"error": ctx.lang.error(&e)}),
            ),
        ))),
        Err(e) => Err(e),
    }
}

/// One import's report: the counts and every refused row with its line and reason.
#[get("/attendance/import/<id>")]
pub async fn import_report(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Courses>,
    _who: Perm<'_, can::ManageRegistrations>,
    state: &State<AppState>,
    id: i64,
) -> AppResult<Template> {
    let report = import::report(&state.db, id).await?;
    let rows: Vec<Value> = report
        .rejected_rows
        .iter()
        .take(500)
        .map(|r| json!({"line": r.line, "values": r.values.join(" · "), "reason": r.reason(ctx.lang)}))
        .collect();
    Ok(ctx.render(
        "attendance/import_report",
        "attendance.import.report",
        json!({"id": id, "report": report, "rows": rows}),
    ))
}

/// The refused rows of one import as CSV, to fix and import again.
#[get("/attendance/import/<id>/rejected.csv")]
pub async fn import_rejected(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Courses>,
    _who: Perm<'_, can::ManageRegistrations>,
    state: &State<AppState>,
    id: i64,
) -> AppResult<crate::students::CsvFile> {
    let report = import::report(&state.db, id).await?;
    Ok(crate::students::CsvFile::new(
        import::rejected_csv(&report, ctx.lang)?,
        &format!("attendance-rejected-{id}.csv"),
    ))
}
