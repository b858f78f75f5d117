//! Backup and restore: a backup taken while rows are being written restores to the same tables
//! (SQLite→SQLite, SQLite→PostgreSQL, PostgreSQL→SQLite); damaged, altered, newer-schema
//! archives and non-empty targets are refused, and nothing is written when they are.

use crate::common::{Backend, TestApp, create_pg_database, drop_pg_database, postgres_url};
use chrono::Timelike;
use migration::MigratorTrait;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::Value;
use srm::backup::catalog::{self, Kind};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

const WRITER_ACTION: &str = "backup.test";
const WRITER_KEY: &str = "backup-test-";

/// A fresh source with the small demo university (every domain has rows).
async fn seeded(backend: Backend) -> TestApp {
    crate::common::demo_app(backend, 60).await
}

/// An empty database: nothing created, not even the migrations' table.
struct Empty {
    db: DatabaseConnection,
    pg_name: Option<String>,
    dir: PathBuf,
}

async fn empty(backend: Backend) -> Empty {
    let dir = std::env::temp_dir().join(format!("srm-restore-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let (url, pg_name) = match backend {
        Backend::Sqlite => (
            format!("sqlite://{}?mode=rwc", dir.join("srm.sqlite").display()),
            None,
        ),
        Backend::Postgres => {
            let (url, name) = create_pg_database().await;
            (url, Some(name))
        }
    };
    let db = srm::db::connect_url(&url, 4).await.unwrap();
    Empty { db, pg_name, dir }
}

impl Empty {
    async fn drop(self) {
        self.db.close().await.ok();
        if let Some(name) = self.pg_name {
            drop_pg_database(&name).await;
        }
    }
}

/// Every table's rows as typed values, sorted; timestamps as UTC instants (PostgreSQL keeps the
/// instant, not the offset it was written with), to the microsecond with `micros` (PostgreSQL's
/// precision; SQLite keeps the nanoseconds it was given).
async fn snapshot(db: &DatabaseConnection, micros: bool) -> BTreeMap<String, Vec<Vec<Value>>> {
    let mut out = BTreeMap::new();
    for table in catalog::tables(db).await.unwrap() {
        let mut rows = Vec::new();
        srm::backup::dump::for_each_row(db, &table, |mut cells| {
            for (cell, col) in cells.iter_mut().zip(&table.columns) {
                if col.kind == Kind::Timestamp
                    && let Some(s) = cell.as_str()
                {
                    let mut t = chrono::DateTime::parse_from_rfc3339(s).unwrap();
                    if micros {
                        t = t.with_nanosecond(t.nanosecond() / 1000 * 1000).unwrap();
                    }
                    *cell = Value::String(t.with_timezone(&chrono::Utc).to_rfc3339());
                }
            }
            rows.push(cells);
            Ok(())
        })
        .await
        .unwrap();
        rows.sort_by_key(|r| serde_json::to_string(r).unwrap());
        out.insert(table.name.clone(), rows);
    }
    out
}

/// Writes, one transaction each, a setting and an audit entry carrying the same number, until
/// told to stop; returns how many it wrote.
fn start_writer(
    db: srm::db::Db,
    stop: Arc<AtomicBool>,
    written: Arc<AtomicU64>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut n = 0u64;
        while !stop.load(Ordering::SeqCst) {
            let txn = srm::db::write_txn(&db).await.unwrap();
            srm::settings::put(&txn, &format!("{WRITER_KEY}{n:06}"), n.to_string())
                .await
                .unwrap();
            srm::audit::Entry::new(None, WRITER_ACTION, "test")
                .id(n)
                .write(&txn)
                .await
                .unwrap();
            txn.commit().await.unwrap();
            n += 1;
            written.store(n, Ordering::SeqCst);
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    })
}

