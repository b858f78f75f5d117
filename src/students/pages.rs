//! Student record pages: the list, the 360° profile, add/edit/deactivate, the student's own
//! record, bulk import with its progress page, the lifecycle help page and the setting of
//! which fields students edit themselves.

use super::dto::CsvFile;
use super::forms::{FIELDS, FieldError, Lookups, SELF_EDITABLE};
use super::lifecycle::Stage;
use super::merge;
use super::query::StudentFilter;
use super::service::{audit_list, list_scope};
use super::{import, query, record, service};
use crate::access::{ModuleOn, Perm, Permission, can, on};
use crate::auth::CurrentUser;
use crate::entity::job_status::JobStatus;
use crate::entity::students::StudentStatus;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::paging::PageQuery;
use crate::state::AppState;
use crate::web::csrf::Csrf;
use crate::web::upload::Upload;
use crate::web::{Ctx, url_encode};
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::{FromForm, State, get, post};
use rocket_dyn_templates::Template;
use serde_json::{Map, Value, json};
use std::collections::HashMap;

type PageResult = AppResult<Result<Redirect, (Status, Template)>>;

fn stage_label(lang: Lang, stage: Stage) -> String {
    lang.t(&format!("stage.{}", stage.code()))
}

fn status_label(lang: Lang, status: &str) -> String {
    lang.t(&format!("students.status.{status}"))
}

fn options(lang: Lang) -> Value {
    let sorts: Vec<Value> = ["student_no", "name_zh", "name_en", "cohort", "status"]
        .iter()
        .map(|s| json!({"code": s, "label": lang.t(&format!("students.field.{s}"))}))
        .collect();
    let risks: Vec<Value> = ["high", "medium", "low"]
        .iter()
        .map(|r| json!({"code": r, "label": lang.t(&format!("students.risk.{r}"))}))
        .collect();
    json!({
        "statuses": StudentStatus::ALL.iter().map(|s| json!({"code": s.as_str(), "label": status_label(lang, s.as_str())})).collect::<Vec<_>>(),
        "sorts": sorts,
        "stages": Stage::ALL.iter().map(|s| json!({"code": s.code(), "label": stage_label(lang, *s)})).collect::<Vec<_>>(),
        "risks": risks,
    })
}

fn merge(mut a: Value, b: Value) -> Value {
    if let (Value::Object(x), Value::Object(y)) = (&mut a, b) {
        x.extend(y);
    }
    a
}

/// Field errors as `{field: translated message}` for the form templates.
fn error_map(lang: Lang, errors: &[FieldError]) -> Value {
    let mut m = Map::new();
    for e in errors {
        let key = format!("students.err.{}", e.code);
        let text = lang.t(&key);
        let text = if text == key { e.message.clone() } else { text };
        m.entry(e.field.to_string()).or_insert_with(|| json!(text));
    }
    Value::Object(m)
}

fn filter_query(f: &StudentFilter) -> String {
    let pairs = [
        ("q", f.q.clone()),
        ("department", f.department.map(|v| v.to_string())),
        ("major", f.major.map(|v| v.to_string())),
        ("cohort", f.cohort.map(|v| v.to_string())),
        ("status", f.status.clone()),
        ("stage", f.stage.clone()),
        ("risk", f.risk.clone()),
        ("value_cell", f.value_cell.clone()),
        ("sort", f.sort.clone()),
        ("dir", f.dir.clone()),
    ];
    pairs
        .iter()
        .filter_map(|(k, v)| {
            v.as_ref()
                .filter(|v| !v.is_empty())
                .map(|v| format!("{k}={}&", url_encode(v)))
        })
        .collect()
}

// ---------------------------------------------------------------- list

