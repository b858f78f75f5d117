//! Importing a university's history (issue 18): `srm import history DIR` (the library function
//! the command and the page run) on the synthetic fixture in tests/data/history: every file's
//! rows arrive once however often it runs, an interrupted run continues to the same data, bad
//! rows are rejected with line and reason, GBK `;` files read, a dry run writes nothing, and the
//! early-warning run works on the imported terms.

use crate::access_matrix::{Ids, Request, Table};
use crate::common::{TestApp, multipart, on_each_backend, on_each_backend_with};
use rocket::http::{ContentType, Header, Status};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use srm::entity::{
    assessment_scores, assessments, attendance, attendance_rolls, courses, departments, enrolments,
    grades, imported_students, learning_activity, registration_events, sections, students, terms,
};
use srm::history::service::{self, HistoryReport, Options};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The history import's rows of the route matrix (anonymous, student, teacher, admin, custom
/// group): registrar and administrator staff only.
pub const MATRIX: Table = Table {
    rows: &[
        ("GET", "/import/history", "LFFAF"),
        ("POST", "/import/history", "LFFAF"),
        ("GET", "/import/history/<id>", "LFFAF"),
        ("POST", "/import/history/<id>/cancel", "LFFAF"),
        ("POST", "/import/history/<id>/resume", "LFFAF"),
        ("GET", "/import/history/<id>/rejected/<file>", "LFFAF"),
    ],
    request,
};

fn request(method: &str, pattern: &str, _: &Ids) -> Option<Request> {
    // No such import: the administrator is answered 404, after the access check; an empty
    // form is refused (422) before anything is started.
    let path = pattern
        .replace("<id>", "999999")
        .replace("<file>", "results.csv");
    let body = (method == "POST").then(|| (ContentType::Form, String::new()));
    Some((path, body))
}

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/history")
}

/// What the fixture holds (as `generate.py` prints it), per table.
const EXPECTED: [(&str, u64); 14] = [
    ("departments", 2),
    ("courses", 2),
    ("terms", 4),
    ("sections", 5),
    ("students", 120),
    ("enrolments", 130),
    ("registration_events", 148),
    ("grades", 102),
    ("assessments", 12),
    ("assessment_scores", 300),
    // Not submitted while registered at the due day.
    ("assessment_scores_missing", 38),
    ("learning_activity", 1840),
    ("attendance_rolls", 72),
    ("attendance_marks", 692),
];

async fn import(app: &TestApp, dir: &Path, opts: Options) -> HistoryReport {
    let st = app.state();
    service::run(&st.db, &st.jobs, dir, &opts, None, &|_| {})
        .await
        .unwrap()
}

/// The rows of each imported table.
async fn counts(app: &TestApp) -> BTreeMap<&'static str, u64> {
    let db = app.db();
    BTreeMap::from([
        (
            "departments",
            departments::Entity::find().count(db).await.unwrap(),
        ),
        ("courses", courses::Entity::find().count(db).await.unwrap()),
        ("terms", terms::Entity::find().count(db).await.unwrap()),
        (
            "sections",
            sections::Entity::find().count(db).await.unwrap(),
        ),
        (
            "students",
            students::Entity::find().count(db).await.unwrap(),
        ),
        (
            "enrolments",
            enrolments::Entity::find().count(db).await.unwrap(),
        ),
        (
            "registration_events",
            registration_events::Entity::find().count(db).await.unwrap(),
        ),
        ("grades", grades::Entity::find().count(db).await.unwrap()),
        (
            "assessments",
            assessments::Entity::find().count(db).await.unwrap(),
        ),
        (
            "assessment_scores",
            assessment_scores::Entity::find()
                .filter(assessment_scores::Column::Status.ne("missing"))
                .count(db)
                .await
                .unwrap(),
        ),
        (
            "assessment_scores_missing",
            assessment_scores::Entity::find()
                .filter(assessment_scores::Column::Status.eq("missing"))
                .count(db)
                .await
                .unwrap(),
        ),
        (
            "learning_activity",
            learning_activity::Entity::find().count(db).await.unwrap(),
        ),
        (
            "attendance_rolls",
            attendance_rolls::Entity::find().count(db).await.unwrap(),
        ),
        (
            "attendance_marks",
            attendance::Entity::find().count(db).await.unwrap(),
        ),
    ])
}

