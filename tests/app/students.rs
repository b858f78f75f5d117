//! Student records: search and scope, edits and their history, the student's own page, bulk
//! import (every kind of bad row, encodings, idempotence, interruption), export → import, and
//! the lifecycle rules on hand-made records.

use crate::common::{Backend, TestApp, counting, on_each_backend, students_csv};
use chrono::{Duration, NaiveDate, Utc};
use rocket::http::{ContentType, Header, Method, Status};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::{Value, json};
use srm::entity::students::StudentStatus;
use srm::entity::{courses, grades, sections, student_history, students, terms};
use srm::students::lifecycle::{Calendar, Stage, TermAgg};

const HEADER: &str = "student_no,national_id,name_zh,name_en,gender,birth_date,phone,email,address,department,major,cohort,status,advisor";

async fn import(app: &TestApp, token: &str, body: Vec<u8>, dry_run: bool) -> (Status, Value) {
    let res = app
        .client
        .post(format!("/api/v1/students/import?dry_run={dry_run}"))
        .header(Header::new("Authorization", format!("Bearer {token}")))
        .header(ContentType::CSV)
        .body(body)
        .dispatch()
        .await;
    let status = res.status();
    (status, res.into_json().await.unwrap_or(Value::Null))
}

async fn add_student(app: &TestApp, token: &str, body: Value) -> i64 {
    let (s, v) = app
        .send_json(Method::Post, "/api/v1/students", Some(token), body)
        .await;
    assert_eq!(s, Status::Created, "{v}");
    v["id"].as_i64().expect("id")
}

fn numbers(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["student_no"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[rocket::async_test]
async fn staff_find_students_by_number_name_pinyin_and_national_id_with_filters_and_paging() {
    on_each_backend(|app| async move {
        let admin = app.token(app.people.admin).await;
        add_student(&app, &admin, json!({"student_no": "2024000010", "name_zh": "张伟", "name_en": "Zhang Wei",
            "national_id": "11010520000101001X", "major": "CS01", "cohort": 2024, "status": "suspended"})).await;
        add_student(&app, &admin, json!({"student_no": "2023000011", "name_zh": "李华强", "name_en": "Li Huaqiang",
            "major": "软件工程", "cohort": 2023})).await;

        let (s, all) = app.get_json("/api/v1/students", Some(&admin)).await;
        assert_eq!(s, Status::Ok);
        assert_eq!(all["total"], 4);
        let first = &all["items"][0];
        for key in ["id", "student_no", "name", "department", "major", "cohort", "status", "lifecycle_stage"] {
            assert!(!first[key].is_null(), "item carries {key}: {first}");
        }
        let q = |path: &str| {
            let app = &app;
            let admin = admin.clone();
            let path = path.to_string();
            async move { numbers(&app.get_json(&path, Some(&admin)).await.1) }
        };
        assert_eq!(q("/api/v1/students?q=%E6%9D%8E%E5%8D%8E").await, vec!["2023000011", "2025000001"], "Chinese partial");
        assert_eq!(q("/api/v1/students?q=lihua").await, vec!["2023000011", "2025000001"], "pinyin without spaces");
        assert_eq!(q("/api/v1/students?q=Hua%20Q").await, vec!["2023000011"], "pinyin partial, any case");
        assert_eq!(q("/api/v1/students?q=000002").await, vec!["2025000002"], "number partial");
        assert_eq!(q("/api/v1/students?q=11010520000101001x").await, vec!["2024000010"], "national id");
        assert_eq!(q("/api/v1/students?status=suspended").await, vec!["2024000010"]);
        assert_eq!(q("/api/v1/students?cohort=2023").await, vec!["2023000011"]);
        assert_eq!(q("/api/v1/students?stage=declining").await, vec!["2024000010"], "suspended is declining");
        assert!(q("/api/v1/students?sort=cohort&dir=desc").await[0].starts_with("2025"));
        assert_eq!(q("/api/v1/students?sort=cohort").await[0], "2023000011");
        let (_, page2) = app.get_json("/api/v1/students?per_page=3&page=2", Some(&admin)).await;
        assert_eq!((page2["total"].as_i64(), page2["page"].as_i64(), page2["per_page"].as_i64()), (Some(4), Some(2), Some(3)));
        assert_eq!(numbers(&page2).len(), 1);
        let (s, e) = app.get_json("/api/v1/students?stage=sleepy", Some(&admin)).await;
        assert_eq!((s, e["error"]["code"].as_str()), (Status::UnprocessableEntity, Some("invalid_parameter")));
        assert!(e["error"]["message"].as_str().is_some_and(|m| m.starts_with("stage must be one of")), "{e}");

        // The list page shows the same, with its filters.
        app.page_login(app.people.admin).await;
        let html = app.client.get("/students?q=lihua").dispatch().await.into_string().await.unwrap_or_default();
        assert!(html.contains("2023000011") && html.contains("2025000001") && !html.contains("2025000002"));
    })
    .await;
}

#[rocket::async_test]
async fn a_teacher_sees_only_students_of_their_sections_or_whom_they_advise() {
    on_each_backend(|app| async move {
        let p = app.people.clone();
        let teacher = app.token(p.teacher).await;
        let other = app.token(p.other_teacher).await;
        let admin = app.token(p.admin).await;
        let (s, list) = app.get_json("/api/v1/students", Some(&teacher)).await;
        assert_eq!(s, Status::Ok);
        assert_eq!(
            numbers(&list),
            vec!["2025000001"],
            "only the student in their section"
        );
        let (_, list) = app.get_json("/api/v1/students", Some(&other)).await;
        assert_eq!(list["total"], 0);
        assert_eq!(
            app.get(
                &format!("/api/v1/students/{}", p.other_student_record),
                Some(&other)
            )
            .await
            .status(),
            Status::Forbidden
        );

        // Becoming the advisor brings the student into scope.
        let (s, v) = app
            .send_json(
                Method::Patch,
                &format!("/api/v1/students/{}", p.other_student_record),
                Some(&admin),
                json!({"advisor": TestApp::username(p.other_teacher)}),
            )
            .await;
        assert_eq!(s, Status::Ok, "{v}");
        let (_, list) = app.get_json("/api/v1/students", Some(&other)).await;
        assert_eq!(numbers(&list), vec!["2025000002"]);
        assert_eq!(
            app.get(
                &format!("/api/v1/students/{}", p.other_student_record),
                Some(&other)
            )
            .await
            .status(),
            Status::Ok
        );
        // The export follows the same scope.
        let csv = app
            .get("/api/v1/students/export.csv", Some(&teacher))
            .await
            .into_string()
            .await
            .unwrap_or_default();
        assert!(csv.contains("2025000001") && !csv.contains("2025000002"));
        assert!(app.audit_count("students.read", "denied").await >= 1);
        assert!(app.audit_count("students.list", "ok").await >= 3);
    })
    .await;
}

#[rocket::async_test]
async fn a_student_cannot_list_students_and_reads_only_their_own_record() {
    let app = TestApp::new(Backend::Sqlite).await;
    let p = app.people.clone();
    let t = app.token(p.student).await;
    assert_eq!(
        app.get("/api/v1/students", Some(&t)).await.status(),
        Status::Forbidden
    );
    assert_eq!(
        app.get("/api/v1/students/export.csv", Some(&t))
            .await
            .status(),
        Status::Forbidden
    );
    assert_eq!(
        app.get(&format!("/api/v1/students/{}", p.student_record), Some(&t))
            .await
            .status(),
        Status::Ok
    );
    assert_eq!(
        app.get(
            &format!("/api/v1/students/{}", p.other_student_record),
            Some(&t)
        )
        .await
        .status(),
        Status::Forbidden
    );
    assert_eq!(app.audit_count("students.list", "denied").await, 2);
    let (s, me) = app.get_json("/api/v1/me/record", Some(&t)).await;
    assert_eq!(s, Status::Ok);
    assert_eq!(me["record"]["student_no"], "2025000001");
    assert_eq!(me["editable_fields"], json!(["phone", "email", "address"]));
}

#[rocket::async_test]
async fn staff_edits_are_kept_in_the_history_with_who_and_old_and_new() {
    on_each_backend(|app| async move {
        let p = app.people.clone();
        let admin = app.token(p.admin).await;
        let path = format!("/api/v1/students/{}", p.student_record);
        let (s, v) = app
            .send_json(
                Method::Patch,
                &path,
                Some(&admin),
                json!({"phone": "13800138000", "status": "suspended"}),
            )
            .await;
        assert_eq!(s, Status::Ok, "{v}");
        assert_eq!(v["status"], "suspended");
        assert_eq!(v["lifecycle_stage"], "declining");
        let (_, h) = app.get_json(&format!("{path}/history"), Some(&admin)).await;
        let fields: Vec<&str> = h
            .as_array()
            .expect("history")
            .iter()
            .map(|r| r["field"].as_str().unwrap_or_default())
            .collect();
        assert!(
            fields.contains(&"phone") && fields.contains(&"status"),
            "{h}"
        );
        let status_row = h
            .as_array()
            .expect("rows")
            .iter()
            .find(|r| r["field"] == "status")
            .expect("status row");
        assert_eq!(
            (
                status_row["old_value"].as_str(),
                status_row["new_value"].as_str()
            ),
            (Some("active"), Some("suspended"))
        );
        assert!(status_row["actor"].as_str().is_some_and(|a| a != "—"));
        assert_eq!(app.audit_count("students.update", "ok").await, 1);

        // Invalid input is refused field by field; nothing is written.
        let (s, e) = app
            .send_json(
                Method::Patch,
                &path,
                Some(&admin),
                json!({"email": "not-an-email", "cohort": "soon"}),
            )
            .await;
        assert_eq!(s, Status::UnprocessableEntity);
        let msg = e["error"]["message"].as_str().unwrap_or_default();
        assert!(msg.contains("email") && msg.contains("cohort"), "{msg}");
        let (s, e) = app
            .send_json(
                Method::Patch,
                &path,
                Some(&admin),
                json!({"student_no": "2025000002"}),
            )
            .await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (Status::Conflict, Some("taken"))
        );
        // Deactivating keeps the record, as withdrawn.
        let (s, v) = app
            .send_json(
                Method::Post,
                &format!("{path}/deactivate"),
                Some(&admin),
                json!({}),
            )
            .await;
        assert_eq!(
            (s, v["status"].as_str(), v["lifecycle_stage"].as_str()),
            (Status::Ok, Some("withdrawn"), Some("left"))
        );
        // The profile page shows the history.
        app.page_login(p.admin).await;
        let html = app
            .client
            .get(format!("/students/{}", p.student_record))
            .dispatch()
            .await
            .into_string()
            .await
            .unwrap_or_default();
        assert!(
            html.contains("13800138000") && html.contains("suspended → withdrawn"),
            "profile shows history"
        );
    })
    .await;
}

#[rocket::async_test]
async fn a_student_edits_only_the_allowed_fields_and_sees_errors_next_to_them() {
    let app = TestApp::new(Backend::Sqlite).await;
    let p = app.people.clone();
    let csrf = app.page_login(p.student).await;
    let page = app.client.get("/me/record").dispatch().await;
    assert_eq!(page.status(), Status::Ok);
    let res = app
        .client
        .post("/me/record")
        .header(ContentType::Form)
        .body(format!(
            "_csrf={csrf}&phone=12&email=bad&address=Room%20301"
        ))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::UnprocessableEntity);
    let html = res.into_string().await.unwrap_or_default();
    assert!(
        html.matches("field-error").count() >= 2,
        "an error next to phone and email"
    );
    let res = app.client.post("/me/record").header(ContentType::Form)
        .body(format!("_csrf={csrf}&phone=13900001111&email=li%40example.edu&address=Room%20301&name_zh=Hacker"))
        .dispatch().await;
    assert_eq!(res.status(), Status::SeeOther);
    let s = students::Entity::find_by_id(p.student_record)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (s.phone.as_deref(), s.email.as_deref(), s.name_zh.as_str()),
        (Some("13900001111"), Some("li@example.edu"), "李华")
    );
    let rows = student_history::Entity::find()
        .filter(student_history::Column::StudentId.eq(p.student_record))
        .count(app.db())
        .await
        .unwrap();
    assert_eq!(rows, 3);
    // Without the CSRF token the post is refused; over the API a non-allowed field is refused.
    let res = app
        .client
        .post("/me/record")
        .header(ContentType::Form)
        .body("phone=13900002222")
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Forbidden);
    let t = app.token(p.student).await;
    let (s, _) = app
        .send_json(
            Method::Patch,
            "/api/v1/me/record",
            Some(&t),
            json!({"cohort": 2020}),
        )
        .await;
    assert_eq!(s, Status::Forbidden);
    // The administrator narrows the list: the address is no longer editable.
    app.page_logout().await;
    let csrf = app.page_login(p.admin).await;
    let res = app
        .client
        .post("/students/settings")
        .header(ContentType::Form)
        .body(format!("_csrf={csrf}&fields=phone&fields=email"))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::SeeOther);
    let (s, _) = app
        .send_json(
            Method::Patch,
            "/api/v1/me/record",
            Some(&t),
            json!({"address": "elsewhere"}),
        )
        .await;
    assert_eq!(s, Status::Forbidden);
    let (s, _) = app
        .send_json(
            Method::Patch,
            "/api/v1/me/record",
            Some(&t),
            json!({"phone": "13900003333"}),
        )
        .await;
    assert_eq!(s, Status::Ok);
}

