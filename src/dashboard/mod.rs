//! One dashboard per role: a student's own record, a teacher's sections, the administrator's
//! overview of the university.

use crate::access::{Module, Permission};
use crate::auth::CurrentUser;
use crate::charts::bar_chart;
use crate::entity::{
    audit_log, courses, departments, enrolments, sections, students, terms, users,
};
use crate::error::AppResult;
use crate::state::AppState;
use crate::web::Ctx;
use rocket::{State, get};
use rocket_dyn_templates::Template;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::{Value, json};

async fn current_term(db: &impl ConnectionTrait) -> AppResult<Option<terms::Model>> {
    Ok(terms::Entity::find()
        .filter(terms::Column::IsCurrent.eq(true))
        .one(db)
        .await?)
}

async fn section_rows(
    db: &impl ConnectionTrait,
    list: Vec<sections::Model>,
) -> AppResult<Vec<Value>> {
    let course_ids: Vec<i64> = list.iter().map(|s| s.course_id).collect();
    let courses: std::collections::HashMap<i64, courses::Model> = courses::Entity::find()
        .filter(courses::Column::Id.is_in(course_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    Ok(list
        .into_iter()
        .map(|s| {
            let c = courses.get(&s.course_id);
            json!({"id": s.id, "section_no": s.section_no, "code": c.map(|c| c.code.clone()),
                   "title_zh": c.map(|c| c.title_zh.clone()), "title_en": c.map(|c| c.title_en.clone()),
                   "credits": c.map(|c| c.credits), "capacity": s.capacity, "enrolled": s.enrolled_count,
                   "waitlist": s.waitlist_count, "room": s.room})
        })
        .collect())
}

async fn student_view(
    db: &impl ConnectionTrait,
    user: &CurrentUser,
    lang: crate::i18n::Lang,
) -> AppResult<Value> {
    let Some(sid) = user.student_id else {
        return Ok(json!({}));
    };
    let Some(student) = students::Entity::find_by_id(sid).one(db).await? else {
        return Ok(json!({}));
    };
    let dept = departments::Entity::find_by_id(student.department_id)
        .one(db)
        .await?;
    let mut current = Vec::new();
    if let Some(term) = current_term(db).await? {
        let section_ids: Vec<i64> = enrolments::Entity::find()
            .filter(enrolments::Column::StudentId.eq(sid))
            .filter(enrolments::Column::Status.eq("enrolled"))
            .select_only()
            .column(enrolments::Column::SectionId)
            .into_tuple()
            .all(db)
            .await?;
        let list = sections::Entity::find()
            .filter(sections::Column::Id.is_in(section_ids))
            .filter(sections::Column::TermId.eq(term.id))
            .all(db)
            .await?;
        current = section_rows(db, list).await?;
    }
    let status_label = lang.t(&format!("status.{}", student.status));
    Ok(
        json!({"student": student, "department": dept, "current_sections": current, "status_label": status_label}),
    )
}

async fn teacher_view(db: &impl ConnectionTrait, user: &CurrentUser) -> AppResult<Value> {
    let Some(term) = current_term(db).await? else {
        return Ok(json!({"sections": []}));
    };
    let list = sections::Entity::find()
        .filter(sections::Column::TeacherId.eq(user.id))
        .filter(sections::Column::TermId.eq(term.id))
        .order_by_asc(sections::Column::Id)
        .all(db)
        .await?;
    Ok(json!({"term": term, "sections": section_rows(db, list).await?}))
}

async fn admin_view(db: &impl ConnectionTrait, ctx: &Ctx<'_>) -> AppResult<Value> {
    let student_count = students::Entity::find()
        .filter(students::Column::Status.eq("active"))
        .count(db)
        .await?;
    let user_count = users::Entity::find().count(db).await?;
    let course_count = courses::Entity::find().count(db).await?;
    let term = current_term(db).await?;
    let section_count = match &term {
        Some(t) => {
            sections::Entity::find()
                .filter(sections::Column::TermId.eq(t.id))
                .count(db)
                .await?
        }
        None => 0,
    };
    let mut bars = Vec::new();
    for d in departments::Entity::find()
        .order_by_asc(departments::Column::Id)
        .all(db)
        .await?
    {
        let n = students::Entity::find()
            .filter(students::Column::DepartmentId.eq(d.id))
            .filter(students::Column::Status.eq("active"))
            .count(db)
            .await?;
        let name = if ctx.lang == crate::i18n::Lang::Zh {
            d.name_zh
        } else {
            d.name_en
        };
        bars.push((name, n as f64));
    }
    let recent = audit_log::Entity::find()
        .order_by_desc(audit_log::Column::Id)
        .limit(10)
        .all(db)
        .await?;
    Ok(json!({
        "counts": {"students": student_count, "users": user_count, "courses": course_count, "sections": section_count},
        "term": term,
        "dept_chart": bar_chart(&bars, ""),
        "recent": recent,
    }))
}

#[get("/dashboard?<flash>")]
pub async fn dashboard(
    ctx: Ctx<'_>,
    user: &CurrentUser,
    state: &State<AppState>,
    flash: Option<&str>,
) -> AppResult<Template> {
    let db = &state.db;
    let role = if user.can(Permission::ManageUsers) || user.can(Permission::ViewAuditLog) {
        "admin"
    } else if user.can(Permission::EnterOwnGrades) || user.can(Permission::ViewScopedStudents) {
        "teacher"
    } else if user.student_id.is_some() {
        "student"
    } else {
        "staff"
    };
    let data = match role {
        "admin" => admin_view(db, &ctx).await?,
        "teacher" if ctx.modules.contains(&Module::Courses) => teacher_view(db, user).await?,
        "student" => student_view(db, user, ctx.lang).await?,
        _ => json!({}),
    };
    let flash = ctx.known("flash", flash);
    Ok(ctx.render(
        "dashboard",
        "dashboard.title",
        json!({"role": role, "role_label": ctx.t(&format!("role.{role}")), "data": data, "announcements": crate::interaction::dashboard_announcements(db, user).await?, "flash": flash}),
    ))
}

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![dashboard]
}
