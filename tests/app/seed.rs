//! The demo university (filled in once the generator lands).
