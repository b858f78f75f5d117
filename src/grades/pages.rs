//! The grades pages: the teacher's sections, the entry grid (one form, one transaction,
//! every wrong cell marked), CSV upload, publishing, change requests and their approval
//! queue, printable transcripts, and statistics with server-drawn charts.

use super::changes::{self, ChangeIn, DecisionIn};
use super::forms::{AssessmentForm, ChangeForm, DecisionForm, EntryNotice, PublishForm, ScaleForm};
use super::service::{self, EntryIn, Labels, Need, RowError, Section};
use super::stats::{self, Scope};
use super::{assess, charts, csv_import, scale, transcript};
use crate::access::{ModuleOn, Perm, Permission, can, on};
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::state::AppState;
use crate::web::Ctx;
use crate::web::csrf::Csrf;
use crate::web::upload::Upload;
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::{State, get, post};
use rocket_dyn_templates::Template;
use serde_json::{Value, json};
use std::collections::HashMap;

type PageResult = AppResult<Result<Redirect, (Status, Template)>>;

fn status_label(lang: Lang, status: Option<service::GradeStatus>) -> String {
    lang.t(match status {
        Some(service::PUBLISHED) => "grades.status_published",
        Some(_) => "grades.status_draft",
        None => "grades.status_none",
    })
}

use service::fill;

#[get("/grades")]
pub async fn index(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Grades>,
    user: &CurrentUser,
    state: &State<AppState>,
) -> AppResult<Result<Template, Redirect>> {
    let staff = user.can(Permission::ViewAllGrades) || user.can(Permission::ApproveGradeChanges);
    if !staff && !user.can(Permission::EnterOwnGrades) && !user.can(Permission::ViewOwnRecord) {
        return Err(AppError::Forbidden);
    }
    if user.student_id.is_some() && !staff && !user.can(Permission::EnterOwnGrades) {
        return Ok(Err(Redirect::to("/me/transcript")));
    }
    let mut mine = Vec::new();
    if user.can(Permission::EnterOwnGrades) {
        for s in service::teacher_sections(&state.db, user.id).await? {
            let status = if s.published > 0 && s.published >= s.graded {
                "grades.status_published"
            } else if s.graded > 0 {
                "grades.status_draft"
            } else {
                "grades.status_none"
            };
            let mut v = json!(s);
            v["status_label"] = json!(ctx.t(status));
            v["title"] = json!(if ctx.lang == Lang::Zh {
                &s.title_zh
            } else {
                &s.title_en
            });
            mine.push(v);
        }
    }
    let pending = if user.can(Permission::ApproveGradeChanges) {
        changes::change_rows(&state.db, None, Some(changes::PENDING))
            .await?
            .len()
    } else {
        0
    };
    let overview = if user.can(Permission::ViewAllGrades) {
        Some(stats::stats(&state.db, &Scope::default()).await?)
    } else {
        None
    };
    let hist = overview.as_ref().map(|o| charts::histogram(&o.histogram));
    let pickers = if user.can(Permission::ViewAllGrades) {
        json!(stats::pickers(&state.db, ctx.lang).await?)
    } else {
        Value::Null
    };
    Ok(Ok(ctx.render(
        "grades/index",
        "grades.title",
        json!({
            "sections": mine,
            "pending": pending,
            "can_approve": user.can(Permission::ApproveGradeChanges),
            "can_scales": user.can(Permission::ManageCourses),
            "overview": overview,
            "histogram_svg": hist,
            "pickers": pickers,
        }),
    )))
}

