//! `srm-bench import`: the two importers against the fastest plain way to put the same rows in
//! the same tables. It writes N student rows (and a history directory of activity and result
//! rows) to temporary files, times `srm`'s importer on a fresh database, then times batched
//! multi-row INSERTs of the same rows into another fresh database with the same schema (one
//! transaction per batch, no parsing, ids known in advance), and prints rows/s of both, the
//! ratio and the peak resident memory of each phase. SQLite always; PostgreSQL when a server
//! is named (a fresh database is created there for each phase and dropped after).

use chrono::{Duration as Days, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QuerySelect, Set,
};
use srm::config::AppConfig;
use srm::db::{Db, write_txn};
use srm::entity::{
    assessment_scores, assessments, departments, learning_activity, majors, sections,
    student_history, students,
};
use srm::error::{AppError, AppResult};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(clap::Args, Debug, Clone)]
pub struct Options {
    /// Student rows in the students file.
    #[arg(long, default_value_t = 100_000)]
    pub students: usize,
    /// Activity rows in the history directory (and half as many result rows).
    #[arg(long, default_value_t = 200_000)]
    pub history_rows: usize,
    /// Rows per transaction of the batched-insert baseline.
    #[arg(long, default_value_t = 1000)]
    pub batch: usize,
    /// A PostgreSQL server to run on as well (e.g. postgres://postgres@127.0.0.1:5432/test):
    /// a database is created on it per phase and dropped after.
    #[arg(long, env = "SRM_BENCH_POSTGRES_URL")]
    pub postgres: Option<String>,
    /// Leave SQLite out (with --postgres).
    #[arg(long)]
    pub no_sqlite: bool,
    /// Which importer: students, history or both.
    #[arg(long, default_value = "both")]
    pub only: String,
}

/// Students of the history directory (results and activity are spread over them).
const HISTORY_STUDENTS: usize = 5000;
/// Courses (one presentation each) and assessments per course in the history directory.
const COURSES: usize = 20;
const ASSESSMENTS: usize = 5;
const TERM: &str = "2021B";