fn expected() -> BTreeMap<&'static str, u64> {
    EXPECTED.into_iter().collect()
}

/// A copy of the fixture in a temp dir of the test's app, with each file cut by `edit`.
fn copy_fixture(
    app: &TestApp,
    name: &str,
    edit: impl Fn(&str, String) -> Option<String>,
) -> PathBuf {
    let dir = app.dir.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    for f in service::FILES {
        let text = std::fs::read_to_string(fixture().join(f)).unwrap();
        if let Some(text) = edit(f, text) {
            std::fs::write(dir.join(f), text).unwrap();
        }
    }
    dir
}

#[rocket::async_test]
async fn importing_the_seven_files_creates_what_they_hold_and_a_second_run_adds_nothing() {
    on_each_backend_with(false, |app| async move {
        let report = import(&app, &fixture(), Options::default()).await;
        assert_eq!(report.rejected, 0, "{:?}", report.rejected_rows);
        assert_eq!(report.files.len(), 7);
        for (table, n) in EXPECTED {
            assert_eq!(report.created(table), n, "{table}");
        }
        assert_eq!(counts(&app).await, expected());
        assert_eq!(report.created("majors"), 1);
        let db = app.db();
        assert_eq!(
            imported_students::Entity::find().count(db).await.unwrap(),
            120
        );

        // Terms in order of start; a withdrawal is a drop on its day; scores late after due.
        let t: Vec<String> = terms::Entity::find()
            .order_by_asc(terms::Column::Seq)
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.code)
            .collect();
        assert_eq!(t, ["2021B", "2021J", "2022B", "2022J"]);
        let s1 = students::Entity::find()
            .filter(students::Column::StudentNo.eq("S0001"))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(s1.gender, "M");
        let e = enrolments::Entity::find()
            .filter(enrolments::Column::StudentId.eq(s1.id))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(e.status, enrolments::EnrolmentStatus::Dropped);
        assert_eq!(
            e.dropped_at.unwrap().date_naive(),
            chrono::NaiveDate::from_ymd_opt(2021, 2, 1).unwrap() + chrono::Duration::days(90)
        );
        let late = assessment_scores::Entity::find()
            .filter(assessment_scores::Column::Status.eq("late"))
            .count(db)
            .await
            .unwrap();
        assert!(late > 0);
        let enrolled: i64 = sections::Entity::find()
            .all(db)
            .await
            .unwrap()
            .iter()
            .map(|s| s.enrolled_count)
            .sum();
        assert_eq!(enrolled, 130 - 18);

        let again = import(&app, &fixture(), Options::default()).await;
        assert_eq!(
            again.created.values().sum::<u64>(),
            0,
            "{:?}",
            again.created
        );
        assert_eq!(again.rows, report.rows);
        assert_eq!(counts(&app).await, expected());
    })
    .await;
}

#[rocket::async_test]
async fn an_import_interrupted_after_some_batches_ends_with_the_same_data_as_one_full_run() {
    on_each_backend_with(false, |app| async move {
        // The run stopped in the middle of activity.csv: the later files never read.
        let cut = copy_fixture(&app, "cut", |f, text| match f {
            "activity.csv" => Some(text.lines().take(1200).collect::<Vec<_>>().join("\n")),
            "attendance.csv" => None,
            _ => Some(text),
        });
        let first = import(&app, &cut, Options::default()).await;
        assert_eq!(first.created("learning_activity"), 1199);
        assert_eq!(first.created("attendance_rolls"), 0);
        let rest = import(&app, &fixture(), Options::default()).await;
        assert_eq!(rest.created("learning_activity"), 1840 - 1199);
        assert_eq!(rest.created("students"), 0);
        assert_eq!(counts(&app).await, expected());
    })
    .await;
}