/// The entry page's data: the grid rows (with the values typed and the errors, when the
/// page is shown again after a refused save), assessments, and what the user may do.
async fn entry_view(
    ctx: &Ctx<'_>,
    state: &AppState,
    user: &CurrentUser,
    s: &Section,
    typed: &HashMap<i64, String>,
    errors: &[RowError],
    extra: Value,
) -> AppResult<Template> {
    let db = &state.db;
    let rows = service::grade_rows(db, s).await?;
    let by_student: HashMap<String, &RowError> =
        errors.iter().map(|e| (e.student.clone(), e)).collect();
    let grid: Vec<Value> = rows
        .iter()
        .map(|r| {
            let err = by_student.get(&r.student_no);
            // NOTE: a box holds only what a person typed or what is stored; the computed
            // score is shown beside it, never in it, so Save cannot store a partial score.
            let value = typed
                .get(&r.student_id)
                .cloned()
                .or(r.score.map(|x| x.to_string()))
                .unwrap_or_default();
            let mut v = json!(r);
            v["value"] = json!(value);
            v["computed_note"] = json!(r.computed.as_ref().map(|c| {
                let key = if c.complete() {
                    "grades.computed_complete"
                } else {
                    "grades.computed_partial"
                };
                fill(
                    &ctx.t(key),
                    &[
                        ("n", c.assessed.to_string()),
                        ("of", c.of.to_string()),
                        ("pct", c.weight_pct.to_string()),
                    ],
                )
            }));
            v["error"] = json!(err.map(|e| e.reason.clone()));
            v["status_label"] = json!(status_label(ctx.lang, r.status));
            v["locked"] = json!(r.status == Some(service::PUBLISHED));
            v
        })
        .collect();
    let unplaced: Vec<&RowError> = errors
        .iter()
        .filter(|e| !rows.iter().any(|r| r.student_no == e.student))
        .collect();
    let items = assess::list(db, s.model.id).await?;
    let total: f64 = items.iter().map(|a| a.weight).sum();
    let teacher = service::is_teacher_of(user, &s.model);
    let drafts = rows.iter().any(|r| r.status == Some(service::DRAFT));
    let title = format!(
        "{}-{} {}",
        s.course.code,
        s.model.section_no,
        if ctx.lang == Lang::Zh {
            &s.course.title_zh
        } else {
            &s.course.title_en
        }
    );
    let mut data = json!({
        "section": {"id": s.model.id, "title": title, "term": if ctx.lang == Lang::Zh { &s.term.name_zh } else { &s.term.name_en },
                    "credits": s.course.credits, "published_at": s.model.grades_published_at.map(|d| d.to_rfc3339())},
        "scale": s.scale,
        "grid": grid,
        "errors": errors,
        "unplaced": unplaced,
        "assessments": items,
        "weight_total": total,
        "weight_warning": !items.is_empty() && total > 1.0 + 1e-9 && (total - 100.0).abs() > 1e-6,
        "weights_complete": assess::weights_complete(total),
        "can_fill": teacher && !items.is_empty() && rows.iter().any(|r| r.grade_id.is_none()),
        "teacher": teacher,
        "can_publish": teacher && drafts,
    });
    if let (Value::Object(d), Value::Object(e)) = (&mut data, extra) {
        d.extend(e);
    }
    Ok(ctx.render("grades/entry", "grades.entry_title", data))
}

/// The grid again with what was refused, as a 422.
async fn refused(
    ctx: &Ctx<'_>,
    state: &AppState,
    user: &CurrentUser,
    s: &Section,
    errors: &[RowError],
    extra: Value,
) -> PageResult {
    let page = entry_view(ctx, state, user, s, &HashMap::new(), errors, extra).await?;
    Ok(Err((Status::UnprocessableEntity, page)))
}

#[get("/grades/sections/<id>?<notice..>")]
pub async fn entry_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Grades>,
    user: &CurrentUser,
    state: &State<AppState>,
    id: i64,
    notice: EntryNotice<'_>,
) -> AppResult<Template> {
    let s = service::section_access(&state.db, user, id, Need::View).await?;
    let notice = match (notice.saved, notice.published, notice.filled) {
        (_, Some(n), _) => Some(fill(&ctx.t("grades.published_ok"), &[("n", n.to_string())])),
        (_, _, Some(n)) => Some(fill(&ctx.t("grades.filled_ok"), &[("n", n.to_string())])),
        (Some(s), _, _) => {
            let p: Vec<&str> = s.split('-').collect();
            // NOTE: numbers only; query text is never shown as the page's own words.
            let g = |i: usize| {
                let n = p.get(i).and_then(|v| v.parse::<u64>().ok());
                n.unwrap_or(0).to_string()
            };
            Some(fill(
                &ctx.t("grades.saved"),
                &[("inserted", g(0)), ("updated", g(1)), ("unchanged", g(2))],
            ))
        }
        _ => None,
    };
    entry_view(
        &ctx,
        state,
        user,
        &s,
        &HashMap::new(),
        &[],
        json!({"notice": notice}),
    )
    .await
}

