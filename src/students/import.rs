//! Bulk import of students from CSV: the API, the upload page and `srm import students` all
//! run `run`. Decoding, parsing and validation run off the async threads (`spawn_blocking`);
//! good rows are written in batches, one transaction each, so a killed import leaves no
//! half-written student and re-running the same file completes it (rows already stored come
//! back as `unchanged`). Nothing is dropped silently: added + updated + unchanged + rejected
//! = read.

use super::forms::{Canonical, DERIVED, FIELDS, FieldError, Lookups, StudentInput};
use super::service::{created_history, new_student_model};
use crate::audit::Entry;
use crate::db::write_txn;
use crate::entity::job_status::JobStatus;
use crate::entity::{import_files, import_jobs, student_history, students};
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::jobs::{Heartbeat, IMPORT, Jobs, Lease, Stop};
use chrono::Utc;
use encoding_rs::Encoding;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    Set,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};

/// The largest CSV the API accepts.
pub const IMPORT_LIMIT_MIB: u64 = 64;

/// Rows written per transaction.
pub const BATCH: usize = 1000;
/// Fields a file must have a column for.
const REQUIRED: [&str; 4] = ["student_no", "name_zh", "major", "cohort"];

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct RejectedRow {
    pub line: u64,
    pub column: String,
    pub reason: String,
    pub student_no: String,
    /// Each cause by field and code, for a page to say in the reader's language (`reason` is
    /// the same in English).
    #[serde(default)]
    pub problems: Vec<RowProblem>,
    /// The row's values in `FIELDS` order, so the rejected rows can be fixed and re-uploaded.
    pub values: Vec<String>,
}

/// One cause of a refused row: the field (empty for the whole line), a stable code
/// (`students.err.<code>` / `import.err.<code>`) and the values its message is filled with.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct RowProblem {
    pub field: String,
    pub code: String,
    #[serde(default)]
    pub args: BTreeMap<String, String>,
}

impl RowProblem {
    fn new(field: &str, code: &str, args: &[(&str, String)]) -> RowProblem {
        RowProblem {
            field: field.into(),
            code: code.into(),
            args: args
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct ImportReport {
    pub dry_run: bool,
    pub encoding: String,
    pub delimiter: String,
    pub read: u64,
    pub added: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
    pub rejected_rows: Vec<RejectedRow>,
    /// Header columns the import does not know (their values are not read).
    pub ignored_columns: Vec<String>,
    pub warnings: Vec<String>,
    /// The same warnings as codes (`import.warn.<code>`).
    #[serde(default)]
    pub warning_codes: Vec<String>,
    pub job_id: Option<i64>,
}

/// A file whose encoding, delimiter and header are checked and whose records are counted
/// (`report.read`). Its rows are read and checked a batch at a time while the batches before
/// are written (see [`store`]), so memory holds the file and a few batches, not every row.
pub struct Prepared {
    pub report: ImportReport,
    pub hash: String,
    file: Vec<u8>,
    choice: Option<&'static Encoding>,
    lookups: Lookups,
}

/// One record of a file, checked: to be written, or refused with why.
enum Checked {
    Accepted(Row),
    Rejected(RejectedRow),
}

/// A row to write: its line, what it says, and its values in `FIELDS` order.
type Row = (u64, StudentInput, Vec<String>);

/// The rows of a file read in order and sent a batch at a time: `rows` are the next `BATCH`
/// accepted ones (fewer in the last batch), `rejected` those refused since the batch before,
/// `records` how many records the file has given up to this batch's last.
struct Batch {
    rows: Vec<Row>,
    rejected: Vec<RejectedRow>,
    records: u64,
}

/// The names people know `fields` by, in `lang`.
fn field_labels(lang: Lang, fields: &[&str]) -> String {
    let sep = if lang == Lang::Zh { "、" } else { ", " };
    fields
        .iter()
        .map(|f| lang.t(&format!("students.field.{f}")))
        .collect::<Vec<_>>()
        .join(sep)
}

/// A file that cannot be imported; `why` names the cause for the translated message.
fn bad_file(why: &'static str, message: impl Into<String>) -> AppError {
    AppError::unprocessable("bad_file", message).arg("why", why)
}

/// The encoding a user chose on the import page (`auto` or empty: detect it).
pub fn encoding_choice(label: &str) -> AppResult<Option<&'static Encoding>> {
    let label = label.trim();
    if label.is_empty() || label.eq_ignore_ascii_case("auto") {
        return Ok(None);
    }
    Encoding::for_label(label.as_bytes())
        .map(Some)
        .ok_or_else(|| {
            bad_file(
                "unknown_encoding",
                format!("unknown encoding {}", crate::error::excerpt(label, 40)),
            )
        })
}

/// Text from the file's bytes, and the name of the encoding read. With `choice`, that encoding
/// (refused by name if the bytes are not valid in it); else UTF-8 (with or without BOM) when
/// valid, otherwise the encoding detected from the bytes (chardetng, as Firefox does) when it is
/// GBK, Big5 or windows-1252 (Latin-1), so a Latin-1 file is no longer read as GBK; any other
/// guess is named and the user chooses. UTF-16 and binary files are refused by name.
pub fn decode(bytes: &[u8]) -> AppResult<(String, String)> {
    decode_as(bytes, None)
}

pub fn decode_as(bytes: &[u8], choice: Option<&'static Encoding>) -> AppResult<(String, String)> {
    decode_borrowed(bytes, choice).map(|(text, name)| (text.into_owned(), name))
}

/// `decode_as` without copying a UTF-8 file (the usual case): a large import holds its text
/// once, not twice.
fn decode_borrowed<'b>(
    bytes: &'b [u8],
    choice: Option<&'static Encoding>,
) -> AppResult<(std::borrow::Cow<'b, str>, String)> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(bad_file("empty", "the file is empty"));
    }
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(bad_file(
            "utf16",
            "the file is UTF-16, which cannot be read; save it as CSV in UTF-8 or GBK",
        ));
    }
    let (body, bom) = match bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        Some(rest) => (rest, true),
        None => (bytes, false),
    };
    if body.contains(&0) {
        return Err(bad_file(
            "binary",
            "the file is not text (it contains NUL bytes); upload a CSV file in UTF-8 or GBK",
        ));
    }
    if let Some(enc) = choice {
        return match enc.decode_without_bom_handling_and_without_replacement(body) {
            Some(s) => Ok((s, format!("{} (chosen)", enc.name()))),
            None => Err(bad_file(
                "not_in_encoding",
                format!(
                    "the file is not valid {} text; choose another encoding",
                    enc.name()
                ),
            )
            .arg("encoding", enc.name())),
        };
    }
    if let Ok(s) = std::str::from_utf8(body) {
        let name = if bom { "UTF-8 (BOM)" } else { "UTF-8" };
        return Ok((s.into(), name.to_string()));
    }
    let mut detector = chardetng::EncodingDetector::new();
    detector.feed(body, true);
    let guess = match detector.guess(None, false) {
        g if g == encoding_rs::GB18030 => encoding_rs::GBK,
        g => g,
    };
    // NOTE: only the encodings a registrar's files come in are taken on a guess; any other
    // guess is named and the user chooses, rather than reading the names wrongly.
    let usual = [
        encoding_rs::GBK,
        encoding_rs::BIG5,
        encoding_rs::WINDOWS_1252,
    ];
    match guess.decode_without_bom_handling_and_without_replacement(body) {
        Some(s) if usual.contains(&guess) => Ok((s, guess.name().to_string())),
        _ => Err(bad_file(
            "guessed_encoding",
            format!(
                "the file could not be read as UTF-8 or GBK text; it looks like {}: choose its encoding on the import page, or save it as CSV in UTF-8",
                guess.name()
            ),
        )
        .arg("encoding", guess.name())),
    }
}