#[get("/students?<f..>")]
pub async fn list_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Students>,
    user: &CurrentUser,
    state: &State<AppState>,
    f: StudentFilter,
) -> AppResult<Template> {
    let scope = list_scope(&state.db, user).await?;
    let mut f = f;
    f.per_page = Some(f.per_page.unwrap_or(50));
    let list = query::list(&state.db, scope, &f).await?;
    audit_list(&state.db, user, "students.list", &f, list.items.len()).await?;
    let lookups = Lookups::load(&state.db).await?;
    let zh = ctx.lang == Lang::Zh;
    let items: Vec<Value> = list
        .items
        .iter()
        .map(|r| {
            merge(
                json!(r),
                json!({"stage_label": stage_label(ctx.lang, r.lifecycle_stage),
                       "status_label": status_label(ctx.lang, r.status.as_str()),
                       "department_label": if zh { &r.department_zh } else { &r.department },
                       "major_label": if zh { &r.major_zh } else { &r.major }}),
            )
        })
        .collect();
    let query = filter_query(&f);
    let value_cell_name = match f.value_cell.as_deref() {
        Some(code) if !code.is_empty() => {
            let cell = crate::analytics::settings::get(&state.db).await?.cell(code);
            Some(if zh { cell.name_zh } else { cell.name_en })
        }
        _ => None,
    };
    Ok(ctx.render(
        "students/list",
        "students.title",
        merge(
            json!({
                "list": {"items": items, "total": list.total, "page": list.page, "per_page": list.per_page},
                "pages": list.pages(), "query": query, "f": f,
                "departments": lookups.departments().iter().map(|d| json!({"id": d.id, "label": if zh { &d.name_zh } else { &d.name_en }})).collect::<Vec<_>>(),
                "majors": lookups.majors().iter().map(|m| json!({"id": m.id, "label": format!("{} {}", m.code, if zh { &m.name_zh } else { &m.name_en })})).collect::<Vec<_>>(),
                "can_edit": user.can(Permission::EditStudents),
                "can_import": user.can(Permission::ImportStudents),
                "mining_on": ctx.modules.contains(&crate::access::Module::Mining),
                "can_message": user.can(Permission::UseMessages) && ctx.modules.contains(&crate::access::Module::Messages),
                "value_cell_name": value_cell_name,
            }),
            options(ctx.lang),
        ),
    ))
}

// ---------------------------------------------------------------- profile