fn good_row(no: &str, name: &str) -> String {
    format!(
        "{no},,{name},Pin Yin,F,2005-03-04,13800000000,{no}@example.edu,Road 1,CS,CS01,2024,active,"
    )
}

#[rocket::async_test]
async fn import_reports_every_kind_of_bad_row_and_stores_the_good_ones() {
    on_each_backend(|app| async move {
        let admin = app.token(app.people.admin).await;
        // The existing student 2025000002 gets a national id that a new row will reuse.
        app.send_json(
            Method::Patch,
            &format!("/api/v1/students/{}", app.people.other_student_record),
            Some(&admin),
            json!({"national_id": "110105200001010022"}),
        )
        .await;
        let lines = [
            HEADER.to_string(),
            good_row("2024100001", "甲"), // 2 ok
            "2024100002,,,Pin Yin,F,,,,,,CS01,2024,,".to_string(), // 3 missing name
            "2024100003,,乙,,,,,,,,CS01,twenty,,".to_string(), // 4 wrong type
            "2024100004,,丙,,,2005-13-45,,,,,CS01,2024,,".to_string(), // 5 bad date
            "2024100005,,丁,,,,,,,,NOPE,2024,,".to_string(), // 6 unknown major
            good_row("2024100001", "甲二"), // 7 duplicate in file
            "2024100007,110105200001010022,戊,,,,,,,,CS01,2024,,".to_string(), // 8 duplicate national id
            format!("{},extra", good_row("2024100008", "己")),                 // 9 extra columns
            "2024100009,,庚,,,,,,,Physics,CS01,2024,,".to_string(), // 10 wrong department
        ];
        let body = lines.join("\n").into_bytes();
        let (s, dry) = import(&app, &admin, body.clone(), true).await;
        assert_eq!(s, Status::Ok, "{dry}");
        assert_eq!(
            (
                dry["read"].as_i64(),
                dry["added"].as_i64(),
                dry["rejected"].as_i64()
            ),
            (Some(9), Some(1), Some(8)),
            "{dry}"
        );
        assert_eq!(
            students::Entity::find().count(app.db()).await.unwrap(),
            2,
            "a dry run writes nothing"
        );

        let (s, r) = import(&app, &admin, body.clone(), false).await;
        assert_eq!(s, Status::Ok);
        assert_eq!(
            (
                r["read"].as_i64(),
                r["added"].as_i64(),
                r["updated"].as_i64(),
                r["unchanged"].as_i64(),
                r["rejected"].as_i64()
            ),
            (Some(9), Some(1), Some(0), Some(0), Some(8)),
            "{r}"
        );
        let rejected: Vec<(i64, String, String)> = r["rejected_rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                (
                    x["line"].as_i64().unwrap(),
                    x["column"].as_str().unwrap().to_string(),
                    x["reason"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let expect = [
            (3, "name_zh", "required"),
            (4, "cohort", "not a whole number"),
            (5, "birth_date", "not a date"),
            (6, "major", "unknown major"),
            (7, "student_no", "repeats line 2"),
            (8, "national_id", "belongs to student 2025000002"),
            (9, "#15", "extra columns"),
            (10, "department", "does not belong"),
        ];
        assert_eq!(rejected.len(), expect.len());
        for ((line, col, reason), (el, ec, er)) in rejected.iter().zip(expect) {
            assert_eq!((*line, col.as_str()), (el, ec), "{reason}");
            assert!(reason.contains(er), "line {line}: {reason}");
        }
        // The rejected rows download as CSV, with the reasons.
        let job = r["job_id"].as_i64().expect("job id");
        let csv = app
            .get(
                &format!("/students/import/jobs/{job}/rejected.csv"),
                Some(&admin),
            )
            .await
            .into_string()
            .await
            .unwrap_or_default();
        assert!(
            csv.starts_with('\u{feff}')
                && csv.contains("error_reason")
                && csv.contains("unknown major")
        );
        assert_eq!(app.audit_count("students.import", "ok").await, 1);
    })
    .await;
}

/// A file of new students is written a batch at a time without first reading the stored
/// students (issue 21: that read, one statement a batch, was most of what the import spent
/// beyond plain inserts on PostgreSQL). The same file again reads them for the rows the insert
/// left out, and finds each unchanged.
#[rocket::async_test]
async fn an_import_of_new_students_reads_no_stored_student_before_writing_them() {
    use srm::students::import::{Options, run};
    on_each_backend(|app| async move {
        let (counted, log) = counting(&app).await;
        let jobs = srm::jobs::Jobs::from_config(&app.config);
        let opts = Options {
            dry_run: false,
            actor: None,
        };
        let file = students_csv(2_500).into_bytes();
        let report = run(&counted, &jobs, file.clone(), opts, |_, _| {})
            .await
            .unwrap();
        assert_eq!((report.added, report.rejected), (2_500, 0));
        let statements = log.take();
        let count = |what: &dyn Fn(&str) -> bool| statements.iter().filter(|s| what(s)).count();
        let reads = count(&|s| s.starts_with("SELECT") && s.contains(r#"FROM "students""#));
        let inserts = count(&|s| s.starts_with(r#"INSERT INTO "students""#));
        assert_eq!((reads, inserts), (0, 3), "{statements:#?}");
        let created = || {
            student_history::Entity::find()
                .filter(student_history::Column::NewValue.eq("created (import)"))
                .count(app.db())
        };
        assert_eq!(created().await.unwrap(), 2_500);

        let again = run(&counted, &jobs, file, opts, |_, _| {}).await.unwrap();
        assert_eq!(
            (again.added, again.unchanged, again.updated, again.rejected),
            (0, 2_500, 0, 0)
        );
        assert_eq!(
            students::Entity::find().count(app.db()).await.unwrap(),
            2_502
        );
        assert_eq!(
            created().await.unwrap(),
            2_500,
            "no student was created twice"
        );
    })
    .await;
}

#[rocket::async_test]
async fn import_says_which_files_it_cannot_read() {
    let app = TestApp::new(Backend::Sqlite).await;
    let admin = app.token(app.people.admin).await;
    let (s, e) = import(&app, &admin, Vec::new(), false).await;
    assert_eq!(s, Status::UnprocessableEntity);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("empty")
    );
    let (s, r) = import(&app, &admin, format!("{HEADER}\n").into_bytes(), false).await;
    assert_eq!((s, r["read"].as_i64()), (Status::Ok, Some(0)));
    assert!(
        r["warnings"][0]
            .as_str()
            .unwrap_or_default()
            .contains("no rows")
    );
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend("student_no".encode_utf16().flat_map(|u| u.to_le_bytes()));
    let (s, e) = import(&app, &admin, utf16, false).await;
    assert_eq!(s, Status::UnprocessableEntity);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("UTF-16")
    );
    let (s, e) = import(
        &app,
        &admin,
        b"student_no,name_zh\n\xff\xff\xff,x\n".to_vec(),
        false,
    )
    .await;
    assert_eq!(s, Status::UnprocessableEntity);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("UTF-8 or GBK"),
        "{e}"
    );
    let (s, e) = import(
        &app,
        &admin,
        b"student_no,name_zh\n2024000001,x\n".to_vec(),
        false,
    )
    .await;
    assert_eq!(s, Status::UnprocessableEntity);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("major, cohort"),
        "{e}"
    );
}

#[rocket::async_test]
async fn import_accepts_gbk_with_semicolons_and_chinese_headers() {
    let app = TestApp::new(Backend::Sqlite).await;
    let admin = app.token(app.people.admin).await;
    let text =
        "学号;姓名;拼音;专业;年级;状态;性别\n2024200001;赵敏;Zhao Min;软件工程;2024;在读;女\n";
    let (gbk, _, bad) = encoding_rs::GBK.encode(text);
    assert!(!bad);
    let (s, r) = import(&app, &admin, gbk.into_owned(), false).await;
    assert_eq!(s, Status::Ok, "{r}");
    assert_eq!(
        (
            r["encoding"].as_str(),
            r["delimiter"].as_str(),
            r["added"].as_i64()
        ),
        (Some("GBK"), Some(";"), Some(1)),
        "{r}"
    );
    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend(text.replace(';', ",").as_bytes());
    let (_, r) = import(&app, &admin, bom, false).await;
    assert_eq!(
        (r["encoding"].as_str(), r["unchanged"].as_i64()),
        (Some("UTF-8 (BOM)"), Some(1)),
        "{r}"
    );
    let (_, list) = app
        .get_json("/api/v1/students?q=zhaomin", Some(&admin))
        .await;
    assert_eq!(list["items"][0]["name_zh"], "赵敏");
    assert!(list["items"][0]["lifecycle_stage"].is_string());
}

fn many_rows(n: usize) -> Vec<u8> {
    let mut s = String::from(HEADER);
    for i in 0..n {
        s.push('\n');
        s.push_str(&format!("2030{i:06},1101052000{i:07}X,学生{i},Xue Sheng {i},M,2004-01-02,138{i:08},s{i}@example.edu,\"Dorm {i}, Room 1\",CS,CS01,2030,active,"));
    }
    s.into_bytes()
}

#[rocket::async_test]
async fn reimport_changes_nothing_and_an_export_imports_back_unchanged() {
    on_each_backend(|app| async move {
        let admin = app.token(app.people.admin).await;
        let body = many_rows(1200);
        let (_, r) = import(&app, &admin, body.clone(), false).await;
        assert_eq!(
            (r["read"].as_i64(), r["added"].as_i64()),
            (Some(1200), Some(1200)),
            "{r}"
        );
        let (_, r) = import(&app, &admin, body, false).await;
        assert_eq!(
            (
                r["unchanged"].as_i64(),
                r["added"].as_i64(),
                r["updated"].as_i64()
            ),
            (Some(1200), Some(0), Some(0))
        );

        let csv = app
            .get("/api/v1/students/export.csv", Some(&admin))
            .await
            .into_bytes()
            .await
            .unwrap_or_default();
        assert!(csv.starts_with(&[0xEF, 0xBB, 0xBF]), "BOM for Excel");
        let (_, r) = import(&app, &admin, csv.clone(), false).await;
        assert_eq!(
            (r["read"].as_i64(), r["unchanged"].as_i64()),
            (Some(1202), Some(1202)),
            "{r}"
        );
        let (_, j) = app
            .get_json("/api/v1/students/export.json?cohort=2030", Some(&admin))
            .await;
        assert_eq!(j.as_array().map(Vec::len), Some(1200));

        // A changed row updates that student, with history.
        let text = String::from_utf8(csv)
            .unwrap()
            .replace("Dorm 7, Room 1", "Dorm 7, Room 9");
        let (_, r) = import(&app, &admin, text.into_bytes(), false).await;
        assert_eq!(
            (r["updated"].as_i64(), r["unchanged"].as_i64()),
            (Some(1), Some(1201))
        );
        let s = students::Entity::find()
            .filter(students::Column::StudentNo.eq("2030000007"))
            .one(app.db())
            .await
            .unwrap()
            .unwrap();
        let h = student_history::Entity::find()
            .filter(student_history::Column::StudentId.eq(s.id))
            .filter(student_history::Column::Field.eq("address"))
            .one(app.db())
            .await
            .unwrap()
            .expect("history");
        assert_eq!(h.new_value.as_deref(), Some("Dorm 7, Room 9"));
    })
    .await;
}

#[rocket::async_test]
async fn an_interrupted_import_leaves_no_half_written_student_and_rerunning_completes_it() {
    let app = TestApp::new(Backend::Sqlite).await;
    let db = app.db().clone();
    let body = many_rows(2000);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let task = tokio::spawn({
        let db = db.clone();
        let body = body.clone();
        async move {
            let opts = srm::students::import::Options {
                dry_run: false,
                actor: None,
            };
            srm::students::import::run(
                &db,
                &srm::jobs::Jobs::default(),
                body,
                opts,
                move |done, _| {
                    let _ = tx.send(done);
                },
            )
            .await
        }
    });
    // Kill it as soon as the first batch is stored (the next batch's transaction is rolled back).
    let first = rx.recv().await.expect("one batch stored");
    task.abort();
    let _ = task.await;
    let batch = srm::students::import::BATCH as u64;
    assert_eq!(first, batch);
    let stored = students::Entity::find()
        .filter(students::Column::CohortYear.eq(2030))
        .count(&db)
        .await
        .unwrap();
    assert!(
        stored >= batch && stored % batch == 0,
        "only whole batches are stored: {stored}"
    );
    let created = student_history::Entity::find()
        .filter(student_history::Column::Field.eq("record"))
        .count(&db)
        .await
        .unwrap();
    assert_eq!(created, stored, "no student without its history row");

    let admin = app.token(app.people.admin).await;
    let (_, r) = import(&app, &admin, body, false).await;
    assert_eq!(r["read"].as_i64(), Some(2000));
    assert_eq!(r["unchanged"].as_i64(), Some(stored as i64), "{r}");
    assert_eq!(r["added"].as_i64(), Some(2000 - stored as i64));
    assert_eq!(
        students::Entity::find()
            .filter(students::Column::CohortYear.eq(2030))
            .count(&db)
            .await
            .unwrap(),
        2000
    );
}

#[rocket::async_test]
async fn the_upload_page_previews_then_imports_and_shows_the_report() {
    let app = TestApp::new(Backend::Sqlite).await;
    let csrf = app.page_login(app.people.admin).await;
    let csv = format!(
        "{HEADER}\n{}\n2024300002,,,,,,,,,,CS01,2024,,\n",
        good_row("2024300001", "页")
    );
    let multipart = |dry: bool| {
        let b = "XBOUNDARYX";
        let mut s =
            format!("--{b}\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{csrf}\r\n");
        s.push_str(&format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"dry_run\"\r\n\r\n{dry}\r\n"
        ));
        s.push_str(&format!("--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"s.csv\"\r\nContent-Type: text/csv\r\n\r\n{csv}\r\n--{b}--\r\n"));
        s
    };
    let ct = ContentType::new("multipart", "form-data").with_params(("boundary", "XBOUNDARYX"));
    let res = app
        .client
        .post("/students/import")
        .header(ct.clone())
        .body(multipart(true))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    let html = res.into_string().await.unwrap_or_default();
    assert!(
        html.contains("<td>姓名</td>") && html.contains("姓名：必填"),
        "preview lists the bad row by the column's name, in the page's language: {html}"
    );
    let res = app
        .client
        .post("/students/import")
        .header(ct)
        .body(multipart(false))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::SeeOther);
    let job = res
        .headers()
        .get_one("Location")
        .unwrap_or_default()
        .to_string();
    let mut html = String::new();
    for _ in 0..50 {
        html = app
            .client
            .get(job.clone())
            .dispatch()
            .await
            .into_string()
            .await
            .unwrap_or_default();
        if !html.contains("http-equiv=\"refresh\"") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        html.contains("姓名：必填") && html.contains("rejected.csv"),
        "the job page shows the report"
    );
    assert_eq!(
        students::Entity::find()
            .filter(students::Column::StudentNo.eq("2024300001"))
            .count(app.db())
            .await
            .unwrap(),
        1
    );
}

