//! The catalogue of fine-grained permissions, the built-in groups and the functional modules.

use serde::Serialize;

/// A marker type naming one permission, for the `Perm<P>` guard.
pub trait PermMarker: Send + Sync + 'static {
    const PERM: Permission;
}

/// A marker type naming one module, for the `ModuleOn<M>` guard.
pub trait ModuleMarker: Send + Sync + 'static {
    const MODULE: Module;
}

/// The one list of permissions: the enum, its stored codes, `Permission::ALL` and the marker
/// types of `can` all come from it, so a new permission is one line.
macro_rules! permissions {
    ($($name:ident => $code:literal),* $(,)?) => {
        /// One right a group can grant. Codes are stored in `group_permissions`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        pub enum Permission {
            $($name),*
        }

        impl Permission {
            pub const ALL: &'static [Permission] = &[$(Permission::$name),*];

            pub fn code(self) -> &'static str {
                match self {
                    $(Permission::$name => $code),*
                }
            }
        }

        /// Marker types, one per permission: `Perm<can::ManageUsers>`.
        pub mod can {
            use super::{PermMarker, Permission};
            $(
                pub struct $name;
                impl PermMarker for $name {
                    const PERM: Permission = Permission::$name;
                }
            )*
        }
    };
}

permissions! {
    ViewOwnRecord => "record.view_own",
    EditOwnProfile => "profile.edit_own",
    ViewAnyStudent => "students.view_any",
    ViewScopedStudents => "students.view_scoped",
    EditStudents => "students.edit",
    ImportStudents => "students.import",
    ManageCourses => "courses.manage",
    RegisterSelf => "registration.self",
    ManageRegistrations => "registration.manage",
    EnterOwnGrades => "grades.enter_own",
    ApproveGradeChanges => "grades.approve",
    ViewAllGrades => "grades.view_all",
    RunMining => "mining.run",
    ViewMining => "mining.view",
    UseMessages => "messages.use",
    HandleCases => "cases.handle",
    ManageAnnouncements => "announcements.manage",
    RecordInterventions => "interventions.record",
    ManageUsers => "users.manage",
    ManageModules => "modules.manage",
    ViewAuditLog => "audit.view",
    ViewFullIdentifiers => "identifiers.view_full",
}

impl Permission {
    pub fn from_code(code: &str) -> Option<Permission> {
        Permission::ALL.iter().copied().find(|p| p.code() == code)
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
        permissions: Permission::ALL,
    },
];

/// The one list of functional modules: the enum, its codes, `Module::ALL` and the markers of
/// `on`.
macro_rules! modules {
    ($($name:ident => $code:literal),* $(,)?) => {
        /// A functional module an administrator can switch off.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        pub enum Module {
            $($name),*
        }

        impl Module {
            pub const ALL: &'static [Module] = &[$(Module::$name),*];

            pub fn code(self) -> &'static str {
                match self {
                    $(Module::$name => $code),*
                }
            }
        }

        /// Marker types, one per module: `ModuleOn<on::Students>`.
        pub mod on {
            use super::{Module, ModuleMarker};
            $(
                pub struct $name;
                impl ModuleMarker for $name {
                    const MODULE: Module = Module::$name;
                }
            )*
        }
    };
}

modules! {
    Students => "students",
    Courses => "courses",
    Grades => "grades",
    Mining => "mining",
    Messages => "messages",
}

impl Module {
    pub fn from_code(code: &str) -> Option<Module> {
        Module::ALL.iter().copied().find(|m| m.code() == code)
    }
}