#[get("/students/<id>")]
pub async fn profile_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Students>,
    user: &CurrentUser,
    state: &State<AppState>,
    id: i64,
) -> AppResult<Template> {
    service::authorize_read(&state.db, user, id, "students").await?;
    let data = profile_data(&ctx, &state.db, id).await?;
    let title = data["student"]["name_zh"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut data = merge(
        data,
        json!({"can_edit": user.can(Permission::EditStudents),
               "can_hold": user.can(Permission::ManageRegistrations) && ctx.modules.contains(&crate::access::Module::Courses)}),
    );
    data["page_title"] = json!(title);
    if let Some(target) = service::find(&state.db, id).await?.merged_into_id {
        let target = service::find(&state.db, target).await?;
        data["merged_into"] = json!({"id": target.id, "student_no": target.student_no});
    }
    Ok(ctx.render("students/profile", "students.profile", data))
}

/// Everything the 360° page shows, for staff and for the student's own page.
async fn profile_data(ctx: &Ctx<'_>, db: &crate::db::Db, id: i64) -> AppResult<Value> {
    let view = service::view(db, id).await?;
    let view = match ctx.user {
        Some(user) => super::identifiers::shown_to(db, user, view).await?,
        None => service::StudentView {
            national_id: view.national_id.as_deref().map(super::identifiers::mask),
            ..view
        },
    };
    let history = service::history(db, id).await?;
    let status_history: Vec<&service::HistoryRow> =
        history.iter().filter(|h| h.field == "status").collect();
    let sections = record::current_sections(db, id).await?;
    let terms = record::grade_history(db, id).await?;
    let zh = ctx.lang == Lang::Zh;
    let chart = record::gpa_chart(&terms, zh);
    let lookups = Lookups::load(db).await?;
    let sections: Vec<Value> = sections
        .iter()
        .map(|s| {
            let times: Vec<String> = s
                .meetings
                .iter()
                .map(|m| {
                    format!(
                        "{} {} ({} {})",
                        ctx.t(&format!("weekday.{}", m.weekday)),
                        m.periods,
                        ctx.t("students.weeks"),
                        m.weeks
                    )
                })
                .collect();
            merge(
                json!(s),
                json!({"title": if zh { &s.title_zh } else { &s.title_en }, "times": times.join(", ")}),
            )
        })
        .collect();
    let terms_json: Vec<Value> = terms
        .iter()
        .map(|t| {
            merge(
                json!(t),
                json!({"label": if zh { &t.term_zh } else { &t.term_en },
                       "gpa_text": t.gpa.map(|g| format!("{g:.2}")).unwrap_or_else(|| "—".into()),
                       "grades": t.grades.iter().map(|g| merge(json!(g), json!({"title": if zh { &g.title_zh } else { &g.title_en }}))).collect::<Vec<_>>()}),
            )
        })
        .collect();
    let history_json: Vec<Value> = history
        .iter()
        .map(|h| {
            merge(
                json!(h),
                json!({"field_label": ctx.t(&format!("students.field.{}", h.field))}),
            )
        })
        .collect();
    // The other modules' parts of the 360° view, each empty when its module is off or the
    // viewer may not see it.
    let panels = json!({
        "mining": crate::mining::profile_panel(ctx, db, id).await?,
        "interaction": crate::interaction::profile_panel(ctx, db, id).await?,
        "analytics": crate::analytics::profile_panel(ctx, db, id).await?,
        "attendance": crate::attendance::profile_panel(ctx, db, id).await?,
    });
    Ok(json!({
        "panels": panels,
        "student": merge(json!(view), json!({
            "stage_label": stage_label(ctx.lang, view.lifecycle_stage),
            "status_label": status_label(ctx.lang, view.status.as_str()),
            "department": lookups.department_name(view.department_id, ctx.lang),
            "major": lookups.major_name(view.major_id, ctx.lang),
            "gender_label": ctx.known("students.gender", Some(&view.gender)),
            "department_code": lookups.department_code(view.department_id),
            "major_code": lookups.major_code(view.major_id),
            "advisor": lookups.advisor_name(view.advisor_id),
        })),
        "history": history_json,
        "status_history": status_history,
        "sections": sections,
        "terms": terms_json,
        "gpa_chart": chart,
    }))
}

// ---------------------------------------------------------------- add, edit, deactivate

#[derive(FromForm, Default)]
pub struct StudentForm {
    student_no: Option<String>,
    national_id: Option<String>,
    name_zh: Option<String>,
    name_en: Option<String>,
    gender: Option<String>,
    birth_date: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    address: Option<String>,
    department: Option<String>,
    major: Option<String>,
    cohort: Option<String>,
    status: Option<String>,
    advisor: Option<String>,
}

impl StudentForm {
    /// The fields present in the post, as field → text.
    fn values(&self) -> HashMap<String, String> {
        let all = [
            &self.student_no,
            &self.national_id,
            &self.name_zh,
            &self.name_en,
            &self.gender,
            &self.birth_date,
            &self.phone,
            &self.email,
            &self.address,
            &self.department,
            &self.major,
            &self.cohort,
            &self.status,
            &self.advisor,
        ];
        all.iter()
            .enumerate()
            .filter_map(|(i, v)| v.as_ref().map(|v| (FIELDS[i].0.to_string(), v.clone())))
            .collect()
    }
}

async fn edit_form(
    ctx: &Ctx<'_>,
    db: &crate::db::Db,
    id: Option<i64>,
    values: Value,
    errors: Value,
) -> AppResult<Template> {
    let lookups = Lookups::load(db).await?;
    let zh = ctx.lang == Lang::Zh;
    // Every field present (Tera refuses to compare a missing value).
    let mut values = values;
    let mut errors = errors;
    let has_errors = errors.as_object().is_some_and(|e| !e.is_empty());
    for (f, _) in FIELDS {
        if values.get(f).is_none_or(Value::is_null) {
            values[f] = json!("");
        }
        if errors.get(f).is_none() {
            errors[f] = Value::Null;
        }
    }
    let majors: Vec<Value> = lookups
        .majors()
        .iter()
        .map(|m| json!({"code": m.code, "label": format!("{} {}", m.code, if zh { &m.name_zh } else { &m.name_en })}))
        .collect();
    let text_fields: Vec<Value> = [
        "student_no",
        "national_id",
        "name_zh",
        "name_en",
        "birth_date",
        "phone",
        "email",
        "address",
        "cohort",
        "advisor",
    ]
    .iter()
    .map(|f| {
        json!({"name": f, "label": ctx.t(&format!("students.field.{f}")),
               "value": values[*f].as_str().unwrap_or_default(), "error": errors[*f]})
    })
    .collect();
    Ok(ctx.render(
        "students/edit",
        if id.is_some() { "students.edit" } else { "students.new" },
        merge(
            json!({"id": id, "v": values, "errors": errors, "has_errors": has_errors, "majors": majors, "text_fields": text_fields}),
            options(ctx.lang),
        ),
    ))
}

#[get("/students/new")]
pub async fn new_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Students>,
    _who: Perm<'_, can::EditStudents>,
    state: &State<AppState>,
) -> AppResult<Template> {
    edit_form(
        &ctx,
        &state.db,
        None,
        json!({"status": "active"}),
        json!({}),
    )
    .await
}

