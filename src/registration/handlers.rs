//! Registration over the API and from the pages: add, drop, swap, my registrations and the
//! weekly timetable.

use super::idempotency::IdempotencyKey;
use super::rules::meeting_label;
use super::service::{self, Added, MyRegistration};
use crate::access::{ModuleOn, Perm, can, on};
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::Ctx;
use rocket::form::Form;
use rocket::http::{ContentType, Status};
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect};
use rocket::serde::json::Json;
use rocket::{State, delete, get, post};
use rocket_dyn_templates::Template;
use serde::Deserialize;
use serde_json::{Value, json};

fn own_student(user: &CurrentUser) -> AppResult<i64> {
    user.student_id.ok_or_else(|| {
        AppError::unprocessable("not_a_student", "only students register for sections")
    })
}

#[get("/registrations?<term>")]
pub async fn api_list(
    _on: ModuleOn<on::Courses>,
    user: Perm<'_, can::RegisterSelf>,
    state: &State<AppState>,
    term: Option<&str>,
) -> AppResult<Json<Vec<MyRegistration>>> {
    let student = own_student(&user)?;
    let term_id = match term {
        Some(t) => Some(
            crate::courses::service::resolve_term(&state.db, Some(t))
                .await?
                .ok_or(AppError::NotFound)?
                .id,
        ),
        None => None,
    };
    Ok(Json(
        service::list_for_student(&state.db, student, term_id).await?,
    ))
}

#[derive(Deserialize)]
pub struct AddBody {
    section_id: i64,
}

/// The answer of an add: 201 with the registration, or the first answer again for a known key.
pub struct AddAnswer(Status, String);

impl<'r> rocket::response::Responder<'r, 'static> for AddAnswer {
    fn respond_to(self, _req: &'r rocket::Request<'_>) -> rocket::response::Result<'static> {
        rocket::Response::build()
            .status(self.0)
            .header(ContentType::JSON)
            .sized_body(self.1.len(), std::io::Cursor::new(self.1))
            .ok()
    }
}

#[post("/registrations", format = "json", data = "<body>")]
pub async fn api_add(
    _on: ModuleOn<on::Courses>,
    user: Perm<'_, can::RegisterSelf>,
    state: &State<AppState>,
    key: IdempotencyKey,
    body: Json<AddBody>,
) -> AppResult<AddAnswer> {
    let student = own_student(&user)?;
    let reg = match key.0 {
        Some(k) => match service::add_once(&state.db, student, body.section_id, user.id, &k).await?
        {
            Added::New(reg) => reg,
            Added::Replayed(status, body) => {
                return Ok(AddAnswer(
                    Status::from_code(status).unwrap_or(Status::Created),
                    body,
                ));
            }
        },
        None => service::add(&state.db, student, body.section_id, Some(user.id)).await?,
    };
    Ok(AddAnswer(
        Status::Created,
        serde_json::to_string(&reg).map_err(AppError::internal)?,
    ))
}

#[delete("/registrations/<id>")]
pub async fn api_drop(
    _on: ModuleOn<on::Courses>,
    user: Perm<'_, can::RegisterSelf>,
    state: &State<AppState>,
    id: i64,
) -> AppResult<Json<Value>> {
    let student = own_student(&user)?;
    let promoted = service::drop(&state.db, student, id, Some(user.id)).await?;
    Ok(Json(
        json!({"id": id, "status": "dropped", "promoted_student_id": promoted}),
    ))
}

#[derive(Deserialize)]
pub struct SwapBody {
    from_registration_id: i64,
    to_section_id: i64,
}

#[post("/registrations/swap", format = "json", data = "<body>")]
pub async fn api_swap(
    _on: ModuleOn<on::Courses>,
    user: Perm<'_, can::RegisterSelf>,
    state: &State<AppState>,
    body: Json<SwapBody>,
) -> AppResult<(Status, Json<service::Registration>)> {
    let student = own_student(&user)?;
    let reg = service::swap(
        &state.db,
        student,
        body.from_registration_id,
        body.to_section_id,
        Some(user.id),
    )
    .await?;
    Ok((Status::Created, Json(reg)))
}

