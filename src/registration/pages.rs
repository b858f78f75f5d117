//! Registration from the pages: add, drop, swap, my registrations and the weekly timetable;
//! the registrar's holds page; a section's roster.

use super::forms::{AddForm, HoldForm, HoldsNotice, OverrideForm, SwapForm};
use super::service::{self, MyRegistration, own_student};
use super::{holds, roster};
use crate::access::{ModuleOn, Perm, can, on};
use crate::auth::CurrentUser;
use crate::courses::timetable::meeting_label;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::state::AppState;
use crate::web::Ctx;
use crate::web::csrf::Csrf;
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect};
use rocket::{State, get, post};
use rocket_dyn_templates::Template;
use serde_json::{Value, json};

/// A week of 12 periods × 7 days; each cell lists what meets then.
fn timetable(regs: &[MyRegistration], lang: crate::i18n::Lang) -> Vec<Vec<Vec<Value>>> {
    let mut grid = vec![vec![Vec::new(); 7]; 12];
    for r in regs {
        for m in &r.meetings {
            for period in m.start_period.max(1)..=m.end_period.min(12) {
                let (Ok(p), Ok(d)) = (usize::try_from(period - 1), usize::try_from(m.weekday - 1))
                else {
                    continue;
                };
                if let Some(cell) = grid.get_mut(p).and_then(|row| row.get_mut(d)) {
                    let title = if lang == crate::i18n::Lang::Zh {
                        &r.title_zh
                    } else {
                        &r.title_en
                    };
                    cell.push(json!({"code": r.course_code, "title": title, "room": r.room, "status": r.status,
                                     "status_label": lang.t(&format!("registration.{}", r.status)),
                                     "weeks": format!("{}-{}", m.start_week, m.end_week)}));
                }
            }
        }
    }
    grid
}

#[get("/registrations?<flash>&<error>")]
pub async fn page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Courses>,
    user: Perm<'_, can::RegisterSelf>,
    state: &State<AppState>,
    flash: Option<&str>,
    error: Option<&str>,
    refusal: Option<FlashMessage<'_>>,
) -> AppResult<Template> {
    let error = crate::web::flash_or_code(&ctx, refusal, "registration.err", error);
    let student = own_student(&user)?;
    let service::MyTerm {
        term,
        regs,
        alternatives,
    } = service::my_term(&state.db, student).await?;
    let credits: f64 = regs
        .iter()
        .filter(|r| r.status == service::ENROLLED)
        .map(|r| r.credits)
        .sum();
    let days: Vec<String> = (1..=7).map(|d| ctx.t(&format!("weekday.{d}"))).collect();
    let periods: Vec<String> = (1..=12)
        .map(|p| crate::courses::timetable::clock(p, p).unwrap_or_default())
        .collect();
    let rows: Vec<Value> = regs
        .iter()
        .map(|r| {
            let mut row = json!(r);
            let title = if ctx.lang == crate::i18n::Lang::Zh {
                &r.title_zh
            } else {
                &r.title_en
            };
            let name = format!("{}-{} {title}", r.course_code, r.section_no);
            let alts: Vec<Value> = alternatives
                .get(&r.id)
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|a| {
                    let times: Vec<String> = a
                        .meetings
                        .iter()
                        .map(|m| meeting_label(ctx.lang, m.weekday, m.start_period, m.end_period))
                        .collect();
                    json!({"section_id": a.section_id, "section_no": a.section_no,
                           "seats_left": a.seats_left, "times": times.join("; ")})
                })
                .collect();
            row["alternatives"] = json!(alts);
            row["name"] = json!(name);
            row["drop_question"] = json!(
                ctx.t("registration.confirm_drop_named")
                    .replace("{course}", &name)
            );
            row["swap_question"] = json!(
                ctx.t("registration.confirm_swap_named")
                    .replace("{course}", &name)
            );
            row
        })
        .collect();
    Ok(ctx.render(
        "registration/mine",
        "registration.title",
        json!({"regs": rows, "term": term, "credits": credits, "grid": timetable(&regs, ctx.lang), "days": days, "periods": periods,
               "flash": ctx.known("registration.flash", flash),
               "error": error}),
    ))
}

