//! The catalogue of fine-grained permissions, the built-in groups and the functional modules.

use serde::Serialize;

/// One right a group can grant. Codes are stored in `group_permissions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Permission {
    ViewOwnRecord,
    EditOwnProfile,
    ViewAnyStudent,
    ViewScopedStudents,
    EditStudents,
    ImportStudents,
    ManageCourses,
    RegisterSelf,
    ManageRegistrations,
    EnterOwnGrades,
    ApproveGradeChanges,
    ViewAllGrades,
    RunMining,
    ViewMining,
    UseMessages,
    HandleCases,
    ManageAnnouncements,
    RecordInterventions,
    ManageUsers,
    ManageModules,
    ViewAuditLog,
    ViewFullIdentifiers,
}

impl Permission {
    pub const ALL: [Permission; 22] = [
        Permission::ViewOwnRecord,
        Permission::EditOwnProfile,
        Permission::ViewAnyStudent,
        Permission::ViewScopedStudents,
        Permission::EditStudents,
        Permission::ImportStudents,
        Permission::ManageCourses,
        Permission::RegisterSelf,
        Permission::ManageRegistrations,
        Permission::EnterOwnGrades,
        Permission::ApproveGradeChanges,
        Permission::ViewAllGrades,
        Permission::RunMining,
        Permission::ViewMining,
        Permission::UseMessages,
        Permission::HandleCases,
        Permission::ManageAnnouncements,
        Permission::RecordInterventions,
        Permission::ManageUsers,
        Permission::ManageModules,
        Permission::ViewAuditLog,
        Permission::ViewFullIdentifiers,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Permission::ViewOwnRecord => "record.view_own",
            Permission::EditOwnProfile => "profile.edit_own",
            Permission::ViewAnyStudent => "students.view_any",
            Permission::ViewScopedStudents => "students.view_scoped",
            Permission::EditStudents => "students.edit",
            Permission::ImportStudents => "students.import",
            Permission::ManageCourses => "courses.manage",
            Permission::RegisterSelf => "registration.self",
            Permission::ManageRegistrations => "registration.manage",
            Permission::EnterOwnGrades => "grades.enter_own",
            Permission::ApproveGradeChanges => "grades.approve",
            Permission::ViewAllGrades => "grades.view_all",
            Permission::RunMining => "mining.run",
            Permission::ViewMining => "mining.view",
            Permission::UseMessages => "messages.use",
            Permission::HandleCases => "cases.handle",
            Permission::ManageAnnouncements => "announcements.manage",
            Permission::RecordInterventions => "interventions.record",
            Permission::ManageUsers => "users.manage",
            Permission::ManageModules => "modules.manage",
            Permission::ViewAuditLog => "audit.view",
            Permission::ViewFullIdentifiers => "identifiers.view_full",
        }
    }

    pub fn from_code(code: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.code() == code)
    }
}

/// The groups every installation has; administrators add their own beside them.
pub struct BuiltinGroup {
    pub code: &'static str,
    pub name: &'static str,
    pub permissions: &'static [Permission],
}

pub const STUDENT_GROUP: &str = "student";
pub const TEACHER_GROUP: &str = "teacher";
pub const ADMIN_GROUP: &str = "admin";

pub const BUILTIN_GROUPS: [BuiltinGroup; 3] = [
    BuiltinGroup {
        code: STUDENT_GROUP,
        name: "Students",
        permissions: &[
            Permission::ViewOwnRecord,
            Permission::EditOwnProfile,
            Permission::RegisterSelf,
            Permission::UseMessages,
        ],
    },
    BuiltinGroup {
        code: TEACHER_GROUP,
        name: "Teachers",
        permissions: &[
            Permission::ViewScopedStudents,
            Permission::EnterOwnGrades,
            Permission::ViewMining,
            Permission::UseMessages,
            Permission::RecordInterventions,
        ],
    },
    BuiltinGroup {
        code: ADMIN_GROUP,
        name: "Administrators",
        permissions: &Permission::ALL,
    },
];

/// A functional module an administrator can switch off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Module {
    Students,
    Courses,
    Grades,
    Mining,
    Messages,
}

impl Module {
    pub const ALL: [Module; 5] = [
        Module::Students,
        Module::Courses,
        Module::Grades,
        Module::Mining,
        Module::Messages,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Module::Students => "students",
            Module::Courses => "courses",
            Module::Grades => "grades",
            Module::Mining => "mining",
            Module::Messages => "messages",
        }
    }

    pub fn from_code(code: &str) -> Option<Module> {
        Module::ALL.into_iter().find(|m| m.code() == code)
    }
}