#[post("/grades/sections/<id>", data = "<form>")]
pub async fn entry_submit(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Grades>,
    who: Perm<'_, can::EnterOwnGrades>,
    state: &State<AppState>,
    id: i64,
    form: Csrf<HashMap<String, String>>,
) -> PageResult {
    let s = service::section_access(&state.db, &who, id, Need::Enter).await?;
    let mut typed: HashMap<i64, String> = HashMap::new();
    let mut rows: Vec<EntryIn> = Vec::new();
    let mut keys: Vec<(i64, &String)> = form
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("score_")
                .and_then(|n| n.parse().ok())
                .map(|n| (n, v))
        })
        .collect();
    keys.sort();
    for (i, (student, value)) in keys.into_iter().enumerate() {
        if value.trim().is_empty() {
            continue;
        }
        typed.insert(student, value.clone());
        rows.push(EntryIn {
            student_id: Some(student),
            student_no: None,
            score: Some(Value::String(value.clone())),
            line: i + 1,
        });
    }
    let labels = Labels::grid(ctx.lang);
    let r = service::save_grades(&state.db, &who, &s, &rows, Vec::new(), "grid", &labels).await?;
    if r.errors.is_empty() {
        return Ok(Ok(Redirect::to(format!(
            "/grades/sections/{id}?saved={}-{}-{}",
            r.inserted, r.updated, r.unchanged
        ))));
    }
    let page = entry_view(&ctx, state, &who, &s, &typed, &r.errors, json!({})).await?;
    Ok(Err((Status::UnprocessableEntity, page)))
}

#[post("/grades/sections/<id>/import", data = "<form>")]
pub async fn import_submit(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Grades>,
    who: Perm<'_, can::EnterOwnGrades>,
    state: &State<AppState>,
    id: i64,
    form: Result<Upload, AppError>,
) -> PageResult {
    let s = service::section_access(&state.db, &who, id, Need::Enter).await?;
    let form = match form {
        Ok(form) => form,
        Err(e @ AppError::Csrf) => return Err(e),
        Err(_) => return Err(AppError::unprocessable("invalid_form", "choose a CSV file")),
    };
    let fallback = Labels::grid(ctx.lang);
    let r = match csv_import::import(&state.db, &who, &s, form.file, fallback).await? {
        Ok(r) => r,
        Err(message) => {
            return refused(&ctx, state, &who, &s, &[], json!({"import_error": message})).await;
        }
    };
    if r.errors.is_empty() {
        return Ok(Ok(Redirect::to(format!(
            "/grades/sections/{id}?saved={}-{}-{}",
            r.inserted, r.updated, r.unchanged
        ))));
    }
    refused(
        &ctx,
        state,
        &who,
        &s,
        &[],
        json!({"import_errors": r.errors}),
    )
    .await
}

