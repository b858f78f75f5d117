//! Telling advisors: when a run flags a student at high risk who was not at high risk in the
//! previous finished run of its kind, the student's advisor is notified (category care). The
//! student is never told in these words; their own pages speak of suggestions.

use crate::entity::job_status::JobStatus;
use crate::entity::{mining_runs, risk_flags, students};
use crate::error::AppResult;
use crate::interaction::messages::notify::{Notice, notify_users_with};
use crate::mail::Letter;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::HashSet;

const HIGH: &str = "high";

async fn high_students(db: &impl ConnectionTrait, run_id: i64) -> AppResult<HashSet<i64>> {
    Ok(risk_flags::Entity::find()
        .select_only()
        .column(risk_flags::Column::StudentId)
        .filter(risk_flags::Column::RunId.eq(run_id))
        .filter(risk_flags::Column::Level.eq(HIGH))
        .into_tuple::<i64>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// Notifies the advisor of each student newly at high risk in `run` (in the run's saving
/// transaction). Answers how many advisors' notifications were written.
pub async fn tell_advisors(
    db: &impl ConnectionTrait,
    run: &mining_runs::Model,
) -> AppResult<usize> {
    let previous = mining_runs::Entity::find()
        .filter(mining_runs::Column::Kind.eq(run.kind.as_str()))
        .filter(mining_runs::Column::Status.eq(JobStatus::Done))
        .filter(mining_runs::Column::Id.lt(run.id))
        .order_by_desc(mining_runs::Column::Id)
        .one(db)
        .await?;
    let before = match &previous {
        Some(p) => high_students(db, p.id).await?,
        None => HashSet::new(),
    };
    let now: Vec<i64> = high_students(db, run.id)
        .await?
        .into_iter()
        .filter(|s| !before.contains(s))
        .collect();
    let mut notices = Vec::new();
    for chunk in now.chunks(500) {
        let records = students::Entity::find()
            .filter(students::Column::Id.is_in(chunk.to_vec()))
            .filter(students::Column::AdvisorId.is_not_null())
            .all(db)
            .await?;
        for s in records {
            let Some(advisor) = s.advisor_id else {
                continue;
            };
            let who = format!("{} {}", s.student_no, s.name_zh);
            let link = "/care".to_string();
            notices.push(Notice {
                user_id: advisor,
                title: format!("A student you advise may need support: {who}"),
                body: String::new(),
                letter: Letter::new("care.flagged").arg("student", &who).link(&link),
                link,
            });
        }
    }
    let told = notices.len();
    notify_users_with(db, "care.flagged", notices).await?;
    Ok(told)
}
