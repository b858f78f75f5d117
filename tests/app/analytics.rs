//! The value matrix and the lifecycle over time (issue 22): counts, scope, settings edited in
//! both languages, thresholds, movement from stored rows, transitions on events, and scores
//! blind to protected attributes.

use crate::common::{TestApp, extra_student, on_each_backend};
use chrono::Utc;
use rocket::http::{ContentType, Method, Status};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde_json::{Value, json};
use srm::entity::{terms, value_cells};

async fn compute(app: &TestApp, admin: &str) {
    let (s, v) = app
        .send_json(
            Method::Post,
            "/api/v1/analytics/value-matrix/compute",
            Some(admin),
            json!({}),
        )
        .await;
    assert_eq!(s, Status::Ok, "{v}");
}

fn count_of(matrix: &Value, code: &str) -> i64 {
    matrix["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == code)
        .unwrap()["count"]
        .as_i64()
        .unwrap()
}

/// The settings form's body with `changes` over the defaults (`v.<field>=<value>`).
async fn settings_body(app: &TestApp, csrf: &str, changes: &[(&str, &str)]) -> String {
    let s = srm::analytics::settings::get(app.db()).await.unwrap();
    let mut fields: Vec<(String, String)> = vec![
        ("standing_at".into(), s.standing_at.to_string()),
        ("relationship_at".into(), s.relationship_at.to_string()),
        ("credits_per_term".into(), s.credits_per_term.to_string()),
        ("schedule_hours".into(), s.schedule_hours.to_string()),
    ];
    for w in srm::analytics::settings::Weights::STANDING
        .iter()
        .chain(srm::analytics::settings::Weights::RELATIONSHIP.iter())
    {
        fields.push((format!("w_{w}"), s.weights.get(w).to_string()));
    }
    for c in &s.cells {
        fields.push((format!("{}_name_zh", c.code), c.name_zh.clone()));
        fields.push((format!("{}_name_en", c.code), c.name_en.clone()));
        fields.push((format!("{}_strategy_zh", c.code), c.strategy_zh.clone()));
        fields.push((format!("{}_strategy_en", c.code), c.strategy_en.clone()));
    }
    for (k, v) in changes {
        if let Some(f) = fields.iter_mut().find(|(name, _)| name == k) {
            f.1 = v.to_string();
        }
    }
    let mut body = format!("_csrf={csrf}");
    for (k, v) in fields {
        body.push_str(&format!("&v.{k}={}", srm::web::url_encode(&v)));
    }
    body
}

async fn post_settings(app: &TestApp, csrf: &str, changes: &[(&str, &str)]) -> Status {
    let body = settings_body(app, csrf, changes).await;
    app.client
        .post("/analytics/value-matrix/settings")
        .header(ContentType::Form)
        .body(body)
        .dispatch()
        .await
        .status()
}

/// Makes the teacher the other student's advisor.
async fn advise_other_student(app: &TestApp, admin: &str) {
    let p = &app.people;
    let (s, v) = app
        .send_json(
            Method::Patch,
            &format!("/api/v1/students/{}", p.other_student_record),
            Some(admin),
            json!({"advisor": TestApp::username(p.teacher)}),
        )
        .await;
    assert_eq!(s, Status::Ok, "{v}");
}

#[rocket::async_test]
async fn counts_per_cell_add_up_to_active_students() {
    on_each_backend(|app| async move {
        extra_student(&app, "2025000003").await;
        let admin = app.token(app.people.admin).await;
        compute(&app, &admin).await;
        let (s, m) = app
            .get_json("/api/v1/analytics/value-matrix", Some(&admin))
            .await;
        assert_eq!(s, Status::Ok, "{m}");
        let sum: i64 = ["develop", "engage", "support", "rescue"]
            .iter()
            .map(|c| count_of(&m, c))
            .sum();
        assert_eq!(sum, 3);
        assert_eq!(m["total"], 3);
        assert_eq!(m["standing_at"], 60.0);
        assert!(m["cells"][0]["strategy_en"].as_str().unwrap().len() > 5);
        // The page shows the same matrix.
        let page = app.page_in("/analytics/value-matrix", &admin, "en").await;
        assert!(page.contains("Offer research and honours tracks"));
    })
    .await;
}

#[rocket::async_test]
async fn an_advisor_sees_only_their_advisees_counts_and_lists() {
    on_each_backend(|app| async move {
        let p = app.people.clone();
        let admin = app.token(p.admin).await;
        advise_other_student(&app, &admin).await;
        compute(&app, &admin).await;
        let teacher = app.token(p.teacher).await;
        let (_, m) = app
            .get_json("/api/v1/analytics/value-matrix", Some(&teacher))
            .await;
        assert_eq!(m["total"], 1, "{m}");
        let (_, all) = app
            .get_json("/api/v1/analytics/value-matrix", Some(&admin))
            .await;
        assert_eq!(all["total"], 2);
        // The cell's list names the advisee only, though the teacher also teaches the other.
        let cell = ["develop", "engage", "support", "rescue"]
            .into_iter()
            .find(|c| count_of(&m, c) == 1)
            .unwrap();
        let (s, list) = app
            .get_json(
                &format!("/api/v1/students?value_cell={cell}"),
                Some(&teacher),
            )
            .await;
        assert_eq!(s, Status::Ok, "{list}");
        let ids: Vec<i64> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, vec![p.other_student_record]);
        let other = app.token(p.other_teacher).await;
        let (_, none) = app
            .get_json("/api/v1/analytics/value-matrix", Some(&other))
            .await;
        assert_eq!(none["total"], 0);
    })
    .await;
}