// ---------------------------------------------------------------- lifecycle

fn term(seq: i64, starts: NaiveDate, current: bool) -> terms::Model {
    let at = Utc::now().fixed_offset();
    terms::Model {
        id: seq,
        code: format!("t{seq}"),
        name_zh: format!("学期{seq}"),
        name_en: format!("Term {seq}"),
        seq,
        starts_on: starts,
        ends_on: starts + Duration::days(120),
        registration_opens_at: at,
        registration_closes_at: at,
        add_drop_deadline: at,
        credit_limit: 25.0,
        is_current: current,
    }
}

fn agg(seq: i64, gpa: f64, failed: i64) -> TermAgg {
    TermAgg {
        term_seq: seq,
        quality_points: gpa * 10.0,
        credits: 10.0,
        failed,
    }
}

#[test]
fn lifecycle_rules_on_hand_made_records() {
    let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
    // Fall 2024, spring 2025, fall 2025, spring 2026 (current).
    let all = vec![
        term(1, d(2024, 9, 1), false),
        term(2, d(2025, 2, 20), false),
        term(3, d(2025, 9, 1), false),
        term(4, d(2026, 2, 20), true),
    ];
    let cal = Calendar::from_terms(&all, d(2026, 3, 1));
    assert_eq!(cal.stage(StudentStatus::Withdrawn, 2024, &[]), Stage::Left);
    assert_eq!(
        cal.stage(StudentStatus::Graduated, 2020, &[]),
        Stage::Graduated
    );
    assert_eq!(
        cal.stage(StudentStatus::Suspended, 2024, &[]),
        Stage::Declining
    );
    assert_eq!(
        cal.stage(StudentStatus::Active, 2025, &[]),
        Stage::Forming,
        "second term of the first year"
    );
    assert_eq!(
        cal.stage(
            StudentStatus::Active,
            2024,
            &[agg(1, 3.0, 0), agg(2, 3.2, 0), agg(3, 3.1, 0)]
        ),
        Stage::Stable
    );
    assert_eq!(
        cal.stage(
            StudentStatus::Active,
            2024,
            &[agg(1, 3.6, 0), agg(2, 3.1, 0), agg(3, 2.4, 0)]
        ),
        Stage::Declining,
        "falling two terms running"
    );
    assert_eq!(
        cal.stage(
            StudentStatus::Active,
            2024,
            &[agg(1, 3.6, 0), agg(2, 3.1, 0), agg(3, 3.3, 0)]
        ),
        Stage::Stable,
        "one fall is not a trend"
    );
    assert_eq!(
        cal.stage(
            StudentStatus::Active,
            2024,
            &[agg(1, 3.0, 0), agg(3, 3.0, 1)]
        ),
        Stage::Declining,
        "failed last term"
    );
    assert_eq!(
        cal.stage(
            StudentStatus::Active,
            2024,
            &[agg(1, 3.0, 1), agg(3, 3.0, 0)]
        ),
        Stage::Stable,
        "an old failure no longer counts"
    );
    // In the first term of the academic year, that year's cohort is new.
    let fall = Calendar::from_terms(
        &all[..3]
            .iter()
            .cloned()
            .map(|mut t| {
                t.is_current = t.seq == 3;
                t
            })
            .collect::<Vec<_>>(),
        d(2025, 10, 1),
    );
    assert_eq!(fall.stage(StudentStatus::Active, 2025, &[]), Stage::New);
    assert_eq!(fall.stage(StudentStatus::Active, 2024, &[]), Stage::Stable);
    assert_eq!(srm::students::lifecycle::gpa(0.0, 0.0), None);
}

