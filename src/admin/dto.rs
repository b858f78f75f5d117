//! The query parameters and bodies of the administrators' API (the query structs serve the
//! pages too).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Search, filters and page of the account list.
#[derive(Debug, Clone, Default, rocket::FromForm, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// Part of a user name or display name.
    pub q: Option<String>,
    /// student, teacher, admin or staff.
    pub kind: Option<String>,
    /// A group id.
    pub group: Option<i64>,
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 1000000)]
    pub page: Option<u64>,
    /// Rows per page (50 when absent).
    #[param(minimum = 1, maximum = 500)]
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
#[derive(Debug, Clone, Default, rocket::FromForm, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// The acting user's id.
    pub actor: Option<i64>,
    /// The student concerned.
    pub student: Option<i64>,
    /// An action, or the start of one (`students.`).
    pub action: Option<String>,
    /// First day, YYYY-MM-DD.
    #[param(format = Date)]
    pub from: Option<String>,
    /// Last day, YYYY-MM-DD.
    #[param(format = Date)]
    pub to: Option<String>,
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 1000000)]
    pub page: Option<u64>,
    /// Rows per page (50 when absent).
    #[param(minimum = 1, maximum = 500)]
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

/// A new account.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewUserBody {
    /// 1-64 letters, digits, '.', '_' or '-'.
    #[schema(example = "li.lei", max_length = 64)]
    pub username: String,
    #[schema(max_length = 100)]
    pub display_name: String,
    pub email: Option<String>,
    /// `student`, `teacher`, `admin` or `staff`.
    #[schema(example = "teacher")]
    pub kind: String,
    #[schema(format = Password)]
    pub password: String,
    /// Group codes.
    #[serde(default)]
    pub groups: Vec<String>,
}

/// Enable or disable an account, and/or replace its groups.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct UserPatch {
    pub is_active: Option<bool>,
    pub groups: Option<Vec<String>>,
}

/// A new password set by an administrator.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct ResetBody {
    #[schema(format = Password)]
    pub password: String,
}

/// A permission group: its code, name and permission codes.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct GroupBody {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub permissions: Vec<String>,
    /// Whether members may sign in with a local password (else only by single sign-on);
    /// left out, a new group allows it and a saved group keeps its setting.
    #[serde(default)]
    pub local_password: Option<bool>,
}

/// Switch a module on or off.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct ModuleBody {
    pub enabled: bool,
}

/// A module and whether it is on.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ModuleSwitch {
    pub code: String,
    pub enabled: bool,
}