fn writer_number(table: &str, row: &[Value], columns: &[catalog::Column]) -> Option<u64> {
    let get = |name: &str| {
        columns
            .iter()
            .position(|c| c.name == name)
            .and_then(|i| row[i].as_str())
    };
    match table {
        "settings" => get("key")?.strip_prefix(WRITER_KEY)?.parse().ok(),
        "audit_log" if get("action")? == WRITER_ACTION => get("entity_id")?.parse().ok(),
        _ => None,
    }
}

async fn backup_under_writes_then_restore(from: Backend, to: Backend) {
    let src = seeded(from).await;
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let writer = start_writer(src.db().clone(), stop.clone(), written.clone());
    while written.load(Ordering::SeqCst) < 5 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let file = src.dir.join("under-writes.tar.zst");
    let summary = srm::backup::backup(src.db(), &file).await.unwrap();
    let at_end_of_backup = written.load(Ordering::SeqCst);
    // A few more writes after the backup, which must not appear in it.
    while written.load(Ordering::SeqCst) < at_end_of_backup + 5 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    stop.store(true, Ordering::SeqCst);
    writer.await.unwrap();
    assert!(
        summary.rows > 1000,
        "the demo fills the tables: {summary:?}"
    );

    let dst = empty(to).await;
    let restored = srm::backup::restore(&dst.db, &file).await.unwrap();
    assert_eq!(restored.rows, summary.rows);

    let tables = catalog::tables(src.db()).await.unwrap();
    let columns: BTreeMap<_, _> = tables
        .iter()
        .map(|t| (t.name.clone(), t.columns.clone()))
        .collect();
    let micros = from == Backend::Postgres || to == Backend::Postgres;
    let mut want = snapshot(src.db(), micros).await;
    let got = snapshot(&dst.db, micros).await;
    // The writer's pairs in the restored database: the same numbers in both tables (one
    // snapshot, not one table read now and the other later), and all from before the backup ended.
    let numbers = |rows: &BTreeMap<String, Vec<Vec<Value>>>, t: &str| -> Vec<u64> {
        let mut v: Vec<u64> = rows[t]
            .iter()
            .filter_map(|r| writer_number(t, r, &columns[t]))
            .collect();
        v.sort();
        v
    };
    let in_settings = numbers(&got, "settings");
    assert_eq!(
        in_settings,
        numbers(&got, "audit_log"),
        "settings and audit log from one snapshot"
    );
    let k = in_settings.len() as u64;
    assert_eq!(
        in_settings,
        (0..k).collect::<Vec<_>>(),
        "a prefix of the writes"
    );
    assert!(k >= 5 && k <= at_end_of_backup, "{k} writes in the backup");
    assert!(
        numbers(&want, "settings").len() as u64 > k,
        "writes went on after the snapshot"
    );
    for t in ["settings", "audit_log"] {
        let cols = columns[t].clone();
        want.get_mut(t)
            .unwrap()
            .retain(|r| writer_number(t, r, &cols).is_none_or(|n| n < k));
    }
    assert_eq!(
        want.keys().collect::<Vec<_>>(),
        got.keys().collect::<Vec<_>>()
    );
    for (table, rows) in &want {
        assert_eq!(rows.len(), got[table].len(), "{table}: row count");
        if let Some((w, g)) = rows.iter().zip(&got[table]).find(|(w, g)| w != g) {
            panic!("{table}: the restored rows differ: {w:?} became {g:?}");
        }
    }
    // Ids go on after the restored ones (PostgreSQL's sequences were moved past them).
    srm::audit::Entry::new(None, "after.restore", "test")
        .write(&dst.db)
        .await
        .unwrap();
    dst.drop().await;
    if let Some(name) = &src.pg_database {
        drop_pg_database(name).await;
    }
}

#[rocket::async_test]
async fn a_backup_under_writes_restores_identical_tables_sqlite_to_sqlite() {
    backup_under_writes_then_restore(Backend::Sqlite, Backend::Sqlite).await;
}

