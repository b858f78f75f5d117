//! Student information (学生基本信息管理): records, the scope rules for who may read them,
//! search, the 360° profile, lifecycle stages, bulk import and export.

mod api;
mod dto;
mod pages;

pub mod accounts;
pub mod export;
pub mod forms;
pub mod identifiers;
pub mod import;
pub mod lifecycle;
pub mod merge;
pub mod query;
pub mod reads;
pub mod record;
pub mod service;

/// A CSV download (other domains' rejected-row files use it too).
pub use dto::CsvFile;

crate::typed_api! {
    tag: "students",
    routes: [
        api::api_students,
        api::api_student,
        api::api_student_history,
        api::api_student_create,
        api::api_student_update,
        api::api_student_deactivate,
        api::api_students_export_csv,
        api::api_students_export_json,
        api::api_students_import,
        api::api_import_resume,
        api::api_import_cancel,
        api::api_my_record,
        api::api_my_record_reads,
        api::api_my_record_update,
        api::api_student_merge,
        api::api_student_settings,
        api::api_student_settings_update,
        api::api_student_accounts,
        api::api_reissue_codes,
    ],
    schemas: [
        dto::StudentFields,
        reads::RecordRead,
        dto::ExportRow,
        dto::MergeBody,
        dto::AccountsCreated,
        dto::CodesReissued,
        merge::MergeReport,
        merge::MovedRows,
        import::ImportReport,
        import::RejectedRow,
        accounts::Letter,
    ],
}

pub fn page_routes() -> Vec<rocket::Route> {
    rocket::routes![
        pages::list_page,
        pages::profile_page,
        pages::new_page,
        pages::create_submit,
        pages::edit_page,
        pages::update_submit,
        pages::deactivate_submit,
        pages::my_record_page,
        pages::my_record_reads_page,
        pages::my_record_submit,
        pages::settings_page,
        pages::settings_submit,
        pages::lifecycle_help,
        pages::import_page,
        pages::import_submit,
        pages::import_job_page,
        pages::import_job_cancel,
        pages::import_job_resume,
        pages::import_rejected_csv,
        pages::merge_page,
        pages::merge_submit,
        pages::accounts_submit,
        pages::codes_reissue_submit,
        pages::segment_submit
    ]
}
