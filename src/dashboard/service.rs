//! What each role's dashboard shows: a student's record and current courses, a teacher's
//! sections this term, the administrator's counts, chart and recent activity.

use crate::access::{Module, Permission};
use crate::auth::CurrentUser;
use crate::charts::bar_chart;
use crate::entity::students::StudentStatus;
use crate::entity::{
    audit_log, courses, departments, enrolments, sections, students, terms, users,
};
use crate::error::AppResult;
use crate::i18n::Lang;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// Which dashboard a user sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Teacher,
    Student,
    Staff,
}

impl Role {
    pub fn of(user: &CurrentUser) -> Role {
        if user.can(Permission::ManageUsers) || user.can(Permission::ViewAuditLog) {
            Role::Admin
        } else if user.can(Permission::EnterOwnGrades) || user.can(Permission::ViewScopedStudents) {
            Role::Teacher
        } else if user.student_id.is_some() {
            Role::Student
        } else {
            Role::Staff
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Teacher => "teacher",
            Role::Student => "student",
            Role::Staff => "staff",
        }
    }
}

/// A name in both languages (a term, a department).
#[derive(Debug, Clone, Serialize)]
pub struct Named {
    pub id: i64,
    pub name_zh: String,
    pub name_en: String,
}

/// One section of a course, as the dashboards list it.
#[derive(Debug, Clone, Serialize)]
pub struct SectionRow {
    pub id: i64,
    pub section_no: String,
    pub code: Option<String>,
    pub title_zh: Option<String>,
    pub title_en: Option<String>,
    pub credits: Option<f64>,
    pub capacity: i64,
    pub enrolled: i64,
    pub waitlist: i64,
    pub room: String,
}

/// The student on their own dashboard.
#[derive(Debug, Clone, Serialize)]
pub struct StudentCard {
    pub student_no: String,
    pub name_zh: String,
    pub name_en: String,
    pub cohort_year: i64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct StudentDashboard {
    pub student: Option<StudentCard>,
    pub department: Option<Named>,
    pub current_sections: Vec<SectionRow>,
    pub status_label: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct TeacherDashboard {
    pub term: Option<Named>,
    pub sections: Vec<SectionRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Counts {
    pub students: u64,
    pub users: u64,
    pub courses: u64,
    pub sections: u64,
}

/// One line of recent activity.
#[derive(Debug, Clone, Serialize)]
pub struct Activity {
    pub at: String,
    pub action: String,
    /// The action by its label, where it has one (`audit.action.<code>`).
    pub action_label: Option<String>,
    pub outcome: String,
    pub outcome_label: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AdminDashboard {
    pub counts: Counts,
    pub term: Option<Named>,
    pub dept_chart: String,
    pub recent: Vec<Activity>,
}

/// The data of one role's dashboard.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum RoleData {
    Admin(AdminDashboard),
    Teacher(TeacherDashboard),
    Student(StudentDashboard),
    Empty {},
}

/// Everything the dashboard page shows.
#[derive(Debug, Clone, Serialize)]
pub struct Dashboard {
    pub role: Role,
    pub data: RoleData,
    pub announcements: Vec<crate::entity::announcements::Model>,
}

fn term_name(t: terms::Model) -> Named {
    Named {
        id: t.id,
        name_zh: t.name_zh,
        name_en: t.name_en,
    }
}

async fn section_rows(
    db: &impl ConnectionTrait,
    list: Vec<sections::Model>,
) -> AppResult<Vec<SectionRow>> {
    let course_ids: Vec<i64> = list.iter().map(|s| s.course_id).collect();
    let courses: HashMap<i64, courses::Model> = courses::Entity::find()
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
            SectionRow {
                id: s.id,
                section_no: s.section_no,
                code: c.map(|c| c.code.clone()),
                title_zh: c.map(|c| c.title_zh.clone()),
                title_en: c.map(|c| c.title_en.clone()),
                credits: c.map(|c| c.credits),
                capacity: s.capacity,
                enrolled: s.enrolled_count,
                waitlist: s.waitlist_count,
                room: s.room,
            }
        })
        .collect())
}