/// Comma, semicolon or tab: whichever the header line has most of (outside quotes).
pub fn sniff_delimiter(text: &str) -> u8 {
    let header = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let mut counts = [(b',', 0), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for c in header.bytes() {
        if c == b'"' {
            quoted = !quoted;
        } else if !quoted {
            for (d, n) in counts.iter_mut() {
                if *d == c {
                    *n += 1;
                }
            }
        }
    }
    counts
        .iter()
        .max_by_key(|(_, n)| *n)
        .filter(|(_, n)| *n > 0)
        .map_or(b',', |(d, _)| *d)
}

fn normalize_header(h: &str) -> String {
    h.trim()
        .trim_start_matches('\u{feff}')
        .to_lowercase()
        .replace([' ', '-'], "_")
}

/// Where each header column goes: `Some(field index)`, or `None` for a column not read.
fn map_header(
    header: &csv::StringRecord,
    report: &mut ImportReport,
) -> AppResult<Vec<Option<usize>>> {
    let mut map = Vec::with_capacity(header.len());
    let mut seen: HashMap<usize, String> = HashMap::new();
    for cell in header.iter() {
        let norm = normalize_header(cell);
        let field = FIELDS
            .iter()
            .position(|(_, aliases)| aliases.iter().any(|a| normalize_header(a) == norm));
        match field {
            Some(i) => {
                if let Some(prev) = seen.insert(i, cell.to_string()) {
                    return Err(bad_file(
                        "column_twice",
                        format!("columns '{prev}' and '{cell}' both hold {}", FIELDS[i].0),
                    )
                    .arg("first", prev)
                    .arg("second", cell));
                }
            }
            None => {
                let derived = DERIVED
                    .iter()
                    .any(|(_, aliases)| aliases.iter().any(|a| normalize_header(a) == norm));
                if !derived && !norm.is_empty() {
                    report
                        .ignored_columns
                        .push(crate::error::excerpt(cell.trim(), 60));
                }
            }
        }
        map.push(field);
    }
    if seen.is_empty() {
        return Err(bad_file(
            "no_header",
            "the first line is not a header: no known column names (e.g. student_no / 学号)",
        ));
    }
    let missing: Vec<&str> = REQUIRED
        .iter()
        .filter(|f| !seen.keys().any(|i| FIELDS[*i].0 == **f))
        .copied()
        .collect();
    if !missing.is_empty() {
        let labels = missing.join(", ");
        return Err(bad_file(
            "missing_columns",
            format!("the header lacks required columns: {labels}"),
        )
        .arg("columns_zh", field_labels(Lang::Zh, &missing))
        .arg("columns_en", field_labels(Lang::En, &missing)));
    }
    Ok(map)
}

fn reject(
    line: u64,
    errors: &[FieldError],
    args: &[(&str, String)],
    values: Vec<String>,
) -> RejectedRow {
    RejectedRow {
        problems: errors
            .iter()
            .map(|e| RowProblem::new(e.field, e.code, args))
            .collect(),
        line,
        column: errors
            .first()
            .map(|e| e.field.to_string())
            .unwrap_or_default(),
        reason: errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; "),
        student_no: values.first().cloned().unwrap_or_default(),
        values,
    }
}

/// Decodes a file, reads its header and counts its records (CPU work; run it in
/// `spawn_blocking`). A file that cannot be imported at all is refused here, before any row.
pub fn prepare(bytes: Vec<u8>, lookups: Lookups, dry_run: bool) -> AppResult<Prepared> {
    prepare_as(bytes, lookups, dry_run, None)
}

/// `prepare`, reading the file in the encoding the user chose (`None`: detect it).
pub fn prepare_as(
    file: Vec<u8>,
    lookups: Lookups,
    dry_run: bool,
    choice: Option<&'static Encoding>,
) -> AppResult<Prepared> {
    let hash = format!("{:x}", Sha256::digest(&file));
    let mut report = ImportReport {
        dry_run,
        ..Default::default()
    };
    let text = decode_borrowed(&file, choice)?;
    let (_, mut records) = open(&text, &mut report)?;
    for rec in records.by_ref() {
        if rec
            .as_ref()
            .is_ok_and(|r| r.iter().all(|c| c.trim().is_empty()))
        {
            continue;
        }
        report.read += 1;
    }
    if report.read == 0 {
        report
            .warnings
            .push("the file has a header but no rows".to_string());
        report.warning_codes.push("no_rows".to_string());
    }
    drop(text);
    Ok(Prepared {
        report,
        hash,
        file,
        choice,
        lookups,
    })
}

/// Where each header column goes (`Some(field index)`), and the records after the header.
type Opened<'t> = (Vec<Option<usize>>, csv::StringRecordsIntoIter<&'t [u8]>);

