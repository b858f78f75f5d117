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

/// The grades API, under `/api/v1`.
pub fn api_routes() -> Vec<rocket::Route> {
    rocket::routes![
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
    ]
}

/// This domain's part of the OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    <ApiDoc as utoipa::OpenApi>::openapi()
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
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
    ),
    components(schemas(
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
    ))
)]
struct ApiDoc;

/// One-line descriptions of this module's API routes by handler name, for the API reference.
pub fn api_summary(name: &str) -> Option<&'static str> {
    let text = match name {
        "api_section_grades" => {
            "A section's students with their final scores, letters and status (its teacher; staff with grades.view_all)."
        }
        "api_save_grades" => {
            "Save a section's grades as drafts, all or nothing; every refused row is listed (its teacher only)."
        }
        "api_import_grades" => {
            "Upload a section's grades as CSV (student_no, score); bad rows reported by line and column, nothing saved if any."
        }
        "api_publish" => {
            "Publish a section's draft grades so students see them; refused (422 missing_grades, naming the students) while any student has no grade; the answer carries the summary."
        }
        "api_publish_summary" => {
            "What publishing would do: students, grades entered, drafts, students missing a grade, failing students and the distribution by letter."
        }
        "api_fill_from_computed" => {
            "Give every student without a grade the score computed from the assessments, as a draft; refused while the weights do not total 100 or a student lacks an assessment."
        }
        "api_assessments" => {
            "A section's assessments with weights and due dates, and the weight total."
        }
        "api_create_assessment" => {
            "Add an assessment (name, weight, due_at, max_score) to a section."
        }
        "api_update_assessment" => {
            "Change an assessment's name, weight, due date or maximum score."
        }
        "api_assessment_scores" => "The scores of one assessment.",
        "api_save_assessment_scores" => "Enter the scores of one assessment, all or nothing.",
        "api_request_change" => {
            "Ask to change a published grade, with a reason (the section's teacher)."
        }
        "api_change_queue" => "Grade change requests by status (default pending), for approvers.",
        "api_approve_change" => {
            "Approve a grade change request: the grade changes and its history records who, when, why and who approved."
        }
        "api_reject_change" => "Reject a grade change request, with an optional note.",
        "api_grade_history" => {
            "A grade's history (who, when, old → new, why, approver) and its change requests."
        }
        "api_transcript" => {
            "A student's transcript: terms with courses, term GPA and cumulative GPA (published grades only)."
        }
        "api_section_statistics" => {
            "Count, mean, median, standard deviation, min, max, pass rate and histogram of a section's scores."
        }
        "api_statistics" => {
            "Statistics for a course, term or department, with the course's sections compared and its trend across terms."
        }
        "api_scales" => "The grading scales with their bands and pass marks.",
        "api_create_scale" => {
            "Define a grading scale (bands, pass mark), optionally as the default."
        }
        _ => return None,
    };
    Some(text)
}