#[rocket::async_test]
async fn a_student_is_refused_the_matrix_page_and_api() {
    on_each_backend(|app| async move {
        let student = app.token(app.people.student).await;
        for path in [
            "/api/v1/analytics/value-matrix",
            "/analytics/value-matrix",
            "/analytics/lifecycle",
            "/api/v1/analytics/lifecycle",
            "/analytics/value-matrix.csv",
            "/analytics/lifecycle.csv?table=recovery",
        ] {
            assert_eq!(
                app.get(path, Some(&student)).await.status(),
                Status::Forbidden,
                "{path}"
            );
        }
        // Nor their own cell on their record page.
        let admin = app.token(app.people.admin).await;
        compute(&app, &admin).await;
        let own = app.page_in("/me/record", &student, "en").await;
        assert!(!own.contains("Value cell"));
        let staff = app
            .page_in(
                &format!("/students/{}", app.people.student_record),
                &admin,
                "en",
            )
            .await;
        assert!(staff.contains("Value cell"), "{staff}");
    })
    .await;
}

#[rocket::async_test]
async fn administrators_edit_a_strategy_in_chinese_and_english_and_it_shows() {
    on_each_backend(|app| async move {
        let csrf = app.page_login(app.people.admin).await;
        let status = post_settings(
            &app,
            &csrf,
            &[
                ("develop_strategy_zh", "推荐暑期科研 & 荣誉项目"),
                (
                    "develop_strategy_en",
                    "Offer a summer research place & honours",
                ),
                ("rescue_name_en", "Rescue now"),
            ],
        )
        .await;
        assert_eq!(status, Status::SeeOther);
        let admin = app.token(app.people.admin).await;
        let en = app.page_in("/analytics/value-matrix", &admin, "en").await;
        assert!(
            en.contains("Offer a summer research place &amp; honours"),
            "{en}"
        );
        assert!(en.contains("Rescue now"));
        let zh = app.page_in("/analytics/value-matrix", &admin, "zh").await;
        assert!(zh.contains("推荐暑期科研 &amp; 荣誉项目"));
        let (_, m) = app
            .get_json("/api/v1/analytics/value-matrix", Some(&admin))
            .await;
        assert_eq!(m["cells"][0]["strategy_zh"], "推荐暑期科研 & 荣誉项目");
        // An empty name is refused in place, nothing stored.
        let status = post_settings(&app, &csrf, &[("engage_name_zh", "  ")]).await;
        assert_eq!(status, Status::UnprocessableEntity);
        let page = app
            .client
            .post("/analytics/value-matrix/settings")
            .header(ContentType::Form)
            .body(settings_body(&app, &csrf, &[("standing_at", "abc")]).await)
            .dispatch()
            .await
            .into_string()
            .await
            .unwrap_or_default();
        assert!(page.contains("field-error"));
        assert_eq!(
            srm::analytics::settings::get(app.db())
                .await
                .unwrap()
                .cell("engage")
                .name_zh,
            "联络"
        );
    })
    .await;
}