#[rocket::async_test]
async fn lifecycle_stages_come_from_grades_in_the_database_and_filter_the_list() {
    on_each_backend(|app| async move {
        let db = app.db().clone();
        let admin = app.token(app.people.admin).await;
        // Three earlier terms, each over a year apart from the next (so each is its own year).
        let today = Utc::now().date_naive();
        let course = courses::Entity::find().one(&db).await.unwrap().unwrap();
        let mut past_sections = Vec::new();
        for (i, days) in [(0i64, 1100i64), (1, 730), (2, 400)] {
            let now = Utc::now().fixed_offset();
            let t = terms::ActiveModel {
                code: Set(format!("past{i}")), name_zh: Set(format!("过去{i}")), name_en: Set(format!("Past {i}")),
                seq: Set(-10 + i), starts_on: Set(today - Duration::days(days)), ends_on: Set(today - Duration::days(days - 120)),
                registration_opens_at: Set(now), registration_closes_at: Set(now), add_drop_deadline: Set(now),
                credit_limit: Set(25.0), is_current: Set(false), ..Default::default()
            }.insert(&db).await.unwrap();
            let s = sections::ActiveModel {
                term_id: Set(t.id), course_id: Set(course.id), section_no: Set("01".into()), teacher_id: Set(Some(app.people.teacher)),
                capacity: Set(30), waitlist_capacity: Set(0), enrolled_count: Set(0), room: Set("B1".into()), ..Default::default()
            }.insert(&db).await.unwrap();
            past_sections.push(s.id);
        }
        let old_cohort = 2000;
        let stable = add_student(&app, &admin, json!({"student_no": "2000000001", "name_zh": "稳", "major": "CS01", "cohort": old_cohort})).await;
        let falling = add_student(&app, &admin, json!({"student_no": "2000000002", "name_zh": "降", "major": "CS01", "cohort": old_cohort})).await;
        let failed = add_student(&app, &admin, json!({"student_no": "2000000003", "name_zh": "挂", "major": "CS01", "cohort": old_cohort})).await;
        let gone = add_student(&app, &admin, json!({"student_no": "2000000004", "name_zh": "走", "major": "CS01", "cohort": old_cohort, "status": "withdrawn"})).await;
        let grade = |student: i64, section: i64, score: f64, points: f64| {
            let db = db.clone();
            async move {
                grades::ActiveModel {
                    section_id: Set(section), student_id: Set(student), score: Set(score), letter: Set("X".into()), points: Set(points),
                    status: Set(grades::GradeStatus::Published), entered_by: Set(None), updated_at: Set(Utc::now().fixed_offset()),
                    published_at: Set(Some(Utc::now().fixed_offset())), ..Default::default()
                }.insert(&db).await.unwrap();
            }
        };
        for (i, sec) in past_sections.iter().enumerate() {
            grade(stable, *sec, 85.0, 3.5).await;
            grade(falling, *sec, 90.0 - 10.0 * i as f64, 4.0 - i as f64).await;
            grade(failed, *sec, if i == 2 { 40.0 } else { 80.0 }, if i == 2 { 0.0 } else { 3.0 }).await;
        }
        let stage = |id: i64| {
            let app = &app;
            let admin = admin.clone();
            async move { app.get_json(&format!("/api/v1/students/{id}"), Some(&admin)).await.1["lifecycle_stage"].as_str().unwrap_or_default().to_string() }
        };
        assert_eq!(stage(stable).await, "stable");
        assert_eq!(stage(falling).await, "declining");
        assert_eq!(stage(failed).await, "declining");
        assert_eq!(stage(gone).await, "left");
        let (_, list) = app.get_json("/api/v1/students?stage=declining&sort=student_no", Some(&admin)).await;
        assert_eq!(numbers(&list), vec!["2000000002", "2000000003"]);
        let (_, list) = app.get_json("/api/v1/students?stage=stable&cohort=2000", Some(&admin)).await;
        assert_eq!(numbers(&list), vec!["2000000001"]);
        let (_, list) = app.get_json("/api/v1/students?stage=left", Some(&admin)).await;
        assert_eq!(numbers(&list), vec!["2000000004"]);

        // The profile page shows the grades per term and the GPA trend chart.
        app.page_login(app.people.admin).await;
        let html = app.client.get(format!("/students/{falling}")).dispatch().await.into_string().await.unwrap_or_default();
        assert!(html.contains("<svg") && html.contains("GPA 2.00"), "GPA chart and term GPA");
        let help = app.client.get("/students/lifecycle").dispatch().await.into_string().await.unwrap_or_default();
        assert!(help.contains("declining"));
    })
    .await;
}