#[post("/students", data = "<form>")]
pub async fn create_submit(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Students>,
    who: Perm<'_, can::EditStudents>,
    state: &State<AppState>,
    form: Csrf<StudentForm>,
) -> PageResult {
    let values = form.values();
    match service::create(&state.db, who.id, &values).await? {
        Ok(id) => Ok(Ok(Redirect::to(format!("/students/{id}")))),
        Err(errors) => Ok(Err((
            Status::UnprocessableEntity,
            edit_form(
                &ctx,
                &state.db,
                None,
                json!(values),
                error_map(ctx.lang, &errors),
            )
            .await?,
        ))),
    }
}

#[get("/students/<id>/edit")]
pub async fn edit_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Students>,
    who: Perm<'_, can::EditStudents>,
    state: &State<AppState>,
    id: i64,
) -> AppResult<Template> {
    let mut model = super::service::find(&state.db, id).await?;
    if !super::identifiers::may_see_full(&who, Some(id)) {
        model.national_id = model.national_id.as_deref().map(super::identifiers::mask);
    }
    let lookups = Lookups::load(&state.db).await?;
    let values: Map<String, Value> = lookups
        .canonical(&model)
        .into_iter()
        .enumerate()
        .map(|(i, v)| (FIELDS[i].0.to_string(), json!(v)))
        .collect();
    edit_form(&ctx, &state.db, Some(id), Value::Object(values), json!({})).await
}

#[post("/students/<id>", data = "<form>")]
pub async fn update_submit(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Students>,
    who: Perm<'_, can::EditStudents>,
    state: &State<AppState>,
    id: i64,
    form: Csrf<StudentForm>,
) -> PageResult {
    let mut values = form.values();
    // A masked id posted back unchanged from the form means "leave it as it is".
    if let Some(posted) = values.get("national_id").filter(|v| v.contains('*')) {
        let stored = service::find(&state.db, id).await?.national_id;
        if stored.as_deref().map(super::identifiers::mask).as_deref() == Some(posted.trim()) {
            values.remove("national_id");
        }
    }
    match service::update(&state.db, who.id, id, &values, None).await? {
        Ok(_) => Ok(Ok(Redirect::to(format!("/students/{id}")))),
        Err(errors) => Ok(Err((
            Status::UnprocessableEntity,
            edit_form(
                &ctx,
                &state.db,
                Some(id),
                json!(values),
                error_map(ctx.lang, &errors),
            )
            .await?,
        ))),
    }
}

#[post("/students/<id>/deactivate", data = "<_form>")]
pub async fn deactivate_submit(
    _on: ModuleOn<on::Students>,
    who: Perm<'_, can::EditStudents>,
    state: &State<AppState>,
    id: i64,
    _form: Csrf<crate::web::CsrfForm<'_>>,
) -> AppResult<Redirect> {
    service::deactivate(&state.db, who.id, id).await?;
    Ok(Redirect::to(format!("/students/{id}")))
}

// ---------------------------------------------------------------- the student's own record

async fn my_record(
    ctx: &Ctx<'_>,
    state: &AppState,
    student_id: i64,
    values: Option<Value>,
    errors: Value,
    saved: bool,
) -> AppResult<Template> {
    let data = profile_data(ctx, &state.db, student_id).await?;
    let editable = service::self_editable_fields(&state.db).await?;
    let v = values.unwrap_or_else(|| {
        let s = &data["student"];
        json!({"phone": s["phone"], "email": s["email"], "address": s["address"], "name_en": s["name_en"]})
    });
    let fields: Vec<Value> = editable
        .iter()
        .map(|f| json!({"name": f, "label": ctx.t(&format!("students.field.{f}")),
                        "value": v[f.as_str()].as_str().unwrap_or_default(), "error": errors[f.as_str()]}))
        .collect();
    Ok(ctx.render(
        "students/me",
        "students.my_record",
        merge(data, json!({"fields": fields, "saved": saved})),
    ))
}

/// Who has read the student's record, newest first.
#[get("/me/record/reads?<q..>")]
pub async fn my_record_reads_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Students>,
    who: Perm<'_, can::ViewOwnRecord>,
    state: &State<AppState>,
    q: PageQuery,
) -> AppResult<Template> {
    let id = who.student_id.ok_or(AppError::NotFound)?;
    let page = super::reads::record_reads(&state.db, id, q.req()).await?;
    let rows: Vec<Value> = page
        .items
        .iter()
        .map(|r| {
            let what = ctx
                .lang
                .find(&format!("students.reads.what.{}", r.what))
                .unwrap_or_else(|| ctx.t("students.reads.what.other"));
            let role = ctx
                .lang
                .find(&format!("role.{}", r.role))
                .unwrap_or_else(|| ctx.t("role.staff"));
            let purpose = ctx
                .lang
                .find(&format!("students.reads.purpose.{}", r.purpose))
                .unwrap_or_else(|| ctx.t("students.reads.purpose.unrecorded"));
            json!({"at": ctx.lang.when(&r.at.to_rfc3339()), "what": what,
                   "by": r.by, "role": role, "purpose": purpose})
        })
        .collect();
    Ok(ctx.render(
        "students/reads",
        "students.reads.title",
        json!({"rows": rows, "list": {"page": page.page, "total": page.total},
               "pages": page.pages(), "query": ""}),
    ))
}