#[rocket::async_test]
async fn thresholds_change_the_counts() {
    on_each_backend(|app| async move {
        let admin = app.token(app.people.admin).await;
        compute(&app, &admin).await;
        let csrf = app.page_login(app.people.admin).await;
        let status = post_settings(
            &app,
            &csrf,
            &[("standing_at", "0"), ("relationship_at", "0")],
        )
        .await;
        assert_eq!(status, Status::SeeOther);
        let (_, m) = app
            .get_json("/api/v1/analytics/value-matrix", Some(&admin))
            .await;
        assert_eq!(count_of(&m, "develop"), 2, "{m}");
        let status = post_settings(
            &app,
            &csrf,
            &[("standing_at", "100"), ("relationship_at", "100")],
        )
        .await;
        assert_eq!(status, Status::SeeOther);
        let (_, m) = app
            .get_json("/api/v1/analytics/value-matrix", Some(&admin))
            .await;
        assert_eq!(count_of(&m, "rescue"), 2, "{m}");
        assert_eq!(m["standing_at"], 100.0);
    })
    .await;
}

#[rocket::async_test]
async fn movement_since_last_term_is_computed_from_stored_rows() {
    on_each_backend(|app| async move {
        let db = app.db();
        let now = Utc::now().fixed_offset();
        let earlier = terms::ActiveModel {
            code: Set("2026-spring".into()),
            name_zh: Set("2026 春季学期".into()),
            name_en: Set("Spring 2026".into()),
            seq: Set(0),
            starts_on: Set(now.date_naive() - chrono::Duration::days(200)),
            ends_on: Set(now.date_naive() - chrono::Duration::days(80)),
            registration_opens_at: Set(now - chrono::Duration::days(210)),
            registration_closes_at: Set(now - chrono::Duration::days(190)),
            add_drop_deadline: Set(now - chrono::Duration::days(190)),
            credit_limit: Set(25.0),
            is_current: Set(false),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
        for student in [app.people.student_record, app.people.other_student_record] {
            value_cells::ActiveModel {
                student_id: Set(student),
                term_id: Set(earlier.id),
                cell: Set("develop".into()),
                standing: Set(99.0),
                relationship: Set(99.0),
                components: Set("{}".into()),
                computed_at: Set(now),
                ..Default::default()
            }
            .insert(db)
            .await
            .unwrap();
        }
        let admin = app.token(app.people.admin).await;
        compute(&app, &admin).await;
        let (_, m) = app
            .get_json("/api/v1/analytics/value-matrix", Some(&admin))
            .await;
        assert_eq!(m["previous_term"]["code"], "2026-spring", "{m}");
        let moved: i64 = m["movement"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["from"] == "develop")
            .map(|f| f["count"].as_i64().unwrap())
            .sum();
        assert_eq!(moved, 2);
        let page = app.page_in("/analytics/value-matrix", &admin, "en").await;
        assert!(page.contains("<svg class=\"chart flowchart\""));
        assert!(page.contains("<title id=\"flow-title\">"));
    })
    .await;
}

#[rocket::async_test]
async fn a_status_change_records_a_transition_with_the_rule() {
    on_each_backend(|app| async move {
        let p = app.people.clone();
        let admin = app.token(p.admin).await;
        let (s, v) = app
            .send_json(
                Method::Patch,
                &format!("/api/v1/students/{}", p.student_record),
                Some(&admin),
                json!({"status": "suspended"}),
            )
            .await;
        assert_eq!(s, Status::Ok, "{v}");
        let (s, l) = app
            .get_json(
                &format!("/api/v1/students/{}/lifecycle", p.student_record),
                Some(&admin),
            )
            .await;
        assert_eq!(s, Status::Ok, "{l}");
        let last = l["transitions"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["to"], "declining");
        assert_eq!(last["rule"], "suspended");
        assert_eq!(last["source"], "status_change");
        assert_eq!(l["stage"], "declining");
        // The scheduled check finds nothing new; the report counts the student as declining.
        let moved = srm::analytics::transitions::check_all(app.db())
            .await
            .unwrap();
        assert_eq!(moved, 1, "only the other student's first stage is recorded");
        let (_, r) = app
            .get_json("/api/v1/analytics/lifecycle", Some(&admin))
            .await;
        assert_eq!(r["terms"][0]["counts"][3], 1, "{r}");
        // The page's three tables download as CSV with the same counts.
        let terms = csv_rows(&app, "/analytics/lifecycle.csv", &admin).await;
        assert_eq!(terms[0][..4], ["term", "name_zh", "name_en", "new"]);
        assert_eq!(terms[0][6], "declining");
        assert_eq!(terms[1][0], r["terms"][0]["term_code"].as_str().unwrap());
        assert_eq!(terms[1][6], "1", "{terms:?}");
        assert_eq!(terms.len(), r["terms"].as_array().unwrap().len() + 1);
        let funnel = csv_rows(&app, "/analytics/lifecycle.csv?table=funnel", &admin).await;
        assert_eq!(
            funnel[1][..2],
            ["new".to_string(), r["funnel"]["new"].to_string()]
        );
        assert_eq!(funnel.len(), 4);
        let recovery = csv_rows(&app, "/analytics/lifecycle.csv?table=recovery", &admin).await;
        assert_eq!(
            recovery[0],
            ["care", "declining_episodes", "recovered", "rate_percent"]
        );
        assert_eq!(recovery[2][1], r["recovery"]["without_care"].to_string());
        assert_eq!(
            app.get("/analytics/lifecycle.csv?table=people", Some(&admin))
                .await
                .status(),
            Status::BadRequest
        );
        let page = app.page_in("/analytics/lifecycle", &admin, "zh").await;
        assert!(page.contains("stack-title"));
        assert!(page.contains("/analytics/lifecycle.csv?table=funnel"));
        let record = app
            .page_in(&format!("/students/{}", p.student_record), &admin, "en")
            .await;
        assert!(record.contains("status changed"), "{record}");
    })
    .await;
}

#[rocket::async_test]
async fn the_lifecycle_api_is_scoped_and_audited() {
    on_each_backend(|app| async move {
        let p = app.people.clone();
        let other = app.token(p.other_teacher).await;
        let path = format!("/api/v1/students/{}/lifecycle", p.student_record);
        assert_eq!(
            app.get(&path, Some(&other)).await.status(),
            Status::Forbidden
        );
        assert_eq!(app.audit_count("lifecycle.read", "denied").await, 1);
        let teacher = app.token(p.teacher).await;
        let (s, _) = app.get_json(&path, Some(&teacher)).await;
        assert_eq!(s, Status::Ok);
        assert_eq!(app.audit_count("lifecycle.read", "ok").await, 1);
        let student = app.token(p.other_student).await;
        assert_eq!(
            app.get(&path, Some(&student)).await.status(),
            Status::Forbidden
        );
    })
    .await;
}

#[rocket::async_test]
async fn protected_attributes_never_change_a_score() {
    on_each_backend(|app| async move {
        let p = app.people.clone();
        let admin = app.token(p.admin).await;
        let rows = |app: &TestApp| {
            let db = app.db().clone();
            async move {
                value_cells::Entity::find()
                    .filter(value_cells::Column::StudentId.eq(p.student_record))
                    .order_by_asc(value_cells::Column::Id)
                    .all(&*db)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|r| (r.cell, r.standing, r.relationship, r.components))
                    .collect::<Vec<_>>()
            }
        };
        compute(&app, &admin).await;
        let before = rows(&app).await;
        assert_eq!(before.len(), 1);
        let (s, v) = app
            .send_json(
                Method::Patch,
                &format!("/api/v1/students/{}", p.student_record),
                Some(&admin),
                json!({"gender": "M", "birth_date": "1999-03-04"}),
            )
            .await;
        assert_eq!(s, Status::Ok, "{v}");
        compute(&app, &admin).await;
        assert_eq!(rows(&app).await, before);
    })
    .await;
}

