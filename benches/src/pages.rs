//! `srm-bench pages`: one user at a time requests the main pages (with the session cookie) and
//! API lists (with a bearer token) of each role, and prints per page the median and 95th
//! percentile answer time and the size of the answer. Meant for a big database (`srm seed demo
//! --students 50000` plus `srm mine run`); the budget is 50 ms at the 95th percentile and
//! 100 KB per answer, and a line over it is marked.

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use srm::config::AppConfig;
use srm::error::{AppError, AppResult};
use std::time::{Duration, Instant};

/// The budget per page: the 95th percentile answer time and the size of the answer.
const BUDGET_P95_MS: f64 = 50.0;
const BUDGET_BYTES: usize = 100 * 1024;

#[derive(clap::Args, Debug, Clone)]
pub struct Options {
    /// Base URL of a running server.
    #[arg(long, default_value = "http://127.0.0.1:8000")]
    pub url: String,
    /// Timed requests per page (after the warm-up).
    #[arg(long, default_value_t = 20)]
    pub repeat: usize,
    /// Untimed requests per page first.
    #[arg(long, default_value_t = 2)]
    pub warmup: usize,
    /// The administrator account.
    #[arg(long, default_value = "admin")]
    pub admin: String,
    /// The teacher account.
    #[arg(long, default_value = "teacher1")]
    pub teacher: String,
    /// The student account (default: a student of the biggest section of the current term).
    #[arg(long)]
    pub student: Option<String>,
    /// Password of every account (the demo password); default: SRM_DEMO_PASSWORD, else the
    /// file demo_password in SRM_DATA_DIR.
    #[arg(long)]
    pub password: Option<String>,
    /// Only the pages whose name contains this text.
    #[arg(long)]
    pub only: Option<String>,
}

/// How a request proves who it is: the session cookie (pages) or a bearer token (API).
#[derive(Clone, Copy)]
enum Via {
    Cookie,
    Bearer,
}

struct Target {
    name: String,
    role: &'static str,
    token: String,
    via: Via,
    path: String,
}

struct Measured {
    name: String,
    role: &'static str,
    path: String,
    p50: f64,
    p95: f64,
    bytes: usize,
    status: u16,
}