#[rocket::async_test]
async fn bad_rows_go_to_the_rejected_file_with_their_line_and_reason() {
    on_each_backend_with(false, |app| async move {
        let dir = copy_fixture(&app, "bad", |f, text| match f {
            "presentations.csv" | "students.csv" | "assessments.csv" => Some(text),
            "results.csv" => Some(
                [
                    "assessment_code,student_no,submitted_day,submitted_date,score",
                    "AAA-2021B-1,S0002,17,,66",
                    "AAA-2021B-1,S9999,17,,50",
                    "AAA-2021B-1,S0003,17,,120",
                    "AAA-2021B-1,S0004,,2021-13-45,70",
                    "AAA-2021B-1,,17,,70",
                    "NOPE,S0005,17,,70",
                ]
                .join("\n"),
            ),
            // No count column: the whole file is refused at its header.
            "activity.csv" => {
                Some("student_no,course_code,term_code,day\nS0001,AAA,2021B,3\n".into())
            }
            "attendance.csv" => Some(String::new()),
            _ => None,
        });
        let out = app.dir.join("rejected");
        let opts = Options {
            rejected_dir: Some(out.clone()),
            ..Default::default()
        };
        let report = import(&app, &dir, opts).await;
        assert_eq!(report.created("assessment_scores"), 1);
        let results = report.file("results.csv").unwrap();
        assert_eq!((results.read, results.added, results.rejected), (6, 1, 5));
        let activity = report.file("activity.csv").unwrap();
        assert_eq!(activity.skipped.as_deref(), Some("missing column count"));
        let empty = report.file("attendance.csv").unwrap();
        assert!(
            empty.skipped.as_deref().unwrap_or("").contains("empty"),
            "{empty:?}"
        );

        let text = std::fs::read_to_string(out.join("results.rejected.csv")).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "assessment_code,student_no,submitted_day,submitted_date,score,error_line,error_reason"
        );
        assert_eq!(lines.len(), 6, "{text}");
        for (line, reason) in [
            (3, "unknown_student"),
            (4, "bad_score"),
            (5, "bad_date"),
            (6, "missing"),
            (7, "unknown_assessment"),
        ] {
            assert!(
                lines
                    .iter()
                    .any(|l| l.contains(&format!(",{line},{reason} "))
                        || l.contains(&format!(",{line},\"{reason} "))),
                "line {line} {reason}: {text}"
            );
        }
        let act = std::fs::read_to_string(out.join("activity.rejected.csv")).unwrap();
        assert!(
            act.contains("missing_column") && act.contains("count"),
            "{act}"
        );
        assert!(
            report
                .rejected_rows
                .iter()
                .any(|r| r.file == "results.csv" && r.line == 4)
        );
    })
    .await;
}

#[rocket::async_test]
async fn a_gbk_file_separated_by_semicolons_is_read() {
    on_each_backend_with(false, |app| async move {
        let dir = app.dir.join("gbk");
        std::fs::create_dir_all(&dir).unwrap();
        let text = "student_no;name;gender;department\nG001;张三;男;数学\nG002;李四;女;数学\n";
        let (bytes, _, bad) = encoding_rs::GBK.encode(text);
        assert!(!bad);
        std::fs::write(dir.join("students.csv"), &bytes).unwrap();
        let report = import(&app, &dir, Options::default()).await;
        let f = report.file("students.csv").unwrap();
        assert_eq!((f.read, f.added, f.delimiter.as_str()), (2, 2, ";"));
        assert_eq!(f.encoding, "GBK");
        let s = students::Entity::find()
            .filter(students::Column::StudentNo.eq("G001"))
            .one(app.db())
            .await
            .unwrap()
            .unwrap();
        assert_eq!((s.name_zh.as_str(), s.gender.as_str()), ("张三", "M"));
    })
    .await;
}

#[rocket::async_test]
async fn a_dry_run_reports_what_it_would_create_and_writes_nothing() {
    on_each_backend_with(false, |app| async move {
        let before = counts(&app).await;
        let report = import(
            &app,
            &fixture(),
            Options {
                dry_run: true,
                ..Default::default()
            },
        )
        .await;
        assert!(report.dry_run);
        for (table, n) in EXPECTED {
            assert_eq!(report.created(table), n, "{table}");
        }
        assert_eq!(counts(&app).await, before);
        assert!(before.values().all(|n| *n == 0), "{before:?}");
    })
    .await;
}

