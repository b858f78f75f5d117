//! Running it for years: database failures are 503s (never a logout), jobs hold leases and
//! are interrupted when their instance dies, cancelled on request, and started once per
//! schedule period across instances; the real binary is killed and stopped with SIGTERM.

use crate::common::{Backend, TestApp, drop_pg_database, on_each_backend, postgres_url};
use rocket::http::{Header, Status};
use sea_orm::{ConnectionTrait, EntityTrait};
use srm::entity::mining_runs;
use srm::jobs::{Jobs, Lease, MINING_RUN, Stop};
use std::time::Duration;

const UNAVAILABLE_EN: &str = "briefly unavailable";

#[rocket::async_test]
async fn a_database_failure_during_the_session_check_is_a_503_not_a_logout() {
    on_each_backend(|app| async move {
        let token = app.token(app.people.admin).await;
        app.page_login(app.people.admin).await;
        app.db()
            .execute_unprepared("ALTER TABLE revoked_tokens RENAME TO revoked_tokens_away")
            .await
            .unwrap();

        let page = app
            .client
            .get("/dashboard")
            .header(Header::new("Accept-Language", "en"))
            .dispatch()
            .await;
        assert_eq!(
            page.status(),
            Status::ServiceUnavailable,
            "{:?}",
            app.backend
        );
        assert!(
            page.headers().get_one("Location").is_none(),
            "no redirect to /login"
        );
        assert_eq!(page.headers().get_one("Retry-After"), Some("5"));
        let html = page.into_string().await.unwrap_or_default();
        assert!(html.contains(UNAVAILABLE_EN), "{html}");

        let zh = app
            .client
            .get("/dashboard")
            .header(Header::new("Accept-Language", "zh-CN"))
            .dispatch()
            .await;
        assert_eq!(zh.status(), Status::ServiceUnavailable);
        assert!(
            zh.into_string()
                .await
                .unwrap_or_default()
                .contains("暂时不可用")
        );

        let (status, v) = app.get_json("/api/v1/me", Some(&token)).await;
        assert_eq!(status, Status::ServiceUnavailable);
        assert_eq!(v["error"]["code"], "unavailable", "{v}");

        // The login page too: the session check runs there (to greet a signed-in user).
        let login = app.client.get("/login").dispatch().await;
        assert_ne!(login.status(), Status::Unauthorized);

        app.db()
            .execute_unprepared("ALTER TABLE revoked_tokens_away RENAME TO revoked_tokens")
            .await
            .unwrap();
        assert_eq!(
            app.get("/api/v1/me", Some(&token)).await.status(),
            Status::Ok
        );
        let page = app.client.get("/dashboard").dispatch().await;
        assert_eq!(page.status(), Status::Ok, "the session survived the outage");
    })
    .await;
}

#[rocket::async_test]
async fn terminating_every_postgres_backend_three_times_gives_only_successes_and_503s() {
    if postgres_url().is_none() {
        return;
    }
    let app = TestApp::new(Backend::Postgres).await;
    let token = app.token(app.people.student).await;
    let url = app.config.database_url.clone().unwrap();
    let killer_db = srm::db::connect_url(&url, 1).await.unwrap();
    let stream = |n: usize| {
        let app = &app;
        let token = token.clone();
        async move {
            let mut seen = Vec::new();
            for i in 0..n {
                let path = if i % 2 == 0 {
                    "/api/v1/me"
                } else {
                    "/api/v1/me/record"
                };
                seen.push(app.get(path, Some(&token)).await.status().code);
            }
            seen
        }
    };
    let killer = async {
        let mut killed = 0;
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let rows = killer_db
                .query_all_raw(sea_orm::Statement::from_string(
                    sea_orm::DbBackend::Postgres,
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE datname = current_database() AND pid <> pg_backend_pid()",
                ))
                .await
                .unwrap();
            killed += rows.len();
        }
        killed
    };
    let (a, b, c, d, e, f, killed) = tokio::join!(
        stream(150),
        stream(150),
        stream(150),
        stream(150),
        stream(150),
        stream(150),
        killer
    );
    assert!(killed >= 3, "backends were terminated: {killed}");
    let all: Vec<u16> = [a, b, c, d, e, f].into_iter().flatten().collect();
    let bad: Vec<&u16> = all.iter().filter(|s| !matches!(**s, 200 | 503)).collect();
    assert!(bad.is_empty(), "only 200 and 503, got {bad:?}");
    let unavailable = all.iter().filter(|s| **s == 503).count();
    eprintln!(
        "{} requests, {unavailable} answered 503, {killed} backends terminated",
        all.len()
    );
    assert!(all.contains(&200));
    // Service resumes without a restart.
    let mut ok = false;
    for _ in 0..50 {
        if app.get("/api/v1/me", Some(&token)).await.status() == Status::Ok {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ok, "the portal answers again");
    killer_db.close().await.ok();
    if let Some(name) = app.pg_database.clone() {
        drop(app);
        drop_pg_database(&name).await;
    }
}

