//! The analytics pages: the value matrix (cells, thresholds, movement, links to each cell's
//! student list), its settings (administrators), and the lifecycle over time.

use super::charts::{flow_chart, stacked_bars};
use super::forms::ValueSettingsForm;
use super::portfolio::{PortfolioQuery, PortfolioSort, SortDir};
use super::retention::RetentionQuery;
use super::service;
use super::settings::{self, CELLS, ValueSettings, Weights};
use super::store::SummaryQuery;
use super::tables;
use crate::access::{ModuleOn, Perm, Permission, can, on};
use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::i18n::Lang;
use crate::state::AppState;
use crate::students::lifecycle::Stage;
use crate::web::Ctx;
use crate::web::csrf::Csrf;
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::{State, get, post};
use rocket_dyn_templates::Template;
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn pick<'a>(lang: Lang, zh: &'a str, en: &'a str) -> &'a str {
    if lang == Lang::Zh { zh } else { en }
}

#[get("/analytics/value-matrix?<computed>&<referred>&<already>")]
pub async fn value_matrix_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Students>,
    user: &CurrentUser,
    state: &State<AppState>,
    computed: Option<usize>,
    referred: Option<u64>,
    already: Option<u64>,
) -> AppResult<Template> {
    let (m, s) = service::matrix(&state.db, user).await?;
    let lang = ctx.lang;
    let name_of = |code: &str| {
        m.cells
            .iter()
            .find(|c| c.code == code)
            .map(|c| pick(lang, &c.name_zh, &c.name_en).to_string())
            .unwrap_or_else(|| code.to_string())
    };
    let cells: BTreeMap<String, Value> = m
        .cells
        .iter()
        .map(|c| {
            (
                c.code.clone(),
                json!({"code": c.code, "count": c.count,
                       "name": pick(lang, &c.name_zh, &c.name_en),
                       "strategy": pick(lang, &c.strategy_zh, &c.strategy_en),
                       "share": if m.total > 0 { format!("{:.1}", c.count as f64 / m.total as f64 * 100.0) } else { "0".into() }}),
            )
        })
        .collect();
    let flows: Vec<(String, String, i64)> = m
        .movement
        .iter()
        .map(|f| (f.from.clone(), f.to.clone(), f.count))
        .collect();
    let labels: Vec<String> = CELLS.iter().map(|c| name_of(c)).collect();
    let term_name = |t: &super::value::TermRef| pick(lang, &t.name_zh, &t.name_en).to_string();
    let chart = (!flows.is_empty()).then(|| {
        flow_chart(
            &CELLS,
            &labels,
            &flows,
            &ctx.t("analytics.value.flow_title"),
            &crate::i18n::fill(
                &ctx.t("analytics.value.flow_desc"),
                &[
                    (
                        "from",
                        m.previous_term.as_ref().map(term_name).unwrap_or_default(),
                    ),
                    ("to", m.term.as_ref().map(term_name).unwrap_or_default()),
                ],
            ),
        )
    });
    let flow_rows: Vec<Value> = m
        .movement
        .iter()
        .map(|f| json!({"from": name_of(&f.from), "to": name_of(&f.to), "count": f.count, "stayed": f.from == f.to}))
        .collect();
    Ok(ctx.render(
        "analytics/value_matrix",
        "analytics.value.title",
        json!({
            "matrix_rows": [
                {"label": ctx.t("analytics.axis.standing_high"), "cells": [cells.get("engage"), cells.get("develop")]},
                {"label": ctx.t("analytics.axis.standing_low"), "cells": [cells.get("rescue"), cells.get("support")]},
            ],
            "total": m.total,
            "standing_at": s.standing_at,
            "relationship_at": s.relationship_at,
            "term": m.term.as_ref().map(|t| json!({"name": term_name(t), "computed_at": t.computed_at})),
            "previous": m.previous_term.as_ref().map(term_name),
            "flow_chart": chart,
            "flows": flow_rows,
            "advisor_only": service::advisor_only(user)?,
            "can_admin": user.can(Permission::RunMining),
            "can_message": user.can(Permission::UseMessages) && ctx.modules.contains(&crate::access::Module::Messages),
            "computed": computed,
            "can_care": user.can(Permission::RecordInterventions) && ctx.modules.contains(&crate::access::Module::Messages),
            "referred": referred.map(|n| crate::i18n::fill(&ctx.t("analytics.value.referred"),
                &[("referred", n.to_string()), ("already", already.unwrap_or(0).to_string())])),
        }),
    ))
}