#[get("/me/record?<saved>")]
pub async fn my_record_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Students>,
    who: Perm<'_, can::ViewOwnRecord>,
    state: &State<AppState>,
    saved: Option<bool>,
) -> AppResult<Template> {
    let id = who.student_id.ok_or(AppError::NotFound)?;
    my_record(&ctx, state, id, None, json!({}), saved.unwrap_or(false)).await
}

#[post("/me/record", data = "<form>")]
pub async fn my_record_submit(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Students>,
    who: Perm<'_, can::EditOwnProfile>,
    state: &State<AppState>,
    form: Csrf<StudentForm>,
) -> PageResult {
    let id = who.student_id.ok_or(AppError::NotFound)?;
    let allowed = service::self_editable_fields(&state.db).await?;
    // Only the allowed fields are read from the form; anything else posted is ignored.
    let values: HashMap<String, String> = form
        .values()
        .into_iter()
        .filter(|(k, _)| allowed.contains(k))
        .collect();
    match service::update(&state.db, who.id, id, &values, Some(&allowed)).await? {
        Ok(_) => Ok(Ok(Redirect::to("/me/record?saved=true"))),
        Err(errors) => Ok(Err((
            Status::UnprocessableEntity,
            my_record(
                &ctx,
                state,
                id,
                Some(json!(values)),
                error_map(ctx.lang, &errors),
                false,
            )
            .await?,
        ))),
    }
}

// ---------------------------------------------------------------- settings and help

#[get("/students/settings")]
pub async fn settings_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Students>,
    _who: Perm<'_, can::EditStudents>,
    state: &State<AppState>,
) -> AppResult<Template> {
    let chosen = service::self_editable_fields(&state.db).await?;
    let fields: Vec<Value> = SELF_EDITABLE
        .iter()
        .map(|f| json!({"name": f, "label": ctx.t(&format!("students.field.{f}")), "on": chosen.iter().any(|c| c == f)}))
        .collect();
    Ok(ctx.render(
        "students/settings",
        "students.settings",
        json!({"fields": fields}),
    ))
}

#[derive(FromForm)]
pub struct SettingsForm {
    fields: Vec<String>,
}

#[post("/students/settings", data = "<form>")]
pub async fn settings_submit(
    _on: ModuleOn<on::Students>,
    who: Perm<'_, can::EditStudents>,
    state: &State<AppState>,
    form: Csrf<SettingsForm>,
) -> AppResult<Redirect> {
    service::set_self_editable_fields(&state.db, who.id, &form.fields).await?;
    Ok(Redirect::to("/students/settings"))
}

#[get("/students/lifecycle")]
pub async fn lifecycle_help(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Students>,
    _user: &CurrentUser,
) -> Template {
    let stages: Vec<Value> = Stage::ALL
        .iter()
        .map(|s| json!({"code": s.code(), "label": stage_label(ctx.lang, *s), "rule": ctx.t(&format!("stage.rule.{}", s.code()))}))
        .collect();
    ctx.render(
        "students/lifecycle",
        "stage.help_title",
        json!({"stages": stages}),
    )
}

// ---------------------------------------------------------------- import

#[get("/students/import?<created>&<taken>")]
pub async fn import_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Students>,
    _who: Perm<'_, can::ImportStudents>,
    state: &State<AppState>,
    created: Option<usize>,
    taken: Option<usize>,
) -> AppResult<Template> {
    let missing = super::accounts::missing(&state.db).await?;
    let pending = super::accounts::pending(&state.db).await?;
    Ok(ctx.render(
        "students/import",
        "students.import",
        merge(
            import_context(ctx.lang, None, None),
            json!({"accounts_missing": missing, "accounts_pending": pending,
                   "accounts_created": created, "accounts_taken": taken}),
        ),
    ))
}

/// The account and re-issue forms: whether to queue e-mails too.
#[derive(rocket::FromForm)]
pub struct LettersForm {
    #[field(default = false)]
    mail: bool,
}

