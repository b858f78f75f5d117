//! A student's own data: "download my data" (a background build answered 202 until the archive
//! is ready) and "who has looked at my record" with the reason of each read.

use crate::common::{TestApp, hidden_value, on_each_backend};
use rocket::http::{ContentType, Header, Status};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::Value;
use srm::entity::{data_exports, job_leases, students};
use std::io::Read;

/// GETs the export until it answers 200; answers the archive and the last status seen.
async fn archive(app: &TestApp, token: &str) -> (Vec<u8>, Value) {
    let mut last = Value::Null;
    for _ in 0..400 {
        let res = app.get("/api/v1/me/export", Some(token)).await;
        match res.status() {
            Status::Ok => {
                assert_eq!(res.content_type(), Some(ContentType::ZIP));
                let disposition = res
                    .headers()
                    .get_one("Content-Disposition")
                    .unwrap_or_default();
                assert!(
                    disposition.starts_with("attachment; filename=\"my-data-"),
                    "{disposition}"
                );
                return (res.into_bytes().await.unwrap_or_default(), last);
            }
            Status::Accepted => {
                assert_eq!(res.headers().get_one("Retry-After"), Some("2"));
                last = res.into_json().await.unwrap_or(Value::Null);
                assert!(last["id"].as_i64().is_some(), "{last}");
            }
            other => panic!("export answered {other}"),
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the archive was not ready in time: {last}");
}

/// The files of a zip archive by name.
fn files(bytes: &[u8]) -> std::collections::BTreeMap<String, String> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip archive");
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).expect("entry");
            let mut text = String::new();
            f.read_to_string(&mut text).expect("utf-8 entry");
            (f.name().expect("entry name").to_string(), text)
        })
        .collect()
}

fn part(files: &std::collections::BTreeMap<String, String>, name: &str) -> Vec<Value> {
    let text = files
        .get(&format!("data/{name}.json"))
        .unwrap_or_else(|| panic!("no part {name} in {:?}", files.keys().collect::<Vec<_>>()));
    serde_json::from_str(text).expect("json part")
}

#[rocket::async_test]
async fn a_student_gets_everything_held_about_them_in_one_archive_and_nothing_of_anyone_else() {
    on_each_backend(|app| async move {
        let p = app.people.clone();
        // A teacher reads the record, so the archive has a staff read with its reason.
        let teacher = app.token(p.teacher).await;
        let (s, _) = app
            .get_json(
                &format!("/api/v1/students/{}", p.student_record),
                Some(&teacher),
            )
            .await;
        assert_eq!(s, Status::Ok);

        let token = app.token(p.student).await;
        let first = app.get("/api/v1/me/export", Some(&token)).await;
        assert_eq!(
            first.status(),
            Status::Accepted,
            "the first request starts a build"
        );
        // NOTE: the status of the first answer: on a fast run the archive is ready by the first
        // poll, and `archive` sees no status of its own.
        let started: Value = first.into_json().await.unwrap_or(Value::Null);
        let (bytes, polled) = archive(&app, &token).await;
        let status = if polled.is_null() { started } else { polled };
        let files = files(&bytes);
        assert!(files.contains_key("README.txt") && files.contains_key("manifest.json"));

        // Every table that holds rows of a student is in it, as JSON and as CSV.
        let tables = srm::backup::catalog::tables(app.db())
            .await
            .expect("catalogue");
        for t in &tables {
            let left_out = srm::privacy::archive::NOT_AS_IS
                .iter()
                .any(|(n, _)| *n == t.name);
            if t.column_index("student_id").is_some() && !left_out {
                assert!(
                    files.contains_key(&format!("data/{}.json", t.name)),
                    "{} is missing",
                    t.name
                );
                assert!(
                    files.contains_key(&format!("data/{}.csv", t.name)),
                    "{} has no CSV",
                    t.name
                );
            }
            // A table keyed by the account is either copied or left out with a reason.
            if t.column_index("user_id").is_some()
                && t.column_index("student_id").is_none()
                && t.name != "students"
            {
                let copied = srm::privacy::archive::BY_ACCOUNT.contains(&t.name.as_str());
                let excused = srm::privacy::archive::ACCOUNT_NOT_AS_IS
                    .iter()
                    .any(|(n, _)| *n == t.name);
                assert!(
                    copied || excused,
                    "{} keeps rows of an account and is neither exported nor excused",
                    t.name
                );
            }
        }

        let record = students::Entity::find_by_id(p.student_record)
            .one(app.db())
            .await
            .unwrap()
            .unwrap();
        let other = students::Entity::find_by_id(p.other_student_record)
            .one(app.db())
            .await
            .unwrap()
            .unwrap();
        let profile = part(&files, "profile");
        assert_eq!(profile.len(), 1);
        assert_eq!(profile[0]["student_no"], record.student_no.as_str());
        let enrolments = part(&files, "enrolments");
        assert!(
            enrolments.iter().any(|e| e["section_id"] == p.section),
            "{enrolments:?}"
        );
        let taken = part(&files, "sections_taken");
        assert!(taken.iter().any(|s| s["section_id"] == p.section));
        let account = part(&files, "account");
        assert_eq!(account.len(), 1);
        assert!(
            account[0].get("password_hash").is_none(),
            "no credential leaves the portal"
        );
        assert!(
            files.values().all(|f| !f.contains("$argon2")),
            "no password hash anywhere"
        );
        assert!(
            files.values().all(|f| !f.contains(&other.student_no)),
            "another student's number is in the archive"
        );
        let reads = part(&files, "record_reads");
        assert!(
            reads
                .iter()
                .any(|r| r["purpose"] == "teacher" && r["role"] == "teacher"),
            "{reads:?}"
        );

        // The status said which archive it is; the download is that one.
        use sha2::Digest;
        let digest: String = sha2::Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let row = data_exports::Entity::find()
            .filter(data_exports::Column::StudentId.eq(p.student_record))
            .one(app.db())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.sha256.as_deref(), Some(digest.as_str()));
        assert_eq!(Some(row.id), status["id"].as_i64());
        assert_eq!(app.audit_count("privacy.export.request", "ok").await, 1);
        assert!(app.audit_count("privacy.export.download", "ok").await >= 1);

        // Staff have no "my data" of a student's: a teacher gets nothing.
        let res = app.get("/api/v1/me/export", Some(&teacher)).await;
        assert_eq!(res.status(), Status::Forbidden);
    })
    .await;
}