/// Hands a cell's students to care (the cell's strategy as the reason), then shows the matrix
/// again with how many were handed over.
#[post("/analytics/value-matrix/cells/<cell>/care", data = "<_form>")]
pub async fn value_cell_care_submit(
    _on: ModuleOn<on::Students>,
    _care: ModuleOn<on::Messages>,
    user: Perm<'_, can::RecordInterventions>,
    state: &State<AppState>,
    cell: &str,
    _form: Csrf<crate::web::CsrfForm<'_>>,
) -> AppResult<Redirect> {
    let done = service::hand_cell_to_care(&state.db, &user, cell).await?;
    Ok(Redirect::to(format!(
        "/analytics/value-matrix?referred={}&already={}",
        done.referred, done.already_open
    )))
}

#[post("/analytics/value-matrix/compute", data = "<_form>")]
pub async fn value_compute_submit(
    _on: ModuleOn<on::Students>,
    user: Perm<'_, can::RunMining>,
    state: &State<AppState>,
    _form: Csrf<crate::web::CsrfForm<'_>>,
) -> AppResult<Redirect> {
    let done = service::compute_now(&state.db, &user).await?;
    Ok(Redirect::to(format!(
        "/analytics/value-matrix?computed={}",
        done.students
    )))
}

/// One of the matrix page's tables as CSV (neutralised), in the caller's scope:
/// `?table=cells` (the default) or `?table=movement`.
#[get("/analytics/value-matrix.csv?<table>")]
pub async fn value_matrix_csv(
    _on: ModuleOn<on::Students>,
    user: &CurrentUser,
    state: &State<AppState>,
    table: Option<&str>,
) -> AppResult<crate::students::CsvFile> {
    let table = tables::pick(table, &tables::MATRIX_TABLES)?;
    let (m, _) = service::matrix(&state.db, user).await?;
    Ok(crate::students::CsvFile::new(
        tables::matrix_csv(&m, table)?,
        &format!("value-matrix-{table}.csv"),
    ))
}

fn settings_values(s: &ValueSettings) -> BTreeMap<String, String> {
    let mut v = BTreeMap::new();
    v.insert("standing_at".into(), s.standing_at.to_string());
    v.insert("relationship_at".into(), s.relationship_at.to_string());
    v.insert("credits_per_term".into(), s.credits_per_term.to_string());
    v.insert("schedule_hours".into(), s.schedule_hours.to_string());
    for name in Weights::STANDING.iter().chain(Weights::RELATIONSHIP.iter()) {
        v.insert(format!("w_{name}"), s.weights.get(name).to_string());
    }
    for code in CELLS {
        let c = s.cell(code);
        v.insert(format!("{code}_name_zh"), c.name_zh);
        v.insert(format!("{code}_name_en"), c.name_en);
        v.insert(format!("{code}_strategy_zh"), c.strategy_zh);
        v.insert(format!("{code}_strategy_en"), c.strategy_en);
    }
    v
}

