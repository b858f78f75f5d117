//! Care pages: the work list, recording interventions, the effect report.

use super::forms::CareForm;
use super::service::{self as care, KINDS, LEVELS, WorklistQuery};
use crate::access::{ModuleOn, Perm, can, on};
use crate::charts::bar_chart;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::state::AppState;
use crate::students::query::{Reach, at_risk_reach};
use crate::web::Ctx;
use crate::web::csrf::Csrf;
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::{State, get, post};
use rocket_dyn_templates::Template;
use serde_json::{Value, json};

type Who<'r> = Perm<'r, can::RecordInterventions>;

/// What the "record care" form (`interaction/care_form`) offers on both lists: today's date
/// and the kinds of care in the reader's language.
fn care_form_values(ctx: &Ctx<'_>) -> (String, Vec<Value>) {
    let kinds = KINDS
        .iter()
        .map(|k| json!({"code": k, "label": ctx.t(&format!("interaction.care.kind.{k}"))}))
        .collect();
    (
        crate::interaction::util::now().date_naive().to_string(),
        kinds,
    )
}

/// The work list's place: level filter and page, kept across saving.
fn place(level: Option<&str>, page: Option<u64>) -> WorklistQuery {
    WorklistQuery {
        level: level.filter(|l| LEVELS.contains(l)).map(str::to_string),
        page,
        per_page: None,
    }
}

/// The query string of a place (`level=high&page=2&`), for links and the redirect after saving.
fn place_query(q: &WorklistQuery) -> String {
    let mut out = String::new();
    if let Some(l) = &q.level {
        out.push_str(&format!("level={l}&"));
    }
    out
}

async fn page(
    ctx: &Ctx<'_>,
    state: &AppState,
    who: &Who<'_>,
    q: &WorklistQuery,
    saved: bool,
    error: Option<String>,
) -> AppResult<Template> {
    let zh = ctx.lang == Lang::Zh;
    let list = care::audited_worklist(&state.db, who, q, zh).await?;
    let items: Vec<Value> = list
        .items
        .iter()
        .map(|r| {
            json!({"r": r, "name": if zh { &r.name_zh } else { &r.name_en },
                   "level_label": ctx.t(&format!("interaction.care.level.{}", r.level))})
        })
        .collect();
    let levels: Vec<Value> = LEVELS
        .iter()
        .map(|l| json!({"code": l, "label": ctx.t(&format!("interaction.care.level.{l}"))}))
        .collect();
    let (today, kinds) = care_form_values(ctx);
    Ok(ctx.render(
        "interaction/care",
        "interaction.care.title",
        json!({"items": items, "error": error, "saved": saved,
               "all_scope": at_risk_reach(who) == Reach::All,
               "today": today,
               "list": {"page": list.page, "total": list.total}, "pages": list.pages(),
               "query": place_query(q), "level": q.level, "levels": levels,
               "kinds": kinds}),
    ))
}

#[get("/care?<level>&<page>&<saved>")]
pub async fn care_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Messages>,
    who: Who<'_>,
    state: &State<AppState>,
    level: Option<&str>,
    page: Option<u64>,
    saved: Option<bool>,
) -> AppResult<Template> {
    let q = place(level, page);
    self::page(&ctx, state, &who, &q, saved.unwrap_or(false), None).await
}

#[post("/care", data = "<form>")]
pub async fn care_submit(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Messages>,
    who: Who<'_>,
    state: &State<AppState>,
    form: Csrf<CareForm>,
) -> AppResult<Result<Redirect, (Status, Template)>> {
    let n = form.intervention(form.flag_id);
    let q = place(form.level.as_deref(), form.page);
    match care::record(&state.db, &who, &n).await {
        Ok(_) => {
            let page = q.page.unwrap_or(1).clamp(1, crate::paging::MAX_PAGE);
            Ok(Ok(Redirect::to(format!(
                "/care?{}page={page}&saved=true",
                place_query(&q)
            ))))
        }
        Err(e @ AppError::Unprocessable { .. }) => {
            let message = ctx.lang.error(&e);
            let p = page(&ctx, state, &who, &q, false, Some(message)).await?;
            Ok(Err((Status::UnprocessableEntity, p)))
        }
        Err(e) => Err(e),
    }
}