/// A run created by an instance that then died (it never heartbeats).
async fn orphan_run(app: &TestApp, ttl: Duration) -> i64 {
    let dead = Jobs {
        holder: "dead-host:4242:abcdef".into(),
        ttl,
    };
    srm::mining::run::create(app.db(), &dead, None, "test")
        .await
        .unwrap()
}

#[rocket::async_test]
async fn a_run_whose_instance_died_is_interrupted_and_no_longer_blocks_a_new_one() {
    on_each_backend(|app| async move {
        let admin = app.token(app.people.admin).await;
        let stale = orphan_run(&app, Duration::from_secs(1)).await;
        let start = serde_json::json!({"confirm": true});
        let (status, v) = app
            .send_json(
                rocket::http::Method::Post,
                "/api/v1/mining/runs",
                Some(&admin),
                start.clone(),
            )
            .await;
        assert_eq!(
            status,
            Status::Conflict,
            "blocked while the lease is fresh: {v}"
        );

        tokio::time::sleep(Duration::from_millis(1300)).await;
        let (status, v) = app
            .send_json(
                rocket::http::Method::Post,
                "/api/v1/mining/runs",
                Some(&admin),
                start,
            )
            .await;
        assert_eq!(status, Status::Accepted, "{v}");
        let old = mining_runs::Entity::find_by_id(stale)
            .one(app.db())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(old.status, srm::entity::job_status::JobStatus::Interrupted);
        assert!(old.interrupted_at.is_some());
        let why = old.interrupted_reason.unwrap_or_default();
        assert!(why.contains("dead-host:4242:abcdef"), "{why}");

        let (_, shown) = app
            .get_json(&format!("/api/v1/mining/runs/{stale}"), Some(&admin))
            .await;
        assert_eq!(shown["status"], "interrupted");
        assert!(
            shown["interrupted_reason"]
                .as_str()
                .unwrap_or("")
                .contains("heartbeats")
        );
        let page = app
            .client
            .get(format!("/mining/runs/{stale}"))
            .header(Header::new("Authorization", format!("Bearer {admin}")))
            .dispatch()
            .await
            .into_string()
            .await
            .unwrap_or_default();
        assert!(
            page.contains("dead-host:4242:abcdef"),
            "the page says where it stopped"
        );
    })
    .await;
}

#[rocket::async_test]
async fn an_administrator_cancels_a_run_and_its_worker_is_told_to_stop() {
    on_each_backend(|app| async move {
        let admin = app.token(app.people.admin).await;
        let teacher = app.token(app.people.teacher).await;
        let live = Jobs {
            holder: "busy-host:1:aaaaaa".into(),
            ttl: Duration::from_secs(60),
        };
        let id = srm::mining::run::create(app.db(), &live, None, "test")
            .await
            .unwrap();
        let cancel = format!("/api/v1/mining/runs/{id}/cancel");
        let (status, _) = app
            .send_json(
                rocket::http::Method::Post,
                &cancel,
                Some(&teacher),
                serde_json::json!({}),
            )
            .await;
        assert_eq!(
            status,
            Status::Forbidden,
            "only those who run mining may cancel"
        );

        let (status, v) = app
            .send_json(
                rocket::http::Method::Post,
                &cancel,
                Some(&admin),
                serde_json::json!({}),
            )
            .await;
        assert_eq!(status, Status::Accepted, "{v}");
        assert_eq!(v["status"], "cancelling");
        let lease = Lease {
            kind: MINING_RUN.into(),
            job_id: id,
            holder: live.holder.clone(),
            ttl: live.ttl,
        };
        assert_eq!(
            lease.heartbeat(app.db()).await.unwrap(),
            Some(Stop::Cancelled)
        );

        // A run nobody holds any more is cancelled at once; a finished one cannot be.
        let orphan = orphan_run_after_cancel(&app, id).await;
        let (status, v) = app
            .send_json(
                rocket::http::Method::Post,
                &format!("/api/v1/mining/runs/{orphan}/cancel"),
                Some(&admin),
                serde_json::json!({}),
            )
            .await;
        assert_eq!(status, Status::Ok, "{v}");
        assert_eq!(v["status"], "cancelled");
        let (status, v) = app
            .send_json(
                rocket::http::Method::Post,
                &format!("/api/v1/mining/runs/{orphan}/cancel"),
                Some(&admin),
                serde_json::json!({}),
            )
            .await;
        assert_eq!(status, Status::Conflict);
        assert_eq!(v["error"]["code"], "not_running");
    })
    .await;
}