fn settings_page_view(
    ctx: &Ctx<'_>,
    values: &BTreeMap<String, String>,
    errors: &BTreeMap<String, String>,
    saved: bool,
) -> Template {
    let field = |name: &str, label: String, hint: Option<String>| {
        json!({"name": name, "label": label, "hint": hint,
               "value": values.get(name).cloned().unwrap_or_default(),
               "error": errors.get(name).map(|code| ctx.t(&format!("analytics.settings.err.{code}")))})
    };
    let general: Vec<Value> = [
        "standing_at",
        "relationship_at",
        "credits_per_term",
        "schedule_hours",
    ]
    .iter()
    .map(|f| {
        field(
            f,
            ctx.t(&format!("analytics.settings.{f}")),
            Some(ctx.t(&format!("analytics.settings.{f}_hint"))),
        )
    })
    .collect();
    let weights = |names: &[&str]| -> Vec<Value> {
        names
            .iter()
            .map(|n| {
                field(
                    &format!("w_{n}"),
                    ctx.t(&format!("analytics.component.{n}")),
                    Some(ctx.t(&format!("analytics.component.{n}_hint"))),
                )
            })
            .collect()
    };
    let cells: Vec<Value> = CELLS
        .iter()
        .map(|code| {
            let fields: Vec<Value> = ["name_zh", "name_en", "strategy_zh", "strategy_en"]
                .iter()
                .map(|f| {
                    field(
                        &format!("{code}_{f}"),
                        ctx.t(&format!("analytics.settings.{f}")),
                        None,
                    )
                })
                .collect();
            json!({"code": code, "legend": ctx.t(&format!("analytics.cell.{code}")), "fields": fields})
        })
        .collect();
    ctx.render(
        "analytics/settings",
        "analytics.settings.title",
        json!({"groups": [
                   {"legend": ctx.t("analytics.settings.general"), "fields": general},
                   {"legend": ctx.t("analytics.axis.standing"), "fields": weights(&Weights::STANDING)},
                   {"legend": ctx.t("analytics.axis.relationship"), "fields": weights(&Weights::RELATIONSHIP)},
               ],
               "cells": cells, "saved": saved, "has_errors": !errors.is_empty()}),
    )
}

#[get("/analytics/value-matrix/settings?<saved>")]
pub async fn value_settings_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Students>,
    _who: Perm<'_, can::RunMining>,
    state: &State<AppState>,
    saved: Option<bool>,
) -> AppResult<Template> {
    let s = settings::get(&state.db).await?;
    Ok(settings_page_view(
        &ctx,
        &settings_values(&s),
        &BTreeMap::new(),
        saved.unwrap_or(false),
    ))
}

#[post("/analytics/value-matrix/settings", data = "<form>")]
pub async fn value_settings_submit(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Students>,
    who: Perm<'_, can::RunMining>,
    state: &State<AppState>,
    form: Csrf<ValueSettingsForm>,
) -> AppResult<Result<Redirect, (Status, Template)>> {
    let old = settings::get(&state.db).await?;
    match form.parse(&old) {
        Ok(new) => {
            settings::set(&state.db, who.id, &new).await?;
            Ok(Ok(Redirect::to(
                "/analytics/value-matrix/settings?saved=true",
            )))
        }
        Err(errors) => {
            let values: BTreeMap<String, String> = settings_values(&old)
                .into_keys()
                .map(|k| {
                    let v = form.value(&k);
                    (k, v)
                })
                .collect();
            Ok(Err((
                Status::UnprocessableEntity,
                settings_page_view(&ctx, &values, &errors, false),
            )))
        }
    }
}

#[get("/analytics/lifecycle")]
pub async fn lifecycle_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Students>,
    user: &CurrentUser,
    state: &State<AppState>,
) -> AppResult<Template> {
    let r = service::lifecycle_report(&state.db, user).await?;
    let lang = ctx.lang;
    let stages: Vec<String> = Stage::ALL
        .iter()
        .map(|s| ctx.t(&format!("stage.{}", s.code())))
        .collect();
    let term_names: Vec<String> = r
        .terms
        .iter()
        .map(|t| pick(lang, &t.name_zh, &t.name_en).to_string())
        .collect();
    let counts: Vec<Vec<i64>> = r.terms.iter().map(|t| t.counts.clone()).collect();
    let chart = (!r.terms.is_empty()).then(|| {
        stacked_bars(
            &term_names,
            &stages,
            &counts,
            &ctx.t("analytics.lifecycle.chart_title"),
            &ctx.t("analytics.lifecycle.chart_desc"),
        )
    });
    let rows: Vec<Value> = r
        .terms
        .iter()
        .zip(&term_names)
        .enumerate()
        .map(|(i, (t, name))| json!({"n": i + 1, "name": name, "counts": t.counts, "total": t.counts.iter().sum::<i64>()}))
        .collect();
    let pct = |a: i64, b: i64| super::analysis::Recovery::rate(a, b).map(|v| format!("{v:.1}%"));
    let rec = &r.recovery;
    Ok(ctx.render(
        "analytics/lifecycle",
        "analytics.lifecycle.title",
        json!({
            "stages": stages,
            "chart": chart,
            "rows": rows,
            "funnel": r.funnel,
            "funnel_forming": pct(r.funnel.forming, r.funnel.new),
            "funnel_stable": pct(r.funnel.stable, r.funnel.forming),
            "recovery": rec,
            "with_rate": pct(rec.with_care_recovered, rec.with_care),
            "without_rate": pct(rec.without_care_recovered, rec.without_care),
            "taken_at": r.taken_at,
            "advisor_only": service::advisor_only(user)?,
        }),
    ))
}