#[rocket::async_test]
async fn the_early_warning_runs_on_the_imported_history_as_of_day_30() {
    use srm::mining::early;
    let app = TestApp::setup(crate::common::Backend::Sqlite, false).await;
    import(&app, &fixture(), Options::default()).await;
    let (snap, plan) = early::load(app.db(), 30).await.unwrap();
    assert_eq!(plan.current.code, "2022J");
    assert_eq!(plan.test.code, "2022B");
    let report = early::evaluate(&snap, &plan, 30, &early::train_config(1)).unwrap();
    assert_eq!(report.test_term, "2022B");
    assert_eq!(report.train_terms, ["2021B", "2021J"]);
    assert_eq!(report.test_rows, 30);
    // Imported non-submissions count as missed: the baseline sees them; the model learns
    // from attendance, activity and submissions as of day 30.
    let missed = report.baseline("missed first").unwrap().roc_auc;
    assert!(missed > 0.55, "missed first assessment: {missed}");
    assert!(report.model.roc_auc > 0.8, "{}", report.model.roc_auc);
}

/// A multipart upload of the fixture's files to the history import page.
fn upload(csrf: &str, dry_run: bool) -> (ContentType, Vec<u8>) {
    let files: Vec<(&str, Vec<u8>)> = service::FILES
        .iter()
        .map(|f| (*f, std::fs::read(fixture().join(f)).unwrap()))
        .collect();
    upload_with(
        &[("_csrf", csrf), ("dry_run", &dry_run.to_string())],
        &files,
    )
}

/// The page's form fields and `files` (name, bytes) as one multipart body.
fn upload_with(fields: &[(&str, &str)], files: &[(&str, Vec<u8>)]) -> (ContentType, Vec<u8>) {
    let files: Vec<(&str, &str, &[u8])> = files
        .iter()
        .map(|(name, bytes)| ("files", *name, bytes.as_slice()))
        .collect();
    multipart(fields, &files)
}

#[rocket::async_test]
async fn the_registrar_uploads_the_files_and_follows_the_job_to_its_report() {
    on_each_backend(|app| async move {
        let p = app.people.clone();
        for who in [p.teacher, p.student] {
            app.page_login(who).await;
            let res = app.client.get("/import/history").dispatch().await;
            assert_eq!(res.status(), Status::Forbidden);
            app.page_logout().await;
        }
        let before = counts(&app).await;
        let csrf = app.page_login(p.admin).await;
        let page = app.client.get("/import/history").dispatch().await;
        assert_eq!(page.status(), Status::Ok);
        // A forged upload (no valid token) is refused before any of its files is written.
        let (ct, body) = upload("forged", false);
        let res = app
            .client
            .post("/import/history")
            .header(ct)
            .body(body)
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::Forbidden);
        let imports = app.config.data_dir.join("imports");
        let uploads = std::fs::read_dir(&imports)
            .map(|d| {
                d.flatten()
                    .filter(|e| e.file_name().to_string_lossy().starts_with("upload-"))
                    .count()
            })
            .unwrap_or(0);
        assert_eq!(uploads, 0, "nothing of the forged upload stays on disk");
        let (ct, body) = upload(&csrf, false);
        let to = start_import(&app, ct, body).await;
        let page = finished(&app, &to).await;
        assert!(page.contains("Done"), "{page}");
        assert!(
            page.contains("<dt><code>learning_activity</code></dt><dd>1840</dd>"),
            "{page}"
        );
        let after = counts(&app).await;
        for (table, n) in EXPECTED {
            if table != "departments" {
                assert_eq!(after[table] - before[table], n, "{table}");
            }
        }
        assert_eq!(app.audit_count("history.import", "ok").await, 1);
    })
    .await;
}

