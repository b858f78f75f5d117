//! Importing a card reader's attendance file: `student_no`, the section (`section`: its id or
//! its code as the portal shows it, `CS101-01`; or `course_code` + `term_code`), `date` (ISO)
//! and `status` (present/absent/late/excused, or 出勤/缺勤/迟到/请假). UTF-8 or GBK, `,` or
//! `;`. The whole file is one transaction; bad rows are listed with their line and reason and
//! never half-written; a re-import changes nothing; a dry run reports the counts and writes
//! nothing.

use super::service::{self, Mark, RollSection, SOURCE_IMPORT};
use crate::audit::Entry;
use crate::db::{Writable, write_txn};
use crate::entity::{attendance, attendance_rolls, courses, enrolments, sections, students, terms};
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use chrono::{NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// The columns, each with the header names it is known by.
const COLUMNS: [(&str, &[&str]); 6] = [
    (
        "student_no",
        &["student_no", "学号", "student", "student number"],
    ),
    (
        "section",
        &["section", "教学班", "section_code", "section_id"],
    ),
    (
        "course_code",
        &["course_code", "course", "课程代码", "课程号"],
    ),
    ("term_code", &["term_code", "term", "学期"]),
    ("date", &["date", "日期", "day"]),
    ("status", &["status", "考勤", "状态", "attendance"]),
];

/// One refused row: its line in the file, its cells, and why (a code and the value it names).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RejectedRow {
    pub line: u64,
    pub values: Vec<String>,
    /// `missing`, `unknown_student`, `unknown_section`, `ambiguous_section`, `not_enrolled`,
    /// `bad_date`, `future`, `not_a_meeting`, `bad_status` or `duplicate`.
    pub code: String,
    pub value: String,
}

impl RejectedRow {
    /// Why, in `lang`.
    pub fn reason(&self, lang: Lang) -> String {
        lang.t(&format!("attendance.import.reason.{}", self.code))
            .replace("{value}", &self.value)
    }
}

/// What an import did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImportReport {
    pub dry_run: bool,
    pub encoding: String,
    pub delimiter: String,
    /// The file's header, as written.
    pub header: Vec<String>,
    /// Data rows read.
    pub read: u64,
    /// Meetings whose roll the file adds.
    pub rolls_added: u64,
    /// Marks added, changed (another status) or removed (now present).
    pub marks_added: u64,
    pub marks_changed: u64,
    pub marks_removed: u64,
    /// Rows that change nothing (already so).
    pub unchanged: u64,
    pub rejected: u64,
    pub rejected_rows: Vec<RejectedRow>,
}

struct Row {
    line: u64,
    values: Vec<String>,
    cells: HashMap<&'static str, String>,
}

/// Reads the file: its rows by column, the encoding and the delimiter.
fn read(bytes: &[u8]) -> AppResult<(Vec<Row>, ImportReport)> {
    let (text, encoding) = crate::students::import::decode(bytes)?;
    let delimiter = crate::students::import::sniff_delimiter(&text);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| AppError::unprocessable("bad_file", e.to_string()))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
        .collect();
    let mut at: HashMap<&'static str, usize> = HashMap::new();
    for (i, h) in header.iter().enumerate() {
        let h = h.to_lowercase();
        if let Some((name, _)) = COLUMNS
            .iter()
            .find(|(_, names)| names.contains(&h.as_str()))
        {
            at.entry(name).or_insert(i);
        }
    }
    let has = |c: &str| at.contains_key(c);
    if !has("student_no")
        || !has("date")
        || !has("status")
        || !(has("section") || (has("course_code") && has("term_code")))
    {
        return Err(AppError::unprocessable(
            "bad_attendance_header",
            "the header needs student_no, date, status, and section or course_code + term_code",
        ));
    }
    let mut rows = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let line = i as u64 + 2;
        let rec = rec.map_err(|e| AppError::unprocessable("bad_file", e.to_string()))?;
        let values: Vec<String> = rec.iter().map(str::to_string).collect();
        if values.iter().all(|v| v.trim().is_empty()) {
            continue;
        }
        let cells = at
            .iter()
            .map(|(name, i)| {
                (
                    *name,
                    values
                        .get(*i)
                        .map(|v| v.trim().to_string())
                        .unwrap_or_default(),
                )
            })
            .collect();
        rows.push(Row {
            line,
            values,
            cells,
        });
    }
    let report = ImportReport {
        encoding,
        delimiter: match delimiter {
            b';' => ";".into(),
            b'\t' => "tab".into(),
            _ => ",".into(),
        },
        header,
        read: rows.len() as u64,
        ..Default::default()
    };
    Ok((rows, report))
}

