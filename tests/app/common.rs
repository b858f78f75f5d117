//! Shared fixtures: a fresh database per test (a SQLite file in a temp dir, and the same on a
//! fresh PostgreSQL database when `SRM_TEST_POSTGRES_URL` is set), the app built by
//! `srm::build`, and a small university with one account per role.

#![allow(dead_code)]

use chrono::Utc;
use rocket::http::{ContentType, Cookie, Header, Status};
use rocket::local::asynchronous::{Client, LocalResponse};
use sea_orm::{ActiveModelTrait, ConnectionTrait, DatabaseConnection, Set};
use serde_json::Value;
use srm::access::service::{GroupInput, save_group};
use srm::admin::service::{NewUser, create_user_with_hash};
use srm::config::AppConfig;
use srm::entity::{courses, departments, enrolments, majors, sections, students, terms};
use std::future::Future;
use std::path::PathBuf;

pub const PASSWORD: &str = "correct-horse-1";
pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123";

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// SQLite, and PostgreSQL when `SRM_TEST_POSTGRES_URL` is set: for tests that make their own
/// database per backend (e.g. a seeded demo).
pub fn backends() -> Vec<Backend> {
    let mut backends = vec![Backend::Sqlite];
    if postgres_url().is_some() {
        backends.push(Backend::Postgres);
    }
    backends
}

/// Runs `test` on SQLite, then on PostgreSQL when `SRM_TEST_POSTGRES_URL` is set.
pub async fn on_each_backend<F, Fut>(test: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    on_each_backend_with(true, test).await
}

/// The same on an empty database (migrated, built-in groups only), when `populate` is false.
pub async fn on_each_backend_with<F, Fut>(populate: bool, test: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    on_each_backend_configured(populate, |_| {}, test).await
}

/// The same with the configuration changed by `tweak` before the app is built.
pub async fn on_each_backend_configured<T, F, Fut>(populate: bool, tweak: T, test: F)
where
    T: Fn(&mut AppConfig),
    F: Fn(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    test(TestApp::setup_with(Backend::Sqlite, populate, &tweak).await).await;
    if postgres_url().is_some() {
        let app = TestApp::setup_with(Backend::Postgres, populate, &tweak).await;
        let name = app.pg_database.clone();
        test(app).await;
        if let Some(name) = name {
            drop_pg_database(&name).await;
        }
    }
}