#[rocket::async_test]
async fn a_grade_publish_records_a_transition_with_the_rule() {
    on_each_backend(|app| async move {
        let p = app.people.clone();
        let teacher = app.token(p.teacher).await;
        crate::common::publish_grade(&app, &teacher, p.section, p.student_record, 40.0).await;
        let (_, l) = app
            .get_json(
                &format!("/api/v1/students/{}/lifecycle", p.student_record),
                Some(&teacher),
            )
            .await;
        let last = l["transitions"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["to"], "declining", "{l}");
        assert_eq!(last["rule"], "failed_course");
        assert_eq!(last["source"], "grade_publish");
    })
    .await;
}

#[rocket::async_test]
async fn a_cell_handed_to_care_waits_on_the_referrals_until_care_is_recorded() {
    on_each_backend(|app| async move {
        extra_student(&app, "2025000003").await;
        let p = app.people.clone();
        let admin = app.token(p.admin).await;
        compute(&app, &admin).await;
        let (_, m) = app
            .get_json("/api/v1/analytics/value-matrix", Some(&admin))
            .await;
        let cell = ["develop", "engage", "support", "rescue"]
            .into_iter()
            .max_by_key(|c| count_of(&m, c))
            .unwrap();
        let n = count_of(&m, cell);
        assert!(n > 0);
        let texts = m["cells"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["code"] == cell)
            .unwrap()
            .clone();
        let url = format!("/api/v1/analytics/value-matrix/cells/{cell}/care");
        let (s, v) = app
            .send_json(Method::Post, &url, Some(&admin), json!({}))
            .await;
        assert_eq!(s, Status::Ok, "{v}");
        assert_eq!(
            (v["referred"].as_i64(), v["already_open"].as_i64()),
            (Some(n), Some(0))
        );
        // Handing the cell over again adds nobody twice.
        let (_, v) = app
            .send_json(Method::Post, &url, Some(&admin), json!({}))
            .await;
        assert_eq!(
            (v["referred"].as_i64(), v["already_open"].as_i64()),
            (Some(0), Some(n))
        );
        let (s, list) = app.get_json("/api/v1/care/referrals", Some(&admin)).await;
        assert_eq!(s, Status::Ok, "{list}");
        assert_eq!(list["total"].as_i64(), Some(n), "{list}");
        let first = &list["items"][0];
        assert_eq!(first["reason_en"], texts["strategy_en"]);
        assert_eq!(first["group_zh"], texts["name_zh"]);
        let page = app.page_in("/care/referrals", &admin, "zh-CN").await;
        assert!(
            page.contains(texts["strategy_zh"].as_str().unwrap()),
            "{page}"
        );
        // Care recorded for one of them takes them off the list.
        let sid = first["student_id"].as_i64().unwrap();
        let (s, v) = app
            .send_json(
                Method::Post,
                "/api/v1/interventions",
                Some(&admin),
                json!({"student_id": sid, "kind": "meeting", "notes": "talked it through"}),
            )
            .await;
        assert_eq!(s, Status::Created, "{v}");
        let (_, list) = app.get_json("/api/v1/care/referrals", Some(&admin)).await;
        assert_eq!(list["total"].as_i64(), Some(n - 1), "{list}");
        assert_eq!(app.audit_count("care.refer", "ok").await, 2);
        // A student may not; a cell that does not exist is not found.
        let student = app.token(p.student).await;
        let (s, _) = app
            .send_json(Method::Post, &url, Some(&student), json!({}))
            .await;
        assert_eq!(s, Status::Forbidden);
        let (s, _) = app
            .send_json(
                Method::Post,
                "/api/v1/analytics/value-matrix/cells/nowhere/care",
                Some(&admin),
                json!({}),
            )
            .await;
        // The path is checked against the document's cells first.
        assert_eq!(s, Status::UnprocessableEntity);
    })
    .await;
}