/// The sections a file can name: by id, by code in a term, by course in a term.
struct SectionIndex {
    ids: HashSet<i64>,
    /// (course code, section no, term code) → id
    by_code: HashMap<(String, String, String), i64>,
    /// (course code, term code) → ids
    by_course: HashMap<(String, String), Vec<i64>>,
    current_term: Option<String>,
}

async fn section_index(db: &impl ConnectionTrait) -> AppResult<SectionIndex> {
    let rows: Vec<(i64, String, String, String, bool)> = sections::Entity::find()
        .select_only()
        .column(sections::Column::Id)
        .column(courses::Column::Code)
        .column(sections::Column::SectionNo)
        .column(terms::Column::Code)
        .column(terms::Column::IsCurrent)
        .inner_join(courses::Entity)
        .inner_join(terms::Entity)
        .into_tuple()
        .all(db)
        .await?;
    let mut index = SectionIndex {
        ids: HashSet::new(),
        by_code: HashMap::new(),
        by_course: HashMap::new(),
        current_term: None,
    };
    for (id, course, no, term, current) in rows {
        index.ids.insert(id);
        index
            .by_code
            .insert((course.to_uppercase(), no.clone(), term.clone()), id);
        index
            .by_course
            .entry((course.to_uppercase(), term.clone()))
            .or_default()
            .push(id);
        if current {
            index.current_term = Some(term);
        }
    }
    Ok(index)
}

impl SectionIndex {
    /// The sections a row names (several when a course has several sections in the term).
    fn find(&self, section: &str, course: &str, term: &str) -> Vec<i64> {
        if !section.is_empty() {
            if let Ok(id) = section.parse::<i64>() {
                return if self.ids.contains(&id) {
                    vec![id]
                } else {
                    vec![]
                };
            }
            let term = if term.is_empty() {
                self.current_term.clone().unwrap_or_default()
            } else {
                term.to_string()
            };
            let Some((c, no)) = section.rsplit_once('-') else {
                return vec![];
            };
            return self
                .by_code
                .get(&(c.trim().to_uppercase(), no.trim().to_string(), term))
                .map(|id| vec![*id])
                .unwrap_or_default();
        }
        self.by_course
            .get(&(course.to_uppercase(), term.to_string()))
            .cloned()
            .unwrap_or_default()
    }
}

/// One valid row, resolved.
struct Resolved {
    section: i64,
    student: i64,
    date: NaiveDate,
    mark: Mark,
}

