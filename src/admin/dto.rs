//! The query parameters and bodies of the administrators' API (the query structs serve the
//! pages too).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Search, filters and page of the account list.
#[derive(Debug, Clone, Default, rocket::FromForm)]
pub struct UserQuery {
    /// Part of a user name or display name.
    pub q: Option<String>,
    /// student, teacher, admin or staff.
    pub kind: Option<String>,
    /// A group id.
    pub group: Option<i64>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

impl UserQuery {
    pub fn filter(&self) -> super::service::UserFilter {
        super::service::UserFilter {
            q: self.q.clone(),
            kind: self.kind.clone(),
            group_id: self.group,
        }
    }
}

/// The filters and page of the audit log.
#[derive(Debug, Clone, Default, rocket::FromForm)]
pub struct AuditQuery {
    /// The acting user's id.
    pub actor: Option<i64>,
    /// The student concerned.
    pub student: Option<i64>,
    /// An action, or the start of one (`students.`).
    pub action: Option<String>,
    /// First day, YYYY-MM-DD.
    pub from: Option<String>,
    /// Last day, YYYY-MM-DD.
    pub to: Option<String>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

fn parse_date(s: Option<&str>) -> Option<NaiveDate> {
    s.and_then(|s| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok())
}

impl AuditQuery {
    pub fn filter(&self) -> super::service::AuditFilter {
        super::service::AuditFilter {
            actor_id: self.actor,
            student_id: self.student,
            action: self.action.clone(),
            from: parse_date(self.from.as_deref()),
            to: parse_date(self.to.as_deref()),
        }
    }
}

#[derive(Deserialize)]
pub struct NewUserBody {
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub kind: String,
    pub password: String,
    #[serde(default)]
    pub groups: Vec<String>,
}

#[derive(Deserialize)]
pub struct UserPatch {
    pub is_active: Option<bool>,
    pub groups: Option<Vec<String>>,
}

#[derive(Deserialize)]
pub struct ResetBody {
    pub password: String,
}

#[derive(Deserialize)]
pub struct GroupBody {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub permissions: Vec<String>,
}

#[derive(Deserialize)]
pub struct ModuleBody {
    pub enabled: bool,
}

/// A module and whether it is on.
#[derive(Serialize)]
pub struct ModuleSwitch {
    pub code: String,
    pub enabled: bool,
}
