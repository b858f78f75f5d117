//! The student's registration flow in the catalogue: adding keeps their search, sections they
//! hold, wait for or have passed are marked and a passed course is never offered,
//! prerequisites say whether they are met, and the pager keeps every filter.

use crate::common::{TestApp, on_each_backend};
use crate::registration::{course, current_term, section};
use chrono::{Duration, Utc};
use rocket::http::{ContentType, Status};
use sea_orm::{ActiveModelTrait, Set};
use srm::entity::{course_prerequisites, grades, terms};

async fn html(app: &TestApp, url: &str) -> String {
    app.client
        .get(url.to_string())
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap_or_default()
}

/// The hidden `back` value of the add form of section `id` on a catalogue page.
fn back_of(page: &str, id: i64) -> Option<String> {
    let at = page.find(&format!("name=\"section_id\" value=\"{id}\""))?;
    crate::common::hidden_value(&page[at..], "back").map(|b| b.replace("&amp;", "&"))
}

#[rocket::async_test]
async fn adding_from_the_catalogue_returns_to_the_same_search() {
    on_each_backend(|app| async move {
        let db = app.db();
        let term = current_term(db).await;
        let c = course(db, "FLOW101", 2.0).await;
        let s = section(db, term, c, "01", 10, 5, &[(2, 3, 4)]).await;
        let csrf = app.page_login(app.people.student).await;
        let search = "/courses?q=FLOW1&open_only=true";
        let page = html(&app, search).await;
        let back = back_of(&page, s).expect("an add form with the search to return to");
        let res = app
            .client
            .post("/registrations")
            .header(ContentType::Form)
            .body(format!(
                "_csrf={csrf}&section_id={s}&back={}",
                srm::web::url_encode(&back)
            ))
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::SeeOther);
        let to = res
            .headers()
            .get_one("Location")
            .unwrap_or_default()
            .to_string();
        assert!(
            to.starts_with("/courses?")
                && to.contains("q=FLOW1&")
                && to.contains("open_only=true&"),
            "back on the same search: {to}"
        );
        assert!(to.ends_with("flash=enrolled"), "{to}");
        let page = html(&app, &to).await;
        assert!(
            page.contains("<p class=\"notice\" role=\"status\">选课成功。</p>"),
            "{page}"
        );
        assert!(
            page.contains("data-mark=\"enrolled\""),
            "the section is marked held"
        );
        assert!(
            back_of(&page, s).is_none(),
            "a held section is not offered again"
        );
        // A forged `back` cannot send the student elsewhere.
        let res = app
            .client
            .post("/registrations")
            .header(ContentType::Form)
            .body(format!(
                "_csrf={csrf}&section_id={s}&back={}",
                srm::web::url_encode("x=1/../..//evil.example")
            ))
            .dispatch()
            .await;
        let to = res.headers().get_one("Location").unwrap_or_default();
        assert!(to.starts_with("/registrations?"), "{to}");
    })
    .await;
}