/// The message for a refusal, in the page's language.
fn refusal_message(ctx: &Ctx<'_>, e: &AppError) -> String {
    ctx.lang
        .coded(e.code(), e.args())
        .or_else(|| ctx.known("registration.err", Some(e.code())))
        .unwrap_or_else(|| ctx.lang.error(e))
}

/// A catalogue query string to return to, as the catalogue wrote it (url-encoded pairs),
/// ending in `&`; anything else, or an earlier outcome in it, is left out.
fn catalogue_query(back: &str) -> Option<String> {
    let ok = |c: char| c.is_ascii_alphanumeric() || "%&=._+-~".contains(c);
    if back.is_empty() || back.len() > 1000 || !back.chars().all(ok) {
        return None;
    }
    let kept: String = back
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("flash=") && !p.starts_with("refused="))
        .map(|p| format!("{p}&"))
        .collect();
    Some(kept)
}

/// Back to the list with the refusal: its code in the URL, its words in a flash cookie (a
/// crafted `?error=` link cannot put its own words in the alert).
fn refused(ctx: &Ctx<'_>, e: &AppError) -> Flash<Redirect> {
    Flash::error(
        Redirect::to(format!(
            "/registrations?error={}",
            crate::web::url_encode(e.code())
        )),
        refusal_message(ctx, e),
    )
}

#[post("/registrations", data = "<form>")]
pub async fn page_add(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Courses>,
    user: Perm<'_, can::RegisterSelf>,
    state: &State<AppState>,
    form: Csrf<AddForm<'_>>,
) -> AppResult<Result<Redirect, Flash<Redirect>>> {
    let student = own_student(&user)?;
    let result = service::add(&state.db, student, form.section_id, Some(user.id)).await;
    if let Some(back) = catalogue_query(form.back) {
        // The student stays on their search, with the outcome as a code the page translates.
        return match result {
            Ok(reg) => Ok(Ok(Redirect::to(format!(
                "/courses?{back}flash={}",
                reg.status
            )))),
            Err(e @ (AppError::Conflict { .. } | AppError::Unprocessable { .. })) => Ok(Ok(
                Redirect::to(format!("/courses?{back}refused={}", e.code())),
            )),
            Err(e) => Err(e),
        };
    }
    match result {
        Ok(reg) => Ok(Ok(Redirect::to(format!(
            "/registrations?flash={}",
            reg.status
        )))),
        // NOTE: a resubmitted form lands here harmlessly: the first one already registered.
        Err(e @ (AppError::Conflict { .. } | AppError::Unprocessable { .. })) => {
            Ok(Err(refused(&ctx, &e)))
        }
        Err(e) => Err(e),
    }
}

#[post("/registrations/<id>/drop", data = "<_form>")]
pub async fn page_drop(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Courses>,
    user: Perm<'_, can::RegisterSelf>,
    state: &State<AppState>,
    id: i64,
    _form: Csrf<crate::web::CsrfForm<'_>>,
) -> AppResult<Result<Redirect, Flash<Redirect>>> {
    let student = own_student(&user)?;
    match service::drop(&state.db, student, id, Some(user.id)).await {
        Ok(_) => Ok(Ok(Redirect::to("/registrations?flash=dropped"))),
        Err(e @ (AppError::Unprocessable { .. } | AppError::NotFound)) => {
            Ok(Err(refused(&ctx, &e)))
        }
        Err(e) => Err(e),
    }
}