#[get("/care/effect")]
pub async fn effect_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Messages>,
    _who: Who<'_>,
    state: &State<AppState>,
) -> AppResult<Template> {
    let e = care::effect(&state.db).await?;
    let label = |l: &str| {
        if l == "all" {
            ctx.t("interaction.care.all_levels")
        } else {
            ctx.t(&format!("interaction.care.level.{l}"))
        }
    };
    let mut bars = Vec::new();
    for c in &e.comparisons {
        if let Some(v) = c.care.mean_change {
            bars.push((
                format!(
                    "{} · {}",
                    label(&c.level),
                    ctx.t("interaction.care.with_care")
                ),
                v,
            ));
        }
        if let Some(v) = c.no_care.mean_change {
            bars.push((
                format!(
                    "{} · {}",
                    label(&c.level),
                    ctx.t("interaction.care.without_care")
                ),
                v,
            ));
        }
    }
    // NOTE: the bar chart draws magnitudes; signs are in the labels' table below.
    let abs: Vec<(String, f64)> = bars
        .iter()
        .map(|(l, v)| (format!("{l} ({v:+.1})"), v.abs()))
        .collect();
    let rows: Vec<Value> = e
        .comparisons
        .iter()
        .map(|c| json!({"level": label(&c.level), "c": c}))
        .collect();
    Ok(ctx.render(
        "interaction/care_effect",
        "interaction.care.effect",
        json!({"e": e, "rows": rows, "chart": bar_chart(&abs, "")}),
    ))
}

async fn referrals_page(
    ctx: &Ctx<'_>,
    state: &AppState,
    who: &Who<'_>,
    page: Option<u64>,
    saved: bool,
    error: Option<String>,
) -> AppResult<Template> {
    let zh = ctx.lang == Lang::Zh;
    let list = care::referrals(&state.db, who, crate::paging::PageReq::new(page, None)).await?;
    let items: Vec<Value> = list
        .items
        .iter()
        .map(|r| {
            json!({"r": r, "name": if zh { &r.name_zh } else { &r.name_en },
                   "reason": if zh { &r.reason_zh } else { &r.reason_en },
                   "group": if zh { &r.group_zh } else { &r.group_en }})
        })
        .collect();
    let (today, kinds) = care_form_values(ctx);
    Ok(ctx.render(
        "interaction/care_referrals",
        "interaction.care.referrals.title",
        json!({"items": items, "error": error, "saved": saved,
               "all_scope": at_risk_reach(who) == Reach::All,
               "today": today,
               "list": {"page": list.page, "total": list.total}, "pages": list.pages(),
               "query": "",
               "kinds": kinds}),
    ))
}

/// The students handed to care as a group (a cell of the value matrix) and not cared for yet.
#[get("/care/referrals?<page>&<saved>")]
pub async fn referrals_list_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Messages>,
    who: Who<'_>,
    state: &State<AppState>,
    page: Option<u64>,
    saved: Option<bool>,
) -> AppResult<Template> {
    referrals_page(&ctx, state, &who, page, saved.unwrap_or(false), None).await
}

/// Records care for a referred student (which closes their referral), then the list again.
#[post("/care/referrals", data = "<form>")]
pub async fn referrals_submit(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Messages>,
    who: Who<'_>,
    state: &State<AppState>,
    form: Csrf<CareForm>,
) -> AppResult<Result<Redirect, (Status, Template)>> {
    let n = form.intervention(None);
    match care::record(&state.db, &who, &n).await {
        Ok(_) => {
            let page = form.page.unwrap_or(1).clamp(1, crate::paging::MAX_PAGE);
            Ok(Ok(Redirect::to(format!(
                "/care/referrals?page={page}&saved=true"
            ))))
        }
        Err(e @ AppError::Unprocessable { .. }) => {
            let message = ctx.lang.error(&e);
            let p = referrals_page(&ctx, state, &who, form.page, false, Some(message)).await?;
            Ok(Err((Status::UnprocessableEntity, p)))
        }
        Err(e) => Err(e),
    }
}
