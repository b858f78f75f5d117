//! Attendance's part of a student's 360° page: the rate in each current section and the
//! recent absences. The page has already checked (and audited) that the viewer may read the
//! record; this checks it again so that the panel never shows more than the record.

use super::service::{self, Mark, today};
use crate::error::AppResult;
use crate::web::Ctx;
use serde_json::{Value, json};

/// `panels.attendance` of `templates/attendance/profile_panel.html.tera`; `Value::Null` when
/// the courses module is off or the viewer may not read the record.
pub async fn profile_panel(
    ctx: &Ctx<'_>,
    db: &sea_orm::DatabaseConnection,
    student_id: i64,
) -> AppResult<Value> {
    let Some(viewer) = ctx.user else {
        return Ok(Value::Null);
    };
    if !ctx.modules.contains(&crate::access::Module::Courses)
        || !crate::students::service::can_view(db, viewer, student_id).await?
    {
        return Ok(Value::Null);
    }
    let data = service::student_attendance(db, student_id, today()).await?;
    let mut recent: Vec<(chrono::NaiveDate, String, Mark)> = data
        .sections
        .iter()
        .flat_map(|s| {
            s.marks
                .iter()
                .filter(|m| m.status != Mark::Excused)
                .map(move |m| {
                    (
                        m.date,
                        format!("{}-{}", s.course_code, s.section_no),
                        m.status,
                    )
                })
        })
        .collect();
    recent.sort_by_key(|r| std::cmp::Reverse(r.0));
    recent.truncate(10);
    Ok(json!({
        "sections": super::pages::sections_json(ctx.lang, &data),
        "recent": recent.iter().map(|(d, code, m)| json!({"date": d.to_string(), "code": code,
            "status": m.as_str(), "label": ctx.t(&format!("attendance.mark.{}", m.as_str()))})).collect::<Vec<_>>(),
    }))
}
