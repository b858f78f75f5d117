//! Suggestion rules: data (`seed/suggestion_rules.json`, loaded into `suggestion_rules` when
//! that table is empty, then edited by an administrator), mapping a student's risk factors,
//! features, level and cluster to supportive advice.
//!
//! A trigger is JSON: `{"factor": name}` (among the student's top factors),
//! `{"feature": name, "lt"|"lte"|"gt"|"gte": number}`, `{"level": ["high", ...]}`,
//! `{"cluster_trait": "term_missed+"}` (their cluster is notably high `+` or low `-` there),
//! and `{"all": [...]}` / `{"any": [...]}`.

use crate::audit::Entry;
use crate::db::write_txn;
use crate::entity::suggestion_rules;
use crate::error::{AppError, AppResult};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryOrder,
    Set,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;

const SEED: &str = include_str!("../../seed/suggestion_rules.json");

#[derive(Debug, Deserialize)]
struct SeedRule {
    code: String,
    priority: i64,
    trigger: Value,
    text_zh: String,
    text_en: String,
}

/// What a rule is matched against: one student's flag.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Subject {
    pub level: String,
    pub factors: Vec<String>,
    pub features: HashMap<String, f64>,
    pub cluster_traits: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Suggestion {
    pub code: String,
    pub text: String,
}

/// Checks a trigger's shape, so an administrator's typo is refused with a message.
pub fn validate(trigger: &Value) -> Result<(), String> {
    let obj = trigger.as_object().ok_or("a trigger is a JSON object")?;
    if let Some(list) = obj.get("all").or_else(|| obj.get("any")) {
        let list = list.as_array().ok_or("\"all\"/\"any\" take a list")?;
        return list.iter().try_for_each(validate);
    }
    if obj.get("factor").is_some_and(Value::is_string)
        || obj.get("cluster_trait").is_some_and(Value::is_string)
    {
        return Ok(());
    }
    if let Some(levels) = obj.get("level") {
        let ok = levels.as_array().is_some_and(|l| {
            l.iter()
                .all(|x| matches!(x.as_str(), Some("low" | "medium" | "high")))
        });
        return if ok {
            Ok(())
        } else {
            Err("\"level\" is a list of low/medium/high".into())
        };
    }
    if obj.get("feature").is_some_and(Value::is_string) {
        let ops = ["lt", "lte", "gt", "gte"];
        if ops
            .iter()
            .any(|o| obj.get(*o).is_some_and(Value::is_number))
        {
            return Ok(());
        }
        return Err("\"feature\" needs one of lt, lte, gt, gte with a number".into());
    }
    Err("unknown trigger: use factor, feature, level, cluster_trait, all or any".into())
}

/// Whether `trigger` holds for `s` (an unknown shape never holds).
pub fn matches(trigger: &Value, s: &Subject) -> bool {
    let Some(obj) = trigger.as_object() else {
        return false;
    };
    if let Some(list) = obj.get("all").and_then(Value::as_array) {
        return !list.is_empty() && list.iter().all(|t| matches(t, s));
    }
    if let Some(list) = obj.get("any").and_then(Value::as_array) {
        return list.iter().any(|t| matches(t, s));
    }
    if let Some(f) = obj.get("factor").and_then(Value::as_str) {
        return s.factors.iter().any(|x| x == f);
    }
    if let Some(t) = obj.get("cluster_trait").and_then(Value::as_str) {
        return s.cluster_traits.iter().any(|x| x == t);
    }
    if let Some(levels) = obj.get("level").and_then(Value::as_array) {
        return levels.iter().any(|l| l.as_str() == Some(s.level.as_str()));
    }
    if let Some(f) = obj.get("feature").and_then(Value::as_str) {
        let Some(v) = s.features.get(f) else {
            return false;
        };
        let num = |k: &str| obj.get(k).and_then(Value::as_f64);
        return num("lt").is_none_or(|x| *v < x)
            && num("lte").is_none_or(|x| *v <= x)
            && num("gt").is_none_or(|x| *v > x)
            && num("gte").is_none_or(|x| *v >= x);
    }
    false
}

