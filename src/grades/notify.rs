//! What grade events tell people: each student when their grade is published, the student when
//! an approved change alters a published grade, and the requesting teacher of every decision.
//! Written in the event's own transaction, so a rolled-back publication tells no one.

use super::types::Section;
use crate::entity::students;
use crate::error::AppResult;
use crate::interaction::messages::notify::{
    Notice, notify_user_with, notify_users_with, user_of_student,
};
use crate::mail::Letter;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

/// The course and term of a section as values of an e-mail, in both languages.
fn letter(kind: &str, section: &Section) -> Letter {
    let code = &section.course.code;
    Letter::new(kind)
        .arg("course_zh", format!("{code} {}", section.course.title_zh))
        .arg("course_en", format!("{code} {}", section.course.title_en))
        .arg("term_zh", &section.term.name_zh)
        .arg("term_en", &section.term.name_en)
}

fn course_label(section: &Section) -> String {
    format!(
        "{}-{} {}",
        section.course.code, section.model.section_no, section.course.title_en
    )
}

/// Tells each student of `students` (record ids) that their grade in `section` is published.
pub async fn published(
    db: &impl ConnectionTrait,
    section: &Section,
    students: &[i64],
) -> AppResult<()> {
    let mail = letter("grade.published", section).link("/me/transcript");
    let title = format!("Grade published: {}", course_label(section));
    for batch in students.chunks(500) {
        let accounts: Vec<Option<i64>> = students::Entity::find()
            .select_only()
            .column(students::Column::UserId)
            .filter(students::Column::Id.is_in(batch.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        let notices = accounts
            .into_iter()
            .flatten()
            .map(|uid| Notice {
                user_id: uid,
                title: title.clone(),
                body: "Your grade is on your transcript.".to_string(),
                link: "/me/transcript".to_string(),
                letter: mail.clone(),
            })
            .collect();
        notify_users_with(db, "grade.published", notices).await?;
    }
    Ok(())
}

/// Tells the people concerned of a decision on a grade change: the requester always, the
/// student when an approved change altered a published grade.
pub async fn decided(
    db: &impl ConnectionTrait,
    section: &Section,
    requester: i64,
    student_id: i64,
    approved: bool,
    new_score: Option<f64>,
) -> AppResult<()> {
    let student_name = students::Entity::find_by_id(student_id)
        .one(db)
        .await?
        .map(|s| format!("{} {}", s.student_no, s.name_zh))
        .unwrap_or_default();
    let student_name = student_name.as_str();
    let link = "/grades/changes".to_string();
    let (kind, title) = if approved {
        ("grade.change_approved_teacher", "Grade change approved")
    } else {
        ("grade.change_rejected", "Grade change not approved")
    };
    let mail = letter(kind, section)
        .arg("student", student_name)
        .link(&link);
    let title = format!("{title}: {} ({student_name})", course_label(section));
    notify_user_with(db, requester, kind, &title, "", &link, &mail).await?;
    if let (true, Some(score)) = (approved, new_score)
        && let Some(uid) = user_of_student(db, student_id).await?
    {
        let mail = letter("grade.change_approved", section)
            .arg("score", score)
            .link("/me/transcript");
        let title = format!("Grade changed: {}", course_label(section));
        notify_user_with(
            db,
            uid,
            "grade.change_approved",
            &title,
            &format!("Your grade is now {score}."),
            "/me/transcript",
            &mail,
        )
        .await?;
    }
    Ok(())
}
