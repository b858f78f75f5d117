//! The roll form of the page: one `mark_<student id>` field per student (present, absent,
//! late or excused), everyone present unless changed.

use super::service::{Mark, MarkIn};
use crate::error::{AppError, AppResult};
use std::collections::HashMap;

/// The marks of a posted roll form, by student id; an unknown status is refused.
pub fn marks(form: &HashMap<String, String>) -> AppResult<Vec<MarkIn>> {
    let mut out: Vec<MarkIn> = Vec::new();
    for (key, value) in form {
        let Some(id) = key.strip_prefix("mark_") else {
            continue;
        };
        let student_id: i64 = id
            .parse()
            .map_err(|_| AppError::unprocessable("bad_mark", format!("no student {id:?}")))?;
        let status = Mark::parse(value).ok_or_else(|| {
            AppError::unprocessable("bad_mark", "a mark is present, absent, late or excused")
        })?;
        out.push(MarkIn { student_id, status });
    }
    out.sort_by_key(|m| m.student_id);
    Ok(out)
}