/// One of the lifecycle page's tables as CSV (neutralised), in the caller's scope:
/// `?table=terms` (the default), `funnel` or `recovery`.
#[get("/analytics/lifecycle.csv?<table>")]
pub async fn lifecycle_csv(
    _on: ModuleOn<on::Students>,
    user: &CurrentUser,
    state: &State<AppState>,
    table: Option<&str>,
) -> AppResult<crate::students::CsvFile> {
    let table = tables::pick(table, &tables::LIFECYCLE_TABLES)?;
    let r = service::lifecycle_report(&state.db, user).await?;
    Ok(crate::students::CsvFile::new(
        tables::lifecycle_csv(&r, table)?,
        &format!("lifecycle-{table}.csv"),
    ))
}

/// The summary by term from the analysis store: enrolment, credits, grades, risk, stages and
/// cells, filtered by department, major and cohort, with the snapshot's time.
#[get("/analytics/summary?<taken>&<q..>")]
pub async fn summary_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Students>,
    user: &CurrentUser,
    state: &State<AppState>,
    q: SummaryQuery,
    taken: Option<bool>,
) -> AppResult<Template> {
    let s = service::summary(&state.db, user, q).await?;
    let lang = ctx.lang;
    let names: Vec<String> = s
        .terms
        .iter()
        .map(|t| pick(lang, &t.name_zh, &t.name_en).to_string())
        .collect();
    let cells: Vec<String> = CELLS
        .iter()
        .map(|c| ctx.t(&format!("analytics.cell.{c}")))
        .collect();
    let counts: Vec<Vec<i64>> = s.terms.iter().map(|t| t.cells.clone()).collect();
    let chart = s
        .terms
        .iter()
        .any(|t| t.cells.iter().sum::<i64>() > 0)
        .then(|| {
            stacked_bars(
                &names,
                &cells,
                &counts,
                &ctx.t("analytics.summary.chart_title"),
                &ctx.t("analytics.summary.chart_desc"),
            )
        });
    let pass: Vec<(String, f64)> = s
        .terms
        .iter()
        .zip(&names)
        .filter_map(|(t, n)| t.pass_rate.map(|p| (n.clone(), p)))
        .collect();
    let rows: Vec<Value> = s
        .terms
        .iter()
        .zip(&names)
        .map(|(t, n)| {
            json!({"name": n, "t": t,
            "pass_rate": t.pass_rate.map(|v| format!("{v:.1}%")),
            "mean_points": t.mean_points.map(|v| format!("{v:.2}"))})
        })
        .collect();
    let choices = service::filter_choices(&state.db).await?;
    Ok(ctx.render(
        "analytics/summary",
        "analytics.summary.title",
        json!({
            "rows": rows,
            "chart": chart,
            "pass_chart": (!pass.is_empty()).then(|| crate::charts::bar_chart(&pass, "%")),
            "taken_at": s.taken_at,
            "taken": taken.unwrap_or(false),
            "cohort": q.cohort,
            "filter": filter_view(lang, &choices, q.department, q.major),
            "csv": format!("/analytics/summary.csv{}", q.query_string()),
            "can_admin": user.can(Permission::RunMining),
            "advisor_only": service::advisor_only(user)?,
        }),
    ))
}

