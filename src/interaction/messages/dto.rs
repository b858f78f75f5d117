//! The message API's request bodies.

use crate::students::query::StudentFilter;
use serde::Deserialize;

/// A reply in a conversation.
#[derive(Deserialize)]
pub struct Body {
    #[serde(default)]
    pub body: String,
}

/// A student-list filter saved under a name.
#[derive(Deserialize)]
pub struct NewSegment {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub filter: StudentFilter,
}
