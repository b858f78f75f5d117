//! Grade entry that cannot mislead: the grid's boxes hold only what a person typed (a save
//! with two scores typed stores two grades, posting back exactly what the page's form holds),
//! filling from computed scores is an explicit action refused while weights or assessments are
//! incomplete, publishing shows a summary and changes nothing until confirmed, and every error
//! names the student (number and name) and the column, never an internal id.

use crate::common::{TestApp, on_each_backend};
use crate::grades::enrol;
use rocket::http::{ContentType, Header, Method, Status};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use srm::entity::{grades, sections};

/// The value of attribute `name` inside one HTML tag, unescaped as a browser would.
fn attr(tag: &str, name: &str) -> Option<String> {
    let needle = format!(" {name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let end = tag[start..].find('"')?;
    Some(
        tag[start..start + end]
            .replace("&quot;", "\"")
            .replace("&#x27;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&#x2F;", "/")
            .replace("&amp;", "&"),
    )
}

/// Every named input of the form whose `id` is `form_id`, with the value the page gave it.
fn form_inputs(html: &str, form_id: &str) -> Vec<(String, String)> {
    let start = html
        .find(&format!("id=\"{form_id}\""))
        .unwrap_or_else(|| panic!("form {form_id} on the page"));
    let end = start + html[start..].find("</form>").expect("form end");
    html[start..end]
        .split("<input")
        .skip(1)
        .filter_map(|t| {
            let tag = &t[..t.find('>').unwrap_or(t.len())];
            Some((attr(tag, "name")?, attr(tag, "value").unwrap_or_default()))
        })
        .collect()
}

fn encode(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", srm::web::url_encode(k), srm::web::url_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

async fn page(app: &TestApp, url: &str) -> String {
    app.client
        .get(url.to_string())
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap_or_default()
}

async fn post_form(app: &TestApp, url: &str, body: String) -> (Status, String) {
    let res = app
        .client
        .post(url.to_string())
        .header(ContentType::Form)
        .body(body)
        .dispatch()
        .await;
    let s = res.status();
    (s, res.into_string().await.unwrap_or_default())
}

/// An assessment of the fixture section with scores for the given students (by id).
async fn assessment(
    app: &TestApp,
    token: &str,
    name: &str,
    weight: f64,
    scores: &[(i64, f64)],
) -> i64 {
    let section = app.people.section;
    let (s, a) = app
        .send_json(
            Method::Post,
            &format!("/api/v1/sections/{section}/assessments"),
            Some(token),
            json!({"name": name, "weight": weight, "max_score": 100}),
        )
        .await;
    assert_eq!(s, Status::Created, "{a}");
    let id = a["id"].as_i64().unwrap();
    if !scores.is_empty() {
        let rows: Vec<Value> = scores
            .iter()
            .map(|(sid, sc)| json!({"student_id": sid, "score": sc}))
            .collect();
        let (s, v) = app
            .send_json(
                Method::Put,
                &format!("/api/v1/assessments/{id}/scores"),
                Some(token),
                json!({ "scores": rows }),
            )
            .await;
        assert_eq!(s, Status::Ok, "{v}");
    }
    id
}

async fn grade_count(app: &TestApp) -> u64 {
    grades::Entity::find()
        .filter(grades::Column::SectionId.eq(app.people.section))
        .count(app.db())
        .await
        .unwrap()
}

#[rocket::async_test]
async fn saving_the_grid_with_two_scores_typed_stores_exactly_two_grades() {
    on_each_backend(|app| async move {
        let p = app.people.clone();
        let extra = enrol(&app, p.section, 3, "2025400").await;
        let teacher = app.token(p.teacher).await;
        // Homework 1 is in for everyone: every student has a (partial) computed score.
        let everyone: Vec<i64> = std::iter::once(p.student_record)
            .chain(extra.iter().map(|e| e.0))
            .collect();
        let hw: Vec<(i64, f64)> = everyone.iter().map(|&s| (s, 23.0)).collect();
        assessment(&app, &teacher, "Homework 1", 40.0, &hw).await;
        assessment(&app, &teacher, "Final", 60.0, &[]).await;

        app.page_login(p.teacher).await;
        let url = format!("/grades/sections/{}", p.section);
        let html = page(&app, &url).await;
        assert!(
            html.contains("2 项考核中已有 1 项；占权重的 40%"),
            "the computed score says what it rests on: {html}"
        );
        // What a browser would send: every input of the grid form as the page filled it,
        // with two boxes typed into.
        let mut inputs = form_inputs(&html, "grade-grid");
        let boxes: Vec<&(String, String)> = inputs
            .iter()
            .filter(|(k, _)| k.starts_with("score_"))
            .collect();
        assert_eq!(boxes.len(), everyone.len(), "one box per student");
        let prefilled: Vec<(String, String)> = boxes
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|&(k, v)| (k.clone(), v.clone()))
            .collect();
        for (k, v) in inputs.iter_mut() {
            if *k == format!("score_{}", p.student_record) {
                *v = "88".into();
            } else if *k == format!("score_{}", extra[0].0) {
                *v = "61.5".into();
            }
        }
        let (s, _) = post_form(&app, &url, encode(&inputs)).await;
        assert_eq!(s, Status::SeeOther);
        assert_eq!(grade_count(&app).await, 2, "exactly the two typed scores");
        assert!(prefilled.is_empty(), "no box is pre-filled: {prefilled:?}");

        // Saved again as the page now shows it: the two stored values come back unchanged,
        // nothing is rewritten and the empty boxes still create nothing.
        let html = page(&app, &url).await;
        let inputs = form_inputs(&html, "grade-grid");
        let filled: Vec<&String> = inputs
            .iter()
            .filter(|(k, v)| k.starts_with("score_") && !v.is_empty())
            .map(|(_, v)| v)
            .collect();
        assert_eq!(filled, vec!["88", "61.5"]);
        let history_before = srm::entity::grade_history::Entity::find()
            .count(app.db())
            .await
            .unwrap();
        let res = app
            .client
            .post(url.clone())
            .header(ContentType::Form)
            .body(encode(&inputs))
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::SeeOther);
        let to = res.headers().get_one("Location").unwrap_or_default();
        assert!(to.ends_with("saved=0-0-2"), "{to}");
        assert_eq!(grade_count(&app).await, 2);
        assert_eq!(
            srm::entity::grade_history::Entity::find()
                .count(app.db())
                .await
                .unwrap(),
            history_before,
            "an unchanged value is not rewritten"
        );
    })
    .await;
}

