//! What "download my data" puts in the archive: every row the portal holds about one student.
//! The tables are read from the database's own catalogue (as the backup does), so a table added
//! later with a `student_id` column is in the archive without anyone remembering to list it; a
//! table left out is listed below with the reason. Each part is written twice, as JSON (typed
//! values) and as CSV (for a spreadsheet), beside a bilingual README and a manifest.

use crate::backup::catalog::{self, Table};
use crate::backup::values;
use crate::csv_safe::SafeCsv;
use crate::entity::{courses, enrolments, sections, terms};
use crate::error::{AppError, AppResult};
use crate::paging::PageReq;
use crate::students::reads;
use sea_orm::sea_query::{Alias, Condition, Expr, ExprTrait, Order, Query, SelectStatement};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use serde_json::{Map, Value};
use std::io::Write;

/// Tables with a `student_id` column that are not copied as they are, and why.
pub const NOT_AS_IS: &[(&str, &str)] = &[
    (
        "audit_log",
        "staff reads of the record are the record_reads part; the other entries record what staff did",
    ),
    ("data_exports", "the archives themselves"),
];

/// Tables keyed by the student's account (`user_id`) that are copied: notifications and the
/// e-mails sent or waiting, conversations, notification settings.
pub const BY_ACCOUNT: &[&str] = &[
    "notifications",
    "outbox",
    "notification_prefs",
    "conversation_members",
];

/// Tables with a `user_id` column that are not copied, and why.
pub const ACCOUNT_NOT_AS_IS: &[(&str, &str)] = &[
    (
        "activation_codes",
        "one-time activation codes are credentials, kept only as hashes",
    ),
    (
        "user_groups",
        "the account's groups are in the account part as the role",
    ),
    (
        "idempotency_keys",
        "technical replay protection of API requests",
    ),
];

/// Rows reached through a row of the student's: (table, its column, the owner's table, the owner's
/// column, whether the owner's table is keyed by the account rather than the student record).
const THROUGH: &[(&str, &str, &str, &str, bool)] = &[
    ("grade_changes", "grade_id", "grades", "id", false),
    ("grade_history", "grade_id", "grades", "id", false),
    ("case_events", "case_id", "cases", "id", false),
    ("case_ratings", "case_id", "cases", "id", false),
    (
        "conversations",
        "id",
        "conversation_members",
        "conversation_id",
        true,
    ),
    (
        "messages",
        "conversation_id",
        "conversation_members",
        "conversation_id",
        true,
    ),
];

/// Columns never copied: credentials, whatever the table.
fn secret(column: &str) -> bool {
    column.ends_with("_hash") || column == "secret" || column == "token"
}

/// One part of the archive: a name, its columns and rows.
#[derive(Debug, Clone)]
pub struct Part {
    pub name: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

/// What the manifest says of one part.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PartSummary {
    pub name: String,
    pub rows: usize,
}

/// Everything the portal holds about one student, part by part.
pub async fn collect(
    db: &impl ConnectionTrait,
    student_id: i64,
    user_id: Option<i64>,
) -> AppResult<Vec<Part>> {
    let tables = catalog::tables(db).await?;
    let mut parts = Vec::new();
    for table in &tables {
        let has = |c: &str| table.column_index(c).is_some();
        let excluded = NOT_AS_IS.iter().any(|(t, _)| *t == table.name);
        let name = table.name.as_str();
        if name == "students" {
            let cond = Condition::all().add(Expr::col(Alias::new("id")).eq(student_id));
            parts.push(read(db, table, "profile", cond).await?);
        } else if name == "users" {
            if let Some(uid) = user_id {
                let cond = Condition::all().add(Expr::col(Alias::new("id")).eq(uid));
                parts.push(read(db, table, "account", cond).await?);
            }
        } else if has("student_id") && !excluded {
            let cond = Condition::all().add(Expr::col(Alias::new("student_id")).eq(student_id));
            parts.push(read(db, table, name, cond).await?);
        } else if BY_ACCOUNT.contains(&name) {
            if let Some(uid) = user_id {
                let cond = Condition::all().add(Expr::col(Alias::new("user_id")).eq(uid));
                parts.push(read(db, table, name, cond).await?);
            }
        } else if let Some((_, col, owner, owner_col, by_account)) =
            THROUGH.iter().find(|t| t.0 == name)
        {
            let key = match (by_account, user_id) {
                (false, _) => ("student_id", student_id),
                (true, Some(uid)) => ("user_id", uid),
                (true, None) => continue,
            };
            let owned = Query::select()
                .column(Alias::new(*owner_col))
                .from(Alias::new(*owner))
                .and_where(Expr::col(Alias::new(key.0)).eq(key.1))
                .to_owned();
            let cond = Condition::all().add(Expr::col(Alias::new(*col)).in_subquery(owned));
            parts.push(read(db, table, name, cond).await?);
        }
    }
    parts.push(sections_taken(db, student_id).await?);
    parts.push(record_reads(db, student_id).await?);
    Ok(parts)
}