/// The summary as CSV (neutralised), with the page's filter.
#[get("/analytics/summary.csv?<q..>")]
pub async fn summary_csv(
    _on: ModuleOn<on::Students>,
    user: &CurrentUser,
    state: &State<AppState>,
    q: SummaryQuery,
) -> AppResult<crate::students::CsvFile> {
    let s = service::summary(&state.db, user, q).await?;
    Ok(crate::students::CsvFile::new(
        super::store::csv(&s)?,
        "summary.csv",
    ))
}

/// Takes a snapshot of the analysis store now, then shows the summary.
#[post("/analytics/snapshots", data = "<_form>")]
pub async fn snapshot_submit(
    _on: ModuleOn<on::Students>,
    user: Perm<'_, can::RunMining>,
    state: &State<AppState>,
    _form: Csrf<crate::web::CsrfForm<'_>>,
) -> AppResult<Redirect> {
    service::snapshot_now(&state.db, &user).await?;
    Ok(Redirect::to("/analytics/summary?taken=true"))
}

/// The department and major choices of a filter form, the chosen ones selected.
fn filter_view(
    lang: Lang,
    choices: &service::FilterChoices,
    department: Option<i64>,
    major: Option<i64>,
) -> Value {
    let departments: Vec<Value> = choices
        .departments
        .iter()
        .map(|d| json!({"id": d.id, "name": pick(lang, &d.name_zh, &d.name_en), "selected": Some(d.id) == department}))
        .collect();
    let majors: Vec<Value> = choices
        .majors
        .iter()
        .map(|m| json!({"id": m.id, "name": pick(lang, &m.name_zh, &m.name_en), "selected": Some(m.id) == major}))
        .collect();
    json!({"departments": departments, "majors": majors})
}

#[get("/analytics/retention?<q..>")]
pub async fn retention_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Students>,
    user: &CurrentUser,
    state: &State<AppState>,
    q: RetentionQuery,
) -> AppResult<Template> {
    let r = service::retention(&state.db, user, q).await?;
    let lang = ctx.lang;
    let term_names: Vec<String> = r
        .terms
        .iter()
        .map(|t| pick(lang, &t.name_zh, &t.name_en).to_string())
        .collect();
    let series: Vec<(String, Vec<(f64, f64)>)> = r
        .cohorts
        .iter()
        .map(|c| {
            let points = c
                .cells
                .iter()
                .enumerate()
                .filter_map(|(i, cell)| cell.as_ref().map(|x| ((i + 1) as f64, x.share)))
                .collect();
            (
                crate::i18n::fill(
                    &ctx.t("analytics.retention.cohort_of"),
                    &[("year", c.cohort_year.to_string())],
                ),
                points,
            )
        })
        .collect();
    let ticks: Vec<f64> = (1..=r.terms.len()).map(|i| i as f64).collect();
    let chart = (!r.cohorts.is_empty()).then(|| {
        crate::charts::line_chart(
            &series,
            &ticks,
            (0.0, 100.0),
            20.0,
            &ctx.t("analytics.retention.chart_label"),
        )
    });
    let rows: Vec<Value> = r
        .cohorts
        .iter()
        .map(|c| {
            let reasons: Vec<i64> = super::retention::LEFT
                .iter()
                .map(|s| {
                    r.reasons
                        .iter()
                        .find(|x| x.cohort_year == c.cohort_year && x.reason == *s)
                        .map_or(0, |x| x.students)
                })
                .collect();
            json!({"cohort": c.cohort_year, "students": c.students,
                   "cells": c.cells.iter().map(|x| x.as_ref().map(|x| json!({"share": format!("{:.1}%", x.share), "retained": x.retained}))).collect::<Vec<_>>(),
                   "reasons": reasons})
        })
        .collect();
    let reasons: Vec<String> = super::retention::LEFT
        .iter()
        .map(|s| ctx.t(&format!("status.{s}")))
        .collect();
    let choices = service::filter_choices(&state.db).await?;
    Ok(ctx.render(
        "analytics/retention",
        "analytics.retention.title",
        json!({
            "terms": term_names,
            "chart": chart,
            "rows": rows,
            "reasons": reasons,
            "filter": filter_view(lang, &choices, q.department, q.major),
            "csv": format!("/analytics/retention.csv{}", q.query_string()),
            "advisor_only": service::advisor_only(user)?,
        }),
    ))
}