pub async fn run(config: &AppConfig, opts: Options) -> AppResult<()> {
    let base = opts.url.trim_end_matches('/').to_string();
    let password = password(config, &opts)?;
    let client = Client::builder()
        .tcp_nodelay(true)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(120))
        .build()
        .map_err(|e| AppError::internal(format!("cannot build the HTTP client: {e}")))?;

    let admin = login(&client, &base, &opts.admin, &password).await?;
    let teacher = login(&client, &base, &opts.teacher, &password).await?;

    // What the pages are about: a student, the biggest section of the current term, the
    // latest mining run.
    let first: Value = get_json(&client, &base, "/api/v1/students?per_page=1", &admin).await?;
    let student_id = first
        .pointer("/items/0/id")
        .and_then(Value::as_i64)
        .ok_or_else(|| AppError::internal("the database has no students"))?;
    let surname = first
        .pointer("/items/0/name_en")
        .and_then(Value::as_str)
        .and_then(|n| n.split_whitespace().last())
        .unwrap_or("a")
        .to_string();
    let big = biggest_section(&client, &base, &admin).await?;
    let teacher_section = teacher_section(&client, &base, &teacher).await?;
    let runs: Value = get_json(&client, &base, "/api/v1/mining/runs?per_page=1", &admin).await?;
    let run_id = runs.pointer("/items/0/id").and_then(Value::as_i64);
    let student_name = match opts.student.clone() {
        Some(s) => s,
        None => {
            let roster: Value = get_json(
                &client,
                &base,
                &format!("/api/v1/sections/{big}/roster"),
                &admin,
            )
            .await?;
            first_student_no(&roster).ok_or_else(|| {
                AppError::internal(format!("section {big} has no student on its roster"))
            })?
        }
    };
    let student = login(&client, &base, &student_name, &password).await?;
    println!(
        "student {student_id} (profile), search {surname:?}, biggest section {big}, \
         {} section {teacher_section}, student account {student_name}, mining run {}",
        opts.teacher,
        run_id.map_or("none".to_string(), |r| r.to_string())
    );

    let mut targets = Vec::new();
    let mut add = |name: &str, role: &'static str, token: &str, via: Via, path: String| {
        targets.push(Target {
            name: name.to_string(),
            role,
            token: token.to_string(),
            via,
            path,
        })
    };
    use Via::{Bearer, Cookie};
    // Administrator / registrar.
    add("dashboard", "admin", &admin, Cookie, "/dashboard".into());
    add("students list", "admin", &admin, Cookie, "/students".into());
    add(
        "students list p100",
        "admin",
        &admin,
        Cookie,
        "/students?page=100".into(),
    );
    add(
        "students search",
        "admin",
        &admin,
        Cookie,
        format!("/students?q={surname}"),
    );
    add(
        "students list",
        "admin",
        &admin,
        Bearer,
        "/api/v1/students".into(),
    );
    add(
        "students search",
        "admin",
        &admin,
        Bearer,
        format!("/api/v1/students?q={surname}"),
    );
    add(
        "student 360",
        "admin",
        &admin,
        Cookie,
        format!("/students/{student_id}"),
    );
    add(
        "student 360",
        "admin",
        &admin,
        Bearer,
        format!("/api/v1/students/{student_id}"),
    );
    add(
        "student history",
        "admin",
        &admin,
        Bearer,
        format!("/api/v1/students/{student_id}/history"),
    );
    add("catalogue", "admin", &admin, Cookie, "/courses".into());
    add(
        "catalogue",
        "admin",
        &admin,
        Bearer,
        "/api/v1/sections?term=current".into(),
    );
    add(
        "roster big section",
        "admin",
        &admin,
        Cookie,
        format!("/sections/{big}/roster"),
    );
    add(
        "roster big section",
        "admin",
        &admin,
        Bearer,
        format!("/api/v1/sections/{big}/roster"),
    );
    add(
        "grade grid big section",
        "admin",
        &admin,
        Cookie,
        format!("/grades/sections/{big}"),
    );
    add(
        "grade grid big section",
        "admin",
        &admin,
        Bearer,
        format!("/api/v1/sections/{big}/grades"),
    );
    add(
        "section statistics",
        "admin",
        &admin,
        Cookie,
        format!("/grades/sections/{big}/statistics"),
    );
    add(
        "grade statistics",
        "admin",
        &admin,
        Cookie,
        "/grades/statistics".into(),
    );
    add(
        "grade statistics",
        "admin",
        &admin,
        Bearer,
        "/api/v1/statistics".into(),
    );
    add(
        "value matrix",
        "admin",
        &admin,
        Cookie,
        "/analytics/value-matrix".into(),
    );
    add(
        "value matrix",
        "admin",
        &admin,
        Bearer,
        "/api/v1/analytics/value-matrix".into(),
    );
    add(
        "lifecycle",
        "admin",
        &admin,
        Cookie,
        "/analytics/lifecycle".into(),
    );
    add(
        "lifecycle",
        "admin",
        &admin,
        Bearer,
        "/api/v1/analytics/lifecycle".into(),
    );
    add(
        "retention",
        "admin",
        &admin,
        Cookie,
        "/analytics/retention".into(),
    );
    add(
        "retention",
        "admin",
        &admin,
        Bearer,
        "/api/v1/analytics/retention".into(),
    );
    add(
        "portfolio",
        "admin",
        &admin,
        Cookie,
        "/analytics/portfolio".into(),
    );
    add(
        "portfolio",
        "admin",
        &admin,
        Bearer,
        "/api/v1/analytics/portfolio".into(),
    );
    add(
        "satisfaction",
        "admin",
        &admin,
        Cookie,
        "/analytics/satisfaction".into(),
    );
    add(
        "satisfaction",
        "admin",
        &admin,
        Bearer,
        "/api/v1/analytics/satisfaction".into(),
    );
    add("mining", "admin", &admin, Cookie, "/mining".into());
    add(
        "mining runs",
        "admin",
        &admin,
        Bearer,
        "/api/v1/mining/runs".into(),
    );
    if let Some(r) = run_id {
        add(
            "mining report",
            "admin",
            &admin,
            Cookie,
            format!("/mining/runs/{r}"),
        );
        add(
            "mining report",
            "admin",
            &admin,
            Bearer,
            format!("/api/v1/mining/runs/{r}"),
        );
    }
    add(
        "at-risk list",
        "admin",
        &admin,
        Cookie,
        "/mining/flags".into(),
    );
    add(
        "at-risk list",
        "admin",
        &admin,
        Bearer,
        "/api/v1/mining/flags".into(),
    );
    add("care list", "admin", &admin, Cookie, "/care".into());
    add(
        "care list",
        "admin",
        &admin,
        Bearer,
        "/api/v1/care/worklist".into(),
    );
    add(
        "care effect",
        "admin",
        &admin,
        Cookie,
        "/care/effect".into(),
    );
    add("cases", "admin", &admin, Cookie, "/cases".into());
    add("cases", "admin", &admin, Bearer, "/api/v1/cases".into());
    add("audit log", "admin", &admin, Cookie, "/admin/audit".into());
    add("audit log", "admin", &admin, Bearer, "/api/v1/audit".into());
    add("users", "admin", &admin, Cookie, "/admin/users".into());
    add("users", "admin", &admin, Bearer, "/api/v1/users".into());
    // Teacher.
    add(
        "dashboard",
        "teacher",
        &teacher,
        Cookie,
        "/dashboard".into(),
    );
    add(
        "students list",
        "teacher",
        &teacher,
        Cookie,
        "/students".into(),
    );
    add("grades", "teacher", &teacher, Cookie, "/grades".into());
    add(
        "grade grid",
        "teacher",
        &teacher,
        Cookie,
        format!("/grades/sections/{teacher_section}"),
    );
    add(
        "grade grid",
        "teacher",
        &teacher,
        Bearer,
        format!("/api/v1/sections/{teacher_section}/grades"),
    );
    add(
        "at-risk list",
        "teacher",
        &teacher,
        Cookie,
        "/mining/flags".into(),
    );
    add(
        "at-risk list",
        "teacher",
        &teacher,
        Bearer,
        "/api/v1/mining/flags".into(),
    );
    add("care list", "teacher", &teacher, Cookie, "/care".into());
    add(
        "care list",
        "teacher",
        &teacher,
        Bearer,
        "/api/v1/care/worklist".into(),
    );
    add("cases", "teacher", &teacher, Cookie, "/cases".into());
    add("messages", "teacher", &teacher, Cookie, "/messages".into());
    // Student.
    add(
        "dashboard",
        "student",
        &student,
        Cookie,
        "/dashboard".into(),
    );
    add("catalogue", "student", &student, Cookie, "/courses".into());
    add(
        "catalogue",
        "student",
        &student,
        Bearer,
        "/api/v1/sections?term=current".into(),
    );
    add(
        "my registrations",
        "student",
        &student,
        Cookie,
        "/registrations".into(),
    );
    add(
        "my registrations",
        "student",
        &student,
        Bearer,
        "/api/v1/registrations".into(),
    );
    add(
        "my record",
        "student",
        &student,
        Cookie,
        "/me/record".into(),
    );
    add(
        "my transcript",
        "student",
        &student,
        Cookie,
        "/me/transcript".into(),
    );
    add(
        "my suggestions",
        "student",
        &student,
        Cookie,
        "/me/suggestions".into(),
    );
    add(
        "my recommendations",
        "student",
        &student,
        Bearer,
        "/api/v1/me/recommendations".into(),
    );
    add("cases", "student", &student, Cookie, "/cases".into());
    add(
        "notifications",
        "student",
        &student,
        Cookie,
        "/notifications".into(),
    );

    if let Some(only) = &opts.only {
        targets.retain(|t| t.name.contains(only.as_str()));
    }
    let mut results = Vec::new();
    for t in &targets {
        results.push(measure(&client, &base, t, &opts).await);
    }
    print_table(&results);
    Ok(())
}