/// The letters page: shown once, right after the codes were made.
async fn letters_page(
    ctx: &Ctx<'_>,
    state: &AppState,
    actor: i64,
    mail: bool,
    letters: &[super::accounts::Letter],
    extra: Value,
) -> AppResult<Template> {
    use base64::Engine;
    let mailed = if mail {
        Some(super::accounts::queue_letters(&state.db, Some(actor), letters).await?)
    } else {
        None
    };
    let csv = super::accounts::letters_csv(letters)?;
    let csv_base64 = base64::engine::general_purpose::STANDARD.encode(csv);
    Ok(ctx.render(
        "students/letters",
        "letters.title",
        merge(
            json!({"letters": letters, "csv_base64": csv_base64, "mailed": mailed,
                   "accounts_created": null, "accounts_taken": null}),
            extra,
        ),
    ))
}

#[post("/students/accounts", data = "<form>")]
pub async fn accounts_submit(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Students>,
    who: Perm<'_, can::ImportStudents>,
    state: &State<AppState>,
    form: Csrf<LettersForm>,
) -> AppResult<Template> {
    let report =
        super::accounts::create_missing(&state.db, Some(who.id), state.config.activation_code_days)
            .await?;
    let extra =
        json!({"accounts_created": report.created, "accounts_taken": report.name_taken.len()});
    letters_page(&ctx, state, who.id, form.mail, &report.letters, extra).await
}

#[post("/students/activation-codes", data = "<form>")]
pub async fn codes_reissue_submit(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Students>,
    who: Perm<'_, can::ImportStudents>,
    state: &State<AppState>,
    form: Csrf<LettersForm>,
) -> AppResult<Template> {
    let letters = super::accounts::reissue(
        &state.db,
        Some(who.id),
        None,
        state.config.activation_code_days,
    )
    .await?;
    letters_page(&ctx, state, who.id, form.mail, &letters, json!({})).await
}

/// A field's name as people know it (`name_zh` → 姓名), else the column as written.
fn column_label(lang: Lang, column: &str) -> String {
    lang.find(&format!("students.field.{column}"))
        .unwrap_or_else(|| column.to_string())
}

/// Why a row was refused, in the reader's language.
fn row_reason(lang: Lang, row: &import::RejectedRow) -> String {
    if row.problems.is_empty() {
        // NOTE: a report stored before rows carried their codes.
        return if lang == Lang::En {
            row.reason.clone()
        } else {
            lang.t("students.err.invalid")
        };
    }
    let sep = if lang == Lang::Zh { "；" } else { "; " };
    row.problems
        .iter()
        .map(|p| {
            let args: Vec<(&str, String)> = p
                .args
                .iter()
                .map(|(k, v)| (k.as_str(), v.clone()))
                .collect();
            let text = lang
                .find(&format!("import.err.{}", p.code))
                .or_else(|| lang.find(&format!("students.err.{}", p.code)))
                .map(|t| crate::i18n::fill(&t, &args))
                .unwrap_or_else(|| lang.t("students.err.invalid"));
            // NOTE: the causes are joined into one sentence; each loses its own full stop.
            let text = text.trim_end_matches(['。', '.']).to_string();
            if p.field.is_empty() {
                text
            } else {
                format!(
                    "{}{}{text}",
                    column_label(lang, &p.field),
                    lang.t("import.colon")
                )
            }
        })
        .collect::<Vec<_>>()
        .join(sep)
}

/// An import report as a page shows it: columns by their labels, reasons and warnings in the
/// reader's language.
fn report_view(lang: Lang, report: &import::ImportReport) -> Value {
    let mut v = json!(report);
    let rows: Vec<Value> = report
        .rejected_rows
        .iter()
        .map(|r| {
            let mut row = json!(r);
            row["column"] = json!(column_label(lang, &r.column));
            row["reason"] = json!(row_reason(lang, r));
            row
        })
        .collect();
    v["rejected_rows"] = json!(rows);
    if !report.warning_codes.is_empty() || lang != Lang::En {
        let warnings: Vec<String> = report
            .warning_codes
            .iter()
            .map(|c| lang.t(&format!("import.warn.{c}")))
            .collect();
        v["warnings"] = json!(warnings);
    }
    if report.delimiter == "tab" {
        v["delimiter"] = json!(lang.t("import.delimiter_tab"));
    }
    v
}