/// The file's records after its header, and where each header column goes; the encoding, the
/// delimiter and the ignored columns are noted in `report`.
fn open<'t>(
    (text, encoding): &'t (std::borrow::Cow<'_, str>, String),
    report: &mut ImportReport,
) -> AppResult<Opened<'t>> {
    let delimiter = sniff_delimiter(text);
    report.encoding = encoding.clone();
    report.delimiter = match delimiter {
        b';' => ";",
        b'\t' => "tab",
        _ => ",",
    }
    .to_string();
    report.ignored_columns.clear();
    let mut records = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(false)
        .from_reader(text.as_bytes())
        .into_records();
    let header = match records.next() {
        Some(Ok(h)) => h,
        Some(Err(e)) => {
            return Err(bad_file(
                "header_unreadable",
                format!("the header line cannot be read: {e}"),
            ));
        }
        None => return Err(bad_file("empty", "the file is empty")),
    };
    let map = map_header(&header, report)?;
    Ok((map, records))
}

/// Reads the prepared file's rows in order, checking each, and sends them a batch at a time
/// (see [`Batch`]) until the file ends or the receiver is gone. Runs on a blocking thread.
fn read_batches(prepared: &Prepared, to: tokio::sync::mpsc::Sender<AppResult<Batch>>) {
    let mut report = ImportReport::default();
    let opened = decode_borrowed(&prepared.file, prepared.choice);
    let text = match opened {
        Ok(t) => t,
        Err(e) => {
            let _ = to.blocking_send(Err(e));
            return;
        }
    };
    let (map, records) = match open(&text, &mut report) {
        Ok(r) => r,
        Err(e) => {
            let _ = to.blocking_send(Err(e));
            return;
        }
    };
    let mut checker = Checker {
        map: &map,
        lookups: &prepared.lookups,
        by_no: HashMap::new(),
        by_nid: HashMap::new(),
    };
    let mut batch = Batch {
        rows: Vec::with_capacity(BATCH),
        rejected: Vec::new(),
        records: 0,
    };
    for rec in records {
        match checker.check(rec) {
            None => continue,
            Some(Checked::Accepted(row)) => batch.rows.push(row),
            Some(Checked::Rejected(r)) => batch.rejected.push(r),
        }
        batch.records += 1;
        if batch.rows.len() == BATCH {
            let next = Batch {
                rows: Vec::with_capacity(BATCH),
                rejected: Vec::new(),
                records: batch.records,
            };
            if to
                .blocking_send(Ok(std::mem::replace(&mut batch, next)))
                .is_err()
            {
                return;
            }
        }
    }
    if !batch.rows.is_empty() || !batch.rejected.is_empty() {
        let _ = to.blocking_send(Ok(batch));
    }
}

