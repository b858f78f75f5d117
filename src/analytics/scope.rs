//! Whose students a staff member sees in the analyses: everyone with `students.view_any` or
//! `mining.run`; an advisor (`students.view_scoped`) only the students they advise; a student
//! nobody (the matrix and their own cell are staff-only).

use crate::access::Permission;
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    All,
    /// An advisor: the students whose `advisor_id` is theirs.
    Advisor(i64),
}

impl Reach {
    /// The caller's reach, or `Forbidden` for someone who sees no student's analysis.
    pub fn of(user: &CurrentUser) -> AppResult<Reach> {
        if user.can(Permission::ViewAnyStudent) || user.can(Permission::RunMining) {
            Ok(Reach::All)
        } else if user.can(Permission::ViewScopedStudents) {
            Ok(Reach::Advisor(user.id))
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// An SQL condition on `students` aliased `st` (always true for `All`).
    pub fn sql(self) -> String {
        match self {
            Reach::All => "1 = 1".into(),
            Reach::Advisor(uid) => format!("st.advisor_id = {uid}"),
        }
    }
}
