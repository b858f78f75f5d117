//! `srm import history DIR`: a university's history from one directory of CSV files
//! (presentations, students, registrations, assessments, results, activity, attendance), read
//! row by row and written in batches of [`BATCH`] rows, one transaction each. Everything is
//! looked up by its natural key (codes, student numbers, the unique indexes) and inserted with
//! "on conflict do nothing", so a second run adds nothing and an interrupted run, started
//! again, continues where it stopped. Bad rows go to a rejected CSV per file with their line
//! and reason. A dry run does all of it inside one transaction that is rolled back.

use super::read::{Row, Source};
use crate::audit::Entry;
use crate::db::write_txn;
use crate::entity::job_status::JobStatus;
use crate::entity::{
    assessment_scores, assessments, attendance, attendance_rolls, courses, departments, enrolments,
    grades, import_jobs, imported_students, learning_activity, majors, registration_events,
    sections, students, terms,
};
use crate::error::{AppError, AppResult};
use crate::grades::scale::Scale;
use crate::jobs::{Heartbeat, IMPORT, Jobs, Lease, Stop};
use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    DbBackend, EntityTrait, QueryFilter, QuerySelect, Set, Statement,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

type Ts = DateTime<FixedOffset>;

/// The files, in the order they are read (each may depend on the ones before).
pub const FILES: [&str; 7] = [
    "presentations.csv",
    "students.csv",
    "registrations.csv",
    "assessments.csv",
    "results.csv",
    "activity.csv",
    "attendance.csv",
];

/// The status of a result carried over from an earlier attempt (`banked` = 1).
pub const BANKED: &str = "banked";
/// Rows per transaction.
pub const BATCH: usize = 500;
/// The `import_jobs.kind` of a history import.
pub const KIND: &str = "history";
/// Rejected rows kept in the report (all of them go to the rejected files).
const KEPT_REJECTS: usize = 200;

/// What one file gave.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FileReport {
    pub file: String,
    pub encoding: String,
    pub delimiter: String,
    /// Data rows read.
    pub read: u64,
    /// Rows that added something.
    pub added: u64,
    /// Rows already there.
    pub unchanged: u64,
    pub rejected: u64,
    /// Why the whole file was skipped (a missing column, a file that is not text), in English.
    pub skipped: Option<String>,
    /// The same, as a code and its values, for the page to say in the reader's language.
    #[serde(default)]
    pub skipped_said: Option<Said>,
}

/// A message kept as its code, values and status, so each reader's page says it in their
/// language (`error.code.<code>` with the values filled in; the status's words otherwise).
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Said {
    pub code: String,
    #[serde(default)]
    pub args: BTreeMap<String, String>,
    pub status: u16,
}

impl Said {
    pub fn of(e: &AppError) -> Said {
        Said {
            code: e.code().to_string(),
            args: e
                .args()
                .iter()
                .map(|(k, v)| ((*k).to_string(), v.clone()))
                .collect(),
            status: e.status().code,
        }
    }

    /// In `lang`: the coded sentence, else the words for the status.
    pub fn say(&self, lang: crate::i18n::Lang) -> String {
        let args: Vec<(&str, String)> = self
            .args
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        lang.coded_or_status(&self.code, &args, self.status)
    }
}

/// A refused row.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Rejected {
    pub file: String,
    pub line: u64,
    /// In English, as the rejected file says it.
    pub reason: String,
    /// Why, as a code (`history.reason.<code>` in the pages' languages), and what it names.
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub value: String,
}

/// What an import did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct HistoryReport {
    pub dry_run: bool,
    pub files: Vec<FileReport>,
    /// Rows created per table.
    pub created: BTreeMap<String, u64>,
    pub rejected: u64,
    /// The first rejected rows (all are in the rejected files).
    pub rejected_rows: Vec<Rejected>,
    pub rows: u64,
    pub seconds: f64,
    pub rows_per_second: f64,
    pub total_bytes: u64,
    pub done_bytes: u64,
}

impl HistoryReport {
    fn add(&mut self, table: &str, n: u64) {
        if n == 0 {
            return;
        }
        *self.created.entry(table.to_string()).or_default() += n;
    }

    /// Rows created in `table`.
    pub fn created(&self, table: &str) -> u64 {
        self.created.get(table).copied().unwrap_or(0)
    }

    /// The report of `file`.
    pub fn file(&self, file: &str) -> Option<&FileReport> {
        self.files.iter().find(|f| f.file == file)
    }
}

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub dry_run: bool,
    pub actor: Option<i64>,
    /// Where to write `<file>.rejected.csv` for each file with refused rows.
    pub rejected_dir: Option<PathBuf>,
}