/// Ends the run `id` (as its worker would on the cancel) and leaves one whose instance died.
async fn orphan_run_after_cancel(app: &TestApp, id: i64) -> i64 {
    for sql in [
        format!("UPDATE mining_runs SET status = 'cancelled' WHERE id = {id}"),
        format!("DELETE FROM job_leases WHERE job_id = {id}"),
    ] {
        app.db().execute_unprepared(&sql).await.unwrap();
    }
    let orphan = orphan_run(app, Duration::from_millis(10)).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    orphan
}

#[rocket::async_test]
async fn one_instance_holds_the_scheduler_and_a_period_is_claimed_once() {
    on_each_backend(|app| async move {
        let db = app.db();
        let mut s = srm::mining::settings::get(db).await.unwrap();
        s.schedule_hours = 1;
        srm::mining::settings::set(db, app.people.admin, &s)
            .await
            .unwrap();
        let a = Jobs {
            holder: "a:1:aaaaaa".into(),
            ttl: Duration::from_secs(60),
        };
        let b = Jobs {
            holder: "b:2:bbbbbb".into(),
            ttl: Duration::from_secs(60),
        };
        let config = app.config.clone();
        let started = srm::mining::jobs::scheduler_tick(db, &a, &config)
            .await
            .unwrap()
            .expect("instance a starts the due run");
        assert_eq!(
            srm::mining::jobs::scheduler_tick(db, &b, &config)
                .await
                .unwrap(),
            None,
            "b does not hold the scheduler lease"
        );
        let run = mining_runs::Entity::find_by_id(started)
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(run.kind, "schedule");
        assert_eq!(
            run.started_by,
            Some(app.people.admin),
            "recorded as the user who set it"
        );

        assert!(
            srm::jobs::claim_period(db, "drill", 7, &a.holder)
                .await
                .unwrap()
        );
        assert!(
            !srm::jobs::claim_period(db, "drill", 7, &b.holder)
                .await
                .unwrap()
        );
        assert!(
            srm::jobs::claim_period(db, "drill", 8, &b.holder)
                .await
                .unwrap()
        );
        // Let the background run finish before the database goes away.
        for _ in 0..100 {
            let r = mining_runs::Entity::find_by_id(started)
                .one(db)
                .await
                .unwrap()
                .unwrap();
            if !matches!(r.status.as_str(), "queued" | "running") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
}

// ------------------------------------------------------------------ the real binary

const DEMO_PASSWORD: &str = "demo-password-1";

fn srm(dir: &std::path::Path) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_srm"));
    c.env("SRM_DATA_DIR", dir)
        .env("SRM_DEMO", "0")
        .env("SRM_DEMO_PASSWORD", DEMO_PASSWORD)
        .env("SRM_ARGON2_MEMORY_KIB", "256")
        .env("SRM_ARGON2_ITERATIONS", "1")
        .env("SRM_JOB_LEASE_SECONDS", "2")
        .env_remove("SRM_DATABASE_URL")
        .env("SRM_LOG", "error")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    c
}

/// A data dir with a small demo university (enough terms for a run).
fn demo_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("srm-ops-{}", uuid::Uuid::new_v4().simple()));
    let out = srm(&dir)
        .args(["seed", "demo", "--students", "300"])
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("run srm seed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

async fn file_db(dir: &std::path::Path) -> sea_orm::DatabaseConnection {
    let url = format!("sqlite://{}?mode=rw", dir.join("srm.sqlite").display());
    srm::db::connect_url(&url, 1)
        .await
        .expect("open the data dir's database")
}

/// Waits until a mining run is under way (its status `running`), while `child` lives.
async fn wait_running(db: &sea_orm::DatabaseConnection, child: &mut std::process::Child) -> i64 {
    use sea_orm::{ColumnTrait, QueryFilter};
    for _ in 0..600 {
        if let Some(r) = mining_runs::Entity::find()
            .filter(mining_runs::Column::Status.eq("running"))
            .one(db)
            .await
            .unwrap()
        {
            return r.id;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the process ended before its run was under way"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no run got under way within 30 s");
}

#[rocket::async_test]
async fn a_mining_run_killed_mid_way_is_interrupted_and_the_next_run_succeeds() {
    let dir = demo_dir();
    let db = file_db(&dir).await;
    let mut child = srm(&dir)
        .args(["mine", "run"])
        .spawn()
        .expect("run srm mine run");
    let killed = wait_running(&db, &mut child).await;
    child.kill().expect("kill -9");
    child.wait().expect("reaped");
    let at = std::time::Instant::now();

    // The next run is accepted once the dead run's lease (2 s) ran out.
    let accepted = loop {
        let out = srm(&dir)
            .args(["mine", "run", "--json"])
            .stderr(std::process::Stdio::piped())
            .output()
            .expect("run srm mine run");
        if out.status.success() {
            break at.elapsed();
        }
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(
            err.contains("in progress"),
            "only refused while the lease lasts: {err}"
        );
        assert!(
            at.elapsed() < Duration::from_secs(20),
            "still refused: {err}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let old = mining_runs::Entity::find_by_id(killed)
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(old.status, srm::entity::job_status::JobStatus::Interrupted);
    let why = old.interrupted_reason.unwrap_or_default();
    assert!(why.contains("stopped sending heartbeats"), "{why}");
    let done = mining_runs::Entity::find()
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.status == srm::entity::job_status::JobStatus::Done)
        .count();
    assert_eq!(
        done, 1,
        "the next run succeeded (accepted {accepted:?} after the kill)"
    );
    db.close().await.ok();
    std::fs::remove_dir_all(&dir).ok();
}

#[rocket::async_test]
async fn sigterm_marks_the_instances_running_job_interrupted_and_exits_0() {
    let dir = demo_dir();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let mut child = srm(&dir)
        .arg("serve")
        .env("ROCKET_ADDRESS", "127.0.0.1")
        .env("ROCKET_PORT", port.to_string())
        .spawn()
        .expect("run srm serve");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..300 {
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await
            && r.status().is_success()
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "the server became ready");
    let login: serde_json::Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"username": "admin", "password": DEMO_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().expect("token").to_string();
    let started = http
        .post(format!("{base}/api/v1/mining/runs"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"confirm": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status().as_u16(), 202);
    let db = file_db(&dir).await;
    let id = wait_running(&db, &mut child).await;

    let term = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("send SIGTERM");
    assert!(term.success());
    let mut status = None;
    for _ in 0..150 {
        if let Some(s) = child.try_wait().unwrap() {
            status = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let Some(status) = status else {
        child.kill().ok();
        panic!("the server did not stop within 15 s of SIGTERM");
    };
    assert!(status.success(), "exit status {status:?}");
    let run = mining_runs::Entity::find_by_id(id)
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.status, srm::entity::job_status::JobStatus::Interrupted);
    let why = run.interrupted_reason.unwrap_or_default();
    assert!(why.contains("shut down"), "{why}");
    db.close().await.ok();
    std::fs::remove_dir_all(&dir).ok();
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[rocket::async_test]
async fn two_instances_on_one_postgres_start_one_scheduled_run_per_period() {
    if postgres_url().is_none() {
        return;
    }
    let app = TestApp::new(Backend::Postgres).await;
    let url = app.config.database_url.clone().unwrap();
    let mut s = srm::mining::settings::get(app.db()).await.unwrap();
    s.schedule_hours = 1;
    srm::mining::settings::set(app.db(), app.people.admin, &s)
        .await
        .unwrap();
    let period = 3;
    let http = reqwest::Client::new();
    let mut children = Vec::new();
    for _ in 0..2 {
        let dir = std::env::temp_dir().join(format!("srm-ops-{}", uuid::Uuid::new_v4().simple()));
        let port = free_port();
        let child = srm(&dir)
            .arg("serve")
            .env("SRM_DATABASE_URL", &url)
            .env("SRM_SCHEDULE_PERIOD_SECONDS", period.to_string())
            .env("SRM_SCHEDULER_TICK_SECONDS", "1")
            .env("ROCKET_ADDRESS", "127.0.0.1")
            .env("ROCKET_PORT", port.to_string())
            .spawn()
            .expect("run srm serve");
        children.push((child, port, dir));
    }
    for (_, port, _) in &children {
        let mut ready = false;
        for _ in 0..300 {
            if let Ok(r) = http
                .get(format!("http://127.0.0.1:{port}/readyz"))
                .send()
                .await
                && r.status().is_success()
            {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(ready, "instance on port {port} became ready");
    }
    tokio::time::sleep(Duration::from_secs(11)).await;
    for (child, _, _) in &mut children {
        assert!(
            child.try_wait().unwrap().is_none(),
            "both instances ran throughout"
        );
        child.kill().ok();
        child.wait().ok();
    }
    let mut runs: Vec<mining_runs::Model> = mining_runs::Entity::find()
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.kind == "schedule")
        .collect();
    runs.sort_by_key(|r| r.started_at);
    assert!(runs.len() >= 2, "the schedule ran: {} runs", runs.len());
    for pair in runs.windows(2) {
        let gap = pair[1].started_at - pair[0].started_at;
        assert!(
            gap >= chrono::Duration::milliseconds(period * 1000 - 500),
            "two scheduled runs {gap} apart (runs {} and {})",
            pair[0].id,
            pair[1].id
        );
    }
    assert!(runs.iter().all(|r| r.started_by == Some(app.people.admin)));
    for (_, _, dir) in &children {
        std::fs::remove_dir_all(dir).ok();
    }
    if let Some(name) = app.pg_database.clone() {
        drop(app);
        drop_pg_database(&name).await;
    }
}

#[test]
fn connection_errors_are_503_and_other_database_errors_stay_500() {
    use sea_orm::{ConnAcquireErr, DbErr};
    use srm::error::AppError;
    let timeout = AppError::Db(DbErr::ConnectionAcquire(ConnAcquireErr::Timeout));
    assert_eq!(timeout.status(), Status::ServiceUnavailable);
    assert_eq!(timeout.code(), "unavailable");
    let closed = AppError::Db(DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed));
    assert_eq!(closed.status(), Status::ServiceUnavailable);
    let bug = AppError::Db(DbErr::Custom("column does not exist".into()));
    assert_eq!(bug.status(), Status::InternalServerError);
    assert_eq!(bug.code(), "internal");
}

#[rocket::async_test]
async fn metrics_are_served_in_prometheus_format_to_the_holder_of_the_token_only() {
    let dir = std::env::temp_dir().join(format!("srm-ops-{}", uuid::Uuid::new_v4().simple()));
    let config = srm::config::AppConfig {
        metrics_token: Some("scrape-token-0123456789".into()),
        ..crate::common::test_config(&dir, None)
    };
    let state = srm::prepare(config).await.unwrap();
    let client = rocket::local::asynchronous::Client::tracked(srm::build(
        crate::common::test_figment(),
        state,
    ))
    .await
    .unwrap();
    assert_eq!(client.get("/healthz").dispatch().await.status(), Status::Ok);
    client
        .post("/api/v1/auth/login")
        .header(rocket::http::ContentType::JSON)
        .body(r#"{"username":"nobody","password":"wrong-password"}"#)
        .dispatch()
        .await;

    assert_eq!(
        client.get("/metrics").dispatch().await.status(),
        Status::Forbidden
    );
    let wrong = client
        .get("/metrics")
        .header(Header::new("Authorization", "Bearer guess"))
        .dispatch()
        .await;
    assert_eq!(wrong.status(), Status::Forbidden);
    let res = client
        .get("/metrics")
        .header(Header::new(
            "Authorization",
            "Bearer scrape-token-0123456789",
        ))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    let text = res.into_string().await.unwrap();
    assert!(
        text.contains("srm_http_requests_total{") && text.contains("route=\"/healthz\""),
        "{text}"
    );
    assert!(
        text.contains("srm_http_request_duration_seconds_bucket{"),
        "{text}"
    );
    assert!(text.contains("srm_login_failures_total"), "{text}");
    assert!(text.contains("srm_db_pool_connections"), "{text}");
}
