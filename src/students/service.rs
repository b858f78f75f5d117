//! Who may see which student (the scope rules), and the student record as the API shows it.

use crate::access::Permission;
use crate::audit::Entry;
use crate::auth::CurrentUser;
use crate::entity::{departments, enrolments, majors, sections, students};
use crate::error::{AppError, AppResult};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
};
use serde::Serialize;

/// Whether `user` may read student `student_id`'s record:
/// - `students.view_any`: every student;
/// - `students.view_scoped`: students they advise, or who are or were in one of their sections;
/// - `record.view_own`: only their own record.
pub async fn can_view(
    db: &impl ConnectionTrait,
    user: &CurrentUser,
    student_id: i64,
) -> AppResult<bool> {
    if user.can(Permission::ViewAnyStudent) {
        return Ok(true);
    }
    if user.student_id == Some(student_id) && user.can(Permission::ViewOwnRecord) {
        return Ok(true);
    }
    if user.can(Permission::ViewScopedStudents) {
        let advised = students::Entity::find_by_id(student_id)
            .filter(students::Column::AdvisorId.eq(user.id))
            .count(db)
            .await?;
        if advised > 0 {
            return Ok(true);
        }
        let taught = enrolments::Entity::find()
            .filter(enrolments::Column::StudentId.eq(student_id))
            .inner_join(sections::Entity)
            .filter(sections::Column::TeacherId.eq(user.id))
            .count(db)
            .await?;
        return Ok(taught > 0);
    }
    Ok(false)
}

/// Checks the scope and writes the audit row: a refusal always, a staff read of someone
/// else's record always.
pub async fn authorize_read(
    db: &impl ConnectionTrait,
    user: &CurrentUser,
    student_id: i64,
    what: &str,
) -> AppResult<()> {
    if !can_view(db, user, student_id).await? {
        Entry::new(Some(user.id), &format!("{what}.read"), "student")
            .id(student_id)
            .student(student_id)
            .denied()
            .write(db)
            .await?;
        return Err(AppError::Forbidden);
    }
    if user.student_id != Some(student_id) {
        Entry::new(Some(user.id), &format!("{what}.read"), "student")
            .id(student_id)
            .student(student_id)
            .write(db)
            .await?;
    }
    Ok(())
}

#[derive(Debug, Clone, Serialize)]
pub struct StudentView {
    pub id: i64,
    pub student_no: String,
    pub name: String,
    pub name_zh: String,
    pub name_en: String,
    pub gender: String,
    pub department: String,
    pub department_id: i64,
    pub major: String,
    pub major_id: i64,
    pub cohort: i64,
    pub status: String,
    pub advisor_id: Option<i64>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

pub async fn view(db: &impl ConnectionTrait, student_id: i64) -> AppResult<StudentView> {
    let s = students::Entity::find_by_id(student_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let dept = departments::Entity::find_by_id(s.department_id)
        .select_only()
        .column(departments::Column::NameEn)
        .into_tuple::<String>()
        .one(db)
        .await?;
    let major = majors::Entity::find_by_id(s.major_id)
        .select_only()
        .column(majors::Column::NameEn)
        .into_tuple::<String>()
        .one(db)
        .await?;
    Ok(StudentView {
        id: s.id,
        name: s.name_zh.clone(),
        student_no: s.student_no,
        name_zh: s.name_zh,
        name_en: s.name_en,
        gender: s.gender,
        department: dept.unwrap_or_default(),
        department_id: s.department_id,
        major: major.unwrap_or_default(),
        major_id: s.major_id,
        cohort: s.cohort_year,
        status: s.status,
        advisor_id: s.advisor_id,
        email: s.email,
        phone: s.phone,
    })
}