fn import_context(
    lang: Lang,
    report: Option<&import::ImportReport>,
    error: Option<String>,
) -> Value {
    let columns: Vec<Value> = FIELDS
        .iter()
        .map(|(f, aliases)| {
            json!({"name": f, "label": column_label(lang, f), "aliases": aliases.join(" / ")})
        })
        .collect();
    let report = report.map(|r| report_view(lang, r));
    json!({"report": report, "error": error, "columns": columns,
           "accounts_missing": null, "accounts_created": null, "accounts_taken": null})
}

fn import_view(
    ctx: &Ctx<'_>,
    report: Option<&import::ImportReport>,
    error: Option<String>,
) -> Template {
    ctx.render(
        "students/import",
        "students.import",
        import_context(ctx.lang, report, error),
    )
}

#[post("/students/import", data = "<form>")]
pub async fn import_submit(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Students>,
    who: Perm<'_, can::ImportStudents>,
    state: &State<AppState>,
    form: Upload,
) -> PageResult {
    let dry_run = form.flag("dry_run");
    let choice = import::encoding_choice(form.field("encoding"));
    let bytes = form.file;
    let prepared = match choice {
        Ok(choice) => import::parse_off_thread_as(&state.db, bytes, dry_run, choice).await,
        Err(e) => Err(e),
    };
    let prepared = match prepared {
        Ok(p) => p,
        Err(e @ AppError::Unprocessable { .. }) => {
            return Ok(Err((
                Status::UnprocessableEntity,
                import_view(&ctx, None, Some(ctx.lang.error(&e))),
            )));
        }
        Err(e) => return Err(e),
    };
    let opts = import::Options {
        dry_run,
        actor: Some(who.id),
    };
    if dry_run {
        let report = import::store(&state.db, &state.jobs, prepared, opts, None, |_, _| {}).await?;
        return Ok(Err((Status::Ok, import_view(&ctx, Some(&report), None))));
    }
    let job = import::start_job(&state.db, &state.jobs, Some(who.id), &prepared).await?;
    let db = state.db.clone();
    let jobs = state.jobs.clone();
    // NOTE: the rows are written in the background; the job page shows the progress.
    rocket::tokio::spawn(async move {
        if let Err(e) = import::store(&db, &jobs, prepared, opts, Some(job), |_, _| {}).await {
            tracing::error!(error = %e, job, "student import failed");
        }
    });
    Ok(Ok(Redirect::to(format!("/students/import/jobs/{job}"))))
}

/// Cancels a running import from its page (the batches stored stay).
#[post("/students/import/jobs/<id>/cancel", data = "<_form>")]
pub async fn import_job_cancel(
    _on: ModuleOn<on::Students>,
    who: Perm<'_, can::ImportStudents>,
    state: &State<AppState>,
    id: i64,
    _form: Csrf<crate::web::CsrfForm<'_>>,
) -> AppResult<Redirect> {
    import::cancel(&state.db, who.id, id).await?;
    Ok(Redirect::to(format!("/students/import/jobs/{id}")))
}

/// Resumes an interrupted import in the background from its last committed batch.
#[post("/students/import/jobs/<id>/resume", data = "<_form>")]
pub async fn import_job_resume(
    _on: ModuleOn<on::Students>,
    who: Perm<'_, can::ImportStudents>,
    state: &State<AppState>,
    id: i64,
    _form: Csrf<crate::web::CsrfForm<'_>>,
) -> AppResult<Redirect> {
    let job = import::job(&state.db, id).await?;
    if job.status != JobStatus::Interrupted {
        return Err(AppError::conflict(
            "not_interrupted",
            "only an interrupted import can be resumed",
        ));
    }
    let (db, jobs, actor) = (state.db.clone(), state.jobs.clone(), Some(who.id));
    rocket::tokio::spawn(async move {
        if let Err(e) = import::resume(&db, &jobs, actor, id).await {
            tracing::error!(error = %e, job = id, "resuming the import failed");
        }
    });
    Ok(Redirect::to(format!("/students/import/jobs/{id}")))
}

#[get("/students/import/jobs/<id>")]
pub async fn import_job_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Students>,
    _who: Perm<'_, can::ImportStudents>,
    state: &State<AppState>,
    id: i64,
) -> AppResult<Template> {
    let job = import::job(&state.db, id).await?;
    let report = import::job_report(&job).filter(|r| r.job_id.is_some());
    let percent = if job.rows_total > 0 {
        job.rows_done * 100 / job.rows_total
    } else {
        100
    };
    Ok(ctx.render(
        "students/import_job",
        "students.import",
        json!({"job": job, "report": report.map(|r| report_view(ctx.lang, &r)), "percent": percent,
               "status_label": ctx.known("import.state", Some(job.status.as_str())),
               "running": job.status == JobStatus::Running}),
    ))
}