/// The retention table as CSV (neutralised), with the page's filter.
#[get("/analytics/retention.csv?<q..>")]
pub async fn retention_csv(
    _on: ModuleOn<on::Students>,
    user: &CurrentUser,
    state: &State<AppState>,
    q: RetentionQuery,
) -> AppResult<crate::students::CsvFile> {
    let r = service::retention(&state.db, user, q).await?;
    Ok(crate::students::CsvFile::new(
        super::retention::csv(&r)?,
        "retention.csv",
    ))
}

#[get("/analytics/portfolio?<q..>")]
pub async fn portfolio_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Students>,
    user: &CurrentUser,
    state: &State<AppState>,
    q: PortfolioQuery,
) -> AppResult<Template> {
    let p = service::portfolio(&state.db, user, &q).await?;
    let lang = ctx.lang;
    let term_q = p.term_id.map_or(String::new(), |t| format!("term={t}&"));
    // A column's header links to the table sorted by it (again: the other way round).
    let columns: Vec<Value> = PortfolioSort::ALL
        .iter()
        .map(|k| {
            let current = *k == p.sort;
            let next = if current {
                if p.dir == SortDir::Asc { "desc" } else { "asc" }
            } else if *k == PortfolioSort::Code {
                "asc"
            } else {
                "desc"
            };
            json!({"label": ctx.t(&format!("analytics.portfolio.col.{}", k.code())),
                   "href": format!("/analytics/portfolio?{term_q}sort={}&dir={next}", k.code()),
                   "aria_sort": current.then(|| if p.dir == SortDir::Asc { "ascending" } else { "descending" })})
        })
        .collect();
    let rows: Vec<Value> = p
        .courses
        .iter()
        .map(|c| {
            json!({"code": c.code, "title": pick(lang, &c.title_zh, &c.title_en),
                   "registrations": c.registrations, "waitlisted": c.waitlisted, "drops": c.drops,
                   "demand": c.demand, "pass_rate": c.pass_rate.map(|x| format!("{x:.1}%")),
                   "passed": c.passed, "graded": c.graded,
                   "trend": c.trend.map(|t| format!("{t:+.1}")),
                   "satisfaction": c.satisfaction.map(|x| format!("{x:.2}")), "answers": c.satisfaction_answers})
        })
        .collect();
    let points: Vec<(f64, f64, usize)> = p
        .courses
        .iter()
        .filter_map(|c| {
            let group = match c.trend {
                Some(t) if t >= 0.0 => 0,
                Some(_) => 1,
                None => 2,
            };
            c.pass_rate.map(|y| (c.demand as f64, y, group))
        })
        .collect();
    let legend = vec![
        ctx.t("analytics.portfolio.legend_up"),
        ctx.t("analytics.portfolio.legend_down"),
        ctx.t("analytics.portfolio.legend_none"),
    ];
    let chart = (!points.is_empty())
        .then(|| crate::charts::scatter(&points, &legend, &ctx.t("analytics.portfolio.clipped")));
    let terms: Vec<Value> = crate::courses::service::all_terms(&state.db)
        .await?
        .iter()
        .map(|t| json!({"id": t.id, "name": pick(lang, &t.name_zh, &t.name_en), "selected": Some(t.id) == p.term_id}))
        .collect();
    let name = |t: &super::retention::RetentionTerm| pick(lang, &t.name_zh, &t.name_en).to_string();
    Ok(ctx.render(
        "analytics/portfolio",
        "analytics.portfolio.title",
        json!({
            "term": p.term.as_ref().map(name),
            "previous": p.previous_term.as_ref().map(name),
            "terms": terms,
            "columns": columns,
            "rows": rows,
            "chart": chart,
            "floor": p.feedback_floor,
            "sort": p.sort.code(),
            "csv": format!("/analytics/portfolio.csv?{term_q}sort={}&dir={}", p.sort.code(), if p.dir == SortDir::Asc { "asc" } else { "desc" }),
        }),
    ))
}