/// Publishing asks first: without `confirm` the page shows what would be published (entered,
/// missing, failing, the distribution) and changes nothing.
#[post("/grades/sections/<id>/publish", data = "<form>")]
pub async fn publish_submit(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Grades>,
    who: Perm<'_, can::EnterOwnGrades>,
    state: &State<AppState>,
    id: i64,
    form: Csrf<PublishForm>,
) -> PageResult {
    let s = service::section_access(&state.db, &who, id, Need::Enter).await?;
    let confirmed = matches!(form.confirm.trim(), "1" | "true" | "on" | "yes");
    if !confirmed {
        let summary = service::publish_summary(&state.db, &s, ctx.lang).await?;
        let pct = |n: usize| {
            if summary.students == 0 {
                0.0
            } else {
                (n as f64 / summary.students as f64 * 1000.0).round() / 10.0
            }
        };
        let counts = fill(
            &ctx.t("grades.summary_counts"),
            &[
                ("students", summary.students.to_string()),
                ("entered", summary.entered.to_string()),
                ("missing", summary.missing.len().to_string()),
                ("failing", summary.failing.len().to_string()),
                ("failing_pct", pct(summary.failing.len()).to_string()),
            ],
        );
        let title = format!("{}-{}", s.course.code, s.model.section_no);
        return Ok(Err((
            Status::Ok,
            ctx.render(
                "grades/publish",
                "grades.publish_confirm_title",
                json!({
                    "section": {"id": s.model.id, "title": title},
                    "summary": summary,
                    "counts": counts,
                    "can_publish": summary.can_publish(),
                    "chart_svg": charts::histogram(&summary.distribution),
                }),
            ),
        )));
    }
    match service::publish(&state.db, &who, &s, ctx.lang).await {
        Ok((n, _)) => Ok(Ok(Redirect::to(format!(
            "/grades/sections/{id}?published={n}"
        )))),
        Err(e @ AppError::Unprocessable { .. }) => {
            refused(
                &ctx,
                state,
                &who,
                &s,
                &[],
                json!({"publish_error": e.public_message()}),
            )
            .await
        }
        Err(e) => Err(e),
    }
}

/// "Fill from computed scores": an explicit action, refused with the reason while the
/// weights or a student's assessments are incomplete.
#[post("/grades/sections/<id>/fill", data = "<_form>")]
pub async fn fill_submit(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Grades>,
    who: Perm<'_, can::EnterOwnGrades>,
    state: &State<AppState>,
    id: i64,
    _form: Csrf<crate::web::CsrfForm<'_>>,
) -> PageResult {
    let s = service::section_access(&state.db, &who, id, Need::Enter).await?;
    let labels = Labels::grid(ctx.lang);
    match service::fill_from_computed(&state.db, &who, &s, &labels).await {
        Ok(r) if r.errors.is_empty() => Ok(Ok(Redirect::to(format!(
            "/grades/sections/{id}?filled={}",
            r.inserted
        )))),
        Ok(r) => refused(&ctx, state, &who, &s, &r.errors, json!({})).await,
        Err(e @ AppError::Unprocessable { .. }) => {
            refused(
                &ctx,
                state,
                &who,
                &s,
                &[],
                json!({"fill_error": e.public_message()}),
            )
            .await
        }
        Err(e) => Err(e),
    }
}

#[post("/grades/sections/<id>/assessments", data = "<form>")]
pub async fn assessment_submit(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Grades>,
    who: Perm<'_, can::EnterOwnGrades>,
    state: &State<AppState>,
    id: i64,
    form: Csrf<AssessmentForm>,
) -> PageResult {
    let s = service::section_access(&state.db, &who, id, Need::Enter).await?;
    let num = |v: &str| {
        if v.trim().is_empty() {
            None
        } else {
            Some(v.trim().parse::<f64>().unwrap_or(-1.0))
        }
    };
    let input = assess::AssessmentIn {
        name: Some(form.name.clone()),
        weight: num(&form.weight).or(Some(-1.0)),
        due_at: Some(form.due_at.clone()),
        max_score: num(&form.max_score),
    };
    match assess::save(&state.db, &who, &s, None, &input).await {
        Ok(_) => Ok(Ok(Redirect::to(format!("/grades/sections/{id}")))),
        Err(e @ AppError::Unprocessable { .. }) => {
            let page = entry_view(&ctx, state, &who, &s, &HashMap::new(), &[], json!({"assessment_error": ctx.lang.error(&e), "assessment_form": {"name": form.name, "weight": form.weight, "due_at": form.due_at, "max_score": form.max_score}})).await?;
            Ok(Err((Status::UnprocessableEntity, page)))
        }
        Err(e) => Err(e),
    }
}

