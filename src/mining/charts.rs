//! The cluster chart: a 2-D PCA projection, drawn by `crate::charts::scatter` (robust axes,
//! escaped legend) from the `[x, y, cluster]` triples a mining run stores.

use serde_json::Value;

/// `points`: `[x, y, cluster]` triples; `legend`: one label per cluster; `clipped_note`: the
/// sentence under the chart when far-out points are drawn at the edge (`{n}` is their count).
pub fn scatter(points: &[Value], legend: &[String], clipped_note: &str) -> String {
    let pts: Vec<(f64, f64, usize)> = points
        .iter()
        .filter_map(|p| {
            Some((
                p.get(0)?.as_f64()?,
                p.get(1)?.as_f64()?,
                usize::try_from(p.get(2)?.as_u64()?).ok()?,
            ))
        })
        .collect();
    crate::charts::scatter(&pts, legend, clipped_note)
}