#[rocket::async_test]
async fn the_matrix_page_hands_a_cell_to_care_and_says_how_many() {
    on_each_backend(|app| async move {
        let admin = app.token(app.people.admin).await;
        compute(&app, &admin).await;
        let (_, m) = app
            .get_json("/api/v1/analytics/value-matrix", Some(&admin))
            .await;
        let cell = ["develop", "engage", "support", "rescue"]
            .into_iter()
            .find(|c| count_of(&m, c) > 0)
            .unwrap();
        let csrf = app.page_login(app.people.admin).await;
        let page = app.client.get("/analytics/value-matrix").dispatch().await;
        let page = page.into_string().await.unwrap();
        let action = format!("/analytics/value-matrix/cells/{cell}/care");
        assert!(page.contains(&action), "{page}");
        // A forged form is refused.
        let res = app
            .client
            .post(action.clone())
            .header(ContentType::Form)
            .body("_csrf=forged")
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::Forbidden);
        let res = app
            .client
            .post(action)
            .header(ContentType::Form)
            .body(format!("_csrf={csrf}"))
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::SeeOther);
        let to = res.headers().get_one("Location").unwrap().to_string();
        let res = app
            .client
            .get(to)
            .header(rocket::http::Header::new("Accept-Language", "en"))
            .dispatch()
            .await;
        let page = res.into_string().await.unwrap();
        let said = format!("Handed to care: {} students", count_of(&m, cell));
        assert!(page.contains(&said), "{page}");
    })
    .await;
}