pub fn postgres_url() -> Option<String> {
    std::env::var("SRM_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
}

fn with_database(url: &str, db: &str) -> String {
    // postgres://user@host:port/dbname?params → swap dbname
    let (base, query) = url
        .split_once('?')
        .map(|(b, q)| (b, Some(q)))
        .unwrap_or((url, None));
    let base = match base.rfind('/') {
        Some(i) if i > "postgres://".len() => &base[..i],
        _ => base,
    };
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

pub async fn create_pg_database() -> (String, String) {
    let admin_url = postgres_url().expect("SRM_TEST_POSTGRES_URL");
    let name = format!("srm_t_{}", uuid::Uuid::new_v4().simple());
    let admin = srm::db::connect_url(&admin_url, 1)
        .await
        .expect("connect to test PostgreSQL");
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create test database");
    admin.close().await.ok();
    (with_database(&admin_url, &name), name)
}

pub async fn drop_pg_database(name: &str) {
    if let Some(admin_url) = postgres_url()
        && let Ok(admin) = srm::db::connect_url(&admin_url, 1).await
    {
        {
            let _ = admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await;
            admin.close().await.ok();
        }
    }
}

/// One account per role, made by `TestApp::new`.
#[derive(Debug, Clone, Default)]
pub struct People {
    pub admin: i64,
    pub teacher: i64,
    pub other_teacher: i64,
    pub student: i64,
    pub student_record: i64,
    pub other_student: i64,
    pub other_student_record: i64,
    /// In a custom group "auditors" that may only read the audit log.
    pub auditor: i64,
    /// An account no test logs in as; admin actions in the route matrix target it.
    pub target: i64,
    pub custom_group: i64,
    pub section: i64,
}

pub struct TestApp {
    pub client: Client,
    pub backend: Backend,
    pub config: AppConfig,
    pub people: People,
    pub dir: PathBuf,
    pub pg_database: Option<String>,
}

pub fn test_config(dir: &std::path::Path, database_url: Option<String>) -> AppConfig {
    AppConfig {
        data_dir: dir.to_path_buf(),
        database_url,
        jwt_secret: Some(JWT_SECRET.to_string()),
        demo: Some(false),
        // NOTE: the cheapest argon2id cost keeps the suite fast; production uses the default.
        argon2_memory_kib: 256,
        argon2_iterations: 1,
        db_max_connections: 8,
        ..AppConfig::default()
    }
}

pub fn test_figment() -> rocket::figment::Figment {
    rocket::Config::figment()
        .merge(("log_level", "off"))
        .merge(("port", 0))
}

impl TestApp {
    pub async fn new(backend: Backend) -> TestApp {
        Self::setup(backend, true).await
    }

    pub async fn setup(backend: Backend, populate: bool) -> TestApp {
        Self::setup_with(backend, populate, &|_| {}).await
    }

    /// A fresh app whose configuration `tweak` changes first.
    pub async fn setup_with(
        backend: Backend,
        populate: bool,
        tweak: &dyn Fn(&mut AppConfig),
    ) -> TestApp {
        let dir = std::env::temp_dir().join(format!("srm-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let (url, pg_database) = match backend {
            Backend::Sqlite => (None, None),
            Backend::Postgres => {
                let (url, name) = create_pg_database().await;
                (Some(url), Some(name))
            }
        };
        let mut config = test_config(&dir, url);
        tweak(&mut config);
        let state = srm::prepare(config.clone()).await.expect("prepare app");
        let people = if populate {
            populate_university(&state.db, &state).await
        } else {
            People::default()
        };
        let client = Client::tracked(srm::build(test_figment(), state))
            .await
            .expect("rocket client");
        TestApp {
            client,
            backend,
            config,
            people,
            dir,
            pg_database,
        }
    }

    pub fn state(&self) -> &srm::state::AppState {
        self.client
            .rocket()
            .state::<srm::state::AppState>()
            .expect("state")
    }

    pub fn db(&self) -> &srm::db::Db {
        &self.state().db
    }

    pub fn username(id: i64) -> String {
        format!("user{id}")
    }

    /// Logs in through the API and returns the bearer token.
    pub async fn token(&self, user_id: i64) -> String {
        let body = serde_json::json!({"username": Self::username(user_id), "password": PASSWORD});
        let res = self
            .client
            .post("/api/v1/auth/login")
            .header(ContentType::JSON)
            .body(body.to_string())
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::Ok, "login as user {user_id}");
        let v: Value = res.into_json().await.expect("login json");
        v["token"].as_str().expect("token").to_string()
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> LocalResponse<'_> {
        let mut req = self.client.get(path.to_string());
        if let Some(t) = token {
            req = req.header(Header::new("Authorization", format!("Bearer {t}")));
        }
        req.dispatch().await
    }

    /// A page as a bearer-token user in a language (`Accept-Language`), which must answer 200.
    /// SQLite's plan for `stmt` on this app's database (a SQLite one), a line per step.
    pub async fn sqlite_plan(&self, stmt: sea_orm::Statement) -> Vec<String> {
        use sea_orm::ConnectionTrait;
        let explain = sea_orm::Statement {
            sql: format!("EXPLAIN QUERY PLAN {}", stmt.sql),
            ..stmt
        };
        self.db()
            .query_all_raw(explain)
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get_by_index::<String>(3).unwrap())
            .collect()
    }

    pub async fn page_in(&self, path: &str, token: &str, lang: &str) -> String {
        let res = self
            .client
            .get(path.to_string())
            .header(Header::new("Authorization", format!("Bearer {token}")))
            .header(Header::new("Accept-Language", lang.to_string()))
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::Ok, "{path} in {lang}");
        res.into_string().await.unwrap_or_default()
    }

    pub async fn get_json(&self, path: &str, token: Option<&str>) -> (Status, Value) {
        let res = self.get(path, token).await;
        let status = res.status();
        (status, res.into_json().await.unwrap_or(Value::Null))
    }

    pub async fn send_json(
        &self,
        method: rocket::http::Method,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> (Status, Value) {
        let mut req = self
            .client
            .req(method, path.to_string())
            .header(ContentType::JSON)
            .body(body.to_string());
        if let Some(t) = token {
            req = req.header(Header::new("Authorization", format!("Bearer {t}")));
        }
        let res = req.dispatch().await;
        let status = res.status();
        (status, res.into_json().await.unwrap_or(Value::Null))
    }

    /// Logs in through the real login form; the tracked client keeps the session cookie.
    /// Returns the session's CSRF token.
    pub async fn page_login(&self, user_id: i64) -> String {
        let form = self
            .client
            .get("/login")
            .dispatch()
            .await
            .into_string()
            .await
            .expect("login page");
        let login_csrf = hidden_value(&form, "_csrf").expect("login csrf");
        let res = self
            .client
            .post("/login")
            .header(ContentType::Form)
            .body(format!(
                "username={}&password={}&next=%2Fdashboard&_csrf={login_csrf}",
                Self::username(user_id),
                PASSWORD
            ))
            .dispatch()
            .await;
        assert_eq!(
            res.status(),
            Status::SeeOther,
            "page login as user {user_id}"
        );
        self.page_csrf().await
    }

    /// The CSRF token of the current page session, read from a rendered page.
    pub async fn page_csrf(&self) -> String {
        let page = self
            .client
            .get("/account/password")
            .dispatch()
            .await
            .into_string()
            .await
            .unwrap_or_default();
        hidden_value(&page, "_csrf").expect("csrf on page")
    }

    pub async fn page_logout(&self) {
        let csrf = self.page_csrf().await;
        self.client
            .post("/logout")
            .header(ContentType::Form)
            .body(format!("_csrf={csrf}"))
            .dispatch()
            .await;
        self.client.cookies().remove(Cookie::from("srm_session"));
    }

    pub async fn audit_count(&self, action: &str, outcome: &str) -> u64 {
        use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
        srm::entity::audit_log::Entity::find()
            .filter(srm::entity::audit_log::Column::Action.eq(action))
            .filter(srm::entity::audit_log::Column::Outcome.eq(outcome))
            .count(self.db())
            .await
            .expect("count audit")
    }
}

/// The value of the first hidden input named `name` in an HTML page.
pub fn hidden_value(html: &str, name: &str) -> Option<String> {
    let needle = format!("name=\"{name}\" value=\"");
    let start = html.find(&needle)? + needle.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_string())
}

