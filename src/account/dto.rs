//! The request and response bodies of the sign-in API.

use serde::{Deserialize, Serialize};

/// A user name (or student number) and password.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    #[schema(example = "admin", max_length = 64)]
    pub username: String,
    #[schema(format = Password, max_length = 1024)]
    pub password: String,
}

/// One's current password and the new one.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct PasswordRequest {
    #[schema(format = Password)]
    pub current_password: String,
    /// At least 10 characters, not a common password.
    #[schema(format = Password)]
    pub new_password: String,
}

/// First sign-in of a student account: the one-time code from the letter, optionally the
/// national id and birth date as a second factor, and the first password.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct ActivateRequest {
    #[schema(example = "2026000201")]
    pub student_no: String,
    /// The activation code printed on the student's letter.
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub national_id: String,
    /// YYYY-MM-DD.
    #[serde(default)]
    pub birth_date: String,
    #[schema(format = Password)]
    pub new_password: String,
}

/// The caller's account, groups and permissions.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Me {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    /// `student`, `teacher`, `admin` or `staff`.
    pub kind: String,
    pub groups: Vec<String>,
    /// Permission codes, sorted.
    pub permissions: Vec<String>,
    /// The caller's own student record, for students.
    pub student_id: Option<i64>,
}

impl Me {
    pub fn of(user: &crate::auth::CurrentUser) -> Me {
        let mut permissions: Vec<String> = user
            .permissions
            .iter()
            .map(|p| p.code().to_string())
            .collect();
        permissions.sort();
        Me {
            id: user.id,
            username: user.username.clone(),
            display_name: user.display_name.clone(),
            kind: user.kind.clone(),
            groups: user.groups.clone(),
            permissions,
            student_id: user.student_id,
        }
    }
}