/// A CSV download's rows (BOM stripped), after checking it is one.
async fn csv_rows(app: &TestApp, path: &str, token: &str) -> Vec<Vec<String>> {
    let res = app.get(path, Some(token)).await;
    assert_eq!(res.status(), Status::Ok, "{path}");
    let kind = res.headers().get_one("Content-Type").unwrap_or_default();
    assert!(kind.starts_with("text/csv"), "{path}: {kind}");
    let body = res.into_string().await.unwrap();
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(body.trim_start_matches('\u{feff}').as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

#[rocket::async_test]
async fn the_matrix_cells_and_movement_export_as_on_the_page_in_the_callers_scope() {
    on_each_backend(|app| async move {
        let p = app.people.clone();
        let admin = app.token(p.admin).await;
        advise_other_student(&app, &admin).await;
        // An administrator's strategy text that a spreadsheet would run as a formula.
        let csrf = app.page_login(p.admin).await;
        let status = post_settings(&app, &csrf, &[("develop_strategy_en", "=HYPERLINK(1)")]).await;
        assert_eq!(status, Status::SeeOther);
        compute(&app, &admin).await;
        let (_, m) = app
            .get_json("/api/v1/analytics/value-matrix", Some(&admin))
            .await;
        let rows = csv_rows(&app, "/analytics/value-matrix.csv", &admin).await;
        assert_eq!(rows[0][0], "term");
        assert_eq!(rows[0][8], "students");
        assert_eq!(rows.len(), 5, "{rows:?}");
        let term = m["term"]["code"].as_str().unwrap();
        for cell in ["develop", "engage", "support", "rescue"] {
            let row = rows.iter().find(|r| r[1] == cell).unwrap();
            assert_eq!(row[0], term);
            assert_eq!(row[8], count_of(&m, cell).to_string(), "{cell}: {rows:?}");
        }
        let develop = rows.iter().find(|r| r[1] == "develop").unwrap();
        assert_eq!(develop[5], "'=HYPERLINK(1)", "{develop:?}");
        // The advisor's file counts their advisee only.
        let teacher = app.token(p.teacher).await;
        let theirs = csv_rows(&app, "/analytics/value-matrix.csv?table=cells", &teacher).await;
        let total: i64 = theirs[1..]
            .iter()
            .map(|r| r[8].parse::<i64>().unwrap())
            .sum();
        assert_eq!(total, 1, "{theirs:?}");
        // No movement before a second term; the table is there with its header only.
        let moves = csv_rows(&app, "/analytics/value-matrix.csv?table=movement", &admin).await;
        assert_eq!(
            moves,
            vec![vec![
                "from_term",
                "to_term",
                "from_cell",
                "to_cell",
                "students"
            ]]
        );
        // A table that does not exist is refused, naming the ones that do, in the reader's language.
        let res = app
            .client
            .get("/analytics/value-matrix.csv?table=students")
            .header(rocket::http::Header::new(
                "Authorization",
                format!("Bearer {admin}"),
            ))
            .header(rocket::http::Header::new("Accept-Language", "zh"))
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::BadRequest);
        let said = res.into_string().await.unwrap();
        assert!(said.contains("cells, movement"), "{said}");
        assert!(said.contains("没有名为"), "{said}");
        // The page links both files.
        let page = app.page_in("/analytics/value-matrix", &admin, "en").await;
        assert!(page.contains("/analytics/value-matrix.csv?table=cells"));
    })
    .await;
}