#[rocket::async_test]
async fn filling_from_computed_scores_is_refused_until_weights_and_assessments_are_complete() {
    on_each_backend(|app| async move {
        let p = app.people.clone();
        let extra = enrol(&app, p.section, 2, "2025500").await;
        let teacher = app.token(p.teacher).await;
        let csrf = app.page_login(p.teacher).await;
        let url = format!("/grades/sections/{}", p.section);
        let fill = format!("{url}/fill");
        let everyone = [p.student_record, extra[0].0, extra[1].0];

        // No assessments: nothing to compute from.
        let (s, html) = post_form(&app, &fill, format!("_csrf={csrf}")).await;
        assert_eq!(s, Status::UnprocessableEntity);
        assert!(html.contains("没有考核项目"), "{html}");

        // Weights total 40: refused, saying so.
        assessment(
            &app,
            &teacher,
            "Homework",
            40.0,
            &[
                (everyone[0], 80.0),
                (everyone[1], 50.0),
                (everyone[2], 30.0),
            ],
        )
        .await;
        let (s, html) = post_form(&app, &fill, format!("_csrf={csrf}")).await;
        assert_eq!(s, Status::UnprocessableEntity);
        assert!(html.contains("权重合计为 40"), "{html}");
        assert_eq!(grade_count(&app).await, 0);

        // Weights total 100 but one student has no final score: refused, naming them.
        let final_exam = assessment(
            &app,
            &teacher,
            "Final",
            60.0,
            &[(everyone[0], 90.0), (everyone[1], 40.0)],
        )
        .await;
        let (s, html) = post_form(&app, &fill, format!("_csrf={csrf}")).await;
        assert_eq!(s, Status::UnprocessableEntity);
        assert!(
            html.contains(&format!("{} 学生1", extra[1].1)),
            "the student lacking a score is named: {html}"
        );
        assert!(!html.contains(&format!("{} 学生0", extra[0].1)));
        assert_eq!(grade_count(&app).await, 0);
        // The API says the same, with a code.
        let (s, v) = app
            .send_json(
                Method::Post,
                &format!("/api/v1/sections/{}/grades/fill-from-computed", p.section),
                Some(&teacher),
                json!({}),
            )
            .await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (Status::UnprocessableEntity, Some("assessments_incomplete"))
        );

        // A typed grade is kept; once the missing score is recorded the others are filled.
        let (s, _) = post_form(&app, &url, format!("_csrf={csrf}&score_{}=75", everyone[0])).await;
        assert_eq!(s, Status::SeeOther);
        let (s, v) = app
            .send_json(
                Method::Put,
                &format!("/api/v1/assessments/{final_exam}/scores"),
                Some(&teacher),
                json!({"scores": [{"student_id": everyone[2], "score": 70}]}),
            )
            .await;
        assert_eq!(s, Status::Ok, "{v}");
        let (s, _) = post_form(&app, &fill, format!("_csrf={csrf}")).await;
        assert_eq!(s, Status::SeeOther);
        let stored: Vec<(i64, f64, String)> = grades::Entity::find()
            .filter(grades::Column::SectionId.eq(p.section))
            .all(app.db())
            .await
            .unwrap()
            .into_iter()
            .map(|g| (g.student_id, g.score, g.status.as_str().to_string()))
            .collect();
        let mut stored = stored;
        stored.sort_by_key(|g| g.0);
        let mut want = vec![
            (everyone[0], 75.0, "draft".to_string()),
            // 40% × 50 + 60% × 40 = 44; 40% × 30 + 60% × 70 = 54
            (everyone[1], 44.0, "draft".to_string()),
            (everyone[2], 54.0, "draft".to_string()),
        ];
        want.sort_by_key(|g| g.0);
        assert_eq!(stored, want);
    })
    .await;
}