/// Checks records one by one, remembering the student numbers and national ids seen so far
/// (a second row for either is refused as a duplicate within the file).
struct Checker<'a> {
    map: &'a [Option<usize>],
    lookups: &'a Lookups,
    by_no: HashMap<String, u64>,
    by_nid: HashMap<String, (u64, String)>,
}

impl Checker<'_> {
    /// The record checked; `None` for a blank line (not counted as read).
    fn check(&mut self, rec: Result<csv::StringRecord, csv::Error>) -> Option<Checked> {
        let map = self.map;
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                return Some(Checked::Rejected(RejectedRow {
                    line,
                    column: String::new(),
                    reason: format!("the line cannot be read as CSV: {e}"),
                    problems: vec![RowProblem::new("", "unreadable_line", &[])],
                    student_no: String::new(),
                    values: Vec::new(),
                }));
            }
        };
        if rec.iter().all(|c| c.trim().is_empty()) {
            return None;
        }
        let line = rec.position().map_or(0, |p| p.line());
        let mut raw: [Option<String>; 14] = Default::default();
        for (cell, field) in rec.iter().zip(map) {
            if let Some(i) = field {
                // NOTE: our own export prefixed formula-like cells with `'`; read them as typed.
                raw[*i] = Some(crate::csv_safe::restore(cell).to_string());
            }
        }
        let values: Vec<String> = raw
            .iter()
            .map(|v| v.as_deref().unwrap_or("").trim().to_string())
            .collect();
        if rec.len() > map.len() && rec.iter().skip(map.len()).any(|c| !c.trim().is_empty()) {
            return Some(Checked::Rejected(RejectedRow {
                line,
                column: format!("#{}", map.len() + 1),
                reason: format!(
                    "extra columns: the row has {} fields but the header has {}",
                    rec.len(),
                    map.len()
                ),
                problems: vec![RowProblem::new(
                    "",
                    "extra_columns",
                    &[
                        ("fields", rec.len().to_string()),
                        ("header", map.len().to_string()),
                    ],
                )],
                student_no: values[0].clone(),
                values,
            }));
        }
        let input = match self.lookups.parse(&raw) {
            Ok(i) => i,
            Err(errors) => return Some(Checked::Rejected(reject(line, &errors, &[], values))),
        };
        if let Some(first) = self.by_no.get(&input.student_no) {
            let e = FieldError {
                field: "student_no",
                code: "duplicate_in_file",
                message: format!("student number repeats line {first} of this file"),
            };
            let args = [("line", first.to_string())];
            return Some(Checked::Rejected(reject(line, &[e], &args, values)));
        }
        if let Some(nid) = &input.national_id
            && let Some((first, other_no)) = self.by_nid.get(nid)
        {
            let e = FieldError {
                field: "national_id",
                code: "duplicate_in_file",
                message: format!(
                    "national id repeats line {first} (student {other_no}): probably the same person"
                ),
            };
            let args = [("line", first.to_string()), ("other", other_no.clone())];
            return Some(Checked::Rejected(reject(line, &[e], &args, values)));
        }
        self.by_no.insert(input.student_no.clone(), line);
        if let Some(nid) = &input.national_id {
            self.by_nid
                .insert(nid.clone(), (line, input.student_no.clone()));
        }
        Some(Checked::Accepted((line, input, values)))
    }
}

/// Options of one run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    pub dry_run: bool,
    pub actor: Option<i64>,
}

/// Parses the file off the async threads, then stores it (or, with `dry_run`, only counts
/// what would happen). `progress(done, total)` is called after every batch.
pub async fn run(
    db: &DatabaseConnection,
    jobs: &Jobs,
    bytes: Vec<u8>,
    opts: Options,
    progress: impl Fn(u64, u64) + Send,
) -> AppResult<ImportReport> {
    run_as(db, jobs, bytes, opts, None, progress).await
}

/// `run`, reading the file in the encoding the user chose (`None`: detect it).
pub async fn run_as(
    db: &DatabaseConnection,
    jobs: &Jobs,
    bytes: Vec<u8>,
    opts: Options,
    choice: Option<&'static Encoding>,
    progress: impl Fn(u64, u64) + Send,
) -> AppResult<ImportReport> {
    let prepared = parse_off_thread_as(db, bytes, opts.dry_run, choice).await?;
    let job = if opts.dry_run {
        None
    } else {
        Some(start_job(db, jobs, opts.actor, &prepared).await?)
    };
    store(db, jobs, prepared, opts, job, progress).await
}