/// The rows of `table` that `cond` selects, without credential columns, in key order.
async fn read(
    db: &impl ConnectionTrait,
    table: &Table,
    part: &str,
    cond: Condition,
) -> AppResult<Part> {
    let keep: Vec<&catalog::Column> = table.columns.iter().filter(|c| !secret(&c.name)).collect();
    let mut q: SelectStatement = Query::select();
    for c in &keep {
        q.column(Alias::new(c.name.as_str()));
    }
    q.from(Alias::new(table.name.as_str())).cond_where(cond);
    for c in table.order_columns() {
        q.order_by(Alias::new(c), Order::Asc);
    }
    let rows = db.query_all(&q).await?;
    let rows = rows
        .iter()
        .map(|r| {
            keep.iter()
                .enumerate()
                .map(|(i, c)| values::read(r, i, c.kind))
                .collect::<AppResult<Vec<Value>>>()
        })
        .collect::<AppResult<Vec<_>>>()?;
    Ok(Part {
        name: part.to_string(),
        columns: keep.iter().map(|c| c.name.clone()).collect(),
        rows,
    })
}

/// The sections the student registered for, with their course and term, so that the ids in
/// the other parts can be read.
async fn sections_taken(db: &impl ConnectionTrait, student_id: i64) -> AppResult<Part> {
    let rows = sections::Entity::find()
        .inner_join(enrolments::Entity)
        .inner_join(courses::Entity)
        .inner_join(terms::Entity)
        .filter(enrolments::Column::StudentId.eq(student_id))
        .select_only()
        .column(sections::Column::Id)
        .column(courses::Column::Code)
        .column(courses::Column::TitleZh)
        .column(courses::Column::TitleEn)
        .column(terms::Column::Code)
        .order_by_asc(sections::Column::Id)
        .into_tuple::<(i64, String, String, String, String)>()
        .all(db)
        .await?;
    Ok(Part {
        name: "sections_taken".into(),
        columns: [
            "section_id",
            "course_code",
            "course_zh",
            "course_en",
            "term",
        ]
        .map(String::from)
        .to_vec(),
        rows: rows
            .into_iter()
            .map(|(id, code, zh, en, term)| {
                vec![id.into(), code.into(), zh.into(), en.into(), term.into()]
            })
            .collect(),
    })
}

/// Every staff read of the record ("who has looked at my record").
async fn record_reads(db: &impl ConnectionTrait, student_id: i64) -> AppResult<Part> {
    let mut rows = Vec::new();
    let mut page = 1;
    loop {
        let got = reads::record_reads(
            db,
            student_id,
            PageReq {
                page,
                per_page: 200,
            },
        )
        .await?;
        let last = got.items.len() < 200;
        for r in got.items {
            rows.push(vec![
                r.at.to_rfc3339().into(),
                r.what.into(),
                r.purpose.into(),
                r.by.into(),
                r.role.into(),
            ]);
        }
        if last {
            break;
        }
        page += 1;
    }
    Ok(Part {
        name: "record_reads".into(),
        columns: ["at", "what", "purpose", "by", "role"]
            .map(String::from)
            .to_vec(),
        rows,
    })
}

const README: &str = "\
Your data from the student-relationship portal / 你在学生关系管理平台中的数据

Every part is here twice: data/<part>.json (typed values) and data/<part>.csv (for a
spreadsheet). manifest.json lists the parts and their row counts.
每一部分都有两种格式：data/<部分>.json（带类型的数据）和 data/<部分>.csv（可用电子表格打开）。
manifest.json 列出各部分及其行数。

profile            your student record / 学籍信息
account            your login account (never your password) / 登录账户（不含密码）
student_history    changes to your record / 学籍变更记录
enrolments, registration_events, registration_overrides, holds, sections_taken
                   course registration / 选课
grades, grade_changes, grade_history, assessment_scores
                   grades and their changes / 成绩及其变更
attendance, learning_activity
                   attendance and learning activity / 考勤与学习活动
conversations, conversation_members, messages, notifications, outbox
                   messages, notifications and e-mails / 消息、通知与邮件
notification_prefs how you chose to be notified / 通知设置
cases, case_events, case_ratings
                   your inquiries and complaints / 咨询与投诉
interventions, care_referrals
                   care records about you, and groups you were handed to care in / 关怀记录及转交关怀
risk_flags         risk flags and their reasons / 风险标记及原因
record_reads       who among the staff has read your record, when and why / 查阅记录
";

/// The zip archive of `parts` (CPU work: call it from `spawn_blocking`).
pub fn pack(parts: &[Part], manifest: &Value) -> AppResult<Vec<u8>> {
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut file = |name: &str, bytes: &[u8]| -> AppResult<()> {
        out.start_file(name, opts).map_err(AppError::internal)?;
        out.write_all(bytes).map_err(AppError::internal)
    };
    file("README.txt", README.as_bytes())?;
    file(
        "manifest.json",
        &serde_json::to_vec_pretty(manifest).map_err(AppError::internal)?,
    )?;
    for p in parts {
        let objects: Vec<Value> = p
            .rows
            .iter()
            .map(|r| {
                Value::Object(
                    p.columns
                        .iter()
                        .cloned()
                        .zip(r.iter().cloned())
                        .collect::<Map<String, Value>>(),
                )
            })
            .collect();
        file(
            &format!("data/{}.json", p.name),
            &serde_json::to_vec_pretty(&objects).map_err(AppError::internal)?,
        )?;
        let mut csv = SafeCsv::new();
        csv.row(&p.columns)?;
        for r in &p.rows {
            csv.row(r.iter().map(cell))?;
        }
        file(&format!("data/{}.csv", p.name), &csv.finish()?)?;
    }
    Ok(out.finish().map_err(AppError::internal)?.into_inner())
}

/// A JSON value as a CSV cell: text as it is, null empty, the rest as JSON.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