/// The job page at `to` once the job no longer runs (English).
async fn finished(app: &TestApp, to: &str) -> String {
    for _ in 0..300 {
        let res = app
            .client
            .get(to.to_string())
            .header(Header::new("Accept-Language", "en"))
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::Ok);
        let page = res.into_string().await.unwrap();
        if !page.contains("http-equiv=\"refresh\"") {
            return page;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the import at {to} still runs");
}

#[rocket::async_test]
async fn an_interrupted_import_of_a_server_folder_is_continued_from_its_page() {
    use sea_orm::{ActiveModelTrait, Set};
    on_each_backend(|app| async move {
        let before = counts(&app).await;
        let dir = copy_fixture(&app, "imports/hist1", |f, text| match f {
            "activity.csv" => Some(text.lines().take(700).collect::<Vec<_>>().join("\n")),
            "attendance.csv" => None,
            _ => Some(text),
        });
        let csrf = app.page_login(app.people.admin).await;
        let to = import_folder(&app, &csrf, "hist1").await;
        finished(&app, &to).await;
        // The instance died in the middle: the job is marked interrupted; the files are whole.
        let id: i64 = to.rsplit('/').next().unwrap().parse().unwrap();
        srm::entity::import_jobs::ActiveModel {
            id: Set(id),
            status: Set(srm::entity::job_status::JobStatus::Interrupted),
            ..Default::default()
        }
        .update(app.db())
        .await
        .unwrap();
        for f in ["activity.csv", "attendance.csv"] {
            std::fs::copy(fixture().join(f), dir.join(f)).unwrap();
        }
        let page = finished(&app, &to).await;
        assert!(
            page.contains(&format!("/import/history/{id}/resume")),
            "{page}"
        );
        let res = app
            .client
            .post(format!("/import/history/{id}/resume"))
            .header(ContentType::Form)
            .body(format!("_csrf={csrf}"))
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::SeeOther);
        let next = res.headers().get_one("Location").unwrap().to_string();
        assert_ne!(next, to);
        let page = finished(&app, &next).await;
        assert!(page.contains("Done"), "{page}");
        assert!(
            page.contains(&format!(
                "<dt><code>learning_activity</code></dt><dd>{}</dd>",
                1840 - 699
            )),
            "{page}"
        );
        let after = counts(&app).await;
        for (table, n) in EXPECTED {
            if table != "departments" {
                assert_eq!(after[table] - before[table], n, "{table}");
            }
        }
    })
    .await;
}

#[rocket::async_test]
async fn the_refused_rows_of_a_page_import_download_with_line_and_reason_neutralised() {
    on_each_backend(|app| async move {
        copy_fixture(&app, "imports/bad1", |f, text| match f {
            "presentations.csv" | "students.csv" | "assessments.csv" => Some(text),
            "results.csv" => Some(
                "assessment_code,student_no,submitted_day,score\nAAA-2021B-1,S0002,17,66\nAAA-2021B-1,=HYPERLINK(1),17,50\n".into(),
            ),
            _ => None,
        });
        let csrf = app.page_login(app.people.admin).await;
        let to = import_folder(&app, &csrf, "bad1").await;
        let page = finished(&app, &to).await;
        let link = format!("{to}/rejected/results.csv");
        assert!(page.contains(&link), "{page}");
        assert!(page.contains("No such student: <code>=HYPERLINK(1)</code>"), "{page}");
        let zh = app
            .client
            .get(to.clone())
            .header(Header::new("Accept-Language", "zh"))
            .dispatch()
            .await
            .into_string()
            .await
            .unwrap();
        assert!(zh.contains("没有该学生"), "{zh}");
        let res = app.client.get(link).dispatch().await;
        assert_eq!(res.status(), Status::Ok);
        let csv = res.into_string().await.unwrap();
        assert!(csv.contains(",3,unknown_student"), "{csv}");
        assert!(!csv.contains(",=HYPERLINK"), "{csv}");
        let res = app
            .client
            .get(format!("{to}/rejected/other.csv"))
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::NotFound);
    })
    .await;
}