/// Resumes an interrupted import from its last committed batch: the kept file is parsed
/// again (the same rows in the same order) and the rows of the batches already stored are
/// skipped. Rows stored twice would be harmless anyway: an import updates by student number.
pub async fn resume(
    db: &DatabaseConnection,
    jobs: &Jobs,
    actor: Option<i64>,
    id: i64,
) -> AppResult<ImportReport> {
    let old = job(db, id).await?;
    if old.status != JobStatus::Interrupted {
        return Err(AppError::conflict(
            "not_interrupted",
            format!(
                "import {id} is {}; only an interrupted import can be resumed",
                old.status.as_str()
            ),
        ));
    }
    let kept = import_files::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(|f| f.payload);
    // Jobs started before the file had its own table kept it in the job's row.
    let Some(file) = kept.or(old.payload) else {
        return Err(AppError::conflict(
            "no_file",
            "this import kept no copy of its file; upload it again",
        ));
    };
    let prepared = parse_off_thread(db, file, false).await?;
    // NOTE: `rows_done` counts the file's records up to the last stored batch, so the batches
    // of those records are read again (for the report) but not written.
    let skip = old.rows_done.max(0) as u64;
    let txn = write_txn(db).await?;
    let taken = import_jobs::Entity::update_many()
        .col_expr(import_jobs::Column::Status, Expr::value(JobStatus::Running))
        .col_expr(
            import_jobs::Column::Holder,
            Expr::value(jobs.holder.clone()),
        )
        .filter(import_jobs::Column::Id.eq(id))
        .filter(import_jobs::Column::Status.eq(JobStatus::Interrupted))
        .exec(&txn)
        .await?
        .rows_affected;
    if taken != 1
        || Lease::acquire(&txn, IMPORT, id, &jobs.holder, jobs.ttl)
            .await?
            .is_none()
    {
        return Err(AppError::conflict(
            "not_interrupted",
            format!("import {id} was resumed by someone else"),
        ));
    }
    Entry::new(actor, "students.import_resume", "import_job")
        .id(id)
        .detail(json!({"skipped_rows": skip}))
        .write(&txn)
        .await?;
    txn.commit().await?;
    let opts = Options {
        dry_run: false,
        actor,
    };
    store_from(db, jobs, prepared, opts, Some(id), skip, |_, _| {}).await
}

/// Cancels a running import: its worker stops after the batch it is writing (the batches
/// stored stay), or, when no live instance holds it, it is marked cancelled at once.
pub async fn cancel(db: &DatabaseConnection, actor: i64, id: i64) -> AppResult<&'static str> {
    cancel_job(db, actor, id, "students", "students.import_cancel").await
}

/// Cancels running import job `id` of `kind` (`students`, `history`), audited as `action`.
pub async fn cancel_job(
    db: &DatabaseConnection,
    actor: i64,
    id: i64,
    kind: &str,
    action: &'static str,
) -> AppResult<&'static str> {
    let old = import_jobs::Entity::find_by_id(id)
        .filter(import_jobs::Column::Kind.eq(kind))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    if old.status != JobStatus::Running {
        return Err(AppError::conflict(
            "not_running",
            format!("import {id} is {}, not running", old.status.as_str()),
        ));
    }
    let txn = write_txn(db).await?;
    let status = match crate::jobs::request_cancel(&txn, IMPORT, id).await? {
        crate::jobs::CancelOutcome::Requested => "cancelling",
        crate::jobs::CancelOutcome::Orphaned => {
            import_jobs::Entity::update_many()
                .col_expr(
                    import_jobs::Column::Status,
                    Expr::value(JobStatus::Cancelled),
                )
                .col_expr(
                    import_jobs::Column::FinishedAt,
                    Expr::value(Utc::now().fixed_offset()),
                )
                .filter(import_jobs::Column::Id.eq(id))
                .filter(import_jobs::Column::Status.eq(JobStatus::Running))
                .exec(&txn)
                .await?;
            "cancelled"
        }
    };
    Entry::new(Some(actor), action, "import_job")
        .id(id)
        .detail(json!({"status": status}))
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(status)
}

/// `prepare` in `spawn_blocking`, with the lookups loaded first.
pub async fn parse_off_thread(
    db: &DatabaseConnection,
    bytes: Vec<u8>,
    dry_run: bool,
) -> AppResult<Prepared> {
    parse_off_thread_as(db, bytes, dry_run, None).await
}

/// `parse_off_thread` in the encoding the user chose (`None`: detect it).
pub async fn parse_off_thread_as(
    db: &DatabaseConnection,
    bytes: Vec<u8>,
    dry_run: bool,
    choice: Option<&'static Encoding>,
) -> AppResult<Prepared> {
    let lookups = Lookups::load(db).await?;
    tokio::task::spawn_blocking(move || prepare_as(bytes, lookups, dry_run, choice))
        .await
        .map_err(|e| AppError::internal(format!("the import task failed: {e}")))?
}

