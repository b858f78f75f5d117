//! Mining (数据挖掘): at-risk flags with reasons, clusters and personalised teaching
//! suggestions, evaluated honestly against baselines and published results.

use rocket::Route;

pub fn page_routes() -> Vec<Route> {
    rocket::routes![]
}

pub fn api_routes() -> Vec<Route> {
    rocket::routes![]
}