// ---------------------------------------------------------------- pages

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
    let term = crate::courses::service::resolve_term(&state.db, None).await?;
    let regs = service::list_for_student(&state.db, student, term.as_ref().map(|t| t.id)).await?;
    let credits: f64 = regs
        .iter()
        .filter(|r| r.status == service::ENROLLED)
        .map(|r| r.credits)
        .sum();
    let days: Vec<String> = (1..=7).map(|d| ctx.t(&format!("weekday.{d}"))).collect();
    let periods: Vec<String> = (1..=12)
        .map(|p| super::rules::clock(p, p).unwrap_or_default())
        .collect();
    let alternatives = service::swap_alternatives(&state.db, &regs).await?;
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

#[derive(rocket::FromForm)]
pub struct AddForm<'a> {
    section_id: i64,
    /// The catalogue search the student added from (its query string), to return to.
    #[field(default = "")]
    back: &'a str,
    #[field(name = "_csrf", default = "")]
    csrf: &'a str,
}

/// The message for a refusal, in the page's language.
fn refusal_message(ctx: &Ctx<'_>, e: &AppError) -> String {
    let key = format!("registration.err.{}", e.code());
    let generic = ctx.t(&key);
    if generic == key {
        e.public_message()
    } else {
        format!("{generic} ({})", e.public_message())
    }
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
    form: Form<AddForm<'_>>,
) -> AppResult<Result<Redirect, Flash<Redirect>>> {
    user.check_csrf(form.csrf)?;
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

#[post("/registrations/<id>/drop", data = "<form>")]
pub async fn page_drop(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Courses>,
    user: Perm<'_, can::RegisterSelf>,
    state: &State<AppState>,
    id: i64,
    form: Form<crate::web::CsrfForm<'_>>,
) -> AppResult<Result<Redirect, Flash<Redirect>>> {
    user.check_csrf(form.csrf)?;
    let student = own_student(&user)?;
    match service::drop(&state.db, student, id, Some(user.id)).await {
        Ok(_) => Ok(Ok(Redirect::to("/registrations?flash=dropped"))),
        Err(e @ (AppError::Unprocessable { .. } | AppError::NotFound)) => {
            Ok(Err(refused(&ctx, &e)))
        }
        Err(e) => Err(e),
    }
}

#[derive(rocket::FromForm)]
pub struct SwapForm<'a> {
    to_section_id: i64,
    #[field(name = "_csrf", default = "")]
    csrf: &'a str,
}

/// Swap from the page: the old seat is kept when the new section cannot be had.
#[post("/registrations/<id>/swap", data = "<form>")]
pub async fn page_swap(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Courses>,
    user: Perm<'_, can::RegisterSelf>,
    state: &State<AppState>,
    id: i64,
    form: Form<SwapForm<'_>>,
) -> AppResult<Result<Redirect, Flash<Redirect>>> {
    user.check_csrf(form.csrf)?;
    let student = own_student(&user)?;
    match service::swap(&state.db, student, id, form.to_section_id, Some(user.id)).await {
        Ok(_) => Ok(Ok(Redirect::to("/registrations?flash=swapped"))),
        Err(
            e @ (AppError::Conflict { .. } | AppError::Unprocessable { .. } | AppError::NotFound),
        ) => Ok(Err(refused(&ctx, &e))),
        Err(e) => Err(e),
    }
}

pub fn api_routes() -> Vec<rocket::Route> {
    rocket::routes![api_list, api_add, api_drop, api_swap]
}

pub fn page_routes() -> Vec<rocket::Route> {
    rocket::routes![page, page_add, page_drop, page_swap]
}
