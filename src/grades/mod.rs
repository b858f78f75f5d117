//! Grades (学生成绩管理): assessments and weights, grade entry by the section's teacher,
//! publishing, change requests with approval, transcripts with GPA, and statistics with charts.

use rocket::Route;

pub fn page_routes() -> Vec<Route> {
    rocket::routes![]
}

pub fn api_routes() -> Vec<Route> {
    rocket::routes![]
}

/// One-line descriptions of this module's API routes by handler name, for the API reference.
pub fn api_summary(name: &str) -> Option<&'static str> {
    let text = match name {
        _ => return None,
    };
    Some(text)
}