async fn assessment_view(
    ctx: &Ctx<'_>,
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    typed: &HashMap<i64, String>,
    errors: &[RowError],
) -> AppResult<(Section, Template)> {
    let db = &state.db;
    let (a, s) = service::assessment_section(db, user, id, Need::View).await?;
    let scores: HashMap<i64, assess::ScoreView> = assess::scores(db, id)
        .await?
        .into_iter()
        .map(|r| (r.student_id, r))
        .collect();
    let errs: HashMap<&str, &str> = errors
        .iter()
        .map(|e| (e.student.as_str(), e.reason.as_str()))
        .collect();
    let rows: Vec<Value> = service::grade_rows(db, &s)
        .await?
        .into_iter()
        .map(|r| {
            let sc = scores.get(&r.student_id);
            json!({
                "student_id": r.student_id, "student_no": r.student_no,
                "name": if ctx.lang == Lang::Zh { r.name_zh } else { r.name_en },
                "value": typed.get(&r.student_id).cloned().or(sc.and_then(|x| x.score).map(|x| x.to_string())).unwrap_or_default(),
                "status": sc.map(|x| ctx.known("grades.status", Some(&x.status)).unwrap_or_else(|| x.status.clone())),
                "error": errs.get(r.student_no.as_str()),
            })
        })
        .collect();
    let t = ctx.render(
        "grades/assessment",
        "grades.assessments",
        json!({
            "assessment": assess::AssessmentView::from(a),
            "section": {"id": s.model.id, "title": format!("{}-{}", s.course.code, s.model.section_no)},
            "rows": rows, "errors": errors,
            "teacher": service::is_teacher_of(user, &s.model),
        }),
    );
    Ok((s, t))
}

#[get("/grades/assessments/<id>")]
pub async fn assessment_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Grades>,
    user: &CurrentUser,
    state: &State<AppState>,
    id: i64,
) -> AppResult<Template> {
    Ok(assessment_view(&ctx, state, user, id, &HashMap::new(), &[])
        .await?
        .1)
}

#[post("/grades/assessments/<id>", data = "<form>")]
pub async fn assessment_scores_submit(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Grades>,
    who: Perm<'_, can::EnterOwnGrades>,
    state: &State<AppState>,
    id: i64,
    form: Csrf<HashMap<String, String>>,
) -> PageResult {
    let (_, s) = service::assessment_section(&state.db, &who, id, Need::Enter).await?;
    let mut typed = HashMap::new();
    let mut rows = Vec::new();
    let mut keys: Vec<(i64, &String)> = form
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("score_")
                .and_then(|n| n.parse().ok())
                .map(|n| (n, v))
        })
        .collect();
    keys.sort();
    for (i, (student, value)) in keys.into_iter().enumerate() {
        typed.insert(student, value.clone());
        let v = value.trim();
        rows.push(EntryIn {
            student_id: Some(student),
            student_no: None,
            // NOTE: a blank cell records a missing submission.
            score: (!v.is_empty()).then(|| Value::String(v.to_string())),
            line: i + 1,
        });
    }
    let labels = Labels::grid(ctx.lang);
    match assess::save_scores(&state.db, &who, &s, id, &rows, &labels).await? {
        Ok(_) => Ok(Ok(Redirect::to(format!("/grades/sections/{}", s.model.id)))),
        Err(errors) => {
            let (_, page) = assessment_view(&ctx, state, &who, id, &typed, &errors).await?;
            Ok(Err((Status::UnprocessableEntity, page)))
        }
    }
}

async fn grade_page_view(
    ctx: &Ctx<'_>,
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    extra: Value,
) -> AppResult<Template> {
    let db = &state.db;
    let (history, requests) = changes::history(db, user, id).await?;
    let (g, s) = changes::grade_with_section(db, id).await?;
    let student = crate::students::service::find(db, g.student_id).await?;
    let requests: Vec<Value> = requests
        .into_iter()
        .map(|r| {
            let mut v = json!(r);
            v["status_label"] = json!(ctx.t(&format!("grades.{}", r.status)));
            v
        })
        .collect();
    let mut data = json!({
        "grade": g,
        "student": {"id": student.id, "student_no": student.student_no, "name_zh": student.name_zh, "name_en": student.name_en},
        "section": {"id": s.model.id, "title": format!("{}-{}", s.course.code, s.model.section_no)},
        "history": history,
        "requests": requests,
        "can_request": service::is_teacher_of(user, &s.model) && g.status == service::PUBLISHED,
    });
    if let (Value::Object(d), Value::Object(e)) = (&mut data, extra) {
        d.extend(e);
    }
    Ok(ctx.render("grades/grade", "grades.history", data))
}