#[rocket::async_test]
async fn a_merged_login_account_opens_the_surviving_record_at_once() {
    on_each_backend(|app| async move {
        let p = app.people.clone();
        let admin = app.token(p.admin).await;
        let student = app.token(p.student).await;
        let (s, mine) = app.get_json("/api/v1/me/record", Some(&student)).await;
        assert_eq!(
            (s, mine["record"]["id"].as_i64()),
            (Status::Ok, Some(p.student_record)),
            "{mine}"
        );
        // A record entered by the registry without an account survives; the duplicate is the
        // one the student signs in with.
        let keep = add_student(
            &app,
            &admin,
            json!({"student_no": "2025999002", "name_zh": "王芳", "name_en": "Wang Fang",
            "major": "CS01", "cohort": 2025}),
        )
        .await;
        let (s, report) = app
            .send_json(
                Method::Post,
                &format!("/api/v1/students/{keep}/merge"),
                Some(&admin),
                json!({"duplicate_id": p.student_record}),
            )
            .await;
        assert_eq!(s, Status::Ok, "{report}");
        // The old session would open the retired record: it ends, on this and every instance.
        let (s, _) = app.get_json("/api/v1/me/record", Some(&student)).await;
        assert_eq!(s, Status::Unauthorized);
        let again = app.token(p.student).await;
        let (s, mine) = app.get_json("/api/v1/me/record", Some(&again)).await;
        assert_eq!(
            (s, mine["record"]["id"].as_i64()),
            (Status::Ok, Some(keep)),
            "{mine}"
        );
    })
    .await;
}

#[rocket::async_test]
async fn staff_merge_two_records_of_one_person_keeping_both_histories() {
    on_each_backend(|app| async move {
        let db = app.db();
        let p = app.people.clone();
        let admin = app.token(p.admin).await;
        let keep = p.student_record;
        let dup = add_student(&app, &admin, json!({"student_no": "2025999001", "name_zh": "李华", "name_en": "Li Hua",
            "national_id": "110105200001010027", "phone": "13800000000", "major": "CS01", "cohort": 2025})).await;
        // Both in the same section: a person has to decide first; nothing moves.
        let reg = srm::registration::service::add(db, dup, p.section, None).await.unwrap();
        let (s, _) = app.send_json(Method::Post, &format!("/api/v1/students/{dup}/holds"), Some(&admin), json!({"reason": "fees"})).await;
        assert_eq!(s, Status::Created);
        let (s, e) = app.send_json(Method::Post, &format!("/api/v1/students/{keep}/merge"), Some(&admin), json!({"duplicate_id": dup})).await;
        assert_eq!((s, e["error"]["code"].as_str()), (Status::Conflict, Some("merge_clash")), "{e}");
        assert!(e["error"]["message"].as_str().unwrap().contains("enrolments"));
        let (_, holds) = app.get_json(&format!("/api/v1/students/{dup}/holds"), Some(&admin)).await;
        assert_eq!(holds.as_array().unwrap().len(), 1, "the refused merge moved nothing");
        srm::registration::service::drop(db, dup, reg.id, None).await.unwrap();
        // The duplicate's everyday traces: an absence and a day of learning-platform activity.
        let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        let now = chrono::Utc::now().fixed_offset();
        srm::entity::attendance::ActiveModel { section_id: Set(p.section), student_id: Set(dup), held_on: Set(day),
            status: Set("absent".into()), source: Set("roll".into()), recorded_by: Set(None), recorded_at: Set(now), ..Default::default() }
            .insert(db).await.unwrap();
        srm::entity::learning_activity::ActiveModel { student_id: Set(dup), section_id: Set(p.section), day: Set(day),
            kind: Set("all".into()), count: Set(7), ..Default::default() }
            .insert(db).await.unwrap();

        let (s, e) = app.send_json(Method::Post, &format!("/api/v1/students/{keep}/merge"), Some(&admin), json!({"duplicate_id": keep})).await;
        assert_eq!((s, e["error"]["code"].as_str()), (Status::UnprocessableEntity, Some("same_record")));
        let (_, before) = app.get_json("/api/v1/students", Some(&admin)).await;
        let (s, report) = app.send_json(Method::Post, &format!("/api/v1/students/{keep}/merge"), Some(&admin), json!({"duplicate_id": dup})).await;
        assert_eq!(s, Status::Ok, "{report}");
        assert!(report["filled_fields"].as_array().unwrap().iter().any(|f| f == "national_id"));

        // Everything the duplicate had is now the survivor's, its history included.
        let (_, holds) = app.get_json(&format!("/api/v1/students/{keep}/holds"), Some(&admin)).await;
        assert_eq!(holds.as_array().unwrap().len(), 1);
        let marks = srm::entity::attendance::Entity::find().filter(srm::entity::attendance::Column::StudentId.eq(keep)).all(db).await.unwrap();
        assert_eq!(marks.len(), 1, "the absence moved to the survivor");
        let active = srm::entity::learning_activity::Entity::find().filter(srm::entity::learning_activity::Column::StudentId.eq(keep)).all(db).await.unwrap();
        assert_eq!(active.len(), 1, "the activity moved to the survivor");
        let moved: Vec<&str> = report["moved"].as_array().unwrap().iter().filter_map(|m| m["table"].as_str()).collect();
        assert!(moved.contains(&"attendance") && moved.contains(&"learning_activity"), "{moved:?}");
        let survivor = students::Entity::find_by_id(keep).one(db).await.unwrap().unwrap();
        assert_eq!(survivor.national_id.as_deref(), Some("110105200001010027"));
        let gone = students::Entity::find_by_id(dup).one(db).await.unwrap().unwrap();
        assert_eq!((gone.merged_into_id, gone.national_id), (Some(keep), None));
        let fields: Vec<String> = student_history::Entity::find().filter(student_history::Column::StudentId.eq(keep))
            .all(db).await.unwrap().into_iter().map(|h| h.field).collect();
        assert!(fields.contains(&"merged_from".to_string()) && fields.contains(&"record".to_string()), "{fields:?}");
        assert!(fields.iter().filter(|f| *f == "record").count() >= 1, "the duplicate's creation moved over");
        let (_, after) = app.get_json("/api/v1/students", Some(&admin)).await;
        assert_eq!(after["total"].as_i64().unwrap(), before["total"].as_i64().unwrap() - 1, "merged records leave the lists");
        assert_eq!(app.audit_count("students.merge", "ok").await, 1);
        let (s, e) = app.send_json(Method::Post, &format!("/api/v1/students/{keep}/merge"), Some(&admin), json!({"duplicate_id": dup})).await;
        assert_eq!((s, e["error"]["code"].as_str()), (Status::Conflict, Some("already_merged")));

        // The merged record's page points to the survivor; the merge page compares two records.
        app.page_login(p.admin).await;
        let page = app.client.get(format!("/students/{dup}")).header(Header::new("Accept-Language", "en")).dispatch().await.into_string().await.unwrap();
        assert!(page.contains("This record was merged into") && page.contains(&format!("/students/{keep}\"")));
        let page = app.client.get(format!("/students/{keep}/merge?duplicate=2025999001")).dispatch().await.into_string().await.unwrap();
        assert!(page.contains("110105200001010027"));
        // A teacher cannot merge.
        let teacher = app.token(p.teacher).await;
        let (s, _) = app.send_json(Method::Post, &format!("/api/v1/students/{keep}/merge"), Some(&teacher), json!({"duplicate_id": dup})).await;
        assert_eq!(s, Status::Forbidden);
    })
    .await;
}