/// Imports (or with `dry_run` only counts) an attendance file as `actor` (`None` from the
/// command line). Whole-file problems (not text, no usable header) are errors; row problems
/// are listed in the report and the other rows are imported.
pub async fn import(
    db: &impl Writable,
    bytes: &[u8],
    dry_run: bool,
    actor: Option<i64>,
    today: NaiveDate,
) -> AppResult<(ImportReport, i64)> {
    // NOTE: decoding and parsing a large file is CPU work: off the async workers.
    let owned = bytes.to_vec();
    let (rows, mut report) = tokio::task::spawn_blocking(move || read(&owned))
        .await
        .map_err(|e| AppError::internal(format!("the import stopped: {e}")))??;
    report.dry_run = dry_run;
    let index = section_index(db).await?;
    let numbers: Vec<String> = rows
        .iter()
        .filter_map(|r| r.cells.get("student_no").cloned())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut student_ids: HashMap<String, i64> = HashMap::new();
    for chunk in numbers.chunks(500) {
        let found: Vec<(i64, String)> = students::Entity::find()
            .select_only()
            .column(students::Column::Id)
            .column(students::Column::StudentNo)
            .filter(students::Column::StudentNo.is_in(chunk.to_vec()))
            .into_tuple()
            .all(db)
            .await?;
        student_ids.extend(found.into_iter().map(|(id, no)| (no, id)));
    }
    let ids: Vec<i64> = student_ids.values().copied().collect();
    let mut enrolled: HashSet<(i64, i64)> = HashSet::new();
    for chunk in ids.chunks(500) {
        let pairs: Vec<(i64, i64)> = enrolments::Entity::find()
            .select_only()
            .column(enrolments::Column::StudentId)
            .column(enrolments::Column::SectionId)
            .filter(enrolments::Column::StudentId.is_in(chunk.to_vec()))
            .filter(enrolments::Column::Status.eq(enrolments::EnrolmentStatus::Enrolled))
            .into_tuple()
            .all(db)
            .await?;
        enrolled.extend(pairs);
    }
    let section_ids: Vec<i64> = enrolled
        .iter()
        .map(|(_, s)| *s)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let loaded: HashMap<i64, RollSection> = service::load_sections(db, &section_ids).await?;

    let mut good: Vec<Resolved> = Vec::new();
    let mut seen: HashMap<(i64, NaiveDate, i64), u64> = HashMap::new();
    for row in &rows {
        let cell = |c: &str| row.cells.get(c).map(String::as_str).unwrap_or("");
        let reject = |code: &str, value: &str| RejectedRow {
            line: row.line,
            values: row.values.clone(),
            code: code.into(),
            value: value.into(),
        };
        let outcome = (|| {
            let no = cell("student_no");
            if no.is_empty() {
                return Err(reject("missing", "student_no"));
            }
            let student = *student_ids
                .get(no)
                .ok_or_else(|| reject("unknown_student", no))?;
            let named = if cell("section").is_empty() {
                format!("{} {}", cell("course_code"), cell("term_code"))
            } else {
                cell("section").to_string()
            };
            let candidates = index.find(cell("section"), cell("course_code"), cell("term_code"));
            if candidates.is_empty() {
                return Err(reject("unknown_section", named.trim()));
            }
            let mine: Vec<i64> = candidates
                .into_iter()
                .filter(|s| enrolled.contains(&(student, *s)))
                .collect();
            let section = match mine.as_slice() {
                [one] => *one,
                [] => return Err(reject("not_enrolled", named.trim())),
                _ => return Err(reject("ambiguous_section", named.trim())),
            };
            let date = NaiveDate::parse_from_str(cell("date"), "%Y-%m-%d")
                .or_else(|_| NaiveDate::parse_from_str(cell("date"), "%Y/%m/%d"))
                .map_err(|_| reject("bad_date", cell("date")))?;
            if date > today {
                return Err(reject("future", cell("date")));
            }
            let meets = loaded
                .get(&section)
                .and_then(|s| s.pattern_on(date))
                .is_some();
            if !meets {
                return Err(reject("not_a_meeting", cell("date")));
            }
            let mark =
                Mark::parse(cell("status")).ok_or_else(|| reject("bad_status", cell("status")))?;
            if let Some(first) = seen.get(&(section, date, student)) {
                return Err(reject("duplicate", &first.to_string()));
            }
            seen.insert((section, date, student), row.line);
            Ok(Resolved {
                section,
                student,
                date,
                mark,
            })
        })();
        match outcome {
            Ok(r) => good.push(r),
            Err(rejected) => report.rejected_rows.push(rejected),
        }
    }
    report.rejected = report.rejected_rows.len() as u64;

    let txn = write_txn(db).await?;
    let touched: Vec<i64> = good
        .iter()
        .map(|r| r.section)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut rolls: HashSet<(i64, NaiveDate)> = HashSet::new();
    let mut marks: HashMap<(i64, NaiveDate, i64), (i64, String)> = HashMap::new();
    for chunk in touched.chunks(500) {
        let r: Vec<(i64, NaiveDate)> = attendance_rolls::Entity::find()
            .select_only()
            .column(attendance_rolls::Column::SectionId)
            .column(attendance_rolls::Column::HeldOn)
            .filter(attendance_rolls::Column::SectionId.is_in(chunk.to_vec()))
            .into_tuple()
            .all(&txn)
            .await?;
        rolls.extend(r);
        for m in attendance::Entity::find()
            .filter(attendance::Column::SectionId.is_in(chunk.to_vec()))
            .all(&txn)
            .await?
        {
            marks.insert((m.section_id, m.held_on, m.student_id), (m.id, m.status));
        }
    }
    let now = Utc::now().fixed_offset();
    let mut new_rolls: Vec<attendance_rolls::ActiveModel> = Vec::new();
    let mut new_marks: Vec<attendance::ActiveModel> = Vec::new();
    for r in &good {
        let new_roll = rolls.insert((r.section, r.date));
        if new_roll {
            report.rolls_added += 1;
            new_rolls.push(attendance_rolls::ActiveModel {
                section_id: Set(r.section),
                held_on: Set(r.date),
                source: Set(SOURCE_IMPORT.into()),
                taken_by: Set(actor),
                taken_at: Set(now),
                ..Default::default()
            });
        }
        let existing = marks.get(&(r.section, r.date, r.student));
        match (existing, r.mark) {
            (None, Mark::Present) => report.unchanged += u64::from(!new_roll),
            (Some((id, _)), Mark::Present) => {
                report.marks_removed += 1;
                attendance::Entity::delete_by_id(*id).exec(&txn).await?;
            }
            (Some((_, old)), m) if old == m.as_str() => report.unchanged += 1,
            (Some((id, _)), m) => {
                report.marks_changed += 1;
                attendance::ActiveModel {
                    id: Set(*id),
                    status: Set(m.as_str().into()),
                    source: Set(SOURCE_IMPORT.into()),
                    recorded_by: Set(actor),
                    recorded_at: Set(now),
                    ..Default::default()
                }
                .update(&txn)
                .await?;
            }
            (None, m) => {
                report.marks_added += 1;
                new_marks.push(attendance::ActiveModel {
                    section_id: Set(r.section),
                    student_id: Set(r.student),
                    held_on: Set(r.date),
                    status: Set(m.as_str().into()),
                    source: Set(SOURCE_IMPORT.into()),
                    recorded_by: Set(actor),
                    recorded_at: Set(now),
                    ..Default::default()
                });
            }
        }
    }
    for chunk in new_rolls.chunks(500) {
        attendance_rolls::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(&txn)
            .await?;
    }
    for chunk in new_marks.chunks(500) {
        attendance::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(&txn)
            .await?;
    }
    if dry_run {
        txn.rollback().await?;
        let id = record(db, actor, bytes, &report).await?;
        return Ok((report, id));
    }
    Entry::new(actor, "attendance.import", "attendance")
        .detail(serde_json::json!({
            "read": report.read, "rolls_added": report.rolls_added,
            "marks_added": report.marks_added, "marks_changed": report.marks_changed,
            "marks_removed": report.marks_removed, "rejected": report.rejected,
        }))
        .write(&txn)
        .await?;
    // NOTE: the report is kept in the import's own transaction: marks are never stored
    // without the report that lists what was refused.
    let id = keep(&txn, actor, bytes, &report).await?;
    txn.commit().await?;
    Ok((report, id))
}