/// Records a job so its progress can be watched, with its file (to resume it) and its lease;
/// returns its id.
pub async fn start_job(
    db: &DatabaseConnection,
    jobs: &Jobs,
    actor: Option<i64>,
    prepared: &Prepared,
) -> AppResult<i64> {
    let txn = write_txn(db).await?;
    let job = import_jobs::ActiveModel {
        kind: Set("students".into()),
        file_hash: Set(prepared.hash.clone()),
        status: Set(JobStatus::Running),
        started_by: Set(actor),
        started_at: Set(Utc::now().fixed_offset()),
        finished_at: Set(None),
        rows_total: Set(prepared.report.read as i64),
        rows_done: Set(0),
        report: Set("{}".into()),
        holder: Set(Some(jobs.holder.clone())),
        payload: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    // NOTE: the file in a row of its own: every batch updates the job's row, and SQLite
    // rewrites a whole row on UPDATE (a file in it was copied once per batch).
    // NOTE: written without RETURNING, so the file does not come back from the database.
    import_files::Entity::insert(import_files::ActiveModel {
        job_id: Set(job.id),
        payload: Set(prepared.file.clone()),
    })
    .exec_without_returning(&txn)
    .await?;
    if Lease::acquire(&txn, IMPORT, job.id, &jobs.holder, jobs.ttl)
        .await?
        .is_none()
    {
        return Err(AppError::internal("a new import job was already leased"));
    }
    txn.commit().await?;
    Ok(job.id)
}

/// Writes the prepared rows in batches, one transaction per batch, and finishes the job.
pub async fn store(
    db: &DatabaseConnection,
    jobs: &Jobs,
    prepared: Prepared,
    opts: Options,
    job: Option<i64>,
    progress: impl Fn(u64, u64) + Send,
) -> AppResult<ImportReport> {
    store_from(db, jobs, prepared, opts, job, 0, progress).await
}

/// `store`, not writing the batches of the file's first `skip` records (stored before an
/// interruption). A job's lease is renewed by a heartbeat meanwhile, and a cancel is obeyed
/// between batches.
async fn store_from(
    db: &DatabaseConnection,
    jobs: &Jobs,
    prepared: Prepared,
    opts: Options,
    job: Option<i64>,
    skip: u64,
    progress: impl Fn(u64, u64) + Send,
) -> AppResult<ImportReport> {
    let lease = job.map(|id| Lease {
        kind: IMPORT.to_string(),
        job_id: id,
        holder: jobs.holder.clone(),
        ttl: jobs.ttl,
    });
    let heartbeat = lease.clone().map(|l| Heartbeat::start(db.clone(), l));
    let started = std::time::Instant::now();
    let result = store_batches(db, prepared, opts, job, skip, heartbeat.as_ref(), progress).await;
    drop(heartbeat);
    let lost = matches!(&result, Err(AppError::Conflict { code, .. }) if *code == LEASE_LOST);
    if job.is_some() {
        let outcome = match &result {
            Ok(_) => "done",
            Err(AppError::Conflict { code, .. }) if *code == "import_cancelled" => "cancelled",
            Err(_) if lost => "lost",
            Err(_) => "failed",
        };
        crate::metrics::job_finished(IMPORT, outcome, started);
    }
    if let Some(l) = lease
        && !lost
        && let Err(e) = l.release(db).await
    {
        tracing::warn!(job = l.job_id, error = %e, "could not release the import's lease");
    }
    result
}

const LEASE_LOST: &str = "job_lease_lost";

async fn store_batches(
    db: &DatabaseConnection,
    prepared: Prepared,
    opts: Options,
    job: Option<i64>,
    skip: u64,
    heartbeat: Option<&Heartbeat>,
    progress: impl Fn(u64, u64) + Send,
) -> AppResult<ImportReport> {
    let mut report = prepared.report.clone();
    report.job_id = job;
    let lookups = Lookups::load(db).await?;
    let total = report.read;
    // NOTE: the rows are read on a blocking thread while the batch before is written; the
    // channel holds two batches, so memory is bounded by the batch, not by the file.
    let (to, mut batches) = tokio::sync::mpsc::channel(2);
    let reader = tokio::task::spawn_blocking(move || read_batches(&prepared, to));
    while let Some(batch) = batches.recv().await {
        let batch = match batch {
            Ok(b) => b,
            Err(e) => return failed(db, job, &report, e).await,
        };
        report.rejected_rows.extend(batch.rejected);
        if batch.records <= skip {
            continue;
        }
        match heartbeat.and_then(Heartbeat::stop) {
            Some(Stop::Cancelled) => {
                if let Some(id) = job {
                    finish_job(db, id, JobStatus::Cancelled, &report).await?;
                }
                return Err(AppError::conflict(
                    "import_cancelled",
                    "the import was cancelled; the batches stored before stay",
                ));
            }
            Some(Stop::Lost) => {
                return Err(AppError::conflict(
                    LEASE_LOST,
                    "the import's lease was lost",
                ));
            }
            None => {}
        }
        let rows = &batch.rows;
        let result = if opts.dry_run {
            apply_batch(db, &lookups, rows, &mut report, true, opts.actor).await
        } else {
            let txn = write_txn(db).await?;
            let r = apply_batch(&txn, &lookups, rows, &mut report, false, opts.actor).await;
            if r.is_ok() {
                if let Some(id) = job {
                    import_jobs::ActiveModel {
                        id: Set(id),
                        rows_done: Set(batch.records as i64),
                        ..Default::default()
                    }
                    .update(&txn)
                    .await?;
                }
                txn.commit().await?;
            }
            r
        };
        if let Err(e) = result {
            return failed(db, job, &report, e).await;
        }
        progress(batch.records, total);
    }
    // NOTE: a reader that panicked closed the channel as if the file had ended: the import
    // fails rather than finishing short.
    if let Err(e) = reader.await {
        let e = AppError::internal(format!("the import's reader failed: {e}"));
        return failed(db, job, &report, e).await;
    }
    report.rejected = report.rejected_rows.len() as u64;
    report.rejected_rows.sort_by_key(|r| r.line);
    if let Some(id) = job {
        finish_job(db, id, JobStatus::Done, &report).await?;
        Entry::new(opts.actor, "students.import", "import_job")
            .id(id)
            .detail(
                json!({"read": report.read, "added": report.added, "updated": report.updated,
                           "unchanged": report.unchanged, "rejected": report.rejected}),
            )
            .write(db)
            .await?;
    }
    Ok(report)
}

/// Marks the job (if any) failed with the report so far, and returns `e`.
async fn failed<T>(
    db: &DatabaseConnection,
    job: Option<i64>,
    report: &ImportReport,
    e: AppError,
) -> AppResult<T> {
    if let Some(id) = job {
        finish_job(db, id, JobStatus::Failed, report).await?;
    }
    Err(e)
}

async fn finish_job(
    db: &DatabaseConnection,
    id: i64,
    status: JobStatus,
    report: &ImportReport,
) -> AppResult<()> {
    import_jobs::ActiveModel {
        id: Set(id),
        status: Set(status),
        finished_at: Set(Some(Utc::now().fixed_offset())),
        report: Set(serde_json::to_string(report).unwrap_or_else(|_| "{}".into())),
        ..Default::default()
    }
    .update(db)
    .await?;
    Ok(())
}

/// Classifies and (unless `dry_run`) writes one batch: adds in bulk, updates one by one.
///
/// The batch is first inserted whole, each row that takes neither a stored student's number
/// nor a stored national id becoming a new student; only the rows it leaves out are then
/// compared with the stored students. A file of new students (the usual import) thus writes
/// each batch without first reading the students it might touch (issue 21: that read took
/// most of what the import spent beyond plain inserts on PostgreSQL).
async fn apply_batch(
    db: &impl ConnectionTrait,
    lookups: &Lookups,
    batch: &[Row],
    report: &mut ImportReport,
    dry_run: bool,
    actor: Option<i64>,
) -> AppResult<()> {
    if dry_run {
        let all: Vec<&Row> = batch.iter().collect();
        return classify(db, lookups, &all, report, true, actor).await;
    }
    let added = insert_new(db, batch.iter().map(|(_, input, _)| input), actor).await?;
    report.added += added.len() as u64;
    let left: Vec<&Row> = batch
        .iter()
        .filter(|(_, input, _)| !added.contains(input.student_no.as_str()))
        .collect();
    if left.is_empty() {
        return Ok(());
    }
    classify(db, lookups, &left, report, false, actor).await
}

/// Inserts the students of `inputs` that take no stored number or national id (the others are
/// left out, not refused), each with its history row, and gives the numbers of those added.
async fn insert_new<'i>(
    db: &impl ConnectionTrait,
    inputs: impl Iterator<Item = &'i StudentInput>,
    actor: Option<i64>,
) -> AppResult<std::collections::HashSet<String>> {
    use sea_orm::QueryTrait;
    use sea_orm::sea_query::{OnConflict, Query};
    let now = Utc::now().fixed_offset();
    let models: Vec<students::ActiveModel> = inputs.map(|i| new_student_model(i, now)).collect();
    if models.is_empty() {
        return Ok(Default::default());
    }
    let mut insert = students::Entity::insert_many(models)
        .on_conflict(OnConflict::new().do_nothing().to_owned())
        .into_query();
    // NOTE: each new row's id and number (RETURNING, on SQLite 3.35+ and PostgreSQL); the rows
    // left out by the conflict are not returned.
    insert
        .returning(Query::returning().columns([students::Column::Id, students::Column::StudentNo]));
    let rows = db
        .query_all_raw(db.get_database_backend().build(&insert))
        .await?;
    let mut ids = Vec::with_capacity(rows.len());
    let mut added = std::collections::HashSet::with_capacity(rows.len());
    for row in rows {
        ids.push(row.try_get::<i64>("", "id")?);
        added.insert(row.try_get::<String>("", "student_no")?);
    }
    if !ids.is_empty() {
        let created = ids
            .into_iter()
            .map(|id| created_history(id, now, actor, "created (import)"));
        student_history::Entity::insert_many(created)
            .exec_without_returning(db)
            .await?;
    }
    Ok(added)
}

