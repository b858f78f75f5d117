//! One-line descriptions of the interaction API routes, for the API reference.

/// One-line descriptions of this module's API routes by handler name, for the API reference.
pub fn api_summary(name: &str) -> Option<&'static str> {
    let text = match name {
        "api_open_case" => "Open a case (inquiry, complaint, suggestion) for one's own record",
        "api_list_cases" => "Cases: a student's own, or the queues a handler works",
        "api_show_case" => "One case with its history, timings and rating",
        "api_case_action" => "Take, reply to, reassign, close or rate a case",
        "api_case_report" => "Case volumes, response times and topics per department and month",
        "api_list_conversations" => "The caller's conversations, most recent first",
        "api_start_conversation" => {
            "Write to a teacher/advisor, a student, a section, a course or a saved segment"
        }
        "api_show_conversation" => "One conversation's messages (members only); marks it read",
        "api_send_message" => "Reply in a conversation",
        "api_notifications" => "The caller's notifications",
        "api_notifications_read" => "Mark all of the caller's notifications read",
        "api_list_segments" => "The caller's saved student segments",
        "api_save_segment" => "Save a student-list filter as a segment",
        "api_list_announcements" => "Published announcements that concern the caller",
        "api_create_announcement" => "Publish a university, department or section announcement",
        "api_feedback_results" => {
            "A section's anonymous feedback totals (shown from the minimum number of answers)"
        }
        "api_feedback_submit" => "Answer a section's end-of-term feedback survey, once",
        "api_care_worklist" => "Open risk flags of the caller's students, with the care given",
        "api_record_intervention" => {
            "Record a meeting, tutoring, referral or message for a student"
        }
        "api_care_effect" => "Flagged students with care vs without: score change, sizes, means",
        _ => return None,
    };
    Some(text)
}