#[rocket::async_test]
async fn publishing_shows_a_summary_first_and_changes_nothing_until_confirmed() {
    on_each_backend(|app| async move {
        let p = app.people.clone();
        let extra = enrol(&app, p.section, 3, "2025600").await;
        let csrf = app.page_login(p.teacher).await;
        let url = format!("/grades/sections/{}", p.section);
        let publish = format!("{url}/publish");
        // Three of four students graded, two failing.
        let (s, _) = post_form(
            &app,
            &url,
            format!(
                "_csrf={csrf}&score_{}=91&score_{}=40&score_{}=12&score_{}=",
                p.student_record, extra[0].0, extra[1].0, extra[2].0
            ),
        )
        .await;
        assert_eq!(s, Status::SeeOther);
        let (s, html) = post_form(&app, &publish, format!("_csrf={csrf}")).await;
        assert_eq!(s, Status::Ok, "the summary page, not a redirect");
        assert!(
            html.contains("共 4 名学生：3 名已有成绩，1 名没有；2 名不及格（50%）"),
            "{html}"
        );
        assert!(
            html.contains(&format!("{} 学生2", extra[2].1)),
            "missing named"
        );
        assert!(html.contains("<svg"), "the distribution is drawn");
        assert!(
            !html.contains("id=\"publish-confirm\""),
            "no confirmation while a student has no grade"
        );
        // Even a confirmed publish is refused while a grade is missing, naming the student.
        let (s, html) = post_form(&app, &publish, format!("_csrf={csrf}&confirm=1")).await;
        assert_eq!(s, Status::UnprocessableEntity);
        assert!(html.contains(&format!("{} 学生2", extra[2].1)), "{html}");

        let (s, _) = post_form(&app, &url, format!("_csrf={csrf}&score_{}=66", extra[2].0)).await;
        assert_eq!(s, Status::SeeOther);
        let (s, html) = post_form(&app, &publish, format!("_csrf={csrf}")).await;
        assert_eq!(s, Status::Ok);
        assert!(
            html.contains("id=\"publish-confirm\""),
            "now it may be confirmed"
        );
        let statuses: Vec<String> = grades::Entity::find()
            .filter(grades::Column::SectionId.eq(p.section))
            .all(app.db())
            .await
            .unwrap()
            .into_iter()
            .map(|g| g.status.as_str().to_string())
            .collect();
        assert_eq!(statuses, vec!["draft"; 4], "nothing published yet");
        let section = sections::Entity::find_by_id(p.section)
            .one(app.db())
            .await
            .unwrap()
            .unwrap();
        assert!(section.grades_published_at.is_none());
        assert_eq!(app.audit_count("grades.publish", "ok").await, 0);

        // The confirmation form posts confirm=1.
        let inputs = form_inputs(&html, "publish-summary");
        assert!(
            inputs.contains(&("confirm".into(), "1".into())),
            "{inputs:?}"
        );
        let (s, _) = post_form(&app, &publish, encode(&inputs)).await;
        assert_eq!(s, Status::SeeOther);
        let published = grades::Entity::find()
            .filter(grades::Column::SectionId.eq(p.section))
            .filter(grades::Column::Status.eq("published"))
            .count(app.db())
            .await
            .unwrap();
        assert_eq!(published, 4);
    })
    .await;
}

