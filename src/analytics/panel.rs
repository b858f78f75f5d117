//! This module's part of a student's 360° page (`panels.analytics` in
//! `templates/analytics/profile_panel.html.tera`): their value cell with the scores and the
//! components behind them, and the lifecycle timeline. Staff only: a student never sees their
//! own cell label (the page is shared with the student's own record).

use super::settings::{self, Weights};
use super::{transitions, value};
use crate::access::Permission;
use crate::error::AppResult;
use crate::i18n::Lang;
use crate::web::Ctx;
use serde_json::{Value, json};

fn percent(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_string(), |x| format!("{:.0}%", x * 100.0))
}

pub async fn profile_panel(
    ctx: &Ctx<'_>,
    db: &sea_orm::DatabaseConnection,
    student_id: i64,
) -> AppResult<Value> {
    let Some(user) = ctx.user else {
        return Ok(Value::Null);
    };
    let staff = user.can(Permission::ViewAnyStudent) || user.can(Permission::ViewScopedStudents);
    if user.student_id == Some(student_id) || !staff {
        return Ok(Value::Null);
    }
    let zh = ctx.lang == Lang::Zh;
    let s = settings::get(db).await?;
    let cell = value::student_cell(db, student_id).await?.map(|c| {
        let text = s.cell(&c.cell);
        let parts = |names: &[&str]| -> Vec<Value> {
            names
                .iter()
                .map(|n| {
                    json!({"label": ctx.t(&format!("analytics.component.{n}")),
                           "value": percent(c.components.get(n)),
                           "weight": s.weights.get(n)})
                })
                .collect()
        };
        json!({
            "code": c.cell,
            "name": if zh { &text.name_zh } else { &text.name_en },
            "strategy": if zh { &text.strategy_zh } else { &text.strategy_en },
            "standing": format!("{:.1}", c.standing),
            "relationship": format!("{:.1}", c.relationship),
            "term": if zh { &c.term_zh } else { &c.term_en },
            "computed_at": c.computed_at,
            "previous": c.previous_cell.map(|p| { let t = s.cell(&p); if zh { t.name_zh } else { t.name_en } }),
            "standing_parts": parts(&Weights::STANDING),
            "relationship_parts": parts(&Weights::RELATIONSHIP),
        })
    });
    let timeline: Vec<Value> = transitions::list_for(db, student_id)
        .await?
        .into_iter()
        .rev()
        .map(|t| {
            json!({"from": t.from.as_ref().map(|f| ctx.t(&format!("stage.{f}"))),
                   "to": ctx.t(&format!("stage.{}", t.to)),
                   "at": t.at,
                   "rule": ctx.t(&format!("analytics.rule.{}", t.rule)),
                   "source": ctx.t(&format!("analytics.source.{}", t.source))})
        })
        .collect();
    Ok(json!({"cell": cell, "timeline": timeline}))
}