/// Found by schemathesis: once a mining run had flagged both records, merging them answered
/// 500 (the duplicate's flag moved onto the survivor's one flag of that run). Each record now
/// keeps its own flag of a run that flagged both; a run that flagged only the duplicate passes
/// its flag to the survivor.
#[rocket::async_test]
async fn a_merge_of_two_records_flagged_by_one_run_keeps_each_flag() {
    use srm::entity::risk_flags;
    on_each_backend(|app| async move {
        let db = app.db();
        let p = app.people.clone();
        let admin = app.token(p.admin).await;
        let keep = p.student_record;
        let dup = add_student(
            &app,
            &admin,
            json!({"student_no": "2025999002", "name_zh": "王芳", "name_en": "Wang Fang",
            "major": "CS01", "cohort": 2025}),
        )
        .await;
        let now = chrono::Utc::now().fixed_offset();
        let mut runs = Vec::new();
        for _ in 0..2 {
            runs.push(crate::common::finished_risk_run(db, now).await.id);
        }
        // The first run flagged both records, the second only the duplicate.
        for (run, student, score) in [
            (runs[0], keep, 81.0),
            (runs[0], dup, 62.0),
            (runs[1], dup, 70.0),
        ] {
            crate::common::risk_flag(db, run, student, score, "high").await;
        }
        let (s, report) = app
            .send_json(
                Method::Post,
                &format!("/api/v1/students/{keep}/merge"),
                Some(&admin),
                json!({"duplicate_id": dup}),
            )
            .await;
        assert_eq!(s, Status::Ok, "{report}");
        let moved: Vec<(&str, i64)> = report["moved"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| Some((m["table"].as_str()?, m["rows"].as_i64()?)))
            .collect();
        assert!(moved.contains(&("risk_flags", 1)), "{moved:?}");
        let flags = |student: i64| async move {
            let mut f: Vec<(i64, f64)> = risk_flags::Entity::find()
                .filter(risk_flags::Column::StudentId.eq(student))
                .all(db)
                .await
                .unwrap()
                .into_iter()
                .map(|f| (f.run_id, f.score))
                .collect();
            f.sort_by_key(|(run, _)| *run);
            f
        };
        assert_eq!(flags(keep).await, vec![(runs[0], 81.0), (runs[1], 70.0)]);
        assert_eq!(
            flags(dup).await,
            vec![(runs[0], 62.0)],
            "the merged record keeps its flag of the run that flagged both"
        );
    })
    .await;
}

#[rocket::async_test]
async fn administrators_choose_the_self_editable_fields_over_the_api() {
    let app = TestApp::new(Backend::Sqlite).await;
    let admin = app.token(app.people.admin).await;
    let (s, v) = app
        .get_json("/api/v1/students/settings", Some(&admin))
        .await;
    assert_eq!(s, Status::Ok);
    assert_eq!(v["self_editable"], json!(["phone", "email", "address"]));
    let (s, e) = app
        .send_json(
            Method::Put,
            "/api/v1/students/settings",
            Some(&admin),
            json!({"self_editable": ["phone", "national_id"]}),
        )
        .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (Status::UnprocessableEntity, Some("invalid_field"))
    );
    let (s, v) = app
        .send_json(
            Method::Put,
            "/api/v1/students/settings",
            Some(&admin),
            json!({"self_editable": ["email"]}),
        )
        .await;
    assert_eq!(
        (s, v["self_editable"].clone()),
        (Status::Ok, json!(["email"]))
    );
    let student = app.token(app.people.student).await;
    let (s, e) = app
        .send_json(
            Method::Patch,
            "/api/v1/me/record",
            Some(&student),
            json!({"phone": "13900000000"}),
        )
        .await;
    assert_eq!(
        s,
        Status::Forbidden,
        "phone is no longer the student's to edit: {e}"
    );
}

#[rocket::async_test]
async fn registrars_create_accounts_in_bulk_and_students_activate_them_with_their_code_and_national_id()
 {
    on_each_backend(|app| async move {
        let db = app.db();
        let admin = app.token(app.people.admin).await;
        let with_nid = add_student(&app, &admin, json!({"student_no": "2026000101", "name_zh": "王芳", "name_en": "Wang Fang",
            "national_id": "11010520060101002X", "major": "CS01", "cohort": 2026})).await;
        let with_birth = add_student(&app, &admin, json!({"student_no": "2026000102", "name_zh": "赵磊", "name_en": "Zhao Lei",
            "birth_date": "2006-03-04", "major": "CS01", "cohort": 2026})).await;
        let teacher = app.token(app.people.teacher).await;
        let (s, _) = app.send_json(Method::Post, "/api/v1/students/accounts", Some(&teacher), json!({})).await;
        assert_eq!(s, Status::Forbidden);
        let (s, report) = app.send_json(Method::Post, "/api/v1/students/accounts", Some(&admin), json!({})).await;
        assert_eq!(s, Status::Ok, "{report}");
        assert!(report["created"].as_i64().unwrap() >= 2);
        let code_of = |no: &str| report["letters"].as_array().unwrap().iter()
            .find(|l| l["student_no"] == no).map(|l| l["code"].as_str().unwrap().to_string()).unwrap();
        let (code1, code2) = (code_of("2026000101"), code_of("2026000102"));
        for id in [with_nid, with_birth] {
            assert!(students::Entity::find_by_id(id).one(db).await.unwrap().unwrap().user_id.is_some());
        }
        let (_, again) = app.send_json(Method::Post, "/api/v1/students/accounts", Some(&admin), json!({})).await;
        assert_eq!(again["created"], 0, "a second run creates nothing");

        // No password yet: logging in fails like any wrong password (never a server error).
        let (s, _) = app.send_json(Method::Post, "/api/v1/auth/login", None, json!({"username": "2026000101", "password": "anything-at-all"})).await;
        assert_eq!(s, Status::Unauthorized);
        let activate = |nid: &str| json!({"student_no": "2026000101", "code": code1, "national_id": nid, "new_password": "my-own-pass-1"});
        let (s, e) = app.send_json(Method::Post, "/api/v1/auth/activate", None, activate("110105200601010000")).await;
        assert_eq!((s, e["error"]["code"].as_str()), (Status::UnprocessableEntity, Some("activation_mismatch")));
        let (s, ok) = app.send_json(Method::Post, "/api/v1/auth/activate", None, activate("11010520060101002x")).await;
        assert_eq!(s, Status::Ok, "{ok}");
        assert!(ok["token"].as_str().is_some());
        let (s, _) = app.send_json(Method::Post, "/api/v1/auth/login", None, json!({"username": "2026000101", "password": "my-own-pass-1"})).await;
        assert_eq!(s, Status::Ok);
        let (s, _) = app.send_json(Method::Post, "/api/v1/auth/activate", None, activate("11010520060101002X")).await;
        assert_eq!(s, Status::UnprocessableEntity, "an activated account cannot be taken over");

        // The page, for a record with a date of birth and no national id.
        let form = app.client.get("/login/activate").dispatch().await.into_string().await.unwrap();
        let csrf = crate::common::hidden_value(&form, "_csrf").unwrap();
        let post = |born: &str| format!("_csrf={csrf}&student_no=2026000102&code={code2}&birth_date={born}&new_password=zhao-pass-12&confirm=zhao-pass-12");
        let res = app.client.post("/login/activate").header(ContentType::Form).body(post("2006-03-05")).dispatch().await;
        assert_eq!(res.status(), Status::UnprocessableEntity);
        assert!(res.into_string().await.unwrap().contains("所填信息与等待激活的账号不符"), "the reason in the page's language");
        let form = app.client.get("/login/activate").dispatch().await.into_string().await.unwrap();
        let csrf = crate::common::hidden_value(&form, "_csrf").unwrap();
        let res = app.client.post("/login/activate").header(ContentType::Form)
            .body(format!("_csrf={csrf}&student_no=2026000102&code={}&birth_date=2006-03-04&new_password=zhao-pass-12&confirm=zhao-pass-12", code2.to_lowercase())).dispatch().await;
        assert_eq!((res.status(), res.headers().get_one("Location")), (Status::SeeOther, Some("/login?activated=1")));
        let (s, _) = app.send_json(Method::Post, "/api/v1/auth/login", None, json!({"username": "2026000102", "password": "zhao-pass-12"})).await;
        assert_eq!(s, Status::Ok);
        assert_eq!(app.audit_count("auth.activated", "ok").await, 2);
        assert_eq!(app.audit_count("auth.activation_failed", "failed").await, 3);
    })
    .await;
}