#[get("/grades/entries/<id>?<sent>")]
pub async fn grade_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Grades>,
    user: &CurrentUser,
    state: &State<AppState>,
    id: i64,
    sent: Option<bool>,
) -> AppResult<Template> {
    let notice = sent.map(|_| ctx.t("grades.request_sent"));
    grade_page_view(&ctx, state, user, id, json!({"notice": notice})).await
}

#[post("/grades/entries/<id>/change-requests", data = "<form>")]
pub async fn change_submit(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Grades>,
    who: Perm<'_, can::EnterOwnGrades>,
    state: &State<AppState>,
    id: i64,
    form: Csrf<ChangeForm>,
) -> PageResult {
    changes::grade_with_section(&state.db, id).await?;
    let input = ChangeIn {
        new_score: Some(Value::String(form.new_score.clone())),
        reason: Some(form.reason.clone()),
    };
    match changes::request(&state.db, &who, id, &input).await {
        Ok(_) => Ok(Ok(Redirect::to(format!("/grades/entries/{id}?sent=true")))),
        Err(e @ (AppError::Unprocessable { .. } | AppError::Conflict { .. })) => {
            let page = grade_page_view(&ctx, state, &who, id, json!({"form_error": ctx.lang.error(&e), "form": {"new_score": form.new_score, "reason": form.reason}})).await?;
            Ok(Err((Status::UnprocessableEntity, page)))
        }
        Err(e) => Err(e),
    }
}

#[get("/grades/changes?<status>")]
pub async fn changes_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Grades>,
    _who: Perm<'_, can::ApproveGradeChanges>,
    state: &State<AppState>,
    status: Option<&str>,
) -> AppResult<Template> {
    let status = match status {
        Some(s @ (changes::APPROVED | changes::REJECTED)) => s,
        _ => changes::PENDING,
    };
    let rows = changes::change_rows(&state.db, None, Some(status)).await?;
    Ok(ctx.render(
        "grades/changes",
        "grades.changes",
        json!({"rows": rows, "status": status}),
    ))
}

#[post("/grades/changes/<id>/<decision>", data = "<form>")]
pub async fn decide_submit(
    _on: ModuleOn<on::Grades>,
    who: Perm<'_, can::ApproveGradeChanges>,
    state: &State<AppState>,
    id: i64,
    decision: &str,
    form: Csrf<DecisionForm>,
) -> AppResult<Redirect> {
    let approve = match decision {
        "approve" => true,
        "reject" => false,
        _ => return Err(AppError::NotFound),
    };
    changes::decide(
        &state.db,
        &who,
        id,
        approve,
        &DecisionIn {
            note: Some(form.note.clone()),
        },
    )
    .await?;
    Ok(Redirect::to("/grades/changes"))
}

async fn transcript_view(ctx: &Ctx<'_>, state: &AppState, id: i64) -> AppResult<Template> {
    let db = &state.db;
    let t = transcript::transcript(db, id).await?;
    Ok(ctx.render(
        "grades/transcript",
        "grades.transcript",
        json!({"t": t, "today": chrono::Utc::now().date_naive().to_string()}),
    ))
}

#[get("/students/<id>/transcript")]
pub async fn transcript_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Grades>,
    user: &CurrentUser,
    state: &State<AppState>,
    id: i64,
) -> AppResult<Template> {
    crate::students::service::authorize_read(&state.db, user, id, "grades.transcript").await?;
    transcript_view(&ctx, state, id).await
}

