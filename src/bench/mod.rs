//! Load generators that run against a live server (`srm bench …`), to measure the portal on
//! the days it is busiest.

pub mod registration;