#[rocket::async_test]
async fn a_running_history_import_is_cancelled_from_its_page_and_a_students_import_is_not_reached()
{
    let app = TestApp::new(crate::common::Backend::Sqlite).await;
    let db = app.db();
    let jobs = &app.state().jobs;
    let dir = fixture();
    let id = service::start_job(db, jobs, None, &dir).await.unwrap();
    let csrf = app.page_login(app.people.admin).await;
    let cancel = |job: i64| {
        app.client
            .post(format!("/import/history/{job}/cancel"))
            .header(ContentType::Form)
            .body(format!("_csrf={csrf}"))
            .dispatch()
    };
    let res = cancel(id).await;
    assert_eq!(res.status(), Status::SeeOther);
    assert_eq!(app.audit_count("history.import_cancel", "ok").await, 1);
    // A students' import job is not a history import: the history page does not reach it.
    let other = srm::entity::import_jobs::ActiveModel {
        kind: sea_orm::Set("students".into()),
        file_hash: sea_orm::Set("x".into()),
        status: sea_orm::Set(srm::entity::job_status::JobStatus::Running),
        started_by: sea_orm::Set(None),
        started_at: sea_orm::Set(chrono::Utc::now().fixed_offset()),
        finished_at: sea_orm::Set(None),
        rows_total: sea_orm::Set(0),
        rows_done: sea_orm::Set(0),
        report: sea_orm::Set("{}".into()),
        holder: sea_orm::Set(None),
        payload: sea_orm::Set(None),
        ..Default::default()
    };
    let other = sea_orm::ActiveModelTrait::insert(other, db).await.unwrap();
    assert_eq!(cancel(other.id).await.status(), Status::NotFound);
}

/// A multipart upload of `files` (name, bytes) to the history import page.
fn upload_files(csrf: &str, files: &[(&str, Vec<u8>)]) -> (ContentType, Vec<u8>) {
    upload_with(&[("_csrf", csrf)], files)
}

/// Starts the import of a server folder (under the imports directory) from the page; the
/// job's page it redirects to.
async fn import_folder(app: &TestApp, csrf: &str, folder: &str) -> String {
    let (ct, body) = multipart(&[("_csrf", csrf), ("folder", folder)], &[]);
    start_import(app, ct, body).await
}

/// Posts the import page's form; the job's page it redirects to.
async fn start_import(app: &TestApp, ct: ContentType, body: Vec<u8>) -> String {
    let res = app
        .client
        .post("/import/history")
        .header(ct)
        .body(body)
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::SeeOther);
    res.headers().get_one("Location").unwrap().to_string()
}

/// A zip holding `entries` (path inside the zip, bytes).
fn zip_of(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    use std::io::Write;
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        out.start_file(*name, opts).unwrap();
        out.write_all(bytes).unwrap();
    }
    out.finish().unwrap().into_inner()
}

#[rocket::async_test]
async fn the_registrar_uploads_one_zip_of_the_files_from_a_folder_inside_it() {
    on_each_backend(|app| async move {
        let before = counts(&app).await;
        let csrf = app.page_login(app.people.admin).await;
        // As an archiver on a Mac makes it: the files in a folder, and its resource forks.
        let mut entries: Vec<(String, Vec<u8>)> = service::FILES
            .iter()
            .map(|f| {
                (
                    format!("export/{f}"),
                    std::fs::read(fixture().join(f)).unwrap(),
                )
            })
            .collect();
        entries.push(("__MACOSX/export/._results.csv".into(), b"\0\x05".to_vec()));
        let entries: Vec<(&str, Vec<u8>)> = entries
            .iter()
            .map(|(n, b)| (n.as_str(), b.clone()))
            .collect();
        let (ct, body) = upload_files(&csrf, &[("History.ZIP", zip_of(&entries))]);
        let to = start_import(&app, ct, body).await;
        let page = finished(&app, &to).await;
        assert!(page.contains("Done"), "{page}");
        let after = counts(&app).await;
        for (table, n) in EXPECTED {
            if table != "departments" {
                assert_eq!(after[table] - before[table], n, "{table}");
            }
        }

        // A zip with a file the import does not know, and one that is not a zip: the form
        // again, saying why in the reader's language, and nothing left on disk.
        let odd = zip_of(&[("grades.csv", b"a,b\n".to_vec())]);
        for (bytes, zh) in [
            (odd, "只能导入以下文件"),
            (b"PK not a zip".to_vec(), "无法读取该压缩包"),
        ] {
            let (ct, body) = upload_files(&csrf, &[("history.zip", bytes)]);
            let res = app
                .client
                .post("/import/history")
                .header(ct)
                .header(Header::new("Accept-Language", "zh"))
                .body(body)
                .dispatch()
                .await;
            assert_eq!(res.status(), Status::UnprocessableEntity);
            let page = res.into_string().await.unwrap();
            assert!(page.contains(zh), "{page}");
        }
        let left = std::fs::read_dir(app.config.data_dir.join("imports"))
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("upload-"))
            .count();
        assert_eq!(left, 0, "refused uploads are removed");
    })
    .await;
}

