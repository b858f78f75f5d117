//! Merging two records of one person (a duplicate found by the import's national-id check, or
//! by a registrar). The survivor keeps its number; everything the duplicate had moves over to it
//! in one transaction, its history included; empty fields of the survivor are filled from the
//! duplicate; the duplicate stays, marked as merged, so old links and the audit trail resolve.

use crate::audit::Entry;
use crate::entity::{student_history, students, users};
use crate::error::{AppError, AppResult};
use chrono::Utc;
use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    Set,
};
use serde::Serialize;

/// Tables whose rows belong to one student, with the column that must stay unique per student
/// (a student has one registration, one grade, one feedback per section; one score per
/// assessment). Rows of tables without such a key always move.
const OWNED: &[(&str, Option<&str>)] = &[
    ("enrolments", Some("section_id")),
    ("grades", Some("section_id")),
    ("assessment_scores", Some("assessment_id")),
    ("feedback_submissions", Some("section_id")),
    ("registration_events", None),
    ("holds", None),
    ("registration_overrides", None),
    ("cases", None),
    ("interventions", None),
    ("care_referrals", None),
    ("student_history", None),
];

/// Tables of a student's everyday traces and computed results, keyed by several columns: rows
/// the survivor already has (the same meeting, the same day's activity, the same term's cell,
/// the same mining run's flag) stay with the merged record; a clash here never refuses the
/// merge.
const TRACES: &[(&str, &[&str])] = &[
    ("attendance", &["section_id", "held_on"]),
    // NOTE: a run flags a student once; a run that flagged both records keeps each flag on
    // its own record (moving the duplicate's would break the run's one flag per student).
    ("risk_flags", &["run_id"]),
    ("learning_activity", &["section_id", "day", "kind"]),
    ("value_cells", &["term_id"]),
    ("lifecycle_transitions", &[]),
    ("imported_students", &["student_id"]),
];

/// What a merge moved, table by table.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MergeReport {
    pub survivor_id: i64,
    pub duplicate_id: i64,
    pub moved: Vec<MovedRows>,
    pub filled_fields: Vec<String>,
}

/// How many rows of one table moved to the surviving record.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MovedRows {
    pub table: String,
    pub rows: u64,
}

fn col(name: &str) -> Alias {
    Alias::new(name)
}

/// Rows of `table` that both records hold for the same key (the same section, say).
async fn clashes(
    db: &impl ConnectionTrait,
    table: &str,
    key: &str,
    survivor: i64,
    duplicate: i64,
) -> AppResult<i64> {
    let survivors_keys = Query::select()
        .column(col(key))
        .from(col(table))
        .and_where(Expr::col(col("student_id")).eq(survivor))
        .to_owned();
    let mut stmt = Query::select()
        .expr(Expr::col(Asterisk).count())
        .from(col(table))
        .and_where(Expr::col(col("student_id")).eq(duplicate))
        .and_where(Expr::col(col(key)).in_subquery(survivors_keys))
        .to_owned();
    if table == "enrolments" {
        // A registration the duplicate dropped long ago is history, not a clash: it stays with
        // the merged record.
        stmt.and_where(Expr::col(col("status")).is_in(["enrolled", "waitlisted"]));
    }
    let row = db.query_one(&stmt).await?;
    Ok(match row {
        Some(r) => r.try_get_by_index::<i64>(0)?,
        None => 0,
    })
}

