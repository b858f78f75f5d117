//! National ids are sensitive personal information (PIPL art. 28): staff see them masked
//! (`110101********1234`) unless a group of theirs holds "view full identifiers", and every
//! time a full id is shown to staff an audit row records who saw whose. A student always sees
//! their own.

use super::service::StudentView;
use crate::access::Permission;
use crate::audit::Entry;
use crate::auth::CurrentUser;
use crate::error::AppResult;
use sea_orm::ConnectionTrait;

/// The first six and last four characters, the rest as `*` (all of it for a short value).
pub fn mask(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() <= 10 {
        return "*".repeat(chars.len());
    }
    let n = chars.len();
    chars[..6]
        .iter()
        .copied()
        .chain(std::iter::repeat_n('*', n - 10))
        .chain(chars[n - 4..].iter().copied())
        .collect()
}

/// Whether `user` may see the full identifiers of student record `student_id`.
pub fn may_see_full(user: &CurrentUser, student_id: Option<i64>) -> bool {
    user.can(Permission::ViewFullIdentifiers)
        || (student_id.is_some() && user.student_id == student_id)
}

/// Masks the view for `user`, or audits the reveal of a full id to staff.
pub async fn shown_to(
    db: &impl ConnectionTrait,
    user: &CurrentUser,
    mut view: StudentView,
) -> AppResult<StudentView> {
    let Some(nid) = view.national_id.take() else {
        return Ok(view);
    };
    if user.student_id == Some(view.id) {
        view.national_id = Some(nid);
    } else if user.can(Permission::ViewFullIdentifiers) {
        Entry::new(Some(user.id), "students.identifier_revealed", "student")
            .id(view.id)
            .student(view.id)
            .write(db)
            .await?;
        view.national_id = Some(nid);
    } else {
        view.national_id = Some(mask(&nid));
    }
    Ok(view)
}

/// The same for a bulk read (an export): one audit row naming how many full ids were shown.
pub async fn audit_bulk_reveal(
    db: &impl ConnectionTrait,
    user: &CurrentUser,
    count: usize,
) -> AppResult<()> {
    if count == 0 {
        return Ok(());
    }
    Entry::new(Some(user.id), "students.identifier_revealed", "student")
        .detail(serde_json::json!({"export_rows": count}))
        .write(db)
        .await
}
