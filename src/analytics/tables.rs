//! The value matrix's and the lifecycle page's tables as CSV (neutralised), one file per table
//! shown on the page, picked by `?table=`: what a dean takes into a spreadsheet.

use super::analysis::{LifecycleReport, Recovery};
use super::dto::ValueMatrixAnswer;
use crate::csv_safe::SafeCsv;
use crate::error::{AppError, AppResult};
use crate::students::lifecycle::Stage;

/// The matrix page's tables: the four cells, and the movement since the term before.
pub const MATRIX_TABLES: [&str; 2] = ["cells", "movement"];
/// The lifecycle page's tables: stages per term, the funnel, and recovery with and without care.
pub const LIFECYCLE_TABLES: [&str; 3] = ["terms", "funnel", "recovery"];

/// The table asked for (the first when none is), or a 400 naming the tables there are.
pub fn pick(asked: Option<&str>, tables: &[&'static str]) -> AppResult<&'static str> {
    let asked = asked.unwrap_or(tables[0]);
    tables
        .iter()
        .find(|t| **t == asked)
        .copied()
        .ok_or_else(|| {
            AppError::bad_request(
                "unknown_table",
                format!(
                    "there is no table \"{asked}\"; pick one of: {}",
                    tables.join(", ")
                ),
            )
            .arg("table", asked)
            .arg("tables", tables.join(", "))
        })
}

fn percent(part: i64, of: i64) -> String {
    Recovery::rate(part, of).map_or(String::new(), |v| v.to_string())
}

/// One of the matrix's tables (`cells` or `movement`) in the caller's scope.
pub fn matrix_csv(m: &ValueMatrixAnswer, table: &str) -> AppResult<Vec<u8>> {
    let code =
        |t: &Option<super::value::TermRef>| t.as_ref().map_or(String::new(), |t| t.code.clone());
    let mut w = SafeCsv::new();
    if table == "movement" {
        w.row(["from_term", "to_term", "from_cell", "to_cell", "students"])?;
        for f in &m.movement {
            w.row([
                code(&m.previous_term),
                code(&m.term),
                f.from.clone(),
                f.to.clone(),
                f.count.to_string(),
            ])?;
        }
        return w.finish();
    }
    w.row([
        "term",
        "cell",
        "name_zh",
        "name_en",
        "strategy_zh",
        "strategy_en",
        "high_standing",
        "high_relationship",
        "students",
        "share_percent",
        "standing_at",
        "relationship_at",
    ])?;
    for c in &m.cells {
        w.row([
            code(&m.term),
            c.code.clone(),
            c.name_zh.clone(),
            c.name_en.clone(),
            c.strategy_zh.clone(),
            c.strategy_en.clone(),
            c.high_standing.to_string(),
            c.high_relationship.to_string(),
            c.count.to_string(),
            percent(c.count, m.total),
            m.standing_at.to_string(),
            m.relationship_at.to_string(),
        ])?;
    }
    w.finish()
}

/// One of the lifecycle page's tables (`terms`, `funnel` or `recovery`) in the caller's scope.
pub fn lifecycle_csv(r: &LifecycleReport, table: &str) -> AppResult<Vec<u8>> {
    let mut w = SafeCsv::new();
    match table {
        "funnel" => {
            let f = &r.funnel;
            w.row(["stage", "students", "share_of_previous_percent"])?;
            w.row(["new".to_string(), f.new.to_string(), String::new()])?;
            w.row([
                "forming".to_string(),
                f.forming.to_string(),
                percent(f.forming, f.new),
            ])?;
            w.row([
                "stable".to_string(),
                f.stable.to_string(),
                percent(f.stable, f.forming),
            ])?;
        }
        "recovery" => {
            let x = &r.recovery;
            w.row(["care", "declining_episodes", "recovered", "rate_percent"])?;
            for (care, of, recovered) in [
                ("with_care", x.with_care, x.with_care_recovered),
                ("without_care", x.without_care, x.without_care_recovered),
            ] {
                w.row([
                    care.to_string(),
                    of.to_string(),
                    recovered.to_string(),
                    percent(recovered, of),
                ])?;
            }
        }
        _ => {
            let mut header = vec!["term", "name_zh", "name_en"];
            header.extend(Stage::ALL.iter().map(|s| s.code()));
            header.push("total");
            w.row(&header)?;
            for t in &r.terms {
                let mut row = vec![t.term_code.clone(), t.name_zh.clone(), t.name_en.clone()];
                row.extend(t.counts.iter().map(|n| n.to_string()));
                row.push(t.counts.iter().sum::<i64>().to_string());
                w.row(&row)?;
            }
        }
    }
    w.finish()
}
