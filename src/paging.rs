//! The list envelope every API list uses: `{"items", "total", "page", "per_page"}`.

use serde::Serialize;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
}

impl<T> Page<T> {
    pub fn pages(&self) -> u64 {
        self.total.div_ceil(self.per_page.max(1)).max(1)
    }
}

/// The last page number a list answers; beyond it the offset could overflow the database's
/// 64-bit integer (`?page=18446744073709551615` was a 500).
pub const MAX_PAGE: u64 = 1_000_000;

/// The page asked for (default 1) and its size (default 50, at most 500), as a query.
#[derive(Debug, Default, rocket::FromForm, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 1000000)]
    pub page: Option<u64>,
    /// Rows per page (50 when absent).
    #[param(minimum = 1, maximum = 500)]
    pub per_page: Option<u64>,
}

impl PageQuery {
    pub fn req(&self) -> PageReq {
        PageReq::new(self.page, self.per_page)
    }
}

/// Page number (from 1) and size, clamped to sane bounds.
#[derive(Debug, Clone, Copy)]
pub struct PageReq {
    pub page: u64,
    pub per_page: u64,
}

impl PageReq {
    pub fn new(page: Option<u64>, per_page: Option<u64>) -> Self {
        PageReq {
            page: page.unwrap_or(1).clamp(1, MAX_PAGE),
            per_page: per_page.unwrap_or(50).clamp(1, 500),
        }
    }
}