#[rocket::async_test]
async fn the_catalogue_marks_passed_courses_and_prerequisites_and_never_offers_a_passed_course() {
    on_each_backend(|app| async move {
        let db = app.db();
        let term = current_term(db).await;
        let basic = course(db, "MARK100", 2.0).await;
        let advanced = course(db, "MARK200", 2.0).await;
        let other = course(db, "MARK300", 2.0).await;
        let unpassed = course(db, "MARK050", 2.0).await;
        for (c, p) in [(advanced, basic), (other, unpassed)] {
            course_prerequisites::ActiveModel {
                course_id: Set(c),
                prerequisite_id: Set(p),
                min_score: Set(60.0),
            }
            .insert(db)
            .await
            .unwrap();
        }
        let now = Utc::now();
        let past = terms::ActiveModel {
            code: Set("2025-fall".into()),
            name_zh: Set("2025秋".into()),
            name_en: Set("Fall 2025".into()),
            seq: Set(0),
            starts_on: Set(now.date_naive() - Duration::days(400)),
            ends_on: Set(now.date_naive() - Duration::days(300)),
            registration_opens_at: Set((now - Duration::days(420)).fixed_offset()),
            registration_closes_at: Set((now - Duration::days(410)).fixed_offset()),
            add_drop_deadline: Set((now - Duration::days(390)).fixed_offset()),
            credit_limit: Set(25.0),
            is_current: Set(false),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
        let past_basic = section(db, past.id, basic, "01", 10, 0, &[]).await;
        grades::ActiveModel {
            section_id: Set(past_basic),
            student_id: Set(app.people.student_record),
            score: Set(71.0),
            letter: Set("C+".into()),
            points: Set(2.3),
            status: Set(grades::GradeStatus::Published),
            entered_by: Set(None),
            updated_at: Set(now.fixed_offset()),
            published_at: Set(Some(now.fixed_offset())),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
        let s_basic = section(db, term, basic, "01", 10, 0, &[(1, 1, 2)]).await;
        let s_adv = section(db, term, advanced, "01", 10, 0, &[(1, 3, 4)]).await;
        let s_other = section(db, term, other, "01", 10, 0, &[(1, 5, 6)]).await;

        app.page_login(app.people.student).await;
        let page = html(&app, "/courses?q=MARK").await;
        assert!(page.contains("data-mark=\"passed\""), "{page}");
        assert!(
            back_of(&page, s_basic).is_none(),
            "a passed course is not offered"
        );
        assert!(back_of(&page, s_adv).is_some());
        assert!(page.contains("MARK100 ≥ 60 ✓ 已满足"), "{page}");
        assert!(page.contains("MARK050 ≥ 60 ✗ 未满足"), "{page}");
        assert!(back_of(&page, s_other).is_some());
    })
    .await;
}

#[rocket::async_test]
async fn the_pager_keeps_every_filter_and_does_not_switch_on_open_seats_only() {
    on_each_backend(|app| async move {
        let db = app.db();
        let term = current_term(db).await;
        let c = course(db, "PAGE900", 2.0).await;
        // 55 sections, 5 of them full (waitlist only): 50 on page 1, 5 on page 2.
        for i in 0..55 {
            let cap = if i < 5 { 0 } else { 30 };
            section(db, term, c, &format!("{i:02}"), cap, 10, &[]).await;
        }
        app.page_login(app.people.student).await;
        let page = html(&app, "/courses?q=PAGE900").await;
        assert!(page.contains("55 条"), "all 55 listed");
        let at = page.find("class=\"pager\"").expect("a pager");
        let next = page[at..]
            .split("href=\"")
            .nth(1)
            .and_then(|h| h.split('"').next())
            .expect("a next link")
            .replace("&amp;", "&");
        assert!(next.contains("q=PAGE900"), "{next}");
        assert!(!next.contains("open_only"), "no filter switched on: {next}");
        let page2 = html(&app, &format!("/courses{next}")).await;
        assert!(page2.contains("第 2 / 2 · 55 条"), "{page2}");
    })
    .await;
}

#[rocket::async_test]
async fn my_registrations_name_the_course_to_drop_and_show_swap_times_clock_times_and_a_legend() {
    on_each_backend(|app| async move {
        let db = app.db();
        let term = current_term(db).await;
        let c = course(db, "SWAP500", 2.0).await;
        let a = section(db, term, c, "01", 10, 5, &[(1, 1, 2)]).await;
        section(db, term, c, "02", 10, 5, &[(3, 6, 7)]).await;
        let full = course(db, "WAIT600", 2.0).await;
        let w = section(db, term, full, "01", 0, 5, &[(5, 3, 4)]).await;
        srm::registration::service::add(db, app.people.student_record, a, None)
            .await
            .unwrap();
        srm::registration::service::add(db, app.people.student_record, w, None)
            .await
            .unwrap();
        app.page_login(app.people.student).await;
        let page = html(&app, "/registrations").await;
        assert!(
            page.contains("data-confirm=\"确定退掉 SWAP500-01 课程SWAP500 吗？"),
            "the drop names its course: {page}"
        );
        assert!(
            page.contains("SWAP500-02 · 周三 第6-7节 14:00–15:35"),
            "the swap lists the alternative's times: {page}"
        );
        assert!(
            page.contains("data-confirm=\"确定把 SWAP500-01 课程SWAP500 换到所选的教学班吗？"),
            "the swap asks first"
        );
        assert!(page.contains("08:00"), "periods show clock times");
        assert!(
            page.contains("id=\"timetable-legend\"")
                && page.contains("<span class=\"slot waitlisted\">候补</span>"),
            "the waitlisted colour has a legend"
        );
        let catalogue = html(&app, "/courses?q=SWAP500").await;
        assert!(
            catalogue.contains("周一 第1-2节 08:00–09:35"),
            "the catalogue shows clock times: {catalogue}"
        );
    })
    .await;
}