#[rocket::async_test]
async fn a_backup_under_writes_restores_identical_tables_sqlite_to_postgres() {
    if postgres_url().is_some() {
        backup_under_writes_then_restore(Backend::Sqlite, Backend::Postgres).await;
    }
}

#[rocket::async_test]
async fn a_backup_under_writes_restores_identical_tables_postgres_to_sqlite() {
    if postgres_url().is_some() {
        backup_under_writes_then_restore(Backend::Postgres, Backend::Sqlite).await;
    }
}

/// The archive's entries, in order.
fn entries(file: &Path) -> Vec<(String, Vec<u8>)> {
    let dec = zstd::stream::read::Decoder::new(std::fs::File::open(file).unwrap()).unwrap();
    let mut tar = tar::Archive::new(dec);
    let mut out = Vec::new();
    for e in tar.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        out.push((name, data));
    }
    out
}

fn write_entries(file: &Path, entries: &[(String, Vec<u8>)]) {
    let enc = zstd::stream::write::Encoder::new(std::fs::File::create(file).unwrap(), 3).unwrap();
    let mut tar = tar::Builder::new(enc);
    for (name, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o600);
        h.set_cksum();
        tar.append_data(&mut h, name, data.as_slice()).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap().flush().unwrap();
}

async fn row_total(db: &DatabaseConnection) -> i64 {
    let mut total = 0;
    for t in catalog::tables(db).await.unwrap() {
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                format!("SELECT COUNT(*) FROM \"{}\"", t.name),
            ))
            .await
            .unwrap()
            .unwrap();
        total += row.try_get_by_index::<i64>(0).unwrap();
    }
    total
}

/// Restores `file` into a fresh SQLite database, expecting a refusal with `code`; the target
/// gets no row.
async fn refused(file: &Path, code: &str) -> String {
    let dst = empty(Backend::Sqlite).await;
    let err = srm::backup::restore(&dst.db, file).await.unwrap_err();
    assert_eq!(err.code(), code, "{err}");
    assert_eq!(row_total(&dst.db).await, 0, "nothing restored");
    std::fs::remove_dir_all(&dst.dir).ok();
    dst.drop().await;
    err.to_string()
}

#[rocket::async_test]
async fn a_truncated_or_altered_or_newer_archive_is_refused() {
    let src = TestApp::new(Backend::Sqlite).await;
    let file = src.dir.join("good.tar.zst");
    srm::backup::backup(src.db(), &file).await.unwrap();
    srm::backup::verify(&file, None).unwrap();
    let bytes = std::fs::read(&file).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "only the owner reads a backup");
    }

    // Cut short, as a copy interrupted half-way.
    let truncated = src.dir.join("truncated.tar.zst");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let msg = refused(&truncated, "backup_damaged").await;
    assert!(msg.contains("damaged"), "{msg}");

    // One byte of one table changed: still valid JSON, so only the checksum can tell.
    let mut parts = entries(&file);
    let (_, data) = parts
        .iter_mut()
        .find(|(n, _)| n == "tables/users.jsonl")
        .unwrap();
    let body = data.iter().position(|b| *b == b'\n').unwrap() + 1;
    let at = body
        + data[body..]
            .iter()
            .position(|b| b.is_ascii_lowercase())
            .unwrap();
    data[at] = if data[at] == b'z' { b'y' } else { data[at] + 1 };
    let altered = src.dir.join("altered.tar.zst");
    write_entries(&altered, &parts);
    let msg = refused(&altered, "backup_damaged").await;
    assert!(msg.contains("users") && msg.contains("checksum"), "{msg}");

    // Written by a newer portal, whose schema this one does not know.
    let mut parts = entries(&file);
    let (_, manifest) = parts
        .iter_mut()
        .find(|(n, _)| n == "manifest.json")
        .unwrap();
    let mut m: Value = serde_json::from_slice(manifest).unwrap();
    m["schema_version"] = "m20991231_000001_from_the_future".into();
    *manifest = serde_json::to_vec(&m).unwrap();
    let newer = src.dir.join("newer.tar.zst");
    write_entries(&newer, &parts);
    let msg = refused(&newer, "backup_newer").await;
    assert!(msg.contains("m20991231_000001_from_the_future"), "{msg}");

    // Not a backup at all.
    let junk = src.dir.join("junk.tar.zst");
    std::fs::write(&junk, b"hello").unwrap();
    refused(&junk, "backup_damaged").await;
}

