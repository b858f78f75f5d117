//! The request and response bodies of the sign-in API.

use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Deserialize)]
pub struct PasswordRequest {
    pub current_password: String,
    pub new_password: String,
}

#[derive(Deserialize)]
pub struct ActivateRequest {
    pub student_no: String,
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub national_id: String,
    #[serde(default)]
    pub birth_date: String,
    pub new_password: String,
}

/// The caller's account, groups and permissions.
#[derive(Serialize)]
pub struct Me {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub kind: String,
    pub groups: Vec<String>,
    pub permissions: Vec<String>,
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