async fn measure(client: &Client, base: &str, t: &Target, opts: &Options) -> Measured {
    let mut times = Vec::with_capacity(opts.repeat);
    let (mut bytes, mut status) = (0, 0);
    for i in 0..opts.warmup + opts.repeat.max(1) {
        let url = format!("{base}{}", t.path);
        let req = match t.via {
            Via::Cookie => client
                .get(&url)
                .header("Cookie", format!("srm_session={}", t.token))
                .header("Accept", "text/html"),
            Via::Bearer => client.get(&url).bearer_auth(&t.token),
        };
        let started = Instant::now();
        let answer = match req.send().await {
            Ok(resp) => {
                let s = resp.status();
                resp.bytes().await.map(|b| (s, b.len())).ok()
            }
            Err(_) => None,
        };
        let took = started.elapsed().as_secs_f64() * 1000.0;
        let (s, n) = answer.unwrap_or((StatusCode::BAD_GATEWAY, 0));
        (bytes, status) = (n, s.as_u16());
        if i >= opts.warmup {
            times.push(took);
        }
    }
    times.sort_by(f64::total_cmp);
    Measured {
        name: t.name.clone(),
        role: t.role,
        path: t.path.clone(),
        p50: percentile(&times, 0.50),
        p95: percentile(&times, 0.95),
        bytes,
        status,
    }
}