#[rocket::async_test]
async fn grade_errors_name_the_student_and_the_column_not_internal_ids() {
    on_each_backend(|app| async move {
        let p = app.people.clone();
        let extra = enrol(&app, p.section, 1, "2025700").await;
        let teacher = app.token(p.teacher).await;
        let csrf = app.page_login(p.teacher).await;
        let url = format!("/grades/sections/{}", p.section);

        // The grid, in Chinese: number, name, the column's heading and a Chinese reason.
        let (s, html) = post_form(
            &app,
            &url,
            format!(
                "_csrf={csrf}&score_{}=abc&score_{}=101",
                p.student_record, extra[0].0
            ),
        )
        .await;
        assert_eq!(s, Status::UnprocessableEntity);
        assert!(
            html.contains("2025000001 李华 · 成绩: “abc”不是数字"),
            "{html}"
        );
        assert!(
            html.contains(&format!(
                "{} 学生0 · 成绩: 成绩 101 不在 0–100 之间",
                extra[0].1
            )),
            "{html}"
        );
        assert!(
            !html.contains(&format!("<li>{}:", p.student_record)),
            "no internal id as the student"
        );

        // The JSON API in English: the student by number and name, never by id.
        let path = format!("/api/v1/sections/{}/grades", p.section);
        let res = app
            .client
            .put(path.clone())
            .header(ContentType::JSON)
            .header(Header::new("Authorization", format!("Bearer {teacher}")))
            .header(Header::new("Accept-Language", "en"))
            .body(json!({"grades": [{"student_id": p.student_record, "score": 180}]}).to_string())
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::UnprocessableEntity);
        let v: Value = res.into_json().await.unwrap();
        let row = &v["error"]["rows"][0];
        assert_eq!(row["student"], json!("2025000001"), "{v}");
        assert_eq!(row["student_name"], json!("Li Hua"));
        assert_eq!(row["column"], json!("score"));
        assert_eq!(row["reason"], json!("the score 180 is outside 0–100"));

        // A CSV: the column as the file's own header calls it.
        let res = app
            .client
            .post(format!("{path}/import"))
            .header(ContentType::CSV)
            .header(Header::new("Authorization", format!("Bearer {teacher}")))
            .header(Header::new("Accept-Language", "zh-CN"))
            .body(format!("学号,总评\n2025000001,九十\n{},88\n", extra[0].1))
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::UnprocessableEntity);
        let v: Value = res.into_json().await.unwrap();
        let rows = v["error"]["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 1, "{v}");
        assert_eq!(
            (
                rows[0]["line"].as_u64(),
                rows[0]["column_label"].as_str(),
                rows[0]["student"].as_str(),
                rows[0]["student_name"].as_str(),
                rows[0]["reason"].as_str()
            ),
            (
                Some(2),
                Some("总评"),
                Some("2025000001"),
                Some("李华"),
                Some("“九十”不是数字")
            )
        );
        assert_eq!(grade_count(&app).await, 0);

        // Publishing through the API while a student has no grade: refused, naming them.
        let (s, _) = post_form(
            &app,
            &url,
            format!("_csrf={csrf}&score_{}=70", p.student_record),
        )
        .await;
        assert_eq!(s, Status::SeeOther);
        let res = app
            .client
            .post(format!("{path}/publish"))
            .header(Header::new("Authorization", format!("Bearer {teacher}")))
            .header(Header::new("Accept-Language", "en"))
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::UnprocessableEntity);
        let v: Value = res.into_json().await.unwrap();
        assert_eq!(v["error"]["code"], json!("missing_grades"));
        assert_eq!(
            v["error"]["message"],
            json!(format!(
                "1 student(s) have no grade yet: {} Student 0",
                extra[0].1
            ))
        );
    })
    .await;
}
