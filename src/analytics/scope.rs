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

    /// The values of the condition `(? = 1 OR st.advisor_id = ?)` on `students` aliased
    /// `st` (true for everyone with `All`, else only the advisor's students).
    pub fn values(self) -> Vec<sea_orm::Value> {
        match self {
            Reach::All => vec![1i64.into(), 0i64.into()],
            Reach::Advisor(uid) => vec![0i64.into(), uid.into()],
        }
    }
}
