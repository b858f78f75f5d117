//! Suggestion rules: data (`seed/suggestion_rules.json`, loaded into `suggestion_rules` when
//! that table is empty, then edited by an administrator), mapping a student's risk factors,
//! features, level and cluster to supportive advice.
//!
//! A trigger is JSON: `{"factor": name}` (among the student's top factors),
//! `{"feature": name, "lt"|"lte"|"gt"|"gte": number}`, `{"level": ["high", ...]}`,
//! `{"cluster_trait": "term_missed+"}` (their cluster is notably high `+` or low `-` there),
//! and `{"all": [...]}` / `{"any": [...]}`.

use super::features::FEATURES;
use super::reasons::FlagDetail;
use crate::audit::Entry;
use crate::db::write_txn;
use crate::entity::{audit_log, risk_flags, students, suggestion_rules};
use crate::error::{AppError, AppResult};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, ModelTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
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

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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

/// Whether the seed rules were loaded once already (an administrator may since have deleted
/// them all, which must not bring them back).
async fn seeded_before(db: &impl ConnectionTrait) -> AppResult<bool> {
    Ok(audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq("mining.rules_seed"))
        .count(db)
        .await?
        > 0)
}

/// Loads the seed rules when the table is empty and they were never loaded before.
pub async fn ensure_seeded(db: &DatabaseConnection) -> AppResult<()> {
    if suggestion_rules::Entity::find().count(db).await? > 0 || seeded_before(db).await? {
        return Ok(());
    }
    let rules: Vec<SeedRule> = serde_json::from_str(SEED)
        .map_err(|e| AppError::internal(format!("seed/suggestion_rules.json: {e}")))?;
    let txn = write_txn(db).await?;
    if suggestion_rules::Entity::find().count(&txn).await? > 0 || seeded_before(&txn).await? {
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

/// A new rule, as an administrator writes it.
#[derive(Debug, Clone)]
pub struct NewRule {
    pub code: String,
    pub priority: i64,
    /// JSON text (from a form) or a JSON value (from the API); see `parse_trigger`.
    pub trigger: Value,
    pub text_zh: String,
    pub text_en: String,
    pub is_active: bool,
}

/// A change to a rule: the fields given are replaced.
#[derive(Debug, Clone, Default)]
pub struct RulePatch {
    pub trigger: Option<Value>,
    pub text_zh: Option<String>,
    pub text_en: Option<String>,
    pub priority: Option<i64>,
    pub is_active: Option<bool>,
}

/// A trigger from a form's text or an API value (a string is read as JSON text), validated.
pub fn parse_trigger(v: &Value) -> AppResult<Value> {
    let t = match v {
        Value::String(text) => serde_json::from_str(text)
            .map_err(|e| AppError::unprocessable("bad_trigger", format!("not JSON: {e}")))?,
        other => other.clone(),
    };
    validate(&t).map_err(|m| AppError::unprocessable("bad_trigger", m))?;
    Ok(t)
}

fn check_code(code: &str) -> AppResult<()> {
    let ok = (1..=40).contains(&code.len())
        && code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(AppError::unprocessable(
            "bad_code",
            "a code is 1–40 characters: a–z, 0–9 and _",
        ))
    }
}

fn check_text(zh: &str, en: &str) -> AppResult<()> {
    if zh.trim().is_empty() || en.trim().is_empty() {
        return Err(AppError::unprocessable(
            "empty_text",
            "both texts (Chinese and English) are required",
        ));
    }
    Ok(())
}

fn snapshot(r: &suggestion_rules::Model) -> Value {
    json!({"code": r.code, "trigger": serde_json::from_str::<Value>(&r.trigger).unwrap_or(Value::Null),
        "text_zh": r.text_zh, "text_en": r.text_en, "priority": r.priority, "is_active": r.is_active})
}

/// Adds a rule (audited, one transaction); a bad code, trigger or text is refused (422) and a
/// code already in use too (409 `duplicate_code`), with nothing stored.
pub async fn create(db: &DatabaseConnection, actor: i64, input: &NewRule) -> AppResult<i64> {
    let code = input.code.trim();
    check_code(code)?;
    let trigger = parse_trigger(&input.trigger)?;
    check_text(&input.text_zh, &input.text_en)?;
    let duplicate = || {
        AppError::conflict(
            "duplicate_code",
            format!("a rule with the code {code:?} exists"),
        )
    };
    let txn = write_txn(db).await?;
    if suggestion_rules::Entity::find()
        .filter(suggestion_rules::Column::Code.eq(code))
        .count(&txn)
        .await?
        > 0
    {
        return Err(duplicate());
    }
    let row = suggestion_rules::ActiveModel {
        code: Set(code.to_string()),
        trigger: Set(trigger.to_string()),
        text_zh: Set(input.text_zh.trim().to_string()),
        text_en: Set(input.text_en.trim().to_string()),
        priority: Set(input.priority),
        is_active: Set(input.is_active),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| {
        if crate::db::is_unique_violation(&e) {
            duplicate()
        } else {
            e.into()
        }
    })?;
    Entry::new(Some(actor), "mining.rule_create", "suggestion_rule")
        .id(row.id)
        .detail(snapshot(&row))
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(row.id)
}

/// Changes one rule (audited, one transaction); a malformed trigger or empty text is refused.
pub async fn update(
    db: &DatabaseConnection,
    actor: i64,
    id: i64,
    patch: &RulePatch,
) -> AppResult<suggestion_rules::Model> {
    let trigger = patch.trigger.as_ref().map(parse_trigger).transpose()?;
    let txn = write_txn(db).await?;
    let rule = suggestion_rules::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let zh = patch
        .text_zh
        .as_deref()
        .unwrap_or(&rule.text_zh)
        .trim()
        .to_string();
    let en = patch
        .text_en
        .as_deref()
        .unwrap_or(&rule.text_en)
        .trim()
        .to_string();
    check_text(&zh, &en)?;
    let before = snapshot(&rule);
    let mut am: suggestion_rules::ActiveModel = rule.into();
    if let Some(t) = trigger {
        am.trigger = Set(t.to_string());
    }
    am.text_zh = Set(zh);
    am.text_en = Set(en);
    if let Some(p) = patch.priority {
        am.priority = Set(p);
    }
    if let Some(a) = patch.is_active {
        am.is_active = Set(a);
    }
    let after = am.update(&txn).await?;
    Entry::new(Some(actor), "mining.rule_update", "suggestion_rule")
        .id(id)
        .change(before, snapshot(&after))
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(after)
}

/// Deletes one rule (audited, one transaction).
pub async fn delete(db: &DatabaseConnection, actor: i64, id: i64) -> AppResult<()> {
    let txn = write_txn(db).await?;
    let rule = suggestion_rules::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let before = snapshot(&rule);
    rule.delete(&txn).await?;
    Entry::new(Some(actor), "mining.rule_delete", "suggestion_rule")
        .id(id)
        .detail(before)
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// How many students of a run a rule's trigger matches (whether or not the rule is on, and
/// before the cap on suggestions shown), with a few of them.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RuleMatches {
    pub count: usize,
    /// Up to `SAMPLE` students, highest risk score first: (student id, student number).
    pub sample: Vec<(i64, String)>,
}

const SAMPLE: usize = 8;

/// Each rule's matches on the latest finished run, and how many distinct triggers this call
/// had to match against the run's flags (0 when every count came from the cache).
#[derive(Debug, Clone, Default)]
pub struct Matched {
    pub run: i64,
    pub by_rule: HashMap<i64, RuleMatches>,
    pub computed: usize,
}

/// A trigger's matches on one run: the count and the first `SAMPLE` students' ids.
#[derive(Debug, Clone, Default)]
struct Counted {
    count: usize,
    sample: Vec<i64>,
}

/// Which run's flags the cache holds counts for. A finished run's flags are never changed (only
/// their feedback and formula columns, which no trigger reads); the flag count guards against
/// rows removed with their student, and the run's start and finish instants keep two databases
/// served by one process (the tests) apart.
#[derive(Debug, Clone, PartialEq)]
struct RunKey {
    run: i64,
    started: String,
    finished: String,
    flags: u64,
}

/// The match counts of a run, by trigger (its canonical JSON text): a trigger's counts depend
/// on nothing but the trigger and the run's flags, so a rule's text, priority or switch can
/// change without a recount, a new or edited trigger is counted alone, and a new run starts
/// afresh. Only the current rules' triggers are kept.
struct MatchCache {
    key: RunKey,
    by_trigger: HashMap<String, Counted>,
}

/// Runs whose counts are kept at most (the latest is the one shown; a few more so that
/// databases sharing one process, as in the tests, do not evict each other's).
const CACHED_RUNS: usize = 4;

/// Most recently used last.
static MATCH_CACHE: std::sync::Mutex<Vec<MatchCache>> = std::sync::Mutex::new(Vec::new());

fn cache() -> std::sync::MutexGuard<'static, Vec<MatchCache>> {
    // NOTE: a panic while holding the lock leaves plain data behind; keep using it.
    MATCH_CACHE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Each rule's matches among the students scored by the latest finished run (`None` before
/// the first run). The counts are kept per run and trigger (see [`MatchCache`]): a visit reads
/// the run's flags only for triggers not counted yet, and the matching runs off the request
/// threads.
pub async fn matches_on_latest(
    db: &impl ConnectionTrait,
    rules: &[suggestion_rules::Model],
) -> AppResult<Option<Matched>> {
    let Some(run) = super::run::latest_run(db).await? else {
        return Ok(None);
    };
    let key = RunKey {
        run: run.id,
        started: run.started_at.to_rfc3339(),
        finished: run.finished_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
        flags: risk_flags::Entity::find()
            .filter(risk_flags::Column::RunId.eq(run.id))
            .count(db)
            .await?,
    };
    let triggers: Vec<(i64, String, Value)> = rules
        .iter()
        .map(|r| {
            let t = serde_json::from_str(&r.trigger).unwrap_or(Value::Null);
            (r.id, t.to_string(), t)
        })
        .collect();
    let mut missing: HashMap<String, Value> = HashMap::new();
    {
        let guard = cache();
        let cached = guard.iter().find(|c| c.key == key);
        for (_, text, t) in &triggers {
            if cached.is_none_or(|c| !c.by_trigger.contains_key(text)) {
                missing.insert(text.clone(), t.clone());
            }
        }
    }
    let computed = missing.len();
    let mut fresh: HashMap<String, Counted> = HashMap::new();
    if !missing.is_empty() {
        let rows: Vec<(i64, String, String)> = risk_flags::Entity::find()
            .select_only()
            .column(risk_flags::Column::StudentId)
            .column(risk_flags::Column::Level)
            .column(risk_flags::Column::Reasons)
            .filter(risk_flags::Column::RunId.eq(run.id))
            .order_by_desc(risk_flags::Column::Score)
            .order_by_asc(risk_flags::Column::Id)
            .into_tuple()
            .all(db)
            .await?;
        let missing: Vec<(String, Value)> = missing.into_iter().collect();
        fresh = tokio::task::spawn_blocking(move || count_matches(&rows, &missing))
            .await
            .map_err(|e| AppError::internal(format!("rule matching stopped: {e}")))?;
    }
    let counted: HashMap<i64, Counted> = {
        let mut guard = cache();
        let entry = match guard.iter().position(|c| c.key == key) {
            Some(i) => guard.remove(i),
            None => MatchCache {
                key: key.clone(),
                by_trigger: HashMap::new(),
            },
        };
        guard.push(entry);
        if guard.len() > CACHED_RUNS {
            guard.remove(0);
        }
        let Some(c) = guard.last_mut() else {
            return Err(AppError::internal("rule match cache"));
        };
        c.by_trigger
            .extend(fresh.iter().map(|(k, v)| (k.clone(), v.clone())));
        let current: std::collections::HashSet<&String> =
            triggers.iter().map(|(_, text, _)| text).collect();
        c.by_trigger.retain(|k, _| current.contains(k));
        triggers
            .iter()
            .map(|(id, text, _)| {
                let v = c
                    .by_trigger
                    .get(text)
                    .or_else(|| fresh.get(text))
                    .cloned()
                    .unwrap_or_default();
                (*id, v)
            })
            .collect()
    };
    let ids: Vec<i64> = counted
        .values()
        .flat_map(|c| c.sample.iter().copied())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let numbers: HashMap<i64, String> = if ids.is_empty() {
        HashMap::new()
    } else {
        students::Entity::find()
            .select_only()
            .column(students::Column::Id)
            .column(students::Column::StudentNo)
            .filter(students::Column::Id.is_in(ids))
            .into_tuple::<(i64, String)>()
            .all(db)
            .await?
            .into_iter()
            .collect()
    };
    let by_rule = counted
        .into_iter()
        .map(|(id, c)| {
            let sample = c
                .sample
                .iter()
                .filter_map(|s| numbers.get(s).map(|no| (*s, no.clone())))
                .collect();
            (
                id,
                RuleMatches {
                    count: c.count,
                    sample,
                },
            )
        })
        .collect();
    Ok(Some(Matched {
        run: run.id,
        by_rule,
        computed,
    }))
}

/// The subject a rule is matched against, from a stored flag's level and `reasons` JSON.
pub fn subject_of(level: &str, reasons: &str) -> Subject {
    let detail: FlagDetail = serde_json::from_str(reasons).unwrap_or_default();
    Subject {
        level: level.to_string(),
        factors: detail.factors.iter().map(|r| r.feature.clone()).collect(),
        features: FEATURES
            .iter()
            .zip(&detail.features)
            .map(|(k, v)| (k.to_string(), *v))
            .collect(),
        cluster_traits: detail.traits,
    }
}

/// One pass over a run's flags (student, level, reasons; highest score first) counting each
/// trigger's matches.
fn count_matches(
    rows: &[(i64, String, String)],
    triggers: &[(String, Value)],
) -> HashMap<String, Counted> {
    let mut out: Vec<Counted> = vec![Counted::default(); triggers.len()];
    for (student, level, reasons) in rows {
        let s = subject_of(level, reasons);
        for ((_, t), m) in triggers.iter().zip(out.iter_mut()) {
            if matches(t, &s) {
                m.count += 1;
                if m.sample.len() < SAMPLE {
                    m.sample.push(*student);
                }
            }
        }
    }
    triggers.iter().map(|(k, _)| k.clone()).zip(out).collect()
}