/// The `q` quantile of sorted values (nearest rank).
fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn print_table(results: &[Measured]) {
    println!(
        "{:<24} {:<8} {:<4} {:>8} {:>8} {:>9} {:>4}  {:<8} path",
        "page", "role", "kind", "p50 ms", "p95 ms", "KB", "http", "budget"
    );
    let mut over = 0;
    for m in results {
        let kind = if m.path.starts_with("/api/") {
            "api"
        } else {
            "page"
        };
        let mut verdict = Vec::new();
        if m.p95 > BUDGET_P95_MS {
            verdict.push("SLOW");
        }
        if m.bytes > BUDGET_BYTES {
            verdict.push("BIG");
        }
        if m.status != 200 {
            verdict.push("HTTP");
        }
        over += usize::from(!verdict.is_empty());
        println!(
            "{:<24} {:<8} {:<4} {:>8.1} {:>8.1} {:>9.1} {:>4}  {:<8} {}",
            m.name,
            m.role,
            kind,
            m.p50,
            m.p95,
            m.bytes as f64 / 1024.0,
            m.status,
            if verdict.is_empty() {
                "ok".to_string()
            } else {
                verdict.join(",")
            },
            m.path
        );
    }
    println!(
        "{} of {} answers over the budget ({BUDGET_P95_MS} ms p95, {} KB) or not 200",
        over,
        results.len(),
        BUDGET_BYTES / 1024
    );
}

fn password(config: &AppConfig, opts: &Options) -> AppResult<String> {
    if let Some(p) = opts.password.as_ref().or(config.demo_password.as_ref()) {
        return Ok(p.clone());
    }
    let path = config.data_path("demo_password");
    std::fs::read_to_string(&path)
        .map(|p| p.trim().to_string())
        .map_err(|e| {
            AppError::internal(format!(
                "no --password, no SRM_DEMO_PASSWORD and cannot read {}: {e}",
                path.display()
            ))
        })
}

async fn login(client: &Client, base: &str, username: &str, password: &str) -> AppResult<String> {
    let resp = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .map_err(|e| AppError::internal(format!("login {username}: {e}")))?;
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    body.get("token")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| AppError::internal(format!("login {username}: {status} {body}")))
}

async fn get_json(client: &Client, base: &str, path: &str, token: &str) -> AppResult<Value> {
    let url = format!("{base}{path}");
    let resp = client
        .get(&url)
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| AppError::internal(format!("GET {url}: {e}")))?;
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        return Err(AppError::internal(format!("GET {url}: {status} {body}")));
    }
    Ok(body)
}

/// The current term's section with the most enrolled students.
async fn biggest_section(client: &Client, base: &str, token: &str) -> AppResult<i64> {
    let mut best: Option<(i64, i64)> = None;
    for page in 1.. {
        let path = format!("/api/v1/sections?term=current&per_page=500&page={page}");
        let list = get_json(client, base, &path, token).await?;
        let items = list
            .get("items")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for s in &items {
            let (Some(id), Some(n)) = (
                s.get("id").and_then(Value::as_i64),
                s.get("enrolled_count").and_then(Value::as_i64),
            ) else {
                continue;
            };
            if best.is_none_or(|(_, m)| n > m) {
                best = Some((id, n));
            }
        }
        let total = list.get("total").and_then(Value::as_u64).unwrap_or(0);
        if items.is_empty() || page * 500 >= total {
            break;
        }
    }
    best.map(|(id, _)| id)
        .ok_or_else(|| AppError::internal("the current term has no sections"))
}

/// The teacher's biggest section (from their grade-entry list).
async fn teacher_section(client: &Client, base: &str, token: &str) -> AppResult<i64> {
    let me = get_json(client, base, "/api/v1/me", token).await?;
    let name = me
        .get("display_name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let path = format!("/api/v1/sections?term=current&per_page=500&teacher={name}");
    let list = get_json(client, base, &path, token).await?;
    list.get("items")
        .and_then(Value::as_array)
        .and_then(|items| {
            items
                .iter()
                .max_by_key(|s| s.get("enrolled_count").and_then(Value::as_i64))
        })
        .and_then(|s| s.get("id").and_then(Value::as_i64))
        .ok_or_else(|| AppError::internal(format!("the teacher {name} has no section")))
}

fn first_student_no(roster: &Value) -> Option<String> {
    let items = roster
        .get("items")
        .or_else(|| roster.get("students"))
        .or(Some(roster))?
        .as_array()?;
    items.iter().find_map(|r| {
        r.get("student_no")
            .and_then(Value::as_str)
            .map(str::to_string)
    })
}