/// The refused rows as CSV (neutralised), to fix and import again: the file's own columns,
/// then the line and the reason in `lang`.
pub fn rejected_csv(report: &ImportReport, lang: Lang) -> AppResult<Vec<u8>> {
    let mut w = crate::csv_safe::SafeCsv::new();
    let mut header = report.header.clone();
    header.extend(["error_line".to_string(), "error_reason".to_string()]);
    w.row(&header)?;
    for r in &report.rejected_rows {
        let mut rec: Vec<String> = (0..report.header.len())
            .map(|i| r.values.get(i).cloned().unwrap_or_default())
            .collect();
        rec.extend([r.line.to_string(), r.reason(lang)]);
        w.row(&rec)?;
    }
    w.finish()
}

/// `srm import attendance FILE [--dry-run]`: prints the counts and every refused row.
pub async fn run_cli(
    db: &crate::db::Db,
    file: &std::path::Path,
    dry_run: bool,
    rejected_out: Option<&std::path::Path>,
) -> AppResult<()> {
    let bytes = std::fs::read(file)
        .map_err(|e| AppError::internal(format!("cannot read {}: {e}", file.display())))?;
    let started = std::time::Instant::now();
    let (report, _) = import(db, &bytes, dry_run, None, service::today()).await?;
    if let Some(path) = rejected_out {
        std::fs::write(path, rejected_csv(&report, Lang::En)?)
            .map_err(|e| AppError::internal(format!("cannot write {}: {e}", path.display())))?;
    }
    for r in &report.rejected_rows {
        println!("line {}: {}", r.line, r.reason(Lang::En));
    }
    println!(
        "{}read {}, rolls added {}, marks added {}, changed {}, removed {}, unchanged {}, rejected {} ({}, delimiter {}) in {:.2} s",
        if dry_run { "dry run: " } else { "" },
        report.read,
        report.rolls_added,
        report.marks_added,
        report.marks_changed,
        report.marks_removed,
        report.unchanged,
        report.rejected,
        report.encoding,
        report.delimiter,
        started.elapsed().as_secs_f64(),
    );
    Ok(())
}

