//! A section's grades from a CSV file: a header with a student column (`student_no`, 学号)
//! and a score column (`score`, 成绩, 分数); UTF-8 (with or without BOM) or GBK; comma,
//! semicolon or tab. Every unreadable row is reported with its line and column; the rows
//! that parse go through the same checks and the same one transaction as the grid.

use super::types::{EntryIn, Labels, RowError};
use crate::i18n::Lang;

const STUDENT: &[&str] = &["student_no", "student", "学号", "student number"];
const SCORE: &[&str] = &["score", "grade", "成绩", "分数", "总评", "final"];

/// A file split into rows, with the file's own names for its two columns.
#[derive(Debug, Default)]
pub struct Parsed {
    pub rows: Vec<EntryIn>,
    /// The lines that could not be read at all.
    pub unreadable: Vec<RowError>,
    /// How errors name the columns: as the file's header does.
    pub labels: Option<Labels>,
}

/// Decodes and splits the file; returns the rows and the rows that could not be read, or why
/// the file as a whole cannot be read (in `lang`).
pub fn parse(bytes: &[u8], lang: Lang) -> Result<Parsed, String> {
    let text = decode(bytes);
    let first = text.lines().next().unwrap_or_default();
    let sep = [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|c| first.bytes().filter(|b| b == c).count())
        .unwrap_or(b',');
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(sep)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = rdr
        .headers()
        .map_err(|_| lang.t("grades.err.csv_header"))?
        .clone();
    let find = |names: &[&str]| {
        headers
            .iter()
            .position(|h| names.iter().any(|n| h.trim().eq_ignore_ascii_case(n)))
    };
    let (Some(si), Some(ci)) = (find(STUDENT), find(SCORE)) else {
        return Err(lang.t("grades.err.csv_columns"));
    };
    let labels = Labels {
        lang,
        student: headers.get(si).unwrap_or_default().trim().to_string(),
        score: headers.get(ci).unwrap_or_default().trim().to_string(),
    };
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for rec in rdr.records() {
        match rec {
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                errors.push(labels.error(
                    line,
                    "",
                    "",
                    "",
                    "unreadable",
                    labels.say("grades.err.csv_line", &[("line", line.to_string())]),
                ));
            }
            Ok(r) => {
                let line = r.position().map_or(0, |p| p.line() as usize);
                if r.iter().all(str::is_empty) {
                    continue;
                }
                let no = r.get(si).unwrap_or_default().to_string();
                let score = r.get(ci).unwrap_or_default();
                rows.push(EntryIn {
                    student_id: None,
                    student_no: Some(no),
                    score: if score.is_empty() {
                        None
                    } else {
                        Some(serde_json::Value::String(score.to_string()))
                    },
                    line,
                });
            }
        }
    }
    if rows.is_empty() && errors.is_empty() {
        return Err(lang.t("grades.err.csv_empty"));
    }
    Ok(Parsed {
        rows,
        unreadable: errors,
        labels: Some(labels),
    })
}

fn decode(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => encoding_rs::GBK.decode(bytes).0.into_owned(),
    }
}

/// Reads a CSV file off the request threads, then saves its rows through the same path as the
/// grid: the save's report, or why the file as a whole cannot be read. Errors name the columns
/// as the file's header does, else as `fallback` does.
pub async fn import(
    db: &sea_orm::DatabaseConnection,
    user: &crate::auth::CurrentUser,
    section: &super::types::Section,
    bytes: Vec<u8>,
    fallback: Labels,
) -> crate::error::AppResult<Result<super::service::SaveReport, String>> {
    let lang = fallback.lang;
    let parsed = tokio::task::spawn_blocking(move || parse(&bytes, lang))
        .await
        .map_err(crate::error::AppError::internal)?;
    let p = match parsed {
        Ok(p) => p,
        Err(message) => return Ok(Err(message)),
    };
    let labels = p.labels.unwrap_or(fallback);
    // NOTE: unreadable lines go into the same check, so a file with any bad line saves nothing.
    let report =
        super::service::save_grades(db, user, section, &p.rows, p.unreadable, "csv", &labels)
            .await?;
    Ok(Ok(report))
}
