//! Security tests for data leaving the portal, robustness, headers and files (issue 15). Each
//! test is an attack as an outsider, a student or a curious teacher would send it, and the
//! refusal expected.

use crate::common::{Backend, TestApp};
use rocket::http::{ContentType, Header, Status};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use srm::entity::students;

const FORMULA: &str = r#"=HYPERLINK("http://x","y")"#;

fn cells(csv: &[u8]) -> Vec<Vec<String>> {
    let body = csv.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(csv);
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(body)
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

#[rocket::async_test]
async fn an_exported_formula_is_written_as_text() {
    let app = TestApp::new(Backend::Sqlite).await;
    let p = app.people.clone();
    let s = students::Entity::find_by_id(p.student_record)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    let mut am: students::ActiveModel = s.into();
    am.name_zh = Set(FORMULA.into());
    am.address = Set(Some("@SUM(1+1)*cmd|' /C calc'!A0".into()));
    am.phone = Set(Some("+8613800000000".into()));
    am.update(app.db()).await.unwrap();
    let admin = app.token(p.admin).await;
    let res = app.get("/api/v1/students/export.csv", Some(&admin)).await;
    assert_eq!(res.status(), Status::Ok);
    let csv = res.into_bytes().await.unwrap();
    let rows = cells(&csv);
    let row = rows
        .iter()
        .find(|r| r.iter().any(|c| c.contains("HYPERLINK")))
        .expect("the student is exported");
    assert_eq!(
        row[2],
        format!("'{FORMULA}"),
        "the name is text, not a live formula"
    );
    assert_eq!(row[8], "'@SUM(1+1)*cmd|' /C calc'!A0");
    assert_eq!(row[6], "+8613800000000", "a plain number stays a number");
    for cell in rows.iter().flatten() {
        assert!(
            !cell.starts_with(['=', '+', '@', '\t', '\r'])
                || cell
                    .trim_start_matches('+')
                    .bytes()
                    .all(|b| b.is_ascii_digit()),
            "live cell {cell:?}"
        );
    }
    // The export still imports back unchanged: the `'` is read as the prefix it is.
    let res = app
        .client
        .post("/api/v1/students/import?dry_run=false")
        .header(Header::new("Authorization", format!("Bearer {admin}")))
        .header(ContentType::CSV)
        .body(csv)
        .dispatch()
        .await;
    let r: serde_json::Value = res.into_json().await.unwrap();
    assert_eq!(r["updated"], 0, "{r}");
    assert_eq!(r["rejected"], 0, "{r}");
    let s = students::Entity::find_by_id(p.student_record)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.name_zh, FORMULA);
}

#[rocket::async_test]
async fn a_rejected_row_with_a_formula_is_written_as_text() {
    use srm::students::import::{ImportReport, RejectedRow};
    let report = ImportReport {
        rejected_rows: vec![RejectedRow {
            line: 2,
            column: "name_zh".into(),
            reason: "-bad".into(),
            student_no: "-1+2".into(),
            values: vec!["-1+2".into(), String::new(), FORMULA.into()],
        }],
        ..Default::default()
    };
    let csv = srm::students::import::rejected_csv(&report).unwrap();
    let rows = cells(&csv);
    assert_eq!(rows[1][0], "'-1+2");
    assert_eq!(rows[1][2], format!("'{FORMULA}"));
    assert_eq!(rows[1][16], "'-bad");
    assert_eq!(rows[1][14], "2");
}