#[get("/students/import/jobs/<id>/rejected.csv")]
pub async fn import_rejected_csv(
    _on: ModuleOn<on::Students>,
    _who: Perm<'_, can::ImportStudents>,
    state: &State<AppState>,
    id: i64,
) -> AppResult<CsvFile> {
    let job = import::job(&state.db, id).await?;
    let report = import::job_report(&job).unwrap_or_default();
    Ok(CsvFile::new(
        import::rejected_csv(&report)?,
        &format!("rejected-{id}.csv"),
    ))
}

#[derive(FromForm)]
pub struct SegmentForm<'a> {
    #[field(default = "")]
    name: &'a str,
}

/// Saves the list's current filter as a segment, to message those students as one group.
#[post("/students/segments?<f..>", data = "<form>")]
pub async fn segment_submit(
    _on: ModuleOn<on::Messages>,
    who: Perm<'_, can::UseMessages>,
    state: &State<AppState>,
    f: StudentFilter,
    form: Csrf<SegmentForm<'_>>,
) -> AppResult<Redirect> {
    crate::interaction::messages::save_segment(&state.db, &who, form.name, &f).await?;
    Ok(Redirect::to("/messages"))
}

// ---------------------------------------------------------------- merge

async fn merge_view(
    ctx: &Ctx<'_>,
    db: &crate::db::Db,
    id: i64,
    duplicate_no: Option<&str>,
    error: Option<String>,
) -> AppResult<Template> {
    let shown = |v: super::service::StudentView| async move {
        match ctx.user {
            Some(user) => super::identifiers::shown_to(db, user, v).await,
            None => Err(AppError::Forbidden),
        }
    };
    let survivor = shown(super::service::view(db, id).await?).await?;
    let mut error = error;
    let mut duplicate = None;
    if let Some(no) = duplicate_no.map(str::trim).filter(|n| !n.is_empty()) {
        match merge::find_by_no(db, no).await? {
            Some(d) if d == id => error = Some(ctx.t("students.merge.same")),
            Some(d) => duplicate = Some(shown(super::service::view(db, d).await?).await?),
            None => error = Some(format!("{} {no}", ctx.t("students.merge.not_found"))),
        }
    }
    let fields = [
        "student_no",
        "name_zh",
        "name_en",
        "national_id",
        "birth_date",
        "phone",
        "email",
        "address",
        "department",
        "major",
        "cohort",
        "status",
    ];
    let a = serde_json::to_value(&survivor).unwrap_or_default();
    let b = duplicate
        .as_ref()
        .map(|d| serde_json::to_value(d).unwrap_or_default())
        .unwrap_or_default();
    let rows: Vec<serde_json::Value> = fields
        .iter()
        .map(|f| json!({"label": ctx.t(&format!("students.field.{f}")), "survivor": a[f], "duplicate": b[f]}))
        .collect();
    Ok(ctx.render(
        "students/merge",
        "students.merge.title",
        json!({"survivor": survivor, "duplicate": duplicate, "rows": rows, "error": error,
               "duplicate_no": duplicate_no.unwrap_or_default()}),
    ))
}

/// Pick the duplicate by its student number, compare the two records, then confirm.
#[get("/students/<id>/merge?<duplicate>")]
pub async fn merge_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Students>,
    _who: Perm<'_, can::EditStudents>,
    state: &State<AppState>,
    id: i64,
    duplicate: Option<&str>,
) -> AppResult<Template> {
    merge_view(&ctx, &state.db, id, duplicate, None).await
}

#[derive(FromForm)]
pub struct MergeForm<'a> {
    duplicate_id: i64,
    #[field(default = "")]
    duplicate_no: &'a str,
}

#[post("/students/<id>/merge", data = "<form>")]
pub async fn merge_submit(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Students>,
    who: Perm<'_, can::EditStudents>,
    state: &State<AppState>,
    id: i64,
    form: Csrf<MergeForm<'_>>,
) -> AppResult<Result<Redirect, (Status, Template)>> {
    match merge::merge(&state.db, who.id, id, form.duplicate_id).await {
        Ok(_) => Ok(Ok(Redirect::to(format!("/students/{id}")))),
        Err(e @ (AppError::Conflict { .. } | AppError::Unprocessable { .. })) => Ok(Err((
            Status::UnprocessableEntity,
            merge_view(
                &ctx,
                &state.db,
                id,
                Some(form.duplicate_no),
                Some(ctx.lang.error(&e)),
            )
            .await?,
        ))),
        Err(e) => Err(e),
    }
}