#[rocket::async_test]
async fn a_build_is_never_started_twice_and_one_whose_instance_died_is_taken_over() {
    on_each_backend(|app| async move {
        let p = app.people.clone();
        let token = app.token(p.student).await;
        let now = chrono::Utc::now().fixed_offset();
        let row = data_exports::ActiveModel {
            student_id: Set(p.student_record),
            requested_by: Set(p.student),
            status: Set(srm::entity::job_status::JobStatus::Running),
            requested_at: Set(now),
            ..Default::default()
        }
        .insert(app.db())
        .await
        .unwrap();
        // Another instance is building it and renewing its lease.
        job_leases::ActiveModel {
            kind: Set(srm::jobs::DATA_EXPORT.into()),
            job_id: Set(row.id),
            holder: Set("other-host:4242:abcdef".into()),
            generation: Set(0),
            acquired_at: Set(now),
            heartbeat_at: Set(now),
            lease_until: Set(now + chrono::Duration::seconds(60)),
            cancel_requested: Set(false),
        }
        .insert(app.db())
        .await
        .unwrap();
        for _ in 0..3 {
            let (s, v) = app.get_json("/api/v1/me/export", Some(&token)).await;
            assert_eq!(s, Status::Accepted);
            assert_eq!(v["id"], row.id);
            assert_eq!(v["status"], "running");
        }
        let (s, _) = app
            .send_json(
                rocket::http::Method::Post,
                "/api/v1/me/export",
                Some(&token),
                Value::Null,
            )
            .await;
        assert_eq!(s, Status::Accepted);
        let count = || async {
            data_exports::Entity::find()
                .filter(data_exports::Column::StudentId.eq(p.student_record))
                .count(app.db())
                .await
                .unwrap()
        };
        assert_eq!(count().await, 1, "no second build while one is alive");

        // That instance dies: its lease runs out, and the next request finishes the work.
        job_leases::Entity::update_many()
            .col_expr(
                job_leases::Column::LeaseUntil,
                Expr::value(now - chrono::Duration::seconds(1)),
            )
            .filter(job_leases::Column::JobId.eq(row.id))
            .exec(app.db())
            .await
            .unwrap();
        let (bytes, status) = archive(&app, &token).await;
        assert_eq!(status["id"], row.id, "the same request, taken over");
        assert!(files(&bytes).contains_key("data/profile.json"));
        assert_eq!(count().await, 1);

        // An archive past its time is deleted, and asking again builds a fresh one.
        data_exports::Entity::update_many()
            .col_expr(
                data_exports::Column::ExpiresAt,
                Expr::value(now - chrono::Duration::days(1)),
            )
            .filter(data_exports::Column::Id.eq(row.id))
            .exec(app.db())
            .await
            .unwrap();
        let (s, v) = app.get_json("/api/v1/me/export", Some(&token)).await;
        assert_eq!(s, Status::Accepted);
        assert_ne!(v["id"], row.id);
        let old = data_exports::Entity::find_by_id(row.id)
            .one(app.db())
            .await
            .unwrap()
            .unwrap();
        assert!(old.archive.is_none(), "an expired archive is deleted");
        archive(&app, &token).await;
    })
    .await;
}