/// Why a row is refused: a code and the column or value it names.
struct Reject(&'static str, String);

impl Reject {
    fn text(&self) -> String {
        let what = match self.0 {
            "missing" => "missing value in column",
            "missing_column" => "the header lacks the column",
            "bad_date" => "not a date or a day number",
            "bad_number" => "not a number",
            "bad_score" => "score not between 0 and 100",
            "bad_weight" => "weight not between 0 and 100",
            "bad_kind" => "kind is not exam, assignment, quiz or other",
            "bad_result" => "final_result is not distinction, pass, fail or withdrawn",
            "bad_status" => "attendance status is not present, absent, late or excused",
            "bad_banked" => "banked is not 0 or 1",
            "unknown_student" => "unknown student",
            "unknown_presentation" => "no presentation (course and term) in presentations.csv",
            "unknown_assessment" => "unknown assessment",
            "ambiguous_assessment" => "assessment code used in several presentations",
            _ => "refused",
        };
        format!("{} ({what}): {}", self.0, self.1)
    }
}

/// The rejected files, one at a time, and the first rejects for the report.
struct Sink {
    dir: Option<PathBuf>,
    current: Option<(&'static str, csv::Writer<std::fs::File>)>,
}

impl Sink {
    fn write(
        &mut self,
        report: &mut HistoryReport,
        file: &'static str,
        header: &[String],
        line: u64,
        values: &[String],
        why: Reject,
    ) -> AppResult<()> {
        let reason = why.text();
        report.rejected += 1;
        if report.rejected_rows.len() < KEPT_REJECTS {
            report.rejected_rows.push(Rejected {
                file: file.to_string(),
                line,
                reason: reason.clone(),
                code: why.0.to_string(),
                value: why.1,
            });
        }
        let Some(dir) = &self.dir else {
            return Ok(());
        };
        let fail = |e: &dyn std::fmt::Display| {
            AppError::internal(format!("cannot write the rejected rows of {file}: {e}"))
        };
        if self.current.as_ref().is_none_or(|(f, _)| *f != file) {
            if let Some((_, mut w)) = self.current.take() {
                w.flush().map_err(|e| fail(&e))?;
            }
            std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
            let name = file.trim_end_matches(".csv");
            let mut w = csv::Writer::from_path(dir.join(format!("{name}.rejected.csv")))
                .map_err(|e| fail(&e))?;
            let mut head: Vec<String> = header
                .iter()
                .map(|h| crate::csv_safe::neutralise(h).into_owned())
                .collect();
            head.extend(["error_line".to_string(), "error_reason".to_string()]);
            w.write_record(&head).map_err(|e| fail(&e))?;
            self.current = Some((file, w));
        }
        if let Some((_, w)) = self.current.as_mut() {
            let mut rec: Vec<String> = values
                .iter()
                .map(|v| crate::csv_safe::neutralise(v).into_owned())
                .collect();
            rec.resize(header.len().max(rec.len()), String::new());
            rec.push(line.to_string());
            rec.push(crate::csv_safe::neutralise(&reason).into_owned());
            w.write_record(&rec).map_err(|e| fail(&e))?;
        }
        Ok(())
    }

    fn finish(&mut self) -> AppResult<()> {
        if let Some((file, mut w)) = self.current.take() {
            w.flush().map_err(|e| {
                AppError::internal(format!("cannot write the rejected rows of {file}: {e}"))
            })?;
        }
        Ok(())
    }
}

/// A term as the import knows it.
#[derive(Clone, Copy)]
struct TermInfo {
    id: i64,
    end: NaiveDate,
}

/// An imported assessment.
#[derive(Clone, Copy)]
struct AssessInfo {
    id: i64,
    section: i64,
    due: Ts,
    start: NaiveDate,
}

/// Everything looked up by natural key; its size is bounded by the number of students,
/// courses and presentations, never by the rows of a file.
struct Ctx {
    now: Ts,
    scale: Scale,
    depts: HashMap<String, i64>,
    /// department id → the major imported students of it get
    majors: HashMap<i64, i64>,
    /// course code → (id, department id)
    courses: HashMap<String, (i64, i64)>,
    terms: HashMap<String, TermInfo>,
    /// (course id, term id) → section id
    sections: HashMap<(i64, i64), i64>,
    /// section id → the presentation's start (days count from it) and end
    spans: HashMap<i64, (NaiveDate, NaiveDate)>,
    students: HashMap<String, i64>,
    /// assessment code → the imported assessments of that code
    assessments: HashMap<String, Vec<AssessInfo>>,
    next_seq: i64,
    touched: HashSet<i64>,
}

fn at(d: NaiveDate) -> Ts {
    d.and_time(NaiveTime::MIN).and_utc().fixed_offset()
}

fn end_of(d: NaiveDate) -> Ts {
    at(d) + Duration::seconds(86_399)
}

impl Ctx {
    async fn load(db: &impl ConnectionTrait) -> AppResult<Ctx> {
        let depts = departments::Entity::find()
            .all(db)
            .await?
            .into_iter()
            .map(|d| (d.code.to_uppercase(), d.id))
            .collect();
        let mut majors_by_dept = HashMap::new();
        for m in majors::Entity::find().all(db).await? {
            majors_by_dept.entry(m.department_id).or_insert(m.id);
        }
        let courses = courses::Entity::find()
            .all(db)
            .await?
            .into_iter()
            .map(|c| (c.code.to_uppercase(), (c.id, c.department_id)))
            .collect();
        let all_terms = terms::Entity::find().all(db).await?;
        let next_seq = all_terms.iter().map(|t| t.seq).max().unwrap_or(0) + 1;
        let mut spans = HashMap::new();
        let term_span: HashMap<i64, (NaiveDate, NaiveDate)> = all_terms
            .iter()
            .map(|t| (t.id, (t.starts_on, t.ends_on)))
            .collect();
        let terms = all_terms
            .into_iter()
            .map(|t| {
                (
                    t.code.clone(),
                    TermInfo {
                        id: t.id,
                        end: t.ends_on,
                    },
                )
            })
            .collect();
        let mut sections_map = HashMap::new();
        let rows: Vec<(i64, i64, i64)> = sections::Entity::find()
            .select_only()
            .column(sections::Column::Id)
            .column(sections::Column::CourseId)
            .column(sections::Column::TermId)
            .into_tuple()
            .all(db)
            .await?;
        for (id, course, term) in rows {
            let first = sections_map.entry((course, term)).or_insert(id);
            *first = (*first).min(id);
            if let Some(span) = term_span.get(&term) {
                spans.insert(id, *span);
            }
        }
        let students = students::Entity::find()
            .select_only()
            .column(students::Column::StudentNo)
            .column(students::Column::Id)
            .into_tuple::<(String, i64)>()
            .all(db)
            .await?
            .into_iter()
            .collect();
        let mut ctx = Ctx {
            now: Utc::now().fixed_offset(),
            scale: crate::grades::scale::default_scale(db).await?,
            depts,
            majors: majors_by_dept,
            courses,
            terms,
            sections: sections_map,
            spans,
            students,
            assessments: HashMap::new(),
            next_seq,
            touched: HashSet::new(),
        };
        ctx.load_assessments(db, None).await?;
        Ok(ctx)
    }

    /// The imported assessments (those with a kind), of `only` these sections when given.
    async fn load_assessments(
        &mut self,
        db: &impl ConnectionTrait,
        only: Option<Vec<i64>>,
    ) -> AppResult<()> {
        let mut q = assessments::Entity::find().filter(assessments::Column::Kind.is_not_null());
        if let Some(ids) = &only {
            q = q.filter(assessments::Column::SectionId.is_in(ids.clone()));
        }
        for a in q.all(db).await? {
            let Some((start, end)) = self.spans.get(&a.section_id).copied() else {
                continue;
            };
            let list = self.assessments.entry(a.name.clone()).or_default();
            if list.iter().any(|x| x.id == a.id) {
                continue;
            }
            list.push(AssessInfo {
                id: a.id,
                section: a.section_id,
                due: a.due_at.unwrap_or_else(|| end_of(end)),
                start,
            });
        }
        Ok(())
    }

    /// The section of a presentation named by course and term code.
    fn section(&self, row: &Row) -> Result<(i64, NaiveDate, i64), Reject> {
        let course = required(row, "course_code")?.to_uppercase();
        let term = required(row, "term_code")?;
        self.courses
            .get(&course)
            .and_then(|(c, dept)| {
                let t = self.terms.get(term)?;
                let s = *self.sections.get(&(*c, t.id))?;
                let start = self.spans.get(&s).map_or(t.end, |x| x.0);
                Some((s, start, *dept))
            })
            .ok_or_else(|| Reject("unknown_presentation", format!("{course} {term}")))
    }

    fn student(&self, row: &Row) -> Result<i64, Reject> {
        let no = required(row, "student_no")?;
        self.students
            .get(no)
            .copied()
            .ok_or_else(|| Reject("unknown_student", no.to_string()))
    }
}

fn required<'r>(row: &'r Row, col: &str) -> Result<&'r str, Reject> {
    match row.get(col) {
        "" => Err(Reject("missing", col.to_string())),
        v => Ok(v),
    }
}

fn number(row: &Row, col: &str) -> Result<Option<f64>, Reject> {
    match row.get(col) {
        "" => Ok(None),
        v => v
            .replace(',', ".")
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .map(Some)
            .ok_or_else(|| Reject("bad_number", format!("{col} {v}"))),
    }
}

/// A date from `<prefix>_date` (ISO) or `<prefix>_day` (days from `start`, may be negative).
fn when(row: &Row, day: &str, date: &str, start: NaiveDate) -> Result<Option<NaiveDate>, Reject> {
    let d = row.get(date);
    if !d.is_empty() {
        return NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| Reject("bad_date", format!("{date} {d}")));
    }
    let n = row.get(day);
    if n.is_empty() {
        return Ok(None);
    }
    n.parse::<f64>()
        .ok()
        .filter(|x| x.is_finite() && x.fract() == 0.0 && x.abs() < 36_500.0)
        .map(|x| Some(start + Duration::days(x as i64)))
        .ok_or_else(|| Reject("bad_date", format!("{day} {n}")))
}

/// A private copy of an SQLite database for a dry run, removed when the run ends.
struct Scratch {
    conn: DatabaseConnection,
    dir: PathBuf,
}

