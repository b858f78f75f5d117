//! Schema migrations for the portal. Each file defines its own identifiers and never imports
//! the application's entities, so an old migration keeps compiling as the app changes.

pub use sea_orm_migration::prelude::*;

mod common;

mod m20261124_000001_accounts;
mod m20261124_000002_students;
mod m20261124_000003_courses;
mod m20261124_000004_grades;
mod m20261124_000005_mining;
mod m20261124_000006_interaction;
mod m20261125_000001_formula_flags;
mod m20261206_000001_activation_codes;
mod m20261206_000001_feedback_anonymity;
mod m20261206_000001_job_leases;
mod m20261206_000002_login_throttles;
mod m20261206_000003_username_folded;
mod m20261206_000004_backup_runs;
mod m20261207_000001_attendance_activity;
mod m20261207_000002_value_lifecycle;
mod m20261207_000003_history_import;
mod m20261208_000001_data_exports;
mod m20261208_000001_group_local_password;
mod m20261208_000001_outbox;
mod m20261208_000002_course_stats;
mod m20261208_000003_notification_words;
mod m20261209_000001_care_referrals;
mod m20261209_000001_grade_statistics_index;
mod m20261209_000002_analysis_store;
mod m20261210_000001_import_files;
mod m20261211_000001_analysis_store_pages;
mod m20261212_000001_activity_window_index;
mod m20261213_000001_grade_facts;
mod m20261213_000002_drop_grade_status_index;
mod m20261213_000003_risk_flag_list_index;
mod m20261214_000001_term_facts_stage_index;
mod m20261214_000002_student_import_records;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_accounts::Migration),
            Box::new(m20261124_000002_students::Migration),
            Box::new(m20261124_000003_courses::Migration),
            Box::new(m20261124_000004_grades::Migration),
            Box::new(m20261124_000005_mining::Migration),
            Box::new(m20261124_000006_interaction::Migration),
            Box::new(m20261125_000001_formula_flags::Migration),
            Box::new(m20261206_000001_job_leases::Migration),
            Box::new(m20261206_000001_feedback_anonymity::Migration),
            Box::new(m20261206_000001_activation_codes::Migration),
            Box::new(m20261206_000002_login_throttles::Migration),
            Box::new(m20261206_000003_username_folded::Migration),
            Box::new(m20261206_000004_backup_runs::Migration),
            Box::new(m20261207_000001_attendance_activity::Migration),
            Box::new(m20261207_000002_value_lifecycle::Migration),
            Box::new(m20261207_000003_history_import::Migration),
            Box::new(m20261208_000001_data_exports::Migration),
            Box::new(m20261208_000001_group_local_password::Migration),
            Box::new(m20261208_000001_outbox::Migration),
            Box::new(m20261208_000002_course_stats::Migration),
            Box::new(m20261208_000003_notification_words::Migration),
            Box::new(m20261209_000001_care_referrals::Migration),
            Box::new(m20261209_000001_grade_statistics_index::Migration),
            Box::new(m20261209_000002_analysis_store::Migration),
            Box::new(m20261210_000001_import_files::Migration),
            Box::new(m20261211_000001_analysis_store_pages::Migration),
            Box::new(m20261212_000001_activity_window_index::Migration),
            Box::new(m20261213_000001_grade_facts::Migration),
            Box::new(m20261213_000002_drop_grade_status_index::Migration),
            Box::new(m20261213_000003_risk_flag_list_index::Migration),
            Box::new(m20261214_000001_term_facts_stage_index::Migration),
            Box::new(m20261214_000002_student_import_records::Migration),
        ]
    }
}