#[get("/me/transcript")]
pub async fn my_transcript(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Grades>,
    who: Perm<'_, can::ViewOwnRecord>,
    state: &State<AppState>,
) -> AppResult<Template> {
    let id = who.student_id.ok_or(AppError::NotFound)?;
    transcript_view(&ctx, state, id).await
}

fn stats_data(s: &stats::Stats) -> Value {
    json!({
        "s": s,
        "pass_pct": s.pass_rate.map(|p| format!("{:.1}%", p * 100.0)),
        "histogram_svg": charts::histogram(&s.histogram),
    })
}

#[get("/grades/sections/<id>/statistics")]
pub async fn section_stats_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Grades>,
    user: &CurrentUser,
    state: &State<AppState>,
    id: i64,
) -> AppResult<Template> {
    let (s, st) = service::section_statistics(&state.db, user, id).await?;
    let title = format!("{}-{}", s.course.code, s.model.section_no);
    Ok(ctx.render(
        "grades/statistics",
        "grades.statistics",
        json!({"heading": title, "stats": stats_data(&st), "section_id": id, "course_id": s.course.id}),
    ))
}

#[get("/grades/statistics?<course>&<term>&<department>")]
pub async fn stats_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Grades>,
    user: &CurrentUser,
    state: &State<AppState>,
    course: Option<i64>,
    term: Option<i64>,
    department: Option<i64>,
) -> AppResult<Template> {
    let scope = Scope {
        section: None,
        course,
        term,
        department,
    };
    let stats::Overview {
        scope,
        statistics: st,
        sections,
        trend,
        as_of,
    } = stats::overview(&state.db, user, scope).await?;
    let pickers = if user.can(Permission::ViewAllGrades) {
        json!(stats::pickers(&state.db, ctx.lang).await?)
    } else {
        Value::Null
    };
    Ok(ctx.render(
        "grades/statistics",
        "grades.statistics",
        json!({
            "stats": stats_data(&st),
            "scope": scope,
            "as_of": as_of,
            "pickers": pickers,
            "sections": sections,
            "comparison_svg": (!sections.is_empty()).then(|| charts::comparison(&sections)),
            "trend": trend,
            "trend_svg": (trend.len() > 1).then(|| charts::trend(&trend)),
        }),
    ))
}

/// The grading-scales page: every scale with its bands, and a form to add one (optionally as
/// the new default). Scales are kept, never edited in place, so published grades keep their
/// meaning.
async fn scales_view(
    ctx: &Ctx<'_>,
    state: &AppState,
    form: &ScaleForm<'_>,
    error: Option<String>,
) -> AppResult<Template> {
    let default_id = scale::default_scale(&state.db).await?.id;
    let scales = scale::all(&state.db).await?;
    Ok(ctx.render(
        "grades/scales",
        "grades.scales.title",
        json!({"scales": scales, "default_id": default_id, "error": error,
               "v": {"name": form.name, "pass_mark": form.pass_mark, "bands": form.bands,
                     "make_default": form.make_default}}),
    ))
}

#[get("/grades/scales")]
pub async fn scales_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Grades>,
    _who: Perm<'_, can::ManageCourses>,
    state: &State<AppState>,
) -> AppResult<Template> {
    let blank = ScaleForm {
        pass_mark: "60",
        ..Default::default()
    };
    scales_view(&ctx, state, &blank, None).await
}

#[post("/grades/scales", data = "<form>")]
pub async fn scale_submit(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Grades>,
    who: Perm<'_, can::ManageCourses>,
    state: &State<AppState>,
    form: Csrf<ScaleForm<'_>>,
) -> AppResult<Result<Redirect, (Status, Template)>> {
    let outcome = match form.scale() {
        Ok(s) => scale::create(&state.db, who.id, &s, form.make_default).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(_) => Ok(Ok(Redirect::to("/grades/scales"))),
        Err(e @ (AppError::Unprocessable { .. } | AppError::Conflict { .. })) => {
            let again = scales_view(&ctx, state, &form, Some(ctx.lang.error(&e))).await?;
            Ok(Err((Status::UnprocessableEntity, again)))
        }
        Err(e) => Err(e),
    }
}