#[rocket::async_test]
async fn the_student_list_filters_by_the_risk_level_of_the_latest_finished_run() {
    use srm::entity::{mining_runs, risk_flags};
    on_each_backend(|app| async move {
        let db = app.db();
        let p = app.people.clone();
        let admin = app.token(p.admin).await;
        let other = add_student(&app, &admin, json!({"student_no": "2025000777", "name_zh": "周敏", "name_en": "Zhou Min", "major": "CS01", "cohort": 2025})).await;
        let now = Utc::now().fixed_offset();
        let run = |status: &str| mining_runs::ActiveModel {
            kind: Set("test".into()), status: Set(status.parse().unwrap()), progress: Set(1.0), message: Set(String::new()),
            as_of: Set(now), term_id: Set(None), model: Set(None), params: Set("{}".into()), metrics: Set("{}".into()),
            started_by: Set(None), started_at: Set(now), finished_at: Set(Some(now)), ..Default::default()
        };
        let flag = |run: i64, student: i64, level: &str| risk_flags::ActiveModel {
            run_id: Set(run), student_id: Set(student), score: Set(50.0), level: Set(level.into()), reasons: Set("[]".into()),
            cluster: Set(None), feedback: Set(None), feedback_by: Set(None), feedback_at: Set(None), ..Default::default()
        };
        let old = run("done").insert(db).await.unwrap().id;
        flag(old, other, "high").insert(db).await.unwrap();
        let latest = run("done").insert(db).await.unwrap().id;
        flag(latest, p.student_record, "high").insert(db).await.unwrap();
        flag(latest, other, "low").insert(db).await.unwrap();
        // A run still going does not count.
        let going = run("running").insert(db).await.unwrap().id;
        flag(going, other, "high").insert(db).await.unwrap();

        let (s, high) = app.get_json("/api/v1/students?risk=high", Some(&admin)).await;
        assert_eq!(s, Status::Ok);
        assert_eq!(numbers(&high), vec!["2025000001".to_string()]);
        let (_, low) = app.get_json("/api/v1/students?risk=low", Some(&admin)).await;
        assert_eq!(numbers(&low), vec!["2025000777".to_string()]);
        let (s, e) = app.get_json("/api/v1/students?risk=severe", Some(&admin)).await;
        assert_eq!((s, e["error"]["code"].as_str()), (Status::UnprocessableEntity, Some("invalid_parameter")));
        assert!(e["error"]["message"].as_str().is_some_and(|m| m.contains("low, medium, high")), "{e}");
    })
    .await;
}

#[rocket::async_test]
async fn staff_save_the_list_filter_as_a_segment_to_message() {
    let app = TestApp::new(Backend::Sqlite).await;
    let csrf = app.page_login(app.people.teacher).await;
    let list = app
        .client
        .get("/students?cohort=2025")
        .header(Header::new("Accept-Language", "en"))
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    assert!(list.contains("Save as a segment") && list.contains("/students/segments?cohort=2025"));
    let res = app
        .client
        .post("/students/segments?cohort=2025")
        .header(ContentType::Form)
        .body(format!(
            "_csrf={}&name=Freshers%202025",
            srm::web::url_encode(&csrf)
        ))
        .dispatch()
        .await;
    assert_eq!(
        (res.status(), res.headers().get_one("Location")),
        (Status::SeeOther, Some("/messages"))
    );
    let saved = srm::entity::segments::Entity::find()
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (saved.name.as_str(), saved.owner_id),
        ("Freshers 2025", app.people.teacher)
    );
    assert!(saved.filter.contains("2025"));
    let messages = app
        .client
        .get("/messages")
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    assert!(
        messages.contains("Freshers 2025"),
        "the segment is offered when writing"
    );
    // Without the session's token nothing is saved.
    let res = app
        .client
        .post("/students/segments")
        .header(ContentType::Form)
        .body("_csrf=forged&name=x")
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Forbidden);
    assert_eq!(
        srm::entity::segments::Entity::find()
            .count(app.db())
            .await
            .unwrap(),
        1
    );
}

#[rocket::async_test]
async fn an_import_whose_instance_died_is_interrupted_and_resumes_from_its_last_batch() {
    let app = TestApp::new(Backend::Sqlite).await;
    let db = app.db().clone();
    let body = many_rows(2000);
    let dead = srm::jobs::Jobs {
        holder: "dead-host:7:cafe00".into(),
        ttl: std::time::Duration::from_secs(1),
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let task = tokio::spawn({
        let db = db.clone();
        let body = body.clone();
        let dead = dead.clone();
        async move {
            let opts = srm::students::import::Options {
                dry_run: false,
                actor: None,
            };
            srm::students::import::run(&db, &dead, body, opts, move |done, _| {
                let _ = tx.send(done);
            })
            .await
        }
    });
    let batch = srm::students::import::BATCH as u64;
    assert_eq!(rx.recv().await, Some(batch), "one batch stored");
    task.abort();
    let _ = task.await;
    let job = srm::entity::import_jobs::Entity::find()
        .one(&db)
        .await
        .unwrap()
        .expect("the job");
    assert_eq!(job.status.as_str(), "running");
    let stored = students::Entity::find()
        .filter(students::Column::CohortYear.eq(2030))
        .count(&db)
        .await
        .unwrap();

    let admin = app.token(app.people.admin).await;
    let resume = format!("/api/v1/students/import/jobs/{}/resume", job.id);
    let (status, v) = app
        .send_json(Method::Post, &resume, Some(&admin), json!({}))
        .await;
    assert_eq!(
        status,
        Status::Conflict,
        "not resumable while it may still run: {v}"
    );

    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    srm::jobs::sweep(&db).await.unwrap();
    let job = srm::entity::import_jobs::Entity::find_by_id(job.id)
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.status.as_str(), "interrupted");
    assert!(
        job.interrupted_reason
            .as_deref()
            .is_some_and(|r| r.contains("dead-host:7:cafe00") && r.contains("rows stored")),
        "{:?}",
        job.interrupted_reason
    );

    let (status, r) = app
        .send_json(Method::Post, &resume, Some(&admin), json!({}))
        .await;
    assert_eq!(status, Status::Ok, "{r}");
    assert_eq!(
        r["added"].as_i64(),
        Some(2000 - stored as i64),
        "only the rows after the last stored batch: {r}"
    );
    assert_eq!(r["unchanged"].as_i64(), Some(0), "{r}");
    assert_eq!(
        students::Entity::find()
            .filter(students::Column::CohortYear.eq(2030))
            .count(&db)
            .await
            .unwrap(),
        2000
    );
    let job = srm::entity::import_jobs::Entity::find_by_id(job.id)
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.status.as_str(), "done");
    assert_eq!(job.rows_done, 2000);
}