async fn student_view(
    db: &impl ConnectionTrait,
    user: &CurrentUser,
    lang: Lang,
) -> AppResult<StudentDashboard> {
    let Some(sid) = user.student_id else {
        return Ok(StudentDashboard::default());
    };
    let Some(student) = students::Entity::find_by_id(sid).one(db).await? else {
        return Ok(StudentDashboard::default());
    };
    let department = departments::Entity::find_by_id(student.department_id)
        .one(db)
        .await?
        .map(|d| Named {
            id: d.id,
            name_zh: d.name_zh,
            name_en: d.name_en,
        });
    let mut current = Vec::new();
    if let Some(term) = crate::courses::service::current_term(db).await? {
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
    Ok(StudentDashboard {
        status_label: Some(lang.t(&format!("status.{}", student.status.as_str()))),
        student: Some(StudentCard {
            student_no: student.student_no,
            name_zh: student.name_zh,
            name_en: student.name_en,
            cohort_year: student.cohort_year,
        }),
        department,
        current_sections: current,
    })
}

async fn teacher_view(
    db: &impl ConnectionTrait,
    user: &CurrentUser,
) -> AppResult<TeacherDashboard> {
    let Some(term) = crate::courses::service::current_term(db).await? else {
        return Ok(TeacherDashboard::default());
    };
    let list = sections::Entity::find()
        .filter(sections::Column::TeacherId.eq(user.id))
        .filter(sections::Column::TermId.eq(term.id))
        .order_by_asc(sections::Column::Id)
        .all(db)
        .await?;
    Ok(TeacherDashboard {
        term: Some(term_name(term)),
        sections: section_rows(db, list).await?,
    })
}

async fn admin_view(db: &impl ConnectionTrait, lang: Lang) -> AppResult<AdminDashboard> {
    // Active students per department, in one grouped query; the total is their sum.
    let per_department: HashMap<i64, i64> = students::Entity::find()
        .select_only()
        .column(students::Column::DepartmentId)
        .column_as(students::Column::Id.count(), "n")
        .filter(students::Column::Status.eq(StudentStatus::Active))
        .group_by(students::Column::DepartmentId)
        .into_tuple::<(i64, i64)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let student_count = per_department.values().sum::<i64>() as u64;
    let user_count = users::Entity::find().count(db).await?;
    let course_count = courses::Entity::find().count(db).await?;
    let term = crate::courses::service::current_term(db).await?;
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
        let n = per_department.get(&d.id).copied().unwrap_or(0);
        let name = if lang == Lang::Zh {
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
        .await?
        .into_iter()
        .map(|r| Activity {
            at: r.at.to_rfc3339(),
            action_label: lang.find(&format!("audit.action.{}", r.action)),
            action: r.action,
            outcome_label: lang
                .find(&format!("audit.outcome.{}", r.outcome))
                .unwrap_or_else(|| r.outcome.clone()),
            outcome: r.outcome,
        })
        .collect();
    Ok(AdminDashboard {
        counts: Counts {
            students: student_count,
            users: user_count,
            courses: course_count,
            sections: section_count,
        },
        term: term.map(term_name),
        dept_chart: bar_chart(&bars, ""),
        recent,
    })
}

/// The dashboard of `user`, in `lang`, given the modules switched on.
pub async fn dashboard(
    db: &impl ConnectionTrait,
    user: &CurrentUser,
    lang: Lang,
    modules: &HashSet<Module>,
) -> AppResult<Dashboard> {
    let role = Role::of(user);
    let data = match role {
        Role::Admin => RoleData::Admin(admin_view(db, lang).await?),
        Role::Teacher if modules.contains(&Module::Courses) => {
            RoleData::Teacher(teacher_view(db, user).await?)
        }
        Role::Student => RoleData::Student(student_view(db, user, lang).await?),
        _ => RoleData::Empty {},
    };
    Ok(Dashboard {
        role,
        data,
        announcements: crate::interaction::dashboard_announcements(db, user).await?,
    })
}