#[rocket::async_test]
async fn restore_into_a_database_that_has_rows_is_refused() {
    let src = TestApp::new(Backend::Sqlite).await;
    let file = src.dir.join("b.tar.zst");
    srm::backup::backup(src.db(), &file).await.unwrap();
    // Another portal's database, in use.
    let target = TestApp::new(Backend::Sqlite).await;
    let before = row_total(target.db()).await;
    let err = srm::backup::restore(target.db(), &file).await.unwrap_err();
    assert_eq!(err.code(), "restore_target_not_empty", "{err}");
    assert_eq!(row_total(target.db()).await, before, "nothing changed");
    // A database of an older schema, in use, is refused before it is migrated: its migrations
    // table is left as it was.
    let older = empty(Backend::Sqlite).await;
    migration::Migrator::up(&older.db, Some(1)).await.unwrap();
    srm::access::service::ensure_builtins(&older.db)
        .await
        .unwrap();
    let err = srm::backup::restore(&older.db, &file).await.unwrap_err();
    assert_eq!(err.code(), "restore_target_not_empty", "{err}");
    let applied = migration::Migrator::get_applied_migrations(&older.db)
        .await
        .unwrap();
    assert_eq!(applied.len(), 1, "not migrated");
    older.drop().await;
    // A database the portal has only started on (built-in groups and modules) is refused too.
    let started = TestApp::setup(Backend::Sqlite, false).await;
    let err = srm::backup::restore(started.db(), &file).await.unwrap_err();
    assert_eq!(err.code(), "restore_target_not_empty", "{err}");
}