/// Keeps a finished import's report (dry runs too), so that its refused rows can be shown and
/// downloaded; returns its id.
pub async fn record(
    db: &impl Writable,
    actor: Option<i64>,
    bytes: &[u8],
    report: &ImportReport,
) -> AppResult<i64> {
    let txn = write_txn(db).await?;
    let id = keep(&txn, actor, bytes, report).await?;
    txn.commit().await?;
    Ok(id)
}

/// Inserts the kept report on `db` (the caller's transaction).
async fn keep(
    db: &impl ConnectionTrait,
    actor: Option<i64>,
    bytes: &[u8],
    report: &ImportReport,
) -> AppResult<i64> {
    use crate::entity::{import_jobs, job_status::JobStatus};
    use sha2::Digest;
    let now = Utc::now().fixed_offset();
    let hash = format!("{:x}", sha2::Sha256::digest(bytes));
    let text = serde_json::to_string(report).map_err(AppError::internal)?;
    let job = import_jobs::ActiveModel {
        kind: Set(JOB_KIND.into()),
        file_hash: Set(hash),
        status: Set(JobStatus::Done),
        started_by: Set(actor),
        started_at: Set(now),
        finished_at: Set(Some(now)),
        rows_total: Set(report.read as i64),
        rows_done: Set(report.read as i64),
        report: Set(text),
        holder: Set(None),
        payload: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(job.id)
}

/// The `kind` of an attendance import in `import_jobs`.
pub const JOB_KIND: &str = "attendance";

/// A kept import report.
pub async fn report(db: &impl ConnectionTrait, id: i64) -> AppResult<ImportReport> {
    use crate::entity::import_jobs;
    let job = import_jobs::Entity::find_by_id(id)
        .filter(import_jobs::Column::Kind.eq(JOB_KIND))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    serde_json::from_str(&job.report).map_err(AppError::internal)
}