/// Compares `batch` with the stored students and counts each row as added, updated, unchanged
/// or refused (a national id held by another student); unless `dry_run`, writes the updates
/// (one by one) and the additions (in bulk).
async fn classify(
    db: &impl ConnectionTrait,
    lookups: &Lookups,
    batch: &[&Row],
    report: &mut ImportReport,
    dry_run: bool,
    actor: Option<i64>,
) -> AppResult<()> {
    // NOTE: one statement finds both the batch's students already stored (by number) and the
    // holders of its national ids (each column has its own unique index).
    let nos: Vec<&str> = batch
        .iter()
        .map(|(_, i, _)| i.student_no.as_str())
        .collect();
    let nids: Vec<&str> = batch
        .iter()
        .filter_map(|(_, i, _)| i.national_id.as_deref())
        .collect();
    let mut found = sea_orm::Condition::any().add(students::Column::StudentNo.is_in(nos));
    if !nids.is_empty() {
        found = found.add(students::Column::NationalId.is_in(nids));
    }
    let stored = students::Entity::find().filter(found).all(db).await?;
    let nid_holders: HashMap<String, String> = stored
        .iter()
        .filter_map(|s| Some((s.national_id.clone()?, s.student_no.clone())))
        .collect();
    let existing: HashMap<String, students::Model> = stored
        .into_iter()
        .map(|s| (s.student_no.clone(), s))
        .collect();
    let mut adds = Vec::new();
    for (line, input, values) in batch.iter().copied() {
        if let Some(holder) = input
            .national_id
            .as_ref()
            .and_then(|n| nid_holders.get(n))
            .filter(|h| **h != input.student_no)
        {
            let e = FieldError {
                field: "national_id",
                code: "duplicate_national_id",
                message: format!(
                    "national id belongs to student {holder}: probably the same person; merge the records"
                ),
            };
            let args = [("other", holder.clone())];
            report
                .rejected_rows
                .push(reject(*line, &[e], &args, values.clone()));
            continue;
        }
        match existing.get(&input.student_no) {
            None => {
                report.added += 1;
                adds.push(input);
            }
            Some(old) => {
                let before: Canonical = lookups.canonical(old);
                if before == lookups.canonical_input(input) {
                    report.unchanged += 1;
                } else {
                    report.updated += 1;
                    if !dry_run {
                        super::service::write_record(db, actor, Some(old), input, lookups).await?;
                    }
                }
            }
        }
    }
    if dry_run || adds.is_empty() {
        return Ok(());
    }
    // NOTE: a row the insert left out though neither its number nor its national id is
    // stored comes here: a student deleted or renumbered meanwhile (it is inserted now), or
    // a conflict on another unique key (refused below, and the batch is not written).
    let adds_len = adds.len();
    let added = insert_new(db, adds.into_iter(), actor).await?;
    if added.len() != adds_len {
        return Err(AppError::conflict(
            "import_conflict",
            "some rows of this batch conflict with stored students, though neither their \
             student number nor their national id is taken; nothing of the batch was written",
        ));
    }
    Ok(())
}