impl Scratch {
    async fn copy_of(db: &DatabaseConnection) -> AppResult<Scratch> {
        let dir =
            std::env::temp_dir().join(format!("srm-dry-run-{}", uuid::Uuid::new_v4().simple()));
        let file = dir.join("copy.sqlite");
        // NOTE: the copy holds personal data: a directory and a file only the portal can read.
        let made = {
            use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
            std::fs::DirBuilder::new()
                .mode(0o700)
                .create(&dir)
                .and_then(|()| {
                    std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .mode(0o600)
                        .open(&file)
                })
        };
        made.map_err(|e| AppError::internal(format!("cannot make a scratch copy: {e}")))?;
        let into = Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "VACUUM INTO ?",
            [file.to_string_lossy().to_string().into()],
        );
        if let Err(e) = db.execute_raw(into).await {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e.into());
        }
        let url = format!("sqlite://{}?mode=rw", file.display());
        match sea_orm::Database::connect(url).await {
            Ok(conn) => Ok(Scratch { conn, dir }),
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                Err(e.into())
            }
        }
    }

    async fn remove(self) {
        let _ = self.conn.close().await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One run: the connection (or, in a dry run, a scratch copy of the database on SQLite, the
/// transaction rolled back at the end on PostgreSQL), the job that shows its progress, and the
/// report so far.
struct Run<'a> {
    db: &'a DatabaseConnection,
    outer: Option<DatabaseTransaction>,
    scratch: Option<DatabaseConnection>,
    job: Option<i64>,
    heartbeat: Option<Heartbeat>,
    report: HistoryReport,
    sink: Sink,
    started: std::time::Instant,
    base_bytes: u64,
    progress: &'a (dyn Fn(&HistoryReport) + Send + Sync),
}

impl Run<'_> {
    async fn begin(&self) -> AppResult<DatabaseTransaction> {
        match (&self.outer, &self.scratch) {
            (Some(o), _) => write_txn(o).await,
            (None, Some(copy)) => write_txn(copy).await,
            (None, None) => write_txn(self.db).await,
        }
    }

    /// Commits a batch with the job's progress, then obeys a cancel.
    async fn commit(&mut self, txn: DatabaseTransaction, src: &Source) -> AppResult<()> {
        self.commit_at(txn, src, src.position()).await
    }

    /// [`Run::commit`] of a batch that ended at byte `position` of the file (the reader may
    /// be a batch further on).
    async fn commit_at(
        &mut self,
        txn: DatabaseTransaction,
        src: &Source,
        position: u64,
    ) -> AppResult<()> {
        self.report.done_bytes = self.base_bytes + position.min(src.bytes);
        self.report.seconds = self.started.elapsed().as_secs_f64();
        self.report.rows_per_second = self.report.rows as f64 / self.report.seconds.max(1e-9);
        let job = self.job.map(|id| import_jobs::ActiveModel {
            id: Set(id),
            rows_done: Set(self.report.done_bytes as i64),
            report: Set(serde_json::to_string(&self.report).unwrap_or_else(|_| "{}".into())),
            ..Default::default()
        });
        if self.scratch.is_some() {
            // NOTE: the batch went to the scratch copy; the job row is in the real database.
            txn.commit().await?;
            if let Some(job) = job {
                job.update(self.db).await?;
            }
        } else {
            if let Some(job) = job {
                job.update(&txn).await?;
            }
            txn.commit().await?;
        }
        (self.progress)(&self.report);
        match self.heartbeat.as_ref().and_then(Heartbeat::stop) {
            Some(Stop::Cancelled) => Err(AppError::conflict(
                "import_cancelled",
                "the import was cancelled; the batches stored before stay",
            )),
            Some(Stop::Lost) => Err(AppError::conflict(
                "job_lease_lost",
                "the import's lease was lost",
            )),
            None => Ok(()),
        }
    }

    /// Reports the rows `ahead` refused (when its batch is written, not when it was read).
    fn reject_ahead<T>(&mut self, src: &Source, ahead: &mut Ahead<T>) -> AppResult<()> {
        for (line, values, r) in std::mem::take(&mut ahead.rejects) {
            self.reject(src, line, &values, r)?;
        }
        Ok(())
    }

    fn reject(&mut self, src: &Source, line: u64, values: &[String], r: Reject) -> AppResult<()> {
        if let Some(f) = self.report.files.last_mut() {
            f.rejected += 1;
        }
        self.sink
            .write(&mut self.report, src.name, &src.header, line, values, r)
    }

    /// Starts a file's report; with a missing column, the file is skipped with the reason
    /// (and a rejected line 1).
    fn open(&mut self, src: &Source, needs: &[&str], either: &[(&str, &str)]) -> AppResult<bool> {
        self.report.files.push(FileReport {
            file: src.name.to_string(),
            encoding: src.encoding.clone(),
            delimiter: src.delimiter.clone(),
            ..Default::default()
        });
        let missing = src.lacks(needs).map(str::to_string).or_else(|| {
            either
                .iter()
                .find(|(a, b)| !src.has(a) && !src.has(b))
                .map(|(a, b)| format!("{a} or {b}"))
        });
        if let Some(col) = missing {
            let why =
                AppError::unprocessable("history_missing_column", format!("missing column {col}"))
                    .arg("column", &col);
            if let Some(f) = self.report.files.last_mut() {
                f.skipped = Some(why.to_string());
                f.skipped_said = Some(Said::of(&why));
            }
            self.reject(src, 1, &src.header.clone(), Reject("missing_column", col))?;
            return Ok(false);
        }
        Ok(true)
    }

    fn done_rows(&mut self, read: u64, added: u64) {
        self.report.rows += read;
        if let Some(f) = self.report.files.last_mut() {
            f.read += read;
            f.added += added;
        }
    }

    fn close_file(&mut self, src: &Source) {
        self.base_bytes += src.bytes;
        self.report.done_bytes = self.base_bytes;
        if let Some(f) = self.report.files.last_mut() {
            f.unchanged = f.read.saturating_sub(f.added + f.rejected);
        }
    }
}

/// Records a job for the page to follow (its id), with its lease.
pub async fn start_job(
    db: &DatabaseConnection,
    jobs: &Jobs,
    actor: Option<i64>,
    dir: &Path,
) -> AppResult<i64> {
    start_job_continuing(db, jobs, actor, dir, None).await
}