#[rocket::async_test]
async fn the_import_parses_on_a_blocking_thread_never_on_an_async_worker() {
    use std::sync::{Arc, Mutex};
    // The page starts an import through `service::spawn`. Every batch reports its progress
    // from the thread that read and parsed it: never the async worker that requests need
    // (Rocket's test runtime has one), always a thread of the blocking pool.
    let app = TestApp::setup(crate::common::Backend::Sqlite, false).await;
    let worker = tokio::spawn(async { std::thread::current().id() })
        .await
        .unwrap();
    assert_ne!(worker, std::thread::current().id());
    let st = app.state();
    let seen: Arc<Mutex<Vec<std::thread::ThreadId>>> = Arc::default();
    let log = seen.clone();
    let report = service::spawn(
        st.db.clone(),
        st.jobs.clone(),
        fixture(),
        Options::default(),
        None,
        Box::new(move |_| {
            if let Ok(mut v) = log.lock() {
                v.push(std::thread::current().id());
            }
        }),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(report.rejected, 0);
    let seen = seen.lock().unwrap();
    assert!(seen.len() > 5, "{} batches", seen.len());
    assert!(!seen.contains(&worker), "parsed on the async worker");
}

#[rocket::async_test]
async fn a_banked_result_counts_its_score_and_is_never_late_or_missing() {
    on_each_backend_with(false, |app| async move {
        let dir = copy_fixture(&app, "banked", |f, text| match f {
            "presentations.csv" | "students.csv" | "registrations.csv" | "assessments.csv" => {
                Some(text)
            }
            "results.csv" => Some(
                [
                    "assessment_code,student_no,submitted_day,score,banked",
                    "AAA-2021B-1,S0002,400,66,1",
                    "AAA-2021B-1,S0003,400,70,0",
                    "AAA-2021B-1,S0004,17,70,yes",
                ]
                .join("\n"),
            ),
            _ => None,
        });
        let report = import(&app, &dir, Options::default()).await;
        assert_eq!(report.file("results.csv").unwrap().rejected, 1);
        assert!(
            report
                .rejected_rows
                .iter()
                .any(|r| r.line == 4 && r.code == "bad_banked"),
            "{:?}",
            report.rejected_rows
        );
        let status = |no: &'static str| {
            let db = app.db();
            async move {
                let s = students::Entity::find()
                    .filter(students::Column::StudentNo.eq(no))
                    .one(db)
                    .await
                    .unwrap()
                    .unwrap();
                assessment_scores::Entity::find()
                    .filter(assessment_scores::Column::StudentId.eq(s.id))
                    .one(db)
                    .await
                    .unwrap()
                    .map(|r| (r.status, r.score))
            }
        };
        assert_eq!(
            status("S0002").await,
            Some((service::BANKED.into(), Some(66.0)))
        );
        assert_eq!(status("S0003").await, Some(("late".into(), Some(70.0))));
    })
    .await;
}

#[rocket::async_test]
async fn a_skipped_file_says_why_in_the_readers_language() {
    on_each_backend(|app| async move {
        copy_fixture(&app, "imports/nocount", |f, text| match f {
            "presentations.csv" | "students.csv" => Some(text),
            "activity.csv" => {
                Some("student_no,course_code,term_code,day\nS0001,AAA,2021B,3\n".into())
            }
            _ => None,
        });
        let csrf = app.page_login(app.people.admin).await;
        let to = import_folder(&app, &csrf, "nocount").await;
        let en = finished(&app, &to).await;
        assert!(en.contains("The header lacks the column count."), "{en}");
        let zh = app
            .client
            .get(to.clone())
            .header(Header::new("Accept-Language", "zh"))
            .dispatch()
            .await
            .into_string()
            .await
            .unwrap();
        assert!(zh.contains("表头缺少列 count"), "{zh}");
        assert!(!zh.contains("missing column"), "{zh}");
    })
    .await;
}