#[rocket::async_test]
async fn the_my_data_page_prepares_and_downloads_the_archive_in_both_languages() {
    on_each_backend(|app| async move {
        let p = app.people.clone();
        let token = app.token(p.student).await;
        let zh = app.page_in("/me/data", &token, "zh-CN").await;
        assert!(
            zh.contains("下载我的数据") && zh.contains("生成我的数据副本"),
            "{zh}"
        );
        let en = app.page_in("/me/data", &token, "en").await;
        assert!(en.contains("Prepare a copy of my data"));

        let csrf = app.page_login(p.student).await;
        // A forged form (no token) is refused before anything starts.
        let res = app
            .client
            .post("/me/data")
            .header(ContentType::Form)
            .body("")
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::Forbidden);
        assert_eq!(
            data_exports::Entity::find().count(app.db()).await.unwrap(),
            0
        );
        let res = app
            .client
            .post("/me/data")
            .header(ContentType::Form)
            .body(format!("_csrf={csrf}"))
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::SeeOther);
        assert_eq!(res.headers().get_one("Location"), Some("/me/data"));
        let mut page = String::new();
        for _ in 0..400 {
            page = app
                .client
                .get("/me/data")
                .header(Header::new("Accept-Language", "en"))
                .dispatch()
                .await
                .into_string()
                .await
                .unwrap_or_default();
            if page.contains("Your copy is ready") {
                break;
            }
            assert!(
                page.contains("http-equiv=\"refresh\""),
                "a page being prepared refreshes itself"
            );
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        assert!(page.contains("/me/data/download"), "{page}");
        assert!(
            hidden_value(&page, "_csrf").is_some(),
            "a fresh copy can be asked for"
        );
        let res = app.client.get("/me/data/download").dispatch().await;
        assert_eq!(res.status(), Status::Ok);
        assert_eq!(res.content_type(), Some(ContentType::ZIP));
        let bytes = res.into_bytes().await.unwrap_or_default();
        assert!(files(&bytes).contains_key("data/account.json"));
    })
    .await;
}

#[rocket::async_test]
async fn a_student_sees_why_each_member_of_staff_read_their_record() {
    on_each_backend(|app| async move {
        let p = app.people.clone();
        // The other teacher is the student's advisor; the teacher teaches them; the admin may
        // read every record.
        students::Entity::update_many()
            .col_expr(students::Column::AdvisorId, Expr::value(p.other_teacher))
            .filter(students::Column::Id.eq(p.student_record))
            .exec(app.db())
            .await
            .unwrap();
        for who in [p.other_teacher, p.teacher, p.admin] {
            let t = app.token(who).await;
            let (s, _) = app
                .get_json(&format!("/api/v1/students/{}", p.student_record), Some(&t))
                .await;
            assert_eq!(s, Status::Ok);
        }
        let token = app.token(p.student).await;
        let (s, v) = app.get_json("/api/v1/me/record/reads", Some(&token)).await;
        assert_eq!(s, Status::Ok);
        let purposes: Vec<&str> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r["purpose"].as_str())
            .collect();
        assert_eq!(purposes, ["records", "teacher", "advisor"], "{v}");
        let page = app.page_in("/me/record/reads", &token, "en").await;
        for words in [
            "As your advisor",
            "As a teacher of one of your courses",
            "Student records office",
        ] {
            assert!(page.contains(words), "{words} missing");
        }
        let page = app.page_in("/me/record/reads", &token, "zh-CN").await;
        assert!(page.contains("作为您的导师"));
    })
    .await;
}