/// Swap from the page: the old seat is kept when the new section cannot be had.
#[post("/registrations/<id>/swap", data = "<form>")]
pub async fn page_swap(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Courses>,
    user: Perm<'_, can::RegisterSelf>,
    state: &State<AppState>,
    id: i64,
    form: Csrf<SwapForm>,
) -> AppResult<Result<Redirect, Flash<Redirect>>> {
    let student = own_student(&user)?;
    match service::swap(&state.db, student, id, form.to_section_id, Some(user.id)).await {
        Ok(_) => Ok(Ok(Redirect::to("/registrations?flash=swapped"))),
        Err(
            e @ (AppError::Conflict { .. } | AppError::Unprocessable { .. } | AppError::NotFound),
        ) => Ok(Err(refused(&ctx, &e))),
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------- the registrar's page

/// Holds and overrides of one student, with the forms to place, lift and grant them.
#[get("/students/<id>/holds?<notice..>")]
pub async fn holds_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Courses>,
    _who: Perm<'_, can::ManageRegistrations>,
    state: &State<AppState>,
    id: i64,
    notice: HoldsNotice<'_>,
    flash: Option<FlashMessage<'_>>,
) -> AppResult<Template> {
    let error = crate::web::flash_or_code(&ctx, flash, "holds.err", notice.error);
    let data = holds::student_holds(&state.db, id).await?;
    Ok(ctx.render(
        "registration/holds",
        "holds.title",
        json!({"student": data.student, "holds": data.holds, "overrides": data.overrides, "error": error,
               "done": ctx.known("holds.done", notice.done)}),
    ))
}

/// Back to the student's holds page, with a confirmation or the reason it was refused.
/// NOTE: the reason travels in a flash cookie, never as query text the page would show (a
/// crafted `?error=` link could otherwise put any words in an official-looking alert).
fn back(
    lang: Lang,
    student: i64,
    outcome: AppResult<&str>,
) -> AppResult<Result<Redirect, Flash<Redirect>>> {
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
            lang.error(&e),
        ))),
        Err(e) => Err(e),
    }
}

#[post("/students/<id>/holds", data = "<form>")]
pub async fn place_hold_submit(
    lang: Lang,
    _on: ModuleOn<on::Courses>,
    who: Perm<'_, can::ManageRegistrations>,
    state: &State<AppState>,
    id: i64,
    form: Csrf<HoldForm<'_>>,
) -> AppResult<Result<Redirect, Flash<Redirect>>> {
    let outcome = holds::place_hold(&state.db, who.id, id, form.reason).await;
    back(lang, id, outcome.map(|_| "hold_placed"))
}

#[post("/holds/<id>/lift", data = "<_form>")]
pub async fn lift_hold_submit(
    lang: Lang,
    _on: ModuleOn<on::Courses>,
    who: Perm<'_, can::ManageRegistrations>,
    state: &State<AppState>,
    id: i64,
    _form: Csrf<crate::web::CsrfForm<'_>>,
) -> AppResult<Result<Redirect, Flash<Redirect>>> {
    let student = holds::hold_student(&state.db, id).await?;
    let outcome = holds::lift_hold(&state.db, who.id, id).await;
    back(lang, student, outcome.map(|_| "hold_lifted"))
}

#[post("/students/<id>/overrides", data = "<form>")]
pub async fn override_submit(
    lang: Lang,
    _on: ModuleOn<on::Courses>,
    who: Perm<'_, can::ManageRegistrations>,
    state: &State<AppState>,
    id: i64,
    form: Csrf<OverrideForm<'_>>,
) -> AppResult<Result<Redirect, Flash<Redirect>>> {
    let outcome =
        holds::grant_override_named(&state.db, who.id, id, form.section, form.kind, form.reason)
            .await;
    back(lang, id, outcome.map(|_| "override_granted"))
}

#[get("/sections/<id>/roster")]
pub async fn roster_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Courses>,
    user: &CurrentUser,
    state: &State<AppState>,
    id: i64,
) -> AppResult<Template> {
    let (rows, section) = roster::roster_with_section(&state.db, user, id).await?;
    Ok(ctx.render(
        "courses/roster",
        "roster.title",
        json!({"roster": rows, "section": section}),
    ))
}
