//! The menu: only what the user may use, only for modules that are switched on.

use crate::access::{Module, Permission};
use crate::auth::CurrentUser;
use crate::i18n::Lang;
use serde::Serialize;
use std::collections::HashSet;

#[derive(Debug, Clone, Serialize)]
pub struct MenuItem {
    pub label: String,
    pub href: &'static str,
    pub active: bool,
}

/// (label key, link, module it belongs to, permissions any of which shows it)
const ITEMS: &[(&str, &str, Option<Module>, &[Permission])] = &[
    ("menu.dashboard", "/dashboard", None, &[]),
    (
        "menu.students",
        "/students",
        Some(Module::Students),
        &[Permission::ViewAnyStudent, Permission::ViewScopedStudents],
    ),
    (
        "menu.my_record",
        "/me/record",
        Some(Module::Students),
        &[Permission::ViewOwnRecord],
    ),
    ("menu.courses", "/courses", Some(Module::Courses), &[]),
    (
        "menu.catalogue_office",
        "/courses/manage",
        Some(Module::Courses),
        &[Permission::ManageCourses],
    ),
    (
        "menu.registrations",
        "/registrations",
        Some(Module::Courses),
        &[Permission::RegisterSelf],
    ),
    (
        "attendance.menu",
        "/attendance",
        Some(Module::Courses),
        &[Permission::EnterOwnGrades, Permission::ManageRegistrations],
    ),
    (
        "attendance.menu_mine",
        "/me/attendance",
        Some(Module::Courses),
        &[Permission::ViewOwnRecord],
    ),
    (
        "menu.suggestions",
        "/me/suggestions",
        Some(Module::Mining),
        &[Permission::ViewOwnRecord],
    ),
    (
        "menu.transcript",
        "/me/transcript",
        Some(Module::Grades),
        &[Permission::ViewOwnRecord],
    ),
    (
        "menu.grades",
        "/grades",
        Some(Module::Grades),
        &[Permission::EnterOwnGrades, Permission::ViewAllGrades],
    ),
    (
        "menu.mining",
        "/mining",
        Some(Module::Mining),
        &[Permission::ViewMining, Permission::RunMining],
    ),
    (
        "analytics.menu.value",
        "/analytics/value-matrix",
        Some(Module::Students),
        &[Permission::ViewAnyStudent, Permission::ViewScopedStudents],
    ),
    (
        "analytics.menu.lifecycle",
        "/analytics/lifecycle",
        Some(Module::Students),
        &[Permission::ViewAnyStudent, Permission::ViewScopedStudents],
    ),
    (
        "analytics.menu.summary",
        "/analytics/summary",
        Some(Module::Students),
        &[Permission::ViewAnyStudent, Permission::ViewScopedStudents],
    ),
    (
        "analytics.menu.retention",
        "/analytics/retention",
        Some(Module::Students),
        &[Permission::ViewAnyStudent, Permission::ViewScopedStudents],
    ),
    (
        "analytics.menu.portfolio",
        "/analytics/portfolio",
        Some(Module::Students),
        &[Permission::ViewAnyStudent, Permission::ViewScopedStudents],
    ),
    (
        "analytics.menu.satisfaction",
        "/analytics/satisfaction",
        Some(Module::Students),
        &[Permission::ViewAnyStudent, Permission::ViewScopedStudents],
    ),
    (
        "menu.messages",
        "/messages",
        Some(Module::Messages),
        &[Permission::UseMessages],
    ),
    (
        "interaction.menu.notifications",
        "/notifications",
        Some(Module::Messages),
        &[Permission::UseMessages],
    ),
    (
        "interaction.menu.cases",
        "/cases",
        Some(Module::Messages),
        &[Permission::UseMessages, Permission::HandleCases],
    ),
    (
        "interaction.menu.announcements",
        "/announcements",
        Some(Module::Messages),
        &[Permission::ManageAnnouncements],
    ),
    (
        "interaction.menu.feedback",
        "/feedback",
        Some(Module::Messages),
        &[Permission::UseMessages],
    ),
    (
        "interaction.menu.care",
        "/care",
        Some(Module::Messages),
        &[Permission::RecordInterventions],
    ),
    (
        "menu.users",
        "/admin/users",
        None,
        &[Permission::ManageUsers],
    ),
    (
        "menu.groups",
        "/admin/groups",
        None,
        &[Permission::ManageUsers],
    ),
    (
        "menu.modules",
        "/admin/modules",
        None,
        &[Permission::ManageModules],
    ),
    (
        "menu.backups",
        "/admin/backups",
        None,
        &[Permission::ManageModules],
    ),
    (
        "mail.menu.outbox",
        "/admin/outbox",
        None,
        &[Permission::ManageModules],
    ),
    (
        "menu.audit",
        "/admin/audit",
        None,
        &[Permission::ViewAuditLog],
    ),
    ("menu.api_docs", "/api/docs", None, &[]),
];

/// Whether a menu link points at a page that exists yet; modules whose pages arrive with later
/// work are listed in `ITEMS` but only shown once their routes are mounted.
fn mounted(href: &str) -> bool {
    matches!(
        href,
        "/dashboard"
            | "/courses"
            | "/courses/manage"
            | "/me/transcript"
            | "/me/suggestions"
            | "/attendance"
            | "/me/attendance"
            | "/registrations"
            | "/students"
            | "/me/record"
            | "/mining"
            | "/admin/users"
            | "/admin/groups"
            | "/admin/modules"
            | "/admin/audit"
            | "/admin/backups"
            | "/admin/outbox"
            | "/api/docs"
            | "/grades"
            | "/messages"
            | "/notifications"
            | "/cases"
            | "/announcements"
            | "/care"
            | "/feedback"
    )
}

/// Pages about one's own student record, shown only to accounts that have one.
const STUDENT_ONLY: &[&str] = &[
    "/me/record",
    "/registrations",
    "/me/transcript",
    "/me/suggestions",
    "/me/attendance",
];

pub fn menu_for(
    user: &CurrentUser,
    modules: &HashSet<Module>,
    lang: Lang,
    path: &str,
) -> Vec<MenuItem> {
    ITEMS
        .iter()
        .filter(|(_, href, module, perms)| {
            mounted(href)
                && (user.student_id.is_some() || !STUDENT_ONLY.contains(href))
                && module.is_none_or(|m| modules.contains(&m))
                && (perms.is_empty() || perms.iter().any(|p| user.can(*p)))
        })
        .map(|(key, href, _, _)| MenuItem {
            label: lang.t(key),
            href,
            active: path == *href || (href.len() > 1 && path.starts_with(&format!("{href}/"))),
        })
        .collect()
}