#[rocket::async_test]
async fn every_student_api_route_is_typed_in_the_api_document() {
    let app = TestApp::new(Backend::Sqlite).await;
    let (_, doc) = app.get_json("/api/v1/openapi.json", None).await;
    let paths = doc["paths"].as_object().expect("paths");
    let mut seen = 0;
    for (path, item) in paths {
        let others = [
            "/holds",
            "/overrides",
            "/transcript",
            "/lifecycle",
            "/attendance",
        ];
        let ours =
            path.starts_with("/api/v1/students") && !others.iter().any(|o| path.ends_with(o));
        if !ours && path != "/api/v1/me/record" {
            continue;
        }
        for (method, op) in item.as_object().expect("operations") {
            seen += 1;
            let ok = op["responses"]
                .as_object()
                .expect("responses")
                .keys()
                .any(|k| k.starts_with('2'));
            assert!(ok, "{method} {path} has no success answer");
            assert!(
                op["security"].is_array(),
                "{method} {path} names no security"
            );
        }
    }
    assert_eq!(seen, 18, "every students route");
    let create = &doc["paths"]["/api/v1/students"]["post"]["requestBody"]["content"];
    assert!(
        create["application/json"]["schema"]["$ref"]
            .as_str()
            .is_some_and(|r| r.ends_with("/StudentFields"))
    );
    let import = &doc["paths"]["/api/v1/students/import"]["post"]["requestBody"]["content"];
    assert!(
        import["text/csv"].is_object(),
        "the import takes a CSV body"
    );
    let fields = &doc["components"]["schemas"]["StudentFields"]["properties"];
    assert!(fields["student_no"].is_object() && fields["advisor"].is_object());
    let report = &doc["components"]["schemas"]["MergeReport"]["properties"];
    assert!(report["moved"].is_object());
    // Each moved table is an object as documented (it was answered as a `[table, rows]` pair).
    let moved = &doc["components"]["schemas"]["MovedRows"];
    assert_eq!(moved["type"], "object");
    assert!(moved["properties"]["table"].is_object() && moved["properties"]["rows"].is_object());
    assert!(doc["components"]["schemas"]["ExportRow"]["properties"]["lifecycle_stage"].is_object());
}

#[rocket::async_test]
async fn a_typed_student_body_still_refuses_unknown_fields_and_lists_and_takes_numbers_and_null() {
    let app = TestApp::new(Backend::Sqlite).await;
    let admin = app.token(app.people.admin).await;
    let (s, v) = app
        .send_json(
            Method::Post,
            "/api/v1/students",
            Some(&admin),
            json!({"student_no": "2024000090", "nickname": "x"}),
        )
        .await;
    assert_eq!(s, Status::UnprocessableEntity);
    assert_eq!(v["error"]["code"], "unknown_field", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown field 'nickname'"),
        "{v}"
    );
    let (s, v) = app
        .send_json(
            Method::Post,
            "/api/v1/students",
            Some(&admin),
            json!({"student_no": "2024000090", "phone": ["1"]}),
        )
        .await;
    assert_eq!(s, Status::UnprocessableEntity);
    assert_eq!(v["error"]["code"], "invalid", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("field 'phone' must be text or a number"),
        "{v}"
    );
    let id = add_student(
        &app,
        &admin,
        json!({"student_no": 2024000091u64, "name_zh": "王芳", "name_en": "Wang Fang",
               "major": "CS01", "cohort": 2024, "phone": "13800000000"}),
    )
    .await;
    let (s, v) = app
        .send_json(
            Method::Patch,
            &format!("/api/v1/students/{id}"),
            Some(&admin),
            json!({"phone": null}),
        )
        .await;
    assert_eq!(s, Status::Ok, "{v}");
    assert_eq!(v["student_no"], "2024000091");
    assert!(v["phone"].is_null(), "null empties the field: {v}");
}

/// A student sees who of the staff read their record, their transcript or their cases: when,
/// what, who and in which role, in their language; their own reads and refused reads are not
/// listed, and nobody else's reads are theirs to see.
#[rocket::async_test]
async fn a_student_sees_which_staff_read_their_record_and_when() {
    on_each_backend(|app| async move {
        let p = &app.people;
        let teacher = app.token(p.teacher).await;
        let other_teacher = app.token(p.other_teacher).await;
        let admin = app.token(p.admin).await;
        let student = app.token(p.student).await;
        let record = format!("/api/v1/students/{}", p.student_record);
        assert_eq!(app.get(&record, Some(&teacher)).await.status(), Status::Ok);
        let transcript = format!("/api/v1/students/{}/transcript", p.student_record);
        assert_eq!(
            app.get(&transcript, Some(&admin)).await.status(),
            Status::Ok
        );
        // A refused read and the student's own reads are not reads of the record by staff.
        assert_eq!(
            app.get(&record, Some(&other_teacher)).await.status(),
            Status::Forbidden
        );
        assert_eq!(
            app.get("/api/v1/me/record", Some(&student)).await.status(),
            Status::Ok
        );
        // Another student's record read by the teacher is not this student's business.
        let other = format!("/api/v1/students/{}", p.other_student_record);
        app.get(&other, Some(&admin)).await;

        let (s, reads) = app
            .get_json("/api/v1/me/record/reads", Some(&student))
            .await;
        assert_eq!(s, Status::Ok, "{reads}");
        assert_eq!(reads["total"], 2, "{reads}");
        let items = reads["items"].as_array().expect("items");
        assert_eq!(
            items[0]["what"], "grades.transcript",
            "newest first: {reads}"
        );
        assert_eq!(items[0]["role"], "admin");
        assert_eq!(items[1]["what"], "students");
        assert_eq!(items[1]["role"], "teacher");
        assert!(
            items
                .iter()
                .all(|r| r["by"].as_str().is_some_and(|b| !b.is_empty()))
        );
        assert!(items.iter().all(|r| r["at"].is_string()));

        let (s, mine) = app
            .get_json("/api/v1/me/record/reads", Some(&teacher))
            .await;
        assert_eq!(
            s,
            Status::Forbidden,
            "staff have no own record to ask about: {mine}"
        );

        let zh = app.page_in("/me/record/reads", &student, "zh-CN").await;
        assert!(
            zh.contains("谁查看了我的档案") && zh.contains("您的成绩单") && zh.contains("您的档案"),
            "{zh}"
        );
        assert!(zh.contains("教师") && zh.contains("管理员"), "{zh}");
        let en = app.page_in("/me/record/reads", &student, "en").await;
        assert!(
            en.contains("Who has looked at my record") && en.contains("Your transcript"),
            "{en}"
        );
        let own = app.page_in("/me/record", &student, "en").await;
        assert!(
            own.contains("href=\"/me/record/reads\""),
            "linked from the student's own record"
        );
    })
    .await;
}

/// Issue 21's pages bench: a statistics index on grades (status, score, section) made SQLite,
/// which has no statistics of the data, read every published grade of the university for one
/// student's lifecycle stage (about a second per students list, 360° view or "my record" on the
/// 50,000-student demo). The stage's query must go through the index on the student.
#[rocket::async_test]
async fn a_students_stage_reads_their_own_grades_through_the_index_on_the_student() {
    use sea_orm::sea_query::{Expr, ExprTrait, Query};
    use sea_orm::{DbBackend, QueryTrait};
    let app = TestApp::new(Backend::Sqlite).await;
    let one = Query::select()
        .column(students::Column::Id)
        .from(students::Entity)
        .and_where(Expr::col(students::Column::Id).eq(app.people.student_record))
        .to_owned();
    let stmt = srm::students::lifecycle::term_aggregates_query(one).build(DbBackend::Sqlite);
    let plan = app.sqlite_plan(stmt).await;
    assert!(
        plan.iter()
            .any(|step| step.starts_with("SEARCH grades USING INDEX idx_grades_student")),
        "{plan:#?}"
    );
}