fn fail(e: impl std::fmt::Display) -> AppError {
    AppError::internal(e.to_string())
}

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(what: &str) -> AppResult<Scratch> {
        let dir = std::env::temp_dir().join(format!(
            "srm-bench-{what}-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).map_err(fail)?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Peak resident memory since the last reset, in MiB (Linux: VmHWM; reset by clear_refs 5).
fn peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn reset_peak() {
    // NOTE: "5" resets the peak RSS to the current RSS (Linux 4.0+); without it the figures
    // are peaks since the process started.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// A fresh database with the portal's schema: an SQLite file in `dir`, or a new database on
/// the PostgreSQL server `pg`. Returns the pool and, for PostgreSQL, the name to drop.
async fn fresh(base: &AppConfig, dir: &Path, pg: Option<&str>) -> AppResult<(Db, Option<String>)> {
    let mut config = base.clone();
    config.data_dir = dir.to_path_buf();
    config.database_url = None;
    let mut made = None;
    if let Some(url) = pg {
        let name = format!("srm_bench_{}", uuid::Uuid::new_v4().simple());
        let admin = sea_orm::Database::connect(url).await.map_err(fail)?;
        // NOTE: a generated name (hex digits), not user input; CREATE DATABASE takes no
        // parameters.
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .map_err(fail)?;
        admin.close().await.map_err(fail)?;
        let (prefix, _) = url.rsplit_once('/').unwrap_or((url, ""));
        config.database_url = Some(format!("{prefix}/{name}"));
        made = Some(name);
    }
    let db = srm::db::connect(&config).await?;
    srm::db::migrate(&db).await?;
    Ok((db, made))
}

async fn drop_database(pg: Option<&str>, name: Option<String>) -> AppResult<()> {
    if let (Some(url), Some(name)) = (pg, name) {
        let admin = sea_orm::Database::connect(url).await.map_err(fail)?;
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await
            .map_err(fail)?;
        admin.close().await.map_err(fail)?;
    }
    Ok(())
}

struct Phase {
    rows: u64,
    secs: f64,
    peak: f64,
}

impl Phase {
    fn rate(&self) -> f64 {
        self.rows as f64 / self.secs.max(1e-9)
    }
}

fn print(what: &str, backend: &str, portal: &Phase, base: &Phase, batch: usize) {
    println!(
        "{what:<8} {backend:<10} {:>8} rows | srm import {:>9.0} rows/s ({:>6.2} s, peak {:>6.1} MiB) | batched inserts ({batch}/txn) {:>9.0} rows/s ({:>6.2} s, peak {:>6.1} MiB) | ratio {:.2}x",
        portal.rows,
        portal.rate(),
        portal.secs,
        portal.peak,
        base.rate(),
        base.secs,
        base.peak,
        portal.rate() / base.rate().max(1e-9)
    );
}

pub async fn run(base: &AppConfig, opts: Options) -> AppResult<()> {
    let mut backends: Vec<(&str, Option<&str>)> = Vec::new();
    if !opts.no_sqlite {
        backends.push(("SQLite", None));
    }
    if let Some(url) = opts.postgres.as_deref() {
        backends.push(("PostgreSQL", Some(url)));
    }
    let files = Scratch::new("files")?;
    let students_csv = files.0.join("students.csv");
    write_students_csv(&students_csv, opts.students)?;
    let history = files.0.join("history");
    let setup = files.0.join("history-setup");
    write_history(&setup, &history, opts.history_rows)?;
    println!(
        "srm-bench import: {} students, {} history rows (activity {}, results {}), release={}",
        opts.students,
        history_rows(opts.history_rows).0 + history_rows(opts.history_rows).1,
        history_rows(opts.history_rows).0,
        history_rows(opts.history_rows).1,
        !cfg!(debug_assertions)
    );
    for (name, pg) in backends {
        if opts.only != "history" {
            let portal = students_portal(base, pg, &students_csv).await?;
            let baseline = students_baseline(base, pg, opts.students, opts.batch).await?;
            print("students", name, &portal, &baseline, opts.batch);
        }
        if opts.only != "students" {
            let portal = history_portal(base, pg, &setup, &history).await?;
            let baseline =
                history_baseline(base, pg, &setup, opts.history_rows, opts.batch).await?;
            print("history", name, &portal, &baseline, opts.batch);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// students

const MAJOR: &str = "CS01";

fn birth(i: usize) -> NaiveDate {
    NaiveDate::from_ymd_opt(1998, 1, 1).unwrap_or_default() + Days::days((i % 2500) as i64)
}

fn write_students_csv(path: &Path, n: usize) -> AppResult<()> {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).map_err(fail)?);
    writeln!(
        w,
        "student_no,name_zh,name_en,gender,birth_date,phone,email,major,cohort"
    )
    .map_err(fail)?;
    for i in 0..n {
        writeln!(
            w,
            "B{i:09},学生{i},Student {i},{},{},138{:08},s{i}@example.edu,{MAJOR},{}",
            if i % 2 == 0 { "M" } else { "F" },
            birth(i),
            i,
            2020 + i % 5
        )
        .map_err(fail)?;
    }
    w.flush().map_err(fail)
}

/// The department and major every student is in.
async fn students_setup(db: &DatabaseConnection) -> AppResult<(i64, i64)> {
    let dept = departments::ActiveModel {
        code: Set("CS".into()),
        name_zh: Set("计算机学院".into()),
        name_en: Set("Computing".into()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let major = majors::ActiveModel {
        code: Set(MAJOR.into()),
        department_id: Set(dept.id),
        name_zh: Set("计算机科学".into()),
        name_en: Set("Computer Science".into()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok((dept.id, major.id))
}

async fn students_portal(base: &AppConfig, pg: Option<&str>, csv: &Path) -> AppResult<Phase> {
    let dir = Scratch::new("students-srm")?;
    let (db, made) = fresh(base, &dir.0, pg).await?;
    students_setup(&db).await?;
    let jobs = srm::jobs::Jobs::from_config(base);
    reset_peak();
    let started = Instant::now();
    let bytes = std::fs::read(csv).map_err(fail)?;
    let opts = srm::students::import::Options {
        dry_run: false,
        actor: None,
    };
    let report = srm::students::import::run(&db, &jobs, bytes, opts, |_, _| {}).await?;
    let secs = started.elapsed().as_secs_f64();
    let peak = peak_mib();
    if report.rejected > 0 || report.added != report.read {
        return Err(fail(format!(
            "the import did not add every row: read {}, added {}, rejected {}",
            report.read, report.added, report.rejected
        )));
    }
    let stored = students::Entity::find()
        .select_only()
        .column(students::Column::Id)
        .into_tuple::<i64>()
        .all(&*db)
        .await?
        .len();
    db.close().await?;
    drop_database(pg, made).await?;
    Ok(Phase {
        rows: stored as u64,
        secs,
        peak,
    })
}

async fn students_baseline(
    base: &AppConfig,
    pg: Option<&str>,
    n: usize,
    batch: usize,
) -> AppResult<Phase> {
    let dir = Scratch::new("students-base")?;
    let (db, made) = fresh(base, &dir.0, pg).await?;
    let (dept, major) = students_setup(&db).await?;
    reset_peak();
    let started = Instant::now();
    let now = Utc::now().fixed_offset();
    let mut start = 0;
    while start < n {
        let end = (start + batch).min(n);
        let txn = write_txn(&*db).await?;
        let models = (start..end).map(|i| students::ActiveModel {
            user_id: Set(None),
            student_no: Set(format!("B{i:09}")),
            national_id: Set(None),
            name_zh: Set(format!("学生{i}")),
            name_en: Set(format!("Student {i}")),
            gender: Set(if i % 2 == 0 { "M" } else { "F" }.into()),
            birth_date: Set(Some(birth(i))),
            phone: Set(Some(format!("138{i:08}"))),
            email: Set(Some(format!("s{i}@example.edu"))),
            address: Set(None),
            department_id: Set(dept),
            major_id: Set(major),
            cohort_year: Set(2020 + (i % 5) as i64),
            status: Set(students::StudentStatus::Active),
            status_changed_at: Set(now),
            advisor_id: Set(None),
            merged_into_id: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        });
        let ids = students::Entity::insert_many(models)
            .exec_with_returning_keys(&txn)
            .await?;
        student_history::Entity::insert_many(
            ids.into_iter().map(|id| {
                srm::students::service::created_history(id, now, None, "created (import)")
            }),
        )
        .exec_without_returning(&txn)
        .await?;
        txn.commit().await?;
        start = end;
    }
    let secs = started.elapsed().as_secs_f64();
    let peak = peak_mib();
    db.close().await?;
    drop_database(pg, made).await?;
    Ok(Phase {
        rows: n as u64,
        secs,
        peak,
    })
}

// ---------------------------------------------------------------------------------------
// history

/// Activity rows and result rows for `m` (results: half as many, at most one per student and
/// assessment).
fn history_rows(m: usize) -> (usize, usize) {
    (m, (m / 2).min(HISTORY_STUDENTS * COURSES * ASSESSMENTS))
}

fn course(c: usize) -> String {
    format!("C{c:02}")
}

fn assessment(c: usize, a: usize) -> String {
    format!("C{c:02}-{TERM}-{a}")
}

/// Activity row `i`: (student, course, day, count); distinct (student, course, day) for every i.
fn activity_row(i: usize) -> (usize, usize, usize, usize) {
    let student = i % HISTORY_STUDENTS;
    let course = (i / HISTORY_STUDENTS) % COURSES;
    let day = i / (HISTORY_STUDENTS * COURSES);
    (student, course, day, 1 + i % 7)
}

/// Result row `i`: (student, course, assessment, submitted day, score).
fn result_row(i: usize) -> (usize, usize, usize, usize, usize) {
    let student = i % HISTORY_STUDENTS;
    let slot = i / HISTORY_STUDENTS;
    let (course, a) = (slot % COURSES, slot / COURSES);
    (student, course, a, 10 + 20 * a, 40 + i % 61)
}

/// `setup`: the courses, students and assessments (imported before the timed phase);
/// `rows`: the activity and results files timed.
fn write_history(setup: &Path, rows: &Path, m: usize) -> AppResult<()> {
    std::fs::create_dir_all(setup).map_err(fail)?;
    std::fs::create_dir_all(rows).map_err(fail)?;
    let file = |dir: &Path, name: &str| -> AppResult<std::io::BufWriter<std::fs::File>> {
        Ok(std::io::BufWriter::new(
            std::fs::File::create(dir.join(name)).map_err(fail)?,
        ))
    };
    let mut w = file(setup, "presentations.csv")?;
    writeln!(
        w,
        "course_code,course_title,term_code,start_date,length_days,department,credits"
    )
    .map_err(fail)?;
    for c in 0..COURSES {
        writeln!(w, "{},Course {c},{TERM},2021-02-01,240,HIST,30", course(c)).map_err(fail)?;
    }
    w.flush().map_err(fail)?;
    let mut w = file(setup, "students.csv")?;
    writeln!(w, "student_no,name,gender,cohort,department").map_err(fail)?;
    for s in 0..HISTORY_STUDENTS {
        writeln!(w, "H{s:06},Student {s},M,2020,HIST").map_err(fail)?;
    }
    w.flush().map_err(fail)?;
    let mut w = file(setup, "assessments.csv")?;
    writeln!(
        w,
        "course_code,term_code,assessment_code,kind,due_day,weight"
    )
    .map_err(fail)?;
    for c in 0..COURSES {
        for a in 0..ASSESSMENTS {
            writeln!(
                w,
                "{},{TERM},{},quiz,{},20",
                course(c),
                assessment(c, a),
                20 + 20 * a
            )
            .map_err(fail)?;
        }
    }
    w.flush().map_err(fail)?;
    let (acts, results) = history_rows(m);
    let mut w = file(rows, "results.csv")?;
    writeln!(w, "assessment_code,student_no,submitted_day,score,banked").map_err(fail)?;
    for i in 0..results {
        let (s, c, a, day, score) = result_row(i);
        writeln!(w, "{},H{s:06},{day},{score},0", assessment(c, a)).map_err(fail)?;
    }
    w.flush().map_err(fail)?;
    let mut w = file(rows, "activity.csv")?;
    writeln!(w, "student_no,course_code,term_code,day,kind,count").map_err(fail)?;
    for i in 0..acts {
        let (s, c, day, count) = activity_row(i);
        writeln!(w, "H{s:06},{},{TERM},{day},all,{count}", course(c)).map_err(fail)?;
    }
    w.flush().map_err(fail)
}

async fn history_import(db: &Db, jobs: &srm::jobs::Jobs, dir: &Path) -> AppResult<u64> {
    let opts = srm::history::service::Options {
        dry_run: false,
        actor: None,
        rejected_dir: None,
    };
    let job = srm::history::service::start_job(db, jobs, None, dir).await?;
    let report = srm::history::service::run(db, jobs, dir, &opts, Some(job), &|_| {}).await?;
    if report.rejected > 0 {
        return Err(fail(format!(
            "the history import rejected {} rows",
            report.rejected
        )));
    }
    Ok(report.rows)
}

async fn history_portal(
    base: &AppConfig,
    pg: Option<&str>,
    setup: &Path,
    rows: &Path,
) -> AppResult<Phase> {
    let dir = Scratch::new("history-srm")?;
    let (db, made) = fresh(base, &dir.0, pg).await?;
    let jobs = srm::jobs::Jobs::from_config(base);
    history_import(&db, &jobs, setup).await?;
    reset_peak();
    let started = Instant::now();
    let read = history_import(&db, &jobs, rows).await?;
    let secs = started.elapsed().as_secs_f64();
    let peak = peak_mib();
    let stored = learning_activity::Entity::find()
        .select_only()
        .column(learning_activity::Column::Id)
        .into_tuple::<i64>()
        .all(&*db)
        .await?
        .len()
        + assessment_scores::Entity::find()
            .select_only()
            .column(assessment_scores::Column::Id)
            .filter(assessment_scores::Column::Status.ne("missing"))
            .into_tuple::<i64>()
            .all(&*db)
            .await?
            .len();
    if stored as u64 != read {
        return Err(fail(format!(
            "the history import read {read} rows but stored {stored}"
        )));
    }
    db.close().await?;
    drop_database(pg, made).await?;
    Ok(Phase {
        rows: read,
        secs,
        peak,
    })
}

async fn history_baseline(
    base: &AppConfig,
    pg: Option<&str>,
    setup: &Path,
    m: usize,
    batch: usize,
) -> AppResult<Phase> {
    let dir = Scratch::new("history-base")?;
    let (db, made) = fresh(base, &dir.0, pg).await?;
    let jobs = srm::jobs::Jobs::from_config(base);
    history_import(&db, &jobs, setup).await?;
    // The ids the rows refer to, known before the clock starts (the baseline parses nothing).
    let student_ids: HashMap<String, i64> = students::Entity::find()
        .select_only()
        .column(students::Column::StudentNo)
        .column(students::Column::Id)
        .into_tuple::<(String, i64)>()
        .all(&*db)
        .await?
        .into_iter()
        .collect();
    let students: Vec<i64> = (0..HISTORY_STUDENTS)
        .map(|s| student_ids.get(&format!("H{s:06}")).copied().unwrap_or(0))
        .collect();
    let section_of: HashMap<i64, i64> = sections::Entity::find()
        .all(&*db)
        .await?
        .into_iter()
        .map(|s| (s.course_id, s.id))
        .collect();
    let course_ids: HashMap<String, i64> = srm::entity::courses::Entity::find()
        .all(&*db)
        .await?
        .into_iter()
        .map(|c| (c.code, c.id))
        .collect();
    let sections: Vec<i64> = (0..COURSES)
        .map(|c| {
            course_ids
                .get(&course(c))
                .and_then(|id| section_of.get(id))
                .copied()
                .unwrap_or(0)
        })
        .collect();
    let assessment_ids: HashMap<String, (i64, sea_orm::prelude::DateTimeWithTimeZone)> =
        assessments::Entity::find()
            .all(&*db)
            .await?
            .into_iter()
            .map(|a| (a.name, (a.id, a.due_at.unwrap_or_default())))
            .collect();
    let start_day = NaiveDate::from_ymd_opt(2021, 2, 1).unwrap_or_default();
    let (acts, results) = history_rows(m);
    reset_peak();
    let started = Instant::now();
    let mut start = 0;
    while start < results {
        let end = (start + batch).min(results);
        let txn = write_txn(&*db).await?;
        assessment_scores::Entity::insert_many((start..end).map(|i| {
            let (s, c, a, day, score) = result_row(i);
            let (id, due) = assessment_ids
                .get(&assessment(c, a))
                .copied()
                .unwrap_or_default();
            let at = (start_day + Days::days(day as i64))
                .and_hms_opt(23, 59, 59)
                .unwrap_or_default()
                .and_utc()
                .fixed_offset();
            assessment_scores::ActiveModel {
                assessment_id: Set(id),
                student_id: Set(students[s]),
                score: Set(Some(score as f64)),
                status: Set(if at > due { "late" } else { "submitted" }.into()),
                submitted_at: Set(Some(at)),
                updated_at: Set(at),
                ..Default::default()
            }
        }))
        .exec_without_returning(&txn)
        .await?;
        txn.commit().await?;
        start = end;
    }
    let mut start = 0;
    while start < acts {
        let end = (start + batch).min(acts);
        let txn = write_txn(&*db).await?;
        learning_activity::Entity::insert_many((start..end).map(|i| {
            let (s, c, day, count) = activity_row(i);
            learning_activity::ActiveModel {
                student_id: Set(students[s]),
                section_id: Set(sections[c]),
                day: Set(start_day + Days::days(day as i64)),
                kind: Set("all".into()),
                count: Set(count as i64),
                ..Default::default()
            }
        }))
        .exec_without_returning(&txn)
        .await?;
        txn.commit().await?;
        start = end;
    }
    let secs = started.elapsed().as_secs_f64();
    let peak = peak_mib();
    db.close().await?;
    drop_database(pg, made).await?;
    Ok(Phase {
        rows: (acts + results) as u64,
        secs,
        peak,
    })
}