/// [`start_job`]; with `continues`, the audit entry saying which stopped job the new one
/// continues is written in the same transaction.
async fn start_job_continuing(
    db: &DatabaseConnection,
    jobs: &Jobs,
    actor: Option<i64>,
    dir: &Path,
    continues: Option<i64>,
) -> AppResult<i64> {
    let total: u64 = FILES
        .iter()
        .filter_map(|f| std::fs::metadata(dir.join(f)).ok())
        .map(|m| m.len())
        .sum();
    let txn = write_txn(db).await?;
    let job = import_jobs::ActiveModel {
        kind: Set(KIND.into()),
        file_hash: Set(dir.display().to_string()),
        status: Set(JobStatus::Running),
        started_by: Set(actor),
        started_at: Set(Utc::now().fixed_offset()),
        finished_at: Set(None),
        rows_total: Set(total as i64),
        rows_done: Set(0),
        report: Set("{}".into()),
        holder: Set(Some(jobs.holder.clone())),
        payload: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    if Lease::acquire(&txn, IMPORT, job.id, &jobs.holder, jobs.ttl)
        .await?
        .is_none()
    {
        return Err(AppError::internal("a new import job was already leased"));
    }
    if let Some(old) = continues {
        Entry::new(actor, "history.import_resume", "import_job")
            .id(job.id)
            .detail(json!({"continues": old}))
            .write(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(job.id)
}

/// Imports the directory (or, with `dry_run`, reports what it would do and writes nothing).
/// With `job`, its row shows the progress and gets the report; `progress` is called after
/// every batch.
pub async fn run(
    db: &DatabaseConnection,
    jobs: &Jobs,
    dir: &Path,
    opts: &Options,
    job: Option<i64>,
    progress: &(dyn Fn(&HistoryReport) + Send + Sync),
) -> AppResult<HistoryReport> {
    if !dir.is_dir() {
        return Err(AppError::unprocessable(
            "bad_history_dir",
            format!("{} is not a directory", dir.display()),
        ));
    }
    let lease = job.map(|id| Lease {
        kind: IMPORT.to_string(),
        job_id: id,
        holder: jobs.holder.clone(),
        ttl: jobs.ttl,
    });
    // NOTE: a dry run on SQLite imports into a scratch copy (SQLite has one writer: a
    // transaction held for the whole run would stop every other write in the portal); on
    // PostgreSQL into a transaction rolled back at the end.
    let scratch = if opts.dry_run && db.get_database_backend() == DbBackend::Sqlite {
        Some(Scratch::copy_of(db).await?)
    } else {
        None
    };
    let outer = if opts.dry_run && scratch.is_none() {
        Some(write_txn(db).await?)
    } else {
        None
    };
    let mut run = Run {
        db,
        outer,
        scratch: scratch.as_ref().map(|s| s.conn.clone()),
        job,
        heartbeat: lease.clone().map(|l| Heartbeat::start(db.clone(), l)),
        report: HistoryReport {
            dry_run: opts.dry_run,
            total_bytes: FILES
                .iter()
                .filter_map(|f| std::fs::metadata(dir.join(f)).ok())
                .map(|m| m.len())
                .sum(),
            ..Default::default()
        },
        sink: Sink {
            dir: opts.rejected_dir.clone(),
            current: None,
        },
        started: std::time::Instant::now(),
        base_bytes: 0,
        progress,
    };
    let result = all_files(&mut run, dir).await;
    let finished = run.sink.finish().and(result);
    if let Some(outer) = run.outer.take() {
        outer.rollback().await?;
    }
    run.scratch.take();
    if let Some(copy) = scratch {
        copy.remove().await;
    }
    run.heartbeat.take();
    run.report.seconds = run.started.elapsed().as_secs_f64();
    run.report.rows_per_second = run.report.rows as f64 / run.report.seconds.max(1e-9);
    let lost =
        matches!(&finished, Err(AppError::Conflict { code, .. }) if *code == "job_lease_lost");
    // NOTE: a job whose lease was lost is someone else's now (marked interrupted): left alone.
    if let Some(id) = job.filter(|_| !lost) {
        let status = match &finished {
            Ok(()) => JobStatus::Done,
            Err(AppError::Conflict { code, .. }) if *code == "import_cancelled" => {
                JobStatus::Cancelled
            }
            Err(_) => JobStatus::Failed,
        };
        let mut report = serde_json::to_value(&run.report).unwrap_or_else(|_| json!({}));
        if let Err(e) = &finished {
            report["error"] = json!(e.to_string());
            report["error_said"] = json!(Said::of(e));
        }
        // NOTE: the job's end and its audit entry in one transaction: whoever sees the job
        // done also finds it in the audit log.
        let txn = write_txn(db).await?;
        import_jobs::ActiveModel {
            id: Set(id),
            status: Set(status),
            finished_at: Set(Some(Utc::now().fixed_offset())),
            rows_done: Set(run.report.done_bytes as i64),
            report: Set(report.to_string()),
            ..Default::default()
        }
        .update(&txn)
        .await?;
        Entry::new(opts.actor, "history.import", "import_job")
            .id(id)
            .detail(json!({"status": status.as_str(), "rows": run.report.rows,
                "rejected": run.report.rejected, "created": run.report.created}))
            .write(&txn)
            .await?;
        txn.commit().await?;
        if let Some(l) = lease
            && let Err(e) = l.release(db).await
        {
            tracing::warn!(job = id, error = %e, "could not release the history import's lease");
        }
    }
    finished.map(|()| run.report)
}

/// What an import reports after every batch.
pub type Progress = Box<dyn Fn(&HistoryReport) + Send + Sync>;

/// Runs [`run`] on a thread of the blocking pool, which drives its database calls: the import
/// decodes and parses every row, and that work never takes an async worker from the requests.
pub fn spawn(
    db: crate::db::Db,
    jobs: Jobs,
    dir: PathBuf,
    opts: Options,
    job: Option<i64>,
    progress: Progress,
) -> tokio::task::JoinHandle<AppResult<HistoryReport>> {
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        handle.block_on(async move { run(&db, &jobs, &dir, &opts, job, &*progress).await })
    })
}

async fn all_files(run: &mut Run<'_>, dir: &Path) -> AppResult<()> {
    let txn = run.begin().await?;
    let mut ctx = Ctx::load(&txn).await?;
    txn.commit().await?;
    for name in FILES {
        // A file that is not readable text (empty, UTF-16, binary) is skipped with the reason;
        // the others are still imported.
        let mut src = match Source::open(dir, name) {
            Ok(Some(src)) => src,
            Ok(None) => continue,
            Err(e @ AppError::Unprocessable { .. }) => {
                run.report.files.push(FileReport {
                    file: name.to_string(),
                    skipped: Some(e.to_string()),
                    skipped_said: Some(Said::of(&e)),
                    ..Default::default()
                });
                continue;
            }
            Err(e) => return Err(e),
        };
        match name {
            "presentations.csv" => presentations(run, &mut ctx, &mut src).await?,
            "students.csv" => students_file(run, &mut ctx, &mut src).await?,
            "registrations.csv" => registrations(run, &mut ctx, &mut src).await?,
            "assessments.csv" => assessments_file(run, &mut ctx, &mut src).await?,
            "results.csv" => results(run, &mut ctx, &mut src).await?,
            "activity.csv" => activity(run, &mut ctx, &mut src).await?,
            _ => attendance_file(run, &mut ctx, &mut src).await?,
        }
        run.close_file(&src);
    }
    Ok(())
}

/// Reads up to a batch of rows, each parsed by `parse` or rejected; `None` at the end.
/// A batch read ahead of the one being written: its rows, the rows read, whether the file
/// ended, the refused rows (reported when the batch's turn comes) and where the file was after
/// it.
struct Ahead<T> {
    items: Vec<T>,
    read: u64,
    end: bool,
    rejects: Vec<(u64, Vec<String>, Reject)>,
    position: u64,
}

/// Reads and parses up to a batch of rows without touching the report, so that it can run
/// while the batch before is written: the statements of that batch run on sqlx's SQLite
/// worker thread or in the PostgreSQL server meanwhile (`tokio::join!` of the two), and the
/// two cores both work.
fn read_ahead<T>(
    src: &mut Source,
    ctx: &Ctx,
    parse: fn(&Ctx, &Row) -> Result<T, Reject>,
) -> AppResult<Ahead<T>> {
    let mut ahead = Ahead {
        items: Vec::with_capacity(BATCH),
        read: 0,
        end: false,
        rejects: Vec::new(),
        position: 0,
    };
    while ahead.items.len() < BATCH {
        let Some(row) = src.next_row()? else {
            ahead.end = true;
            break;
        };
        ahead.read += 1;
        match parse(ctx, &row) {
            Ok(item) => ahead.items.push(item),
            Err(r) => ahead.rejects.push((row.line, row.values(), r)),
        }
    }
    ahead.position = src.position();
    Ok(ahead)
}

/// The next batch, read now (for files whose batches depend on the one before): its rows, the
/// rows read and whether the file ended; its refused rows are reported.
fn next_batch<T>(
    run: &mut Run<'_>,
    src: &mut Source,
    ctx: &Ctx,
    parse: fn(&Ctx, &Row) -> Result<T, Reject>,
) -> AppResult<(Vec<T>, u64, bool)> {
    let mut batch = read_ahead(src, ctx, parse)?;
    run.reject_ahead(src, &mut batch)?;
    Ok((batch.items, batch.read, batch.end))
}

/// Streams a file whose rows are inserted as they are (a conflict with a row already there
/// adds nothing), reading and parsing the next batch while the one before is written.
async fn stream_inserts<A>(
    run: &mut Run<'_>,
    ctx: &Ctx,
    src: &mut Source,
    parse: fn(&Ctx, &Row) -> Result<A, Reject>,
    conflict: OnConflict,
    table: &'static str,
) -> AppResult<()>
where
    A: ActiveModelTrait,
{
    let mut next = read_ahead(src, ctx, parse);
    loop {
        let mut batch = next?;
        run.reject_ahead(src, &mut batch)?;
        let txn = run.begin().await?;
        let items = std::mem::take(&mut batch.items);
        let insert = async {
            if items.is_empty() {
                return Ok(0);
            }
            <A::Entity as EntityTrait>::insert_many(items)
                .on_conflict(conflict.clone().do_nothing().to_owned())
                .exec_without_returning(&txn)
                .await
        };
        let (added, following) = if batch.end {
            (insert.await, None)
        } else {
            let (added, following) = tokio::join!(insert, async { read_ahead(src, ctx, parse) });
            (added, Some(following))
        };
        let added = added?;
        run.report.add(table, added);
        run.done_rows(batch.read, added);
        run.commit_at(txn, src, batch.position).await?;
        match following {
            Some(f) => next = f,
            None => return Ok(()),
        }
    }
}

// ---------------------------------------------------------------------------------------
// presentations.csv

struct Pres {
    course: String,
    title: String,
    term: String,
    start: NaiveDate,
    end: NaiveDate,
    dept: String,
    credits: f64,
}

fn parse_pres(_: &Ctx, row: &Row) -> Result<Pres, Reject> {
    let start = required(row, "start_date")?;
    let start = NaiveDate::parse_from_str(start, "%Y-%m-%d")
        .map_err(|_| Reject("bad_date", format!("start_date {start}")))?;
    let length =
        number(row, "length_days")?.ok_or_else(|| Reject("missing", "length_days".into()))?;
    if !(1.0..=400.0).contains(&length) {
        return Err(Reject("bad_number", format!("length_days {length}")));
    }
    let credits = number(row, "credits")?.unwrap_or(3.0);
    Ok(Pres {
        course: required(row, "course_code")?.to_uppercase(),
        title: row.get("course_title").to_string(),
        term: required(row, "term_code")?.to_string(),
        start,
        end: start + Duration::days(length as i64 - 1),
        dept: match row.get("department") {
            "" => "HIST".to_string(),
            d => d.to_uppercase(),
        },
        credits,
    })
}

async fn dept_id(db: &impl ConnectionTrait, ctx: &mut Ctx, code: &str) -> AppResult<(i64, u64)> {
    if let Some(id) = ctx.depts.get(code) {
        return Ok((*id, 0));
    }
    let name = if code == "HIST" { "Imported" } else { code };
    let n = departments::Entity::insert(departments::ActiveModel {
        code: Set(code.to_string()),
        name_zh: Set(name.to_string()),
        name_en: Set(name.to_string()),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::column(departments::Column::Code)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    let id = departments::Entity::find()
        .filter(departments::Column::Code.eq(code))
        .one(db)
        .await?
        .map(|d| d.id)
        .ok_or_else(|| AppError::internal(format!("department {code} was not created")))?;
    ctx.depts.insert(code.to_string(), id);
    Ok((id, n))
}

async fn major_id(
    db: &impl ConnectionTrait,
    ctx: &mut Ctx,
    dept: i64,
    dept_code: &str,
) -> AppResult<(i64, u64)> {
    if let Some(id) = ctx.majors.get(&dept) {
        return Ok((*id, 0));
    }
    let code = format!("{dept_code}-IMPORTED");
    let n = majors::Entity::insert(majors::ActiveModel {
        code: Set(code.clone()),
        department_id: Set(dept),
        name_zh: Set(format!("{dept_code}（导入）")),
        name_en: Set(format!("{dept_code} (imported)")),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::column(majors::Column::Code)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    let id = majors::Entity::find()
        .filter(majors::Column::Code.eq(&code))
        .one(db)
        .await?
        .map(|m| m.id)
        .ok_or_else(|| AppError::internal(format!("major {code} was not created")))?;
    ctx.majors.insert(dept, id);
    Ok((id, n))
}

async fn presentations(run: &mut Run<'_>, ctx: &mut Ctx, src: &mut Source) -> AppResult<()> {
    if !run.open(
        src,
        &["course_code", "term_code", "start_date", "length_days"],
        &[],
    )? {
        return Ok(());
    }
    // NOTE: presentations are few (one per course and term), so they are read whole: the new
    // terms get their sequence in order of start, as the mining run orders terms.
    let mut all = Vec::new();
    loop {
        let (items, read, end) = next_batch(run, src, ctx, parse_pres)?;
        run.done_rows(read, 0);
        all.extend(items);
        if end {
            break;
        }
    }
    let mut new_terms: BTreeMap<String, (NaiveDate, NaiveDate)> = BTreeMap::new();
    for p in &all {
        if !ctx.terms.contains_key(&p.term) {
            let e = new_terms.entry(p.term.clone()).or_insert((p.start, p.end));
            e.0 = e.0.min(p.start);
            e.1 = e.1.max(p.end);
        }
    }
    let mut order: Vec<(String, (NaiveDate, NaiveDate))> = new_terms.into_iter().collect();
    order.sort_by_key(|(code, (s, _))| (*s, code.clone()));
    let seqs: HashMap<String, (i64, NaiveDate, NaiveDate)> = order
        .into_iter()
        .enumerate()
        .map(|(i, (code, (s, e)))| (code, (ctx.next_seq + i as i64, s, e)))
        .collect();
    ctx.next_seq += seqs.len() as i64;
    for chunk in all.chunks(BATCH) {
        let txn = run.begin().await?;
        let mut added = 0;
        for p in chunk {
            let (dept, n) = dept_id(&txn, ctx, &p.dept).await?;
            run.report.add("departments", n);
            let course = match ctx.courses.get(&p.course) {
                Some((id, _)) => *id,
                None => {
                    let title = if p.title.is_empty() {
                        &p.course
                    } else {
                        &p.title
                    };
                    let c = courses::ActiveModel {
                        code: Set(p.course.clone()),
                        department_id: Set(dept),
                        title_zh: Set(title.clone()),
                        title_en: Set(title.clone()),
                        credits: Set(p.credits),
                        description: Set(String::new()),
                        is_active: Set(true),
                        ..Default::default()
                    }
                    .insert(&txn)
                    .await?;
                    run.report.add("courses", 1);
                    ctx.courses.insert(p.course.clone(), (c.id, dept));
                    c.id
                }
            };
            let term = match ctx.terms.get(&p.term) {
                Some(t) => *t,
                None => {
                    let (seq, s, e) =
                        seqs.get(&p.term)
                            .copied()
                            .unwrap_or((ctx.next_seq, p.start, p.end));
                    let t = terms::ActiveModel {
                        code: Set(p.term.clone()),
                        name_zh: Set(p.term.clone()),
                        name_en: Set(p.term.clone()),
                        seq: Set(seq),
                        starts_on: Set(s),
                        ends_on: Set(e),
                        registration_opens_at: Set(at(s - Duration::days(30))),
                        registration_closes_at: Set(at(s + Duration::days(14))),
                        add_drop_deadline: Set(at(s + Duration::days(14))),
                        credit_limit: Set(60.0),
                        is_current: Set(false),
                        ..Default::default()
                    }
                    .insert(&txn)
                    .await?;
                    run.report.add("terms", 1);
                    let info = TermInfo { id: t.id, end: e };
                    ctx.terms.insert(p.term.clone(), info);
                    info
                }
            };
            let section = match ctx.sections.get(&(course, term.id)) {
                Some(id) => *id,
                None => {
                    let s = sections::ActiveModel {
                        term_id: Set(term.id),
                        course_id: Set(course),
                        section_no: Set("01".into()),
                        teacher_id: Set(None),
                        capacity: Set(0),
                        waitlist_capacity: Set(0),
                        enrolled_count: Set(0),
                        waitlist_count: Set(0),
                        override_count: Set(0),
                        room: Set(String::new()),
                        grading_scale_id: Set(None),
                        grades_published_at: Set(None),
                        ..Default::default()
                    }
                    .insert(&txn)
                    .await?;
                    run.report.add("sections", 1);
                    added += 1;
                    ctx.sections.insert((course, term.id), s.id);
                    s.id
                }
            };
            ctx.spans.insert(section, (p.start, p.end));
        }
        if let Some(f) = run.report.files.last_mut() {
            f.added += added;
        }
        run.commit(txn, src).await?;
    }
    if !seqs.is_empty() {
        let txn = run.begin().await?;
        renumber_terms(&txn).await?;
        run.commit(txn, src).await?;
    }
    // The imported assessments of these sections can be found by code now.
    ctx.assessments.clear();
    let db = run.begin().await?;
    ctx.load_assessments(&db, None).await?;
    db.commit().await?;
    Ok(())
}

/// Orders every term's `seq` by its start, so that imported earlier terms come before the
/// portal's own (the mining run learns from the terms before the one it scores).
async fn renumber_terms(db: &impl ConnectionTrait) -> AppResult<()> {
    use sea_orm::QueryOrder;
    let all = terms::Entity::find()
        .order_by_asc(terms::Column::StartsOn)
        .order_by_asc(terms::Column::Seq)
        .all(db)
        .await?;
    if all.windows(2).all(|w| w[0].seq < w[1].seq) {
        return Ok(());
    }
    // NOTE: `seq` is unique: first out of the way, then in order.
    let top = all.iter().map(|t| t.seq).max().unwrap_or(0) + 1;
    for (i, t) in all.iter().enumerate() {
        terms::ActiveModel {
            id: Set(t.id),
            seq: Set(top + i as i64),
            ..Default::default()
        }
        .update(db)
        .await?;
    }
    for (i, t) in all.iter().enumerate() {
        terms::ActiveModel {
            id: Set(t.id),
            seq: Set(i as i64 + 1),
            ..Default::default()
        }
        .update(db)
        .await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// students.csv (and the minimal records registrations.csv creates)

struct NewStudent {
    no: String,
    name: String,
    gender: String,
    birth_year: Option<i32>,
    cohort: Option<i64>,
    dept: String,
    prior_attempts: Option<i32>,
    credits_studied: Option<f64>,
    education: Option<String>,
    disability: Option<String>,
}

fn parse_student(_: &Ctx, row: &Row) -> Result<NewStudent, Reject> {
    let no = required(row, "student_no")?.to_string();
    let gender = match row.get("gender").to_lowercase().as_str() {
        "m" | "male" | "男" => "M",
        "f" | "female" | "女" => "F",
        _ => "",
    };
    let year = |col: &str| -> Result<Option<i64>, Reject> {
        let v = row.get(col);
        let digits: String = v.chars().take_while(char::is_ascii_digit).collect();
        match (v.is_empty(), digits.len() == 4) {
            (true, _) => Ok(None),
            (false, true) => Ok(digits.parse().ok()),
            (false, false) => Err(Reject("bad_number", format!("{col} {v}"))),
        }
    };
    let text = |col: &str| Some(row.get(col).to_string()).filter(|v| !v.is_empty());
    Ok(NewStudent {
        name: match row.get("name") {
            "" => no.clone(),
            n => n.to_string(),
        },
        no,
        gender: gender.to_string(),
        birth_year: year("birth_year")?.map(|y| y as i32),
        cohort: year("cohort")?,
        dept: match row.get("department") {
            "" => "HIST".to_string(),
            d => d.to_uppercase(),
        },
        prior_attempts: number(row, "prior_attempts")?.map(|n| n as i32),
        credits_studied: number(row, "credits_studied")?,
        education: text("highest_education"),
        disability: match row.get("disability").to_lowercase().as_str() {
            "" => None,
            "y" | "yes" | "1" | "true" | "是" => Some("yes".into()),
            "n" | "no" | "0" | "false" | "否" => Some("no".into()),
            other => Some(other.chars().take(10).collect()),
        },
    })
}

/// Creates the students of `list` that do not exist yet; returns how many were created.
async fn create_students(
    db: &impl ConnectionTrait,
    ctx: &mut Ctx,
    report: &mut HistoryReport,
    list: Vec<NewStudent>,
) -> AppResult<u64> {
    let mut seen = HashSet::new();
    let list: Vec<NewStudent> = list
        .into_iter()
        .filter(|s| !ctx.students.contains_key(&s.no) && seen.insert(s.no.clone()))
        .collect();
    if list.is_empty() {
        return Ok(0);
    }
    let mut models = Vec::with_capacity(list.len());
    for s in &list {
        let (dept, n) = dept_id(db, ctx, &s.dept).await?;
        report.add("departments", n);
        let (major, n) = major_id(db, ctx, dept, &s.dept).await?;
        report.add("majors", n);
        models.push(students::ActiveModel {
            user_id: Set(None),
            student_no: Set(s.no.clone()),
            national_id: Set(None),
            name_zh: Set(s.name.clone()),
            name_en: Set(s.name.clone()),
            gender: Set(s.gender.clone()),
            birth_date: Set(None),
            phone: Set(None),
            email: Set(None),
            address: Set(None),
            department_id: Set(dept),
            major_id: Set(major),
            cohort_year: Set(s.cohort.unwrap_or_else(|| i64::from(ctx.now.year()))),
            status: Set(students::StudentStatus::Active),
            status_changed_at: Set(ctx.now),
            advisor_id: Set(None),
            merged_into_id: Set(None),
            created_at: Set(ctx.now),
            updated_at: Set(ctx.now),
            ..Default::default()
        });
    }
    let created = students::Entity::insert_many(models)
        .on_conflict(
            OnConflict::column(students::Column::StudentNo)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    let nos: Vec<String> = list.iter().map(|s| s.no.clone()).collect();
    let ids: HashMap<String, i64> = students::Entity::find()
        .select_only()
        .column(students::Column::StudentNo)
        .column(students::Column::Id)
        .filter(students::Column::StudentNo.is_in(nos))
        .into_tuple::<(String, i64)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let marks: Vec<imported_students::ActiveModel> = list
        .iter()
        .filter_map(|s| {
            ids.get(&s.no).map(|id| imported_students::ActiveModel {
                student_id: Set(*id),
                disability: Set(s.disability.clone()),
                highest_education: Set(s.education.clone()),
                prior_attempts: Set(s.prior_attempts),
                credits_studied: Set(s.credits_studied),
                birth_year: Set(s.birth_year),
                imported_at: Set(ctx.now),
                ..Default::default()
            })
        })
        .collect();
    if !marks.is_empty() {
        imported_students::Entity::insert_many(marks)
            .on_conflict(
                OnConflict::column(imported_students::Column::StudentId)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    ctx.students.extend(ids);
    report.add("students", created);
    Ok(created)
}

async fn students_file(run: &mut Run<'_>, ctx: &mut Ctx, src: &mut Source) -> AppResult<()> {
    if !run.open(src, &["student_no"], &[])? {
        return Ok(());
    }
    loop {
        let (items, read, end) = next_batch(run, src, ctx, parse_student)?;
        let txn = run.begin().await?;
        let added = create_students(&txn, ctx, &mut run.report, items).await?;
        run.done_rows(read, added);
        run.commit(txn, src).await?;
        if end {
            return Ok(());
        }
    }
}

// ---------------------------------------------------------------------------------------
// registrations.csv

#[derive(Clone, Copy, PartialEq)]
enum FinalResult {
    Distinction,
    Pass,
    Fail,
    Withdrawn,
}

struct Reg {
    student_no: String,
    dept: String,
    section: i64,
    registered: Ts,
    dropped: Option<Ts>,
    result: Option<FinalResult>,
    end: NaiveDate,
}

fn parse_reg(ctx: &Ctx, row: &Row) -> Result<Reg, Reject> {
    let student_no = required(row, "student_no")?.to_string();
    let (section, start, dept) = ctx.section(row)?;
    let end = ctx.spans.get(&section).map_or(start, |s| s.1);
    let registered = when(row, "registered_day", "registered_date", start)?.unwrap_or(start);
    let unregistered = when(row, "unregistered_day", "unregistered_date", start)?;
    let result = match row.get("final_result").to_lowercase().as_str() {
        "" => None,
        "distinction" => Some(FinalResult::Distinction),
        "pass" => Some(FinalResult::Pass),
        "fail" => Some(FinalResult::Fail),
        "withdrawn" | "withdraw" => Some(FinalResult::Withdrawn),
        other => return Err(Reject("bad_result", other.to_string())),
    };
    let dropped = match (unregistered, result) {
        (Some(d), _) => Some(end_of(d)),
        (None, Some(FinalResult::Withdrawn)) => Some(end_of(end)),
        _ => None,
    };
    let dept = ctx
        .depts
        .iter()
        .find(|(_, id)| **id == dept)
        .map_or_else(|| "HIST".to_string(), |(c, _)| c.clone());
    Ok(Reg {
        student_no,
        dept,
        section,
        registered: at(registered),
        dropped,
        result,
        end,
    })
}

async fn registrations(run: &mut Run<'_>, ctx: &mut Ctx, src: &mut Source) -> AppResult<()> {
    if !run.open(src, &["student_no", "course_code", "term_code"], &[])? {
        return Ok(());
    }
    loop {
        let (items, read, end) = next_batch(run, src, ctx, parse_reg)?;
        let txn = run.begin().await?;
        let added = store_regs(&txn, ctx, &mut run.report, items).await?;
        run.done_rows(read, added);
        run.commit(txn, src).await?;
        if end {
            break;
        }
    }
    // The sections' counts, capacity and grade publication follow their imported enrolments.
    let touched: Vec<i64> = ctx.touched.drain().collect();
    for ids in touched.chunks(BATCH) {
        let txn = run.begin().await?;
        // NOTE: capacity first: a section never holds more than its capacity (a CHECK).
        const COUNT: &str = "(SELECT COUNT(*) FROM enrolments WHERE enrolments.section_id = sections.id AND enrolments.status = 'enrolled')";
        sections::Entity::update_many()
            .col_expr(sections::Column::Capacity, Expr::cust(COUNT))
            .filter(sections::Column::Id.is_in(ids.to_vec()))
            .filter(Expr::cust(format!("sections.capacity < {COUNT}")))
            .exec(&txn)
            .await?;
        sections::Entity::update_many()
            .col_expr(sections::Column::EnrolledCount, Expr::cust(COUNT))
            .filter(sections::Column::Id.is_in(ids.to_vec()))
            .exec(&txn)
            .await?;
        for id in ids {
            let Some((_, end)) = ctx.spans.get(id) else {
                continue;
            };
            sections::Entity::update_many()
                .col_expr(
                    sections::Column::GradesPublishedAt,
                    Expr::value(end_of(*end)),
                )
                .filter(sections::Column::Id.eq(*id))
                .filter(sections::Column::GradesPublishedAt.is_null())
                .filter(Expr::cust(
                    "EXISTS (SELECT 1 FROM grades WHERE grades.section_id = sections.id)",
                ))
                .exec(&txn)
                .await?;
        }
        run.commit(txn, src).await?;
    }
    Ok(())
}

async fn store_regs(
    db: &impl ConnectionTrait,
    ctx: &mut Ctx,
    report: &mut HistoryReport,
    items: Vec<Reg>,
) -> AppResult<u64> {
    if items.is_empty() {
        return Ok(0);
    }
    let missing: Vec<NewStudent> = items
        .iter()
        .filter(|r| !ctx.students.contains_key(&r.student_no))
        .map(|r| NewStudent {
            no: r.student_no.clone(),
            name: r.student_no.clone(),
            gender: String::new(),
            birth_year: None,
            cohort: None,
            dept: r.dept.clone(),
            prior_attempts: None,
            credits_studied: None,
            education: None,
            disability: None,
        })
        .collect();
    create_students(db, ctx, report, missing).await?;
    let pairs: Vec<(i64, &Reg)> = items
        .iter()
        .filter_map(|r| ctx.students.get(&r.student_no).map(|id| (*id, r)))
        .collect();
    let student_ids: Vec<i64> = pairs.iter().map(|(s, _)| *s).collect();
    let existing: HashSet<(i64, i64)> = enrolments::Entity::find()
        .select_only()
        .column(enrolments::Column::StudentId)
        .column(enrolments::Column::SectionId)
        .filter(enrolments::Column::StudentId.is_in(student_ids))
        .into_tuple::<(i64, i64)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let mut new = Vec::new();
    let mut events = Vec::new();
    let mut grade_rows = Vec::new();
    let mut seen = HashSet::new();
    for (student, r) in &pairs {
        ctx.touched.insert(r.section);
        if let Some(res) = r.result {
            let score = match res {
                FinalResult::Distinction => Some(90.0),
                FinalResult::Pass => Some(70.0),
                FinalResult::Fail => Some(40.0),
                FinalResult::Withdrawn => None,
            };
            if let Some(score) = score {
                let (letter, points) = ctx.scale.band(score);
                let published = end_of(r.end);
                grade_rows.push(grades::ActiveModel {
                    section_id: Set(r.section),
                    student_id: Set(*student),
                    score: Set(score),
                    letter: Set(letter),
                    points: Set(points),
                    status: Set(grades::GradeStatus::Published),
                    entered_by: Set(None),
                    updated_at: Set(published),
                    published_at: Set(Some(published)),
                    ..Default::default()
                });
            }
        }
        if existing.contains(&(*student, r.section)) || !seen.insert((*student, r.section)) {
            continue;
        }
        let status = if r.dropped.is_some() {
            enrolments::EnrolmentStatus::Dropped
        } else {
            enrolments::EnrolmentStatus::Enrolled
        };
        new.push(enrolments::ActiveModel {
            student_id: Set(*student),
            section_id: Set(r.section),
            status: Set(status),
            waitlist_position: Set(None),
            created_at: Set(r.registered),
            updated_at: Set(r.dropped.unwrap_or(r.registered)),
            dropped_at: Set(r.dropped),
            override_reason: Set(None),
            ..Default::default()
        });
        events.push(registration_events::ActiveModel {
            student_id: Set(*student),
            section_id: Set(r.section),
            action: Set("add".into()),
            code: Set("enrolled".into()),
            at: Set(r.registered),
            actor_id: Set(None),
            ..Default::default()
        });
        if let Some(d) = r.dropped {
            events.push(registration_events::ActiveModel {
                student_id: Set(*student),
                section_id: Set(r.section),
                action: Set("drop".into()),
                code: Set("dropped".into()),
                at: Set(d),
                actor_id: Set(None),
                ..Default::default()
            });
        }
    }
    let mut added = 0;
    if !new.is_empty() {
        added = enrolments::Entity::insert_many(new)
            .on_conflict(
                OnConflict::columns([enrolments::Column::StudentId, enrolments::Column::SectionId])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
        report.add("enrolments", added);
    }
    if !events.is_empty() {
        let n = events.len() as u64;
        registration_events::Entity::insert_many(events)
            .exec_without_returning(db)
            .await?;
        report.add("registration_events", n);
    }
    if !grade_rows.is_empty() {
        let n = grades::Entity::insert_many(grade_rows)
            .on_conflict(
                OnConflict::columns([grades::Column::SectionId, grades::Column::StudentId])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
        report.add("grades", n);
    }
    Ok(added)
}

// ---------------------------------------------------------------------------------------
// assessments.csv

struct NewAssessment {
    section: i64,
    code: String,
    kind: String,
    due: Ts,
    weight: f64,
}

fn parse_assessment(ctx: &Ctx, row: &Row) -> Result<NewAssessment, Reject> {
    let code = required(row, "assessment_code")?.to_string();
    let (section, start, _) = ctx.section(row)?;
    let end = ctx.spans.get(&section).map_or(start, |s| s.1);
    let kind = match row.get("kind").to_lowercase().as_str() {
        "" | "other" => "other",
        "exam" => "exam",
        "assignment" => "assignment",
        "quiz" => "quiz",
        other => return Err(Reject("bad_kind", other.to_string())),
    };
    let due = when(row, "due_day", "due_date", start)?.unwrap_or(end);
    let weight = number(row, "weight")?.unwrap_or(0.0);
    if !(0.0..=100.0).contains(&weight) {
        return Err(Reject("bad_weight", weight.to_string()));
    }
    Ok(NewAssessment {
        section,
        code,
        kind: kind.to_string(),
        due: end_of(due),
        weight: weight / 100.0,
    })
}

async fn assessments_file(run: &mut Run<'_>, ctx: &mut Ctx, src: &mut Source) -> AppResult<()> {
    if !run.open(src, &["course_code", "term_code", "assessment_code"], &[])? {
        return Ok(());
    }
    loop {
        let (items, read, end) = next_batch(run, src, ctx, parse_assessment)?;
        let txn = run.begin().await?;
        let mut seen = HashSet::new();
        let new: Vec<assessments::ActiveModel> = items
            .iter()
            .filter(|a| {
                !ctx.assessments
                    .get(&a.code)
                    .is_some_and(|l| l.iter().any(|x| x.section == a.section))
                    && seen.insert((a.section, a.code.clone()))
            })
            .map(|a| assessments::ActiveModel {
                section_id: Set(a.section),
                name: Set(a.code.clone()),
                weight: Set(a.weight),
                due_at: Set(Some(a.due)),
                max_score: Set(100.0),
                kind: Set(Some(a.kind.clone())),
                ..Default::default()
            })
            .collect();
        let added = new.len() as u64;
        if !new.is_empty() {
            assessments::Entity::insert_many(new)
                .exec_without_returning(&txn)
                .await?;
            let sections: Vec<i64> = seen.iter().map(|(s, _)| *s).collect();
            ctx.load_assessments(&txn, Some(sections)).await?;
        }
        run.report.add("assessments", added);
        run.done_rows(read, added);
        run.commit(txn, src).await?;
        if end {
            return Ok(());
        }
    }
}

// ---------------------------------------------------------------------------------------
// results.csv

fn parse_result(ctx: &Ctx, row: &Row) -> Result<assessment_scores::ActiveModel, Reject> {
    let code = required(row, "assessment_code")?;
    let a = match ctx.assessments.get(code).map(Vec::as_slice) {
        None | Some([]) => return Err(Reject("unknown_assessment", code.to_string())),
        Some([a]) => *a,
        Some(_) => return Err(Reject("ambiguous_assessment", code.to_string())),
    };
    let student = ctx.student(row)?;
    let score = number(row, "score")?;
    if let Some(s) = score
        && !(0.0..=100.0).contains(&s)
    {
        return Err(Reject("bad_score", s.to_string()));
    }
    let submitted = when(row, "submitted_day", "submitted_date", a.start)?.map(end_of);
    let banked = match row.get("banked") {
        "" | "0" => false,
        "1" => true,
        other => return Err(Reject("bad_banked", other.to_string())),
    };
    // NOTE: a banked result was earned in an earlier attempt: its score counts, but it says
    // nothing about this term's work, so it is never late or missing.
    let status = match submitted {
        _ if banked && score.is_some() => BANKED,
        None if score.is_none() => "missing",
        Some(s) if s > a.due => "late",
        _ => "submitted",
    };
    Ok(assessment_scores::ActiveModel {
        assessment_id: Set(a.id),
        student_id: Set(student),
        score: Set(score),
        status: Set(status.into()),
        submitted_at: Set(submitted),
        updated_at: Set(submitted.unwrap_or(a.due)),
        ..Default::default()
    })
}

async fn results(run: &mut Run<'_>, ctx: &mut Ctx, src: &mut Source) -> AppResult<()> {
    if !run.open(src, &["assessment_code", "student_no"], &[])? {
        return Ok(());
    }
    stream_inserts(
        run,
        ctx,
        src,
        parse_result,
        OnConflict::columns([
            assessment_scores::Column::AssessmentId,
            assessment_scores::Column::StudentId,
        ]),
        "assessment_scores",
    )
    .await?;
    // A student without a result, still registered when the assessment was due, did not
    // submit it: recorded as missing, as the portal records it (the early warning's "missed
    // the first assessment"). Only assessments already due.
    let due: Vec<AssessInfo> = ctx
        .assessments
        .values()
        .flatten()
        .filter(|a| a.due < ctx.now)
        .copied()
        .collect();
    for chunk in due.chunks(BATCH) {
        let txn = run.begin().await?;
        let mut added = 0;
        for a in chunk {
            let (id, due, section) = (&a.id, &a.due, a.section);
            let have: Vec<i64> = assessment_scores::Entity::find()
                .select_only()
                .column(assessment_scores::Column::StudentId)
                .filter(assessment_scores::Column::AssessmentId.eq(*id))
                .into_tuple()
                .all(&txn)
                .await?;
            let have: HashSet<i64> = have.into_iter().collect();
            let rows: Vec<assessment_scores::ActiveModel> = enrolments::Entity::find()
                .filter(enrolments::Column::SectionId.eq(section))
                .all(&txn)
                .await?
                .into_iter()
                .filter(|e| !have.contains(&e.student_id))
                .filter(|e| e.status != enrolments::EnrolmentStatus::Waitlisted)
                .filter(|e| e.dropped_at.is_none_or(|d| d > *due))
                .map(|e| assessment_scores::ActiveModel {
                    assessment_id: Set(*id),
                    student_id: Set(e.student_id),
                    score: Set(None),
                    status: Set("missing".into()),
                    submitted_at: Set(None),
                    updated_at: Set(*due),
                    ..Default::default()
                })
                .collect();
            if !rows.is_empty() {
                added += assessment_scores::Entity::insert_many(rows)
                    .on_conflict(
                        OnConflict::columns([
                            assessment_scores::Column::AssessmentId,
                            assessment_scores::Column::StudentId,
                        ])
                        .do_nothing()
                        .to_owned(),
                    )
                    .exec_without_returning(&txn)
                    .await?;
            }
        }
        run.report.add("assessment_scores_missing", added);
        run.commit(txn, src).await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// activity.csv

fn parse_activity(ctx: &Ctx, row: &Row) -> Result<learning_activity::ActiveModel, Reject> {
    let student = ctx.student(row)?;
    let (section, start, _) = ctx.section(row)?;
    let day = when(row, "day", "date", start)?.ok_or_else(|| Reject("missing", "day".into()))?;
    let count = number(row, "count")?.ok_or_else(|| Reject("missing", "count".into()))?;
    if !(0.0..=1e9).contains(&count) {
        return Err(Reject("bad_number", format!("count {count}")));
    }
    let kind: String = match row.get("kind") {
        "" => "all".into(),
        k => k.to_lowercase().chars().take(20).collect(),
    };
    Ok(learning_activity::ActiveModel {
        student_id: Set(student),
        section_id: Set(section),
        day: Set(day),
        kind: Set(kind),
        count: Set(count.round() as i64),
        ..Default::default()
    })
}

async fn activity(run: &mut Run<'_>, ctx: &mut Ctx, src: &mut Source) -> AppResult<()> {
    if !run.open(
        src,
        &["student_no", "course_code", "term_code", "count"],
        &[("day", "date")],
    )? {
        return Ok(());
    }
    stream_inserts(
        run,
        ctx,
        src,
        parse_activity,
        OnConflict::columns([
            learning_activity::Column::StudentId,
            learning_activity::Column::SectionId,
            learning_activity::Column::Day,
            learning_activity::Column::Kind,
        ]),
        "learning_activity",
    )
    .await
}

// ---------------------------------------------------------------------------------------
// attendance.csv

struct Present {
    student: i64,
    section: i64,
    day: NaiveDate,
    mark: crate::attendance::service::Mark,
}

fn parse_attendance(ctx: &Ctx, row: &Row) -> Result<Present, Reject> {
    let student = ctx.student(row)?;
    let (section, start, _) = ctx.section(row)?;
    let day = when(row, "day", "date", start)?.ok_or_else(|| Reject("missing", "day".into()))?;
    let status = required(row, "status")?;
    let mark = crate::attendance::service::Mark::parse(status)
        .ok_or_else(|| Reject("bad_status", status.to_string()))?;
    Ok(Present {
        student,
        section,
        day,
        mark,
    })
}

async fn attendance_file(run: &mut Run<'_>, ctx: &mut Ctx, src: &mut Source) -> AppResult<()> {
    use crate::attendance::service::{Mark, SOURCE_IMPORT};
    if !run.open(
        src,
        &["student_no", "course_code", "term_code", "status"],
        &[("day", "date")],
    )? {
        return Ok(());
    }
    loop {
        let (items, read, end) = next_batch(run, src, ctx, parse_attendance)?;
        let txn = run.begin().await?;
        let mut seen = HashSet::new();
        let rolls: Vec<attendance_rolls::ActiveModel> = items
            .iter()
            .filter(|p| seen.insert((p.section, p.day)))
            .map(|p| attendance_rolls::ActiveModel {
                section_id: Set(p.section),
                held_on: Set(p.day),
                source: Set(SOURCE_IMPORT.into()),
                taken_by: Set(None),
                taken_at: Set(end_of(p.day)),
                ..Default::default()
            })
            .collect();
        // Everyone is present by default: only the exceptions are marks.
        let marks: Vec<attendance::ActiveModel> = items
            .iter()
            .filter(|p| p.mark != Mark::Present)
            .map(|p| attendance::ActiveModel {
                section_id: Set(p.section),
                student_id: Set(p.student),
                held_on: Set(p.day),
                status: Set(p.mark.as_str().into()),
                source: Set(SOURCE_IMPORT.into()),
                recorded_by: Set(None),
                recorded_at: Set(end_of(p.day)),
                ..Default::default()
            })
            .collect();
        let mut added_rolls = 0;
        let mut added_marks = 0;
        if !rolls.is_empty() {
            added_rolls = attendance_rolls::Entity::insert_many(rolls)
                .on_conflict(
                    OnConflict::columns([
                        attendance_rolls::Column::SectionId,
                        attendance_rolls::Column::HeldOn,
                    ])
                    .do_nothing()
                    .to_owned(),
                )
                .exec_without_returning(&txn)
                .await?;
        }
        if !marks.is_empty() {
            added_marks = attendance::Entity::insert_many(marks)
                .on_conflict(
                    OnConflict::columns([
                        attendance::Column::SectionId,
                        attendance::Column::HeldOn,
                        attendance::Column::StudentId,
                    ])
                    .do_nothing()
                    .to_owned(),
                )
                .exec_without_returning(&txn)
                .await?;
        }
        run.report.add("attendance_rolls", added_rolls);
        run.report.add("attendance_marks", added_marks);
        run.done_rows(read, (added_rolls + added_marks).min(read));
        run.commit(txn, src).await?;
        if end {
            return Ok(());
        }
    }
}

// ---------------------------------------------------------------------------------------

/// One history import job, for the progress page.
pub async fn job(db: &impl ConnectionTrait, id: i64) -> AppResult<import_jobs::Model> {
    import_jobs::Entity::find_by_id(id)
        .filter(import_jobs::Column::Kind.eq(KIND))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// Cancels a running import: its worker stops after the batch it is writing (the batches
/// stored stay), or, when no live instance holds it, it is marked cancelled at once.
pub async fn cancel(db: &DatabaseConnection, actor: i64, id: i64) -> AppResult<&'static str> {
    crate::students::import::cancel_job(db, actor, id, KIND, "history.import_cancel").await
}

/// Starts an import again on the folder of one that stopped (interrupted, failed or
/// cancelled): a new job, which skips what the stopped one stored. Returns the new job's id
/// and the folder.
pub async fn restart(
    db: &DatabaseConnection,
    jobs: &Jobs,
    actor: i64,
    id: i64,
) -> AppResult<(i64, PathBuf)> {
    let old = job(db, id).await?;
    if matches!(
        old.status,
        JobStatus::Running | JobStatus::Queued | JobStatus::Done
    ) {
        return Err(AppError::conflict(
            "not_interrupted",
            format!(
                "import {id} is {}; only a stopped import can be continued",
                old.status.as_str()
            ),
        ));
    }
    // NOTE: a stopped dry run is started again, never continued as a real import.
    let was_dry = serde_json::from_str::<serde_json::Value>(&old.report)
        .is_ok_and(|r| r["dry_run"].as_bool() == Some(true));
    if was_dry {
        return Err(AppError::conflict(
            "dry_run_not_continued",
            format!("import {id} was a dry run; start a new one instead of continuing it"),
        ));
    }
    let dir = PathBuf::from(&old.file_hash);
    if !dir.is_dir() {
        return Err(AppError::conflict(
            "no_file",
            "the files of this import are no longer on the server; upload them again",
        ));
    }
    let new = start_job_continuing(db, jobs, Some(actor), &dir, Some(id)).await?;
    Ok((new, dir))
}

/// Where job `id` writes its refused rows (kept after an uploaded folder is removed).
pub fn rejected_dir(imports: &Path, id: i64) -> PathBuf {
    imports.join(format!("rejected-{id}"))
}

/// One file of job `id`'s refused rows (`<file>.rejected.csv`, neutralised when written).
pub fn rejected_file(imports: &Path, id: i64, file: &str) -> AppResult<Vec<u8>> {
    let known = FILES
        .iter()
        .find(|f| **f == file)
        .ok_or(AppError::NotFound)?;
    let name = format!("{}.rejected.csv", known.trim_end_matches(".csv"));
    std::fs::read(rejected_dir(imports, id).join(name)).map_err(|_| AppError::NotFound)
}

/// The recent history imports, newest first.
pub async fn recent_jobs(db: &impl ConnectionTrait) -> AppResult<Vec<import_jobs::Model>> {
    use sea_orm::QueryOrder;
    Ok(import_jobs::Entity::find()
        .filter(import_jobs::Column::Kind.eq(KIND))
        .order_by_desc(import_jobs::Column::Id)
        .limit(10)
        .all(db)
        .await?)
}

/// `srm import history DIR`: prints progress (rows/s) on standard error and the report on
/// standard output.
pub async fn run_cli(
    db: &DatabaseConnection,
    jobs: &Jobs,
    dir: &Path,
    dry_run: bool,
    rejected: Option<&Path>,
) -> AppResult<()> {
    use std::io::Write;
    let opts = Options {
        dry_run,
        actor: None,
        rejected_dir: rejected.map(Path::to_path_buf),
    };
    let job = if dry_run {
        None
    } else {
        Some(start_job(db, jobs, None, dir).await?)
    };
    let progress = |r: &HistoryReport| {
        let file = r.files.last().map_or("", |f| f.file.as_str());
        let pct = (r.done_bytes * 100)
            .checked_div(r.total_bytes)
            .unwrap_or(100);
        eprint!(
            "\r{pct:>3}% {file:<18} {} rows, {:.0} rows/s, {} rejected   ",
            r.rows, r.rows_per_second, r.rejected
        );
        std::io::stderr().flush().ok();
    };
    let report = run(db, jobs, dir, &opts, job, &progress).await?;
    eprintln!();
    print!("{}", report_text(&report));
    Ok(())
}

/// The report as plain text.
pub fn report_text(r: &HistoryReport) -> String {
    let mut s = String::new();
    for f in &r.files {
        s.push_str(&format!(
            "{:<18} read {:>9}, added {:>9}, unchanged {:>9}, rejected {:>6} ({}, delimiter {}){}\n",
            f.file,
            f.read,
            f.added,
            f.unchanged,
            f.rejected,
            f.encoding,
            f.delimiter,
            f.skipped
                .as_ref()
                .map(|w| format!(" skipped: {w}"))
                .unwrap_or_default()
        ));
    }
    for x in r.rejected_rows.iter().take(20) {
        s.push_str(&format!("{} line {}: {}\n", x.file, x.line, x.reason));
    }
    let created: Vec<String> = r.created.iter().map(|(k, v)| format!("{k} {v}")).collect();
    s.push_str(&format!(
        "{}created: {}\n{} rows in {:.2} s ({:.0} rows/s), {} rejected\n",
        if r.dry_run {
            "dry run (nothing written): would have "
        } else {
            ""
        },
        if created.is_empty() {
            "nothing".to_string()
        } else {
            created.join(", ")
        },
        r.rows,
        r.seconds,
        r.rows_per_second,
        r.rejected
    ));
    s
}