/// The rejected rows as CSV (UTF-8 with BOM), to fix and upload again: the import's own
/// columns first, then where and why each row was refused (ignored on re-import).
pub fn rejected_csv(report: &ImportReport) -> AppResult<Vec<u8>> {
    let mut w = crate::csv_safe::SafeCsv::new();
    let mut header: Vec<&str> = FIELDS.iter().map(|(f, _)| *f).collect();
    header.extend(["error_line", "error_column", "error_reason"]);
    w.row(&header)?;
    for r in &report.rejected_rows {
        let mut rec: Vec<String> = (0..FIELDS.len())
            .map(|i| r.values.get(i).cloned().unwrap_or_default())
            .collect();
        rec.extend([r.line.to_string(), r.column.clone(), r.reason.clone()]);
        w.row(&rec)?;
    }
    w.finish()
}

/// One import job, for the progress page.
pub async fn job(db: &impl ConnectionTrait, id: i64) -> AppResult<import_jobs::Model> {
    import_jobs::Entity::find_by_id(id)
        .filter(import_jobs::Column::Kind.eq("students"))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// The report stored with a finished job.
pub fn job_report(job: &import_jobs::Model) -> Option<ImportReport> {
    serde_json::from_str(&job.report).ok()
}

/// `srm import students FILE`: runs the import with a progress bar on standard error and
/// prints the report (and the speed) on standard output.
pub async fn run_cli(
    db: &DatabaseConnection,
    jobs: &Jobs,
    file: &std::path::Path,
    dry_run: bool,
    rejected_out: Option<&std::path::Path>,
) -> AppResult<()> {
    use std::io::Write;
    let bytes = std::fs::read(file)
        .map_err(|e| AppError::internal(format!("cannot read {}: {e}", file.display())))?;
    let started = std::time::Instant::now();
    let opts = Options {
        dry_run,
        actor: None,
    };
    let report = run(db, jobs, bytes, opts, |done, total| {
        let pct = (done * 100).checked_div(total).unwrap_or(100);
        let bar = "#".repeat((pct / 4) as usize);
        eprint!("\r[{bar:<25}] {pct:>3}% {done}/{total} rows");
        std::io::stderr().flush().ok();
    })
    .await?;
    eprintln!();
    let secs = started.elapsed().as_secs_f64();
    if let Some(path) = rejected_out {
        std::fs::write(path, rejected_csv(&report)?)
            .map_err(|e| AppError::internal(format!("cannot write {}: {e}", path.display())))?;
    }
    for r in &report.rejected_rows {
        println!("line {}: [{}] {}", r.line, r.column, r.reason);
    }
    println!(
        "{}read {}, added {}, updated {}, unchanged {}, rejected {} ({}, delimiter {}) in {:.2} s ({:.0} rows/s)",
        if dry_run { "dry run: " } else { "" },
        report.read,
        report.added,
        report.updated,
        report.unchanged,
        report.rejected,
        report.encoding,
        report.delimiter,
        secs,
        report.read as f64 / secs.max(1e-9)
    );
    Ok(())
}
