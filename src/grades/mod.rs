//! Grades (学生成绩管理): assessments and weights, grade entry by the section's teacher,
//! publishing, change requests with approval, transcripts with GPA, and statistics with charts.

mod api;
pub mod assess;
pub mod changes;
pub mod charts;
pub mod csv_import;
pub mod dto;
mod forms;
pub mod gpa;
pub mod notify;
mod pages;
pub mod scale;
pub mod service;
pub mod stats;
pub mod transcript;
pub mod types;

/// The grade pages: entry, publishing, assessments, change requests, transcripts, statistics
/// and the grading scales.
pub fn page_routes() -> Vec<rocket::Route> {
    rocket::routes![
        pages::index,
        pages::entry_page,
        pages::entry_submit,
        pages::import_submit,
        pages::publish_submit,
        pages::fill_submit,
        pages::assessment_submit,
        pages::assessment_page,
        pages::assessment_scores_submit,
        pages::grade_page,
        pages::change_submit,
        pages::changes_page,
        pages::decide_submit,
        pages::transcript_page,
        pages::my_transcript,
        pages::section_stats_page,
        pages::stats_page,
        pages::scales_page,
        pages::scale_submit,
    ]
}

crate::typed_api! {
    tag: "grades",
    routes: [
        api::api_section_grades,
        api::api_save_grades,
        api::api_import_grades,
        api::api_publish,
        api::api_publish_summary,
        api::api_fill_from_computed,
        api::api_assessments,
        api::api_create_assessment,
        api::api_update_assessment,
        api::api_assessment_scores,
        api::api_save_assessment_scores,
        api::api_request_change,
        api::api_change_queue,
        api::api_approve_change,
        api::api_reject_change,
        api::api_grade_history,
        api::api_transcript,
        api::api_section_statistics,
        api::api_statistics,
        api::api_scales,
        api::api_create_scale,
    ],
    schemas: [
        dto::GradesBody,
        dto::ScoresBody,
        dto::RowsRefused,
        dto::RowsRefusedDetail,
        dto::SaveAnswer,
        dto::ScoresAnswer,
        dto::ScoresSaved,
        dto::Published,
        dto::Assessments,
        dto::Scores,
        dto::ChangeQueue,
        dto::GradeHistory,
        dto::ScaleList,
        dto::ScaleBody,
        dto::ChangeOut,
        service::SectionGrades,
        service::SaveReport,
        service::PublishSummary,
        types::EntryIn,
        types::RowError,
        assess::AssessmentIn,
        assess::AssessmentView,
        changes::ChangeIn,
        changes::DecisionIn,
        scale::Scale,
        scale::Band,
        stats::Stats,
        stats::Overview,
        transcript::Transcript,
        crate::entity::grades::GradeStatus,
    ],
}