#[test]
fn the_commands_exit_1_with_a_message_on_a_damaged_backup() {
    let dir = std::env::temp_dir().join(format!("srm-cli-bk-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let srm = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_srm"))
            .args(args)
            .env("SRM_DATA_DIR", &dir)
            .env("SRM_DEMO", "0")
            .env_remove("SRM_DATABASE_URL")
            .env("SRM_LOG", "error")
            .output()
            .unwrap()
    };
    let bad = dir.join("bad.tar.zst");
    std::fs::write(&bad, b"not a backup").unwrap();
    let out = srm(&["restore", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("damaged"));
    // A good backup of the (migrated, empty) database is written.
    assert!(srm(&["migrate"]).status.success());
    let good = dir.join("good.tar.zst");
    let out = srm(&["backup", "--out", good.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest = srm::backup::verify(&good, None).unwrap();
    assert!(manifest.tables.iter().any(|t| t.name == "students"));
    assert!(manifest.tables.iter().all(|t| t.name != "seaql_migrations"));
    // It refuses to overwrite a file.
    let out = srm(&["backup", "--out", good.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
}

#[rocket::async_test]
async fn the_schedule_takes_one_backup_per_period_across_instances_verifies_and_keeps_the_newest() {
    crate::common::on_each_backend(|app| async move {
        let mut config = app.config.clone();
        config.backup_dir = Some(app.dir.join("scheduled"));
        config.backup_interval_hours = 6;
        config.backup_keep = 2;
        let dir = config.backup_dir.clone().unwrap();
        let db = app.db();
        let t0 = chrono::Utc::now();
        // Two instances tick in the same period at once: one of them takes the backup.
        let (a, b) = tokio::join!(
            srm::backup::schedule::scheduled_once(db, &config, t0),
            srm::backup::schedule::scheduled_once(db, &config, t0)
        );
        assert_eq!(
            [a.unwrap(), b.unwrap()].iter().filter(|x| **x).count(),
            1,
            "exactly one backup in the period"
        );
        assert!(
            !srm::backup::schedule::scheduled_once(db, &config, t0)
                .await
                .unwrap()
        );
        assert_eq!(srm::backup::schedule::list(&dir).len(), 1);
        let status = srm::backup::schedule::last_status(db)
            .await
            .unwrap()
            .unwrap();
        assert!(status.verified && status.error.is_none(), "{status:?}");
        assert_eq!(status.trigger, "schedule");
        let first = status.file.clone().unwrap();
        srm::backup::verify(&dir.join(&first), None).unwrap();

        // The next two periods: two more, and only the newest two are kept.
        for h in [6, 12] {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            let t = t0 + chrono::Duration::hours(h);
            assert!(
                srm::backup::schedule::scheduled_once(db, &config, t)
                    .await
                    .unwrap()
            );
        }
        let files = srm::backup::schedule::list(&dir);
        assert_eq!(files.len(), 2, "{files:?}");
        assert!(
            files.iter().all(|f| f.name != first),
            "the oldest was deleted"
        );
    })
    .await;
}

#[rocket::async_test]
async fn the_administrator_backs_up_from_the_page_and_downloads_it_audited() {
    let app = TestApp::new(Backend::Sqlite).await;
    // Not for a student, and not without the session's CSRF token.
    app.page_login(app.people.student).await;
    assert_eq!(
        app.client.get("/admin/backups").dispatch().await.status(),
        rocket::http::Status::Forbidden
    );
    app.page_logout().await;

    let csrf = app.page_login(app.people.admin).await;
    let page = app.client.get("/admin/backups").dispatch().await;
    assert_eq!(page.status(), rocket::http::Status::Ok);
    let html = page.into_string().await.unwrap();
    assert!(
        html.contains("action=\"/admin/backups\""),
        "the button is there"
    );
    let res = app
        .client
        .post("/admin/backups")
        .header(rocket::http::ContentType::Form)
        .body("_csrf=forged")
        .dispatch()
        .await;
    assert_eq!(res.status(), rocket::http::Status::Forbidden);
    assert!(
        srm::backup::schedule::last_status(app.db())
            .await
            .unwrap()
            .is_none()
    );

    let res = app
        .client
        .post("/admin/backups")
        .header(rocket::http::ContentType::Form)
        .body(format!("_csrf={csrf}"))
        .dispatch()
        .await;
    assert_eq!(res.status(), rocket::http::Status::SeeOther);
    // The backup runs in the background; wait for its outcome.
    let mut status = None;
    for _ in 0..200 {
        status = srm::backup::schedule::last_status(app.db()).await.unwrap();
        if status.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let status = status.expect("the backup finished");
    assert!(status.verified, "{status:?}");
    assert_eq!(status.trigger, "manual");
    let name = status.file.unwrap();
    let html = app
        .client
        .get("/admin/backups")
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    assert!(html.contains(&name), "listed");
    assert!(
        html.contains("/admin/backups/") && html.contains("tag ok"),
        "shown as verified"
    );

    let res = app
        .client
        .get(format!("/admin/backups/{name}"))
        .dispatch()
        .await;
    assert_eq!(res.status(), rocket::http::Status::Ok);
    assert!(
        res.headers()
            .get_one("Content-Disposition")
            .unwrap()
            .contains("attachment")
    );
    let body = res.into_bytes().await.unwrap();
    assert_eq!(
        body,
        std::fs::read(app.dir.join("backups").join(&name)).unwrap()
    );
    assert_eq!(app.audit_count("backups.download", "ok").await, 1);

    // Only backup files are served: no other file of the data dir.
    for path in [
        "/admin/backups/jwt_secret",
        "/admin/backups/..%2Fjwt_secret",
        "/admin/backups/srm-..%2F..%2Fjwt_secret.tar.zst",
    ] {
        let status = app.client.get(path).dispatch().await.status();
        assert_eq!(status, rocket::http::Status::NotFound, "{path}");
    }
}

#[rocket::async_test]
async fn a_backup_whose_holder_died_is_shown_interrupted_on_the_page_and_does_not_block_the_next() {
    use sea_orm::{ActiveModelTrait, EntityTrait, Set};
    use srm::entity::backup_runs;
    crate::common::on_each_backend(|app| async move {
        let mut config = app.config.clone();
        config.backup_dir = Some(app.dir.join("runs"));
        let db = app.db();
        // A backup started elsewhere whose process died: its lease is no longer renewed.
        let dead = backup_runs::ActiveModel {
            status: Set(srm::entity::job_status::JobStatus::Running),
            trigger: Set("schedule".into()),
            started_at: Set(chrono::Utc::now().fixed_offset()),
            holder: Set(Some("elsewhere:4242:dead00".into())),
            file: Set(Some("srm-dead.tar.zst".into())),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
        srm::jobs::Lease::acquire(
            db,
            srm::jobs::BACKUP,
            dead.id,
            "elsewhere:4242:dead00",
            std::time::Duration::ZERO,
        )
        .await
        .unwrap()
        .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;

        // The next backup is not blocked, and records who started it.
        let admin = app.people.admin;
        let status = srm::backup::schedule::run(db, &config, "manual", Some(admin))
            .await
            .unwrap();
        assert!(status.verified);
        let runs = srm::backup::runs::recent(db, 10).await.unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].status.as_str(), "done");
        assert_eq!(runs[0].started_by, Some(admin));
        assert_eq!(runs[1].status.as_str(), "interrupted");
        let why = runs[1].interrupted_reason.clone().unwrap_or_default();
        assert!(
            why.contains("elsewhere:4242:dead00 stopped sending heartbeats"),
            "{why}"
        );
        assert!(runs[1].interrupted_at.is_some());
        let gone = backup_runs::Entity::find_by_id(dead.id)
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(gone.status.as_str(), "interrupted");

        // The page shows it as such, with when and where it stopped, in English and Chinese.
        app.page_login(admin).await;
        let html = app
            .client
            .get("/admin/backups")
            .header(rocket::http::Header::new("Accept-Language", "en"))
            .dispatch()
            .await
            .into_string()
            .await
            .unwrap();
        assert!(
            html.contains("data-status=\"interrupted\">interrupted<"),
            "{html}"
        );
        assert!(html.contains("stopped sending heartbeats"), "{html}");
        assert!(html.contains("srm-dead.tar.zst"));
        let html = app
            .client
            .get("/admin/backups")
            .header(rocket::http::Header::new("Accept-Language", "zh-CN"))
            .dispatch()
            .await
            .into_string()
            .await
            .unwrap();
        assert!(html.contains("已中断"), "the Chinese page says interrupted");
    })
    .await;
}

/// A restore migrates the empty database to the backup's version, the newest migration name it
/// applied, through the list in order: a migration listed after a newer-named one would be
/// skipped (three branches adding migrations on one day did that).
#[test]
fn migrations_are_listed_in_the_order_of_their_names() {
    let names = srm::backup::catalog::known_migrations();
    // NOTE: the first three of 2026-12-06 were listed out of name order before any backup
    // existed; every later one must follow its name.
    let from = names
        .iter()
        .position(|n| n.starts_with("m20261206_000002"))
        .expect("the login throttles migration");
    let later = &names[from..];
    let mut sorted = later.to_vec();
    sorted.sort();
    assert_eq!(later, sorted.as_slice());
    assert_eq!(
        names.last(),
        names.iter().max(),
        "the newest is applied last"
    );
}