/// The portfolio table as CSV (neutralised), sorted as on the page.
#[get("/analytics/portfolio.csv?<q..>")]
pub async fn portfolio_csv(
    _on: ModuleOn<on::Students>,
    user: &CurrentUser,
    state: &State<AppState>,
    q: PortfolioQuery,
) -> AppResult<crate::students::CsvFile> {
    let p = service::portfolio(&state.db, user, &q).await?;
    Ok(crate::students::CsvFile::new(
        super::portfolio::csv(&p)?,
        "portfolio.csv",
    ))
}

#[get("/analytics/satisfaction")]
pub async fn satisfaction_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Students>,
    user: &CurrentUser,
    state: &State<AppState>,
) -> AppResult<Template> {
    let r = service::satisfaction(&state.db, user).await?;
    let lang = ctx.lang;
    let term_names: BTreeMap<&str, String> = r
        .terms
        .iter()
        .map(|t| {
            (
                t.code.as_str(),
                pick(lang, &t.name_zh, &t.name_en).to_string(),
            )
        })
        .collect();
    let pct = |v: Option<f64>| v.map(|x| format!("{x:.1}%"));
    let rows: Vec<Value> = r
        .rows
        .iter()
        .map(|x| {
            json!({"term": term_names.get(x.term_code.as_str()), "department": pick(lang, &x.department_zh, &x.department_en),
                   "cases_closed": x.cases_closed, "cases_rated": x.cases_rated,
                   "case_rate": pct(x.case_response_rate), "case_mean": x.case_mean.map(|m| format!("{m:.2}")),
                   "sections": x.survey_sections, "enrolled": x.survey_enrolled, "submitted": x.survey_submitted,
                   "survey_rate": pct(x.survey_response_rate), "counted": x.survey_answers_counted,
                   "survey_mean": x.survey_mean.map(|m| format!("{m:.2}"))})
        })
        .collect();
    // One line per department: its survey mean per term (terms numbered as in the table).
    let mut series: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for x in &r.rows {
        if let (Some(m), Some(i)) = (
            x.survey_mean,
            r.terms.iter().position(|t| t.code == x.term_code),
        ) {
            series
                .entry(pick(lang, &x.department_zh, &x.department_en).to_string())
                .or_default()
                .push(((i + 1) as f64, m));
        }
    }
    let series: Vec<(String, Vec<(f64, f64)>)> = series.into_iter().collect();
    let ticks: Vec<f64> = (1..=r.terms.len()).map(|i| i as f64).collect();
    let chart = (!series.is_empty()).then(|| {
        crate::charts::line_chart(
            &series,
            &ticks,
            (1.0, 5.0),
            1.0,
            &ctx.t("analytics.satisfaction.chart_label"),
        )
    });
    let terms: Vec<Value> = r
        .terms
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"n": i + 1, "name": pick(lang, &t.name_zh, &t.name_en)}))
        .collect();
    Ok(ctx.render(
        "analytics/satisfaction",
        "analytics.satisfaction.title",
        json!({"rows": rows, "chart": chart, "floor": r.floor, "terms": terms}),
    ))
}

/// The satisfaction table as CSV (neutralised).
#[get("/analytics/satisfaction.csv")]
pub async fn satisfaction_csv(
    _on: ModuleOn<on::Students>,
    user: &CurrentUser,
    state: &State<AppState>,
) -> AppResult<crate::students::CsvFile> {
    let r = service::satisfaction(&state.db, user).await?;
    Ok(crate::students::CsvFile::new(
        super::satisfaction::csv(&r)?,
        "satisfaction.csv",
    ))
}