async fn user(db: &DatabaseConnection, hash: &str, kind: &str, groups: &[&str]) -> i64 {
    let n = uuid::Uuid::new_v4().simple().to_string();
    let new = NewUser::parse(
        &format!("tmp{}", &n[..12]),
        &format!("{kind} {}", &n[..4]),
        None,
        kind,
        groups.iter().map(|g| g.to_string()).collect(),
    )
    .expect("valid user");
    let id = create_user_with_hash(db, &new, hash.to_string())
        .await
        .expect("create user");
    // Rename to the predictable `user<id>` used by the helpers.
    srm::entity::users::ActiveModel {
        id: Set(id),
        username: Set(TestApp::username(id)),
        ..Default::default()
    }
    .update(db)
    .await
    .expect("rename user");
    id
}

async fn populate_university(db: &DatabaseConnection, state: &srm::state::AppState) -> People {
    let hash = srm::auth::password::hash(PASSWORD.to_string(), state.hash_cost())
        .await
        .expect("hash");
    let admin = user(db, &hash, "admin", &["admin"]).await;
    let teacher = user(db, &hash, "teacher", &["teacher"]).await;
    let other_teacher = user(db, &hash, "teacher", &["teacher"]).await;
    let student = user(db, &hash, "student", &["student"]).await;
    let other_student = user(db, &hash, "student", &["student"]).await;
    let target = user(db, &hash, "staff", &[]).await;
    let custom_group = save_group(
        db,
        None,
        GroupInput::parse(
            "auditors",
            "Auditors",
            "read the audit log",
            &["audit.view".to_string()],
        )
        .expect("group"),
    )
    .await
    .expect("save group");
    let auditor = user(db, &hash, "staff", &["auditors"]).await;

    let now = Utc::now().fixed_offset();
    let dept = departments::ActiveModel {
        code: Set("CS".into()),
        name_zh: Set("计算机学院".into()),
        name_en: Set("Computer Science".into()),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("department");
    let major = majors::ActiveModel {
        code: Set("CS01".into()),
        department_id: Set(dept.id),
        name_zh: Set("软件工程".into()),
        name_en: Set("Software Engineering".into()),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("major");
    let mk_student = |user_id: i64, no: &str, name_zh: &str, name_en: &str| students::ActiveModel {
        user_id: Set(Some(user_id)),
        student_no: Set(no.to_string()),
        national_id: Set(None),
        name_zh: Set(name_zh.to_string()),
        name_en: Set(name_en.to_string()),
        gender: Set("F".into()),
        birth_date: Set(None),
        phone: Set(None),
        email: Set(None),
        address: Set(None),
        department_id: Set(dept.id),
        major_id: Set(major.id),
        cohort_year: Set(2025),
        status: Set(srm::entity::students::StudentStatus::Active),
        status_changed_at: Set(now),
        advisor_id: Set(None),
        merged_into_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let student_record = mk_student(student, "2025000001", "李华", "Li Hua")
        .insert(db)
        .await
        .expect("student")
        .id;
    let other_student_record = mk_student(other_student, "2025000002", "王芳", "Wang Fang")
        .insert(db)
        .await
        .expect("student")
        .id;
    let term = terms::ActiveModel {
        code: Set("2026-fall".into()),
        name_zh: Set("2026 秋季学期".into()),
        name_en: Set("Fall 2026".into()),
        seq: Set(1),
        starts_on: Set(now.date_naive()),
        ends_on: Set(now.date_naive() + chrono::Duration::days(120)),
        registration_opens_at: Set(now - chrono::Duration::days(10)),
        registration_closes_at: Set(now + chrono::Duration::days(10)),
        add_drop_deadline: Set(now + chrono::Duration::days(5)),
        credit_limit: Set(25.0),
        is_current: Set(true),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("term");
    let course = courses::ActiveModel {
        code: Set("CS101".into()),
        department_id: Set(dept.id),
        title_zh: Set("程序设计基础".into()),
        title_en: Set("Introduction to Programming".into()),
        credits: Set(3.0),
        description: Set(String::new()),
        is_active: Set(true),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("course");
    let section = sections::ActiveModel {
        term_id: Set(term.id),
        course_id: Set(course.id),
        section_no: Set("01".into()),
        teacher_id: Set(Some(teacher)),
        capacity: Set(30),
        waitlist_capacity: Set(5),
        enrolled_count: Set(1),
        room: Set("A101".into()),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("section");
    enrolments::ActiveModel {
        student_id: Set(student_record),
        section_id: Set(section.id),
        status: Set(enrolments::EnrolmentStatus::Enrolled),
        waitlist_position: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        dropped_at: Set(None),
        override_reason: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("enrolment");
    People {
        admin,
        teacher,
        other_teacher,
        student,
        student_record,
        other_student,
        other_student_record,
        auditor,
        target,
        custom_group,
        section: section.id,
    }
}

/// Another student account with its own record in the first department and major, for tests
/// that need more students than `People` has: (user id, student record id).
pub async fn extra_student(app: &TestApp, student_no: &str) -> (i64, i64) {
    let db = app.db();
    use sea_orm::EntityTrait;
    let like = students::Entity::find_by_id(app.people.student_record)
        .one(db)
        .await
        .expect("query")
        .expect("the people's student");
    let hash = srm::auth::password::hash(PASSWORD.to_string(), app.state().hash_cost())
        .await
        .expect("hash");
    let user_id = user(db, &hash, "student", &["student"]).await;
    let now = Utc::now().fixed_offset();
    let base: students::ActiveModel = like.into();
    let mut record = students::ActiveModel {
        user_id: Set(Some(user_id)),
        student_no: Set(student_no.to_string()),
        name_zh: Set(format!("学生{student_no}")),
        name_en: Set(format!("Student {student_no}")),
        created_at: Set(now),
        updated_at: Set(now),
        status_changed_at: Set(now),
        ..base
    };
    record.id = sea_orm::ActiveValue::NotSet;
    let id = record.insert(db).await.expect("student").id;
    (user_id, id)
}

/// Enrols a student record in a section (status enrolled, now).
pub async fn enrol(db: &DatabaseConnection, student: i64, section: i64) {
    let now = Utc::now().fixed_offset();
    enrolments::ActiveModel {
        student_id: Set(student),
        section_id: Set(section),
        status: Set(enrolments::EnrolmentStatus::Enrolled),
        waitlist_position: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        dropped_at: Set(None),
        override_reason: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
}

/// The demo password of the seeded demo universities.
pub const DEMO_PASSWORD: &str = "demo-pass-1";

/// Options for seeding the demo university with `students` students into `app` (a cheap hash of
/// [`DEMO_PASSWORD`] for every account; the generator's lists go to `app.dir/demo`).
pub fn demo_options(app: &TestApp, students: usize) -> srm::seed::DemoOptions {
    let hash = srm::auth::password::hash_blocking(
        DEMO_PASSWORD,
        srm::auth::password::HashCost {
            memory_kib: 256,
            iterations: 1,
        },
    )
    .expect("a hash");
    srm::seed::DemoOptions {
        students,
        password_hash: hash,
        out_dir: app.dir.join("demo"),
        seed: srm::seed::DEFAULT_SEED,
    }
}

/// A fresh app on `backend` holding the demo university with `students` students.
pub async fn demo_app(backend: Backend, students: usize) -> TestApp {
    let app = TestApp::setup(backend, false).await;
    srm::seed::seed_demo(app.db(), &demo_options(&app, students))
        .await
        .expect("the demo seeds")
        .expect("seeded");
    app
}

/// Logs in to a demo university (`demo_app`) as `username` and returns the bearer token.
pub async fn demo_token(app: &TestApp, username: &str) -> String {
    let res = app
        .client
        .post("/api/v1/auth/login")
        .header(ContentType::JSON)
        .body(serde_json::json!({"username": username, "password": DEMO_PASSWORD}).to_string())
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok, "login as {username}");
    let v: Value = res.into_json().await.expect("login json");
    v["token"].as_str().expect("token").to_string()
}

/// The teacher enters `score` for the student record in `section` and publishes the section's
/// grades, through the API.
pub async fn publish_grade(app: &TestApp, teacher: &str, section: i64, student: i64, score: f64) {
    let (s, v) = app
        .send_json(
            rocket::http::Method::Put,
            &format!("/api/v1/sections/{section}/grades"),
            Some(teacher),
            serde_json::json!({"grades": [{"student_id": student, "score": score}]}),
        )
        .await;
    assert_eq!(s, Status::Ok, "{v}");
    let (s, v) = app
        .send_json(
            rocket::http::Method::Post,
            &format!("/api/v1/sections/{section}/grades/publish"),
            Some(teacher),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(s, Status::Ok, "{v}");
}

/// A finished risk run recorded at `at`, with no model and no flags: for tests that write the
/// flags a run would have made.
pub async fn finished_risk_run(
    db: &DatabaseConnection,
    at: chrono::DateTime<chrono::FixedOffset>,
) -> srm::entity::mining_runs::Model {
    srm::entity::mining_runs::ActiveModel {
        kind: Set("risk".into()),
        status: Set(srm::entity::job_status::JobStatus::Done),
        progress: Set(1.0),
        message: Set(String::new()),
        as_of: Set(at),
        term_id: Set(None),
        model: Set(None),
        params: Set("{}".into()),
        metrics: Set("{}".into()),
        started_by: Set(None),
        started_at: Set(at),
        finished_at: Set(Some(at)),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap()
}

/// A flag of `run` on `student` with no reasons, cluster or feedback.
pub async fn risk_flag(
    db: &DatabaseConnection,
    run: i64,
    student: i64,
    score: f64,
    level: &str,
) -> srm::entity::risk_flags::Model {
    srm::entity::risk_flags::ActiveModel {
        run_id: Set(run),
        student_id: Set(student),
        score: Set(score),
        level: Set(level.into()),
        reasons: Set("[]".into()),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap()
}

/// Runs the mining job once on the app's database (rules seeded first) and answers the run's
/// id and its metrics.
pub async fn mining_run(app: &TestApp) -> (i64, Value) {
    let db = app.db();
    srm::mining::rules::ensure_seeded(db).await.expect("rules");
    let jobs = srm::jobs::Jobs::default();
    let id = srm::mining::run::create(db, &jobs, None, "test")
        .await
        .expect("run");
    srm::mining::run::execute(db, &jobs, id)
        .await
        .expect("the run");
    use sea_orm::EntityTrait;
    let r = srm::entity::mining_runs::Entity::find_by_id(id)
        .one(db)
        .await
        .expect("read the run")
        .expect("the run");
    (id, serde_json::from_str(&r.metrics).expect("metrics"))
}

/// A `multipart/form-data` body: the plain fields, then the files (field, file name, bytes).
pub fn multipart(fields: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> (ContentType, Vec<u8>) {
    let b = "XSRMTESTBOUNDARYX";
    let mut s = Vec::new();
    for (name, value) in fields {
        s.extend_from_slice(
            format!("--{b}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                .as_bytes(),
        );
    }
    for (field, file, bytes) in files {
        s.extend_from_slice(
            format!(
                "--{b}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        s.extend_from_slice(bytes);
        s.extend_from_slice(b"\r\n");
    }
    s.extend_from_slice(format!("--{b}--\r\n").as_bytes());
    (
        ContentType::new("multipart", "form-data").with_params(("boundary", b)),
        s,
    )
}

/// A second connection to the test's database that keeps the text of every statement it runs
/// (BEGIN and COMMIT aside).
pub async fn counting(app: &TestApp) -> (srm::db::Db, StatementLog) {
    let mut db = srm::db::connect(&app.config).await.unwrap();
    let log = StatementLog::default();
    let kept = log.clone();
    db.set_metric_callback(move |info| kept.push(&info.statement.sql))
        .unwrap();
    (db, log)
}

#[derive(Clone, Default)]
pub struct StatementLog(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl StatementLog {
    fn push(&self, sql: &str) {
        if let Ok(mut list) = self.0.lock() {
            list.push(sql.to_string());
        }
    }

    /// The statements run since the last call.
    pub fn take(&self) -> Vec<String> {
        self.0
            .lock()
            .map(|mut list| std::mem::take(&mut *list))
            .unwrap_or_default()
    }
}

/// `n` new students of the fixture's major, as an import file (numbers from 2031000000,
/// each with a national id).
pub fn students_csv(n: usize) -> String {
    let mut s = String::from(
        "student_no,national_id,name_zh,name_en,gender,birth_date,phone,email,address,department,major,cohort,status,advisor",
    );
    for i in 0..n {
        s.push_str(&format!(
            "\n2031{i:06},1101052000{i:07}X,学生{i},Xue Sheng {i},M,2004-01-02,138{i:08},s{i}@example.edu,Dorm {i},CS,CS01,2031,active,"
        ));
    }
    s
}