/// Loads the seed rules when the table is empty.
pub async fn ensure_seeded(db: &DatabaseConnection) -> AppResult<()> {
    if suggestion_rules::Entity::find().count(db).await? > 0 {
        return Ok(());
    }
    let rules: Vec<SeedRule> = serde_json::from_str(SEED)
        .map_err(|e| AppError::internal(format!("seed/suggestion_rules.json: {e}")))?;
    let txn = write_txn(db).await?;
    if suggestion_rules::Entity::find().count(&txn).await? > 0 {
        return Ok(());
    }
    for r in &rules {
        suggestion_rules::ActiveModel {
            code: Set(r.code.clone()),
            trigger: Set(r.trigger.to_string()),
            text_zh: Set(r.text_zh.clone()),
            text_en: Set(r.text_en.clone()),
            priority: Set(r.priority),
            is_active: Set(true),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
    }
    Entry::new(None, "mining.rules_seed", "suggestion_rule")
        .detail(json!({"count": rules.len()}))
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

pub async fn all(db: &impl ConnectionTrait) -> AppResult<Vec<suggestion_rules::Model>> {
    Ok(suggestion_rules::Entity::find()
        .order_by_desc(suggestion_rules::Column::Priority)
        .order_by_asc(suggestion_rules::Column::Id)
        .all(db)
        .await?)
}

/// The suggestions for `s`, most important first (at most `max`).
pub fn suggest(
    rules: &[suggestion_rules::Model],
    s: &Subject,
    zh: bool,
    max: usize,
) -> Vec<Suggestion> {
    rules
        .iter()
        .filter(|r| r.is_active)
        .filter(|r| serde_json::from_str::<Value>(&r.trigger).is_ok_and(|t| matches(&t, s)))
        .take(max)
        .map(|r| Suggestion {
            code: r.code.clone(),
            text: if zh {
                r.text_zh.clone()
            } else {
                r.text_en.clone()
            },
        })
        .collect()
}

pub struct RuleInput {
    pub trigger: String,
    pub text_zh: String,
    pub text_en: String,
    pub priority: i64,
    pub is_active: bool,
}

/// Updates one rule (audited); a malformed trigger or empty text is refused.
pub async fn update(
    db: &DatabaseConnection,
    actor: i64,
    id: i64,
    input: &RuleInput,
) -> AppResult<()> {
    let trigger: Value = serde_json::from_str(&input.trigger)
        .map_err(|e| AppError::unprocessable("invalid_trigger", format!("not JSON: {e}")))?;
    validate(&trigger).map_err(|m| AppError::unprocessable("invalid_trigger", m))?;
    if input.text_zh.trim().is_empty() || input.text_en.trim().is_empty() {
        return Err(AppError::unprocessable(
            "empty_text",
            "both texts are required",
        ));
    }
    let txn = write_txn(db).await?;
    let rule = suggestion_rules::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let before = json!({"trigger": rule.trigger, "text_zh": rule.text_zh, "text_en": rule.text_en,
        "priority": rule.priority, "is_active": rule.is_active});
    let mut am: suggestion_rules::ActiveModel = rule.into();
    am.trigger = Set(trigger.to_string());
    am.text_zh = Set(input.text_zh.trim().to_string());
    am.text_en = Set(input.text_en.trim().to_string());
    am.priority = Set(input.priority);
    am.is_active = Set(input.is_active);
    am.update(&txn).await?;
    Entry::new(Some(actor), "mining.rule_update", "suggestion_rule")
        .id(id)
        .change(
            before,
            json!({"trigger": trigger, "text_zh": input.text_zh, "text_en": input.text_en,
                "priority": input.priority, "is_active": input.is_active}),
        )
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}
