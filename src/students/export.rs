//! Export of a filtered student list as CSV (UTF-8 with BOM, so Excel shows Chinese) or JSON.
//! The columns are the import's own, so an exported file imports back unchanged. National ids
//! are full only for a caller allowed to see them, masked otherwise.

use super::dto::ExportRow;
use super::forms::{FIELDS, Lookups};
use super::lifecycle::Stage;
use super::query::{Scope, StudentFilter, all_matching};
use crate::csv_safe::SafeCsv;
use crate::entity::students;
use crate::error::{AppError, AppResult};
use sea_orm::DatabaseConnection;

/// The rows, with national ids masked unless `full`, and how many full ids they show.
async fn rows(
    db: &DatabaseConnection,
    scope: Scope,
    filter: &StudentFilter,
    full: bool,
) -> AppResult<(Vec<(students::Model, Stage)>, Lookups, usize)> {
    let mut rows = all_matching(db, scope, filter).await?;
    let mut revealed = 0;
    for (s, _) in &mut rows {
        if let Some(nid) = &s.national_id {
            if full {
                revealed += 1;
            } else {
                s.national_id = Some(super::identifiers::mask(nid));
            }
        }
    }
    Ok((rows, Lookups::load(db).await?, revealed))
}

/// The filtered list as CSV bytes; writing runs off the async threads.
pub async fn csv(
    db: &DatabaseConnection,
    scope: Scope,
    filter: &StudentFilter,
    full: bool,
) -> AppResult<(Vec<u8>, usize)> {
    let (rows, lookups, revealed) = rows(db, scope, filter, full).await?;
    let body = tokio::task::spawn_blocking(move || {
        let mut w = SafeCsv::new();
        let mut header: Vec<&str> = FIELDS.iter().map(|(f, _)| *f).collect();
        header.push("lifecycle_stage");
        w.row(&header)?;
        for (s, stage) in &rows {
            let mut rec = lookups.canonical(s).to_vec();
            rec.push(stage.code().to_string());
            w.row(&rec)?;
        }
        w.finish()
    })
    .await
    .map_err(AppError::internal)??;
    Ok((body, revealed))
}

/// The filtered list as JSON objects with the same fields as the CSV, plus the id.
pub async fn json(
    db: &DatabaseConnection,
    scope: Scope,
    filter: &StudentFilter,
    full: bool,
) -> AppResult<(Vec<ExportRow>, usize)> {
    let (rows, lookups, revealed) = rows(db, scope, filter, full).await?;
    let values = rows
        .iter()
        .map(|(s, stage)| {
            // The canonical record's cells, in the order of `FIELDS`.
            let mut cells = lookups.canonical(s).into_iter();
            let mut next = || cells.next().unwrap_or_default();
            ExportRow {
                id: s.id,
                student_no: next(),
                national_id: next(),
                name_zh: next(),
                name_en: next(),
                gender: next(),
                birth_date: next(),
                phone: next(),
                email: next(),
                address: next(),
                department: next(),
                major: next(),
                cohort: next(),
                status: next(),
                advisor: next(),
                lifecycle_stage: stage.code().to_string(),
            }
        })
        .collect();
    Ok((values, revealed))
}