/// Merges `duplicate` into `survivor`. Refused when the two records both hold a row for the same
/// section or assessment (a person to decide which one stands: drop or correct one first).
pub async fn merge(
    db: &DatabaseConnection,
    actor: i64,
    survivor_id: i64,
    duplicate_id: i64,
) -> AppResult<MergeReport> {
    if survivor_id == duplicate_id {
        return Err(AppError::unprocessable(
            "same_record",
            "a record cannot be merged into itself",
        ));
    }
    let txn = crate::db::write_txn(db).await?;
    let survivor = students::Entity::find_by_id(survivor_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let duplicate = students::Entity::find_by_id(duplicate_id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::unprocessable("unknown_duplicate", "no such duplicate record"))?;
    if survivor.merged_into_id.is_some() || duplicate.merged_into_id.is_some() {
        return Err(AppError::conflict(
            "already_merged",
            "one of the two records was already merged into another",
        ));
    }
    for (table, key) in OWNED {
        let Some(key) = key else { continue };
        let n = clashes(&txn, table, key, survivor_id, duplicate_id).await?;
        if n > 0 {
            return Err(AppError::conflict(
                "merge_clash",
                format!(
                    "both records have {n} {table} row(s) for the same {key}; drop or correct the duplicate's first"
                ),
            ));
        }
    }
    let mut moved = Vec::new();
    for (table, key) in OWNED {
        let mut stmt = Query::update()
            .table(col(table))
            .value(col("student_id"), survivor_id)
            .and_where(Expr::col(col("student_id")).eq(duplicate_id))
            .to_owned();
        if let Some(key) = key {
            // Rows the survivor already has a row for (only old, dropped registrations get
            // here) stay with the merged record.
            let taken = Query::select()
                .expr(Expr::val(1))
                .from_as(col(table), col("o"))
                .and_where(Expr::col((col("o"), col("student_id"))).eq(survivor_id))
                .and_where(Expr::col((col("o"), col(key))).equals((col(table), col(key))))
                .to_owned();
            stmt.and_where(Expr::exists(taken).not());
        }
        let n = txn.execute(&stmt).await?.rows_affected();
        if n > 0 {
            moved.push(MovedRows {
                table: table.to_string(),
                rows: n,
            });
        }
    }
    for (table, keys) in TRACES {
        let mut stmt = Query::update()
            .table(col(table))
            .value(col("student_id"), survivor_id)
            .and_where(Expr::col(col("student_id")).eq(duplicate_id))
            .to_owned();
        if !keys.is_empty() {
            let mut taken = Query::select()
                .expr(Expr::val(1))
                .from_as(col(table), col("o"))
                .and_where(Expr::col((col("o"), col("student_id"))).eq(survivor_id))
                .to_owned();
            for key in keys.iter().filter(|k| **k != "student_id") {
                taken.and_where(Expr::col((col("o"), col(key))).equals((col(table), col(key))));
            }
            stmt.and_where(Expr::exists(taken).not());
        }
        let n = txn.execute(&stmt).await?.rows_affected();
        if n > 0 {
            moved.push(MovedRows {
                table: table.to_string(),
                rows: n,
            });
        }
    }

    // The survivor keeps its own values and takes the duplicate's where it has none.
    let now = Utc::now().fixed_offset();
    let mut filled = Vec::new();
    let mut dup_am: students::ActiveModel = duplicate.clone().into();
    let mut am: students::ActiveModel = survivor.clone().into();
    macro_rules! fill {
        ($field:ident) => {
            if survivor.$field.is_none() && duplicate.$field.is_some() {
                am.$field = Set(duplicate.$field.clone());
                filled.push(stringify!($field).to_string());
            }
        };
    }
    fill!(phone);
    fill!(email);
    fill!(address);
    fill!(birth_date);
    fill!(advisor_id);
    if survivor.national_id.is_none() && duplicate.national_id.is_some() {
        // The national id is unique: it leaves the duplicate before the survivor takes it.
        dup_am.national_id = Set(None);
        am.national_id = Set(duplicate.national_id.clone());
        filled.push("national_id".into());
    }
    let mut retire_account = None;
    let mut moved_account = None;
    match (survivor.user_id, duplicate.user_id) {
        (None, Some(u)) => {
            dup_am.user_id = Set(None);
            am.user_id = Set(Some(u));
            filled.push("user_id".into());
            moved_account = Some(u);
        }
        (Some(_), Some(u)) => retire_account = Some(u),
        _ => {}
    }
    dup_am.merged_into_id = Set(Some(survivor_id));
    dup_am.updated_at = Set(now);
    dup_am.update(&txn).await?;
    am.updated_at = Set(now);
    am.update(&txn).await?;
    if let Some(u) = moved_account {
        // The account now opens the survivor: a new token version ends its sessions and drops
        // every cached copy of its old student record, on every instance; the student signs
        // in again and sees the merged record.
        users::Entity::update_many()
            .col_expr(
                users::Column::TokenVersion,
                Expr::col(users::Column::TokenVersion).add(1),
            )
            .filter(users::Column::Id.eq(u))
            .exec(&txn)
            .await?;
    }
    if let Some(u) = retire_account {
        // The duplicate's login would open an empty record: it is switched off and its sessions end.
        if let Some(user) = users::Entity::find_by_id(u).one(&txn).await? {
            let version = user.token_version + 1;
            let mut uam: users::ActiveModel = user.into();
            uam.is_active = Set(false);
            uam.token_version = Set(version);
            uam.update(&txn).await?;
        }
    }
    for (student, field, old, new) in [
        (
            survivor_id,
            "merged_from",
            None,
            Some(duplicate.student_no.clone()),
        ),
        (
            duplicate_id,
            "merged_into",
            None,
            Some(survivor.student_no.clone()),
        ),
    ] {
        student_history::ActiveModel {
            student_id: Set(student),
            at: Set(now),
            actor_id: Set(Some(actor)),
            field: Set(field.into()),
            old_value: Set(old),
            new_value: Set(new),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
    }
    let report = MergeReport {
        survivor_id,
        duplicate_id,
        moved,
        filled_fields: filled,
    };
    Entry::new(Some(actor), "students.merge", "student")
        .id(survivor_id)
        .student(survivor_id)
        .detail(serde_json::json!({
            "duplicate_id": duplicate_id,
            "duplicate_no": duplicate.student_no,
            "moved": report.moved,
            "filled": report.filled_fields,
            "retired_account": retire_account,
        }))
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(report)
}

/// The id of the record with a student number, to pick a merge's duplicate.
pub async fn find_by_no(db: &impl ConnectionTrait, student_no: &str) -> AppResult<Option<i64>> {
    Ok(students::Entity::find()
        .filter(students::Column::StudentNo.eq(student_no))
        .one(db)
        .await?
        .map(|s| s.id))
}
