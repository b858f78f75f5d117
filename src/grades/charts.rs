//! The grade charts as server-drawn SVG: a histogram (columns) and a trend (a line with
//! points). Labels are escaped here, so templates insert the result with `| safe`. Each is
//! hidden from screen readers: the table beside it carries the same numbers.

use super::stats::{Bin, GroupStat};
use crate::web::escape;

/// Columns, one per bin, with the count above each.
pub fn histogram(bins: &[Bin]) -> String {
    let (w, h, left, bottom, top) = (560.0, 220.0, 30.0, 28.0, 18.0);
    let max = bins.iter().map(|b| b.count).max().unwrap_or(0).max(1) as f64;
    let slot = (w - left) / bins.len().max(1) as f64;
    let plot = h - bottom - top;
    let mut svg = format!(
        r#"<svg class="chart histogram" aria-hidden="true" viewBox="0 0 {w} {h}" width="100%" xmlns="http://www.w3.org/2000/svg"><line x1="{left}" y1="{base}" x2="{w}" y2="{base}" class="chart-axis" stroke="currentColor"/>"#,
        base = h - bottom
    );
    for (i, b) in bins.iter().enumerate() {
        let bh = b.count as f64 / max * plot;
        let x = left + i as f64 * slot + 3.0;
        let y = h - bottom - bh;
        svg.push_str(&format!(
            r#"<rect x="{x:.1}" y="{y:.1}" width="{bw:.1}" height="{bh:.1}" class="chart-bar"><title>{label}: {n}</title></rect><text x="{cx:.1}" y="{ty:.1}" text-anchor="middle" class="chart-value">{n}</text><text x="{cx:.1}" y="{ly:.1}" text-anchor="middle" class="chart-label">{label}</text>"#,
            bw = slot - 6.0,
            cx = x + (slot - 6.0) / 2.0,
            ty = (y - 4.0).max(12.0),
            ly = h - bottom + 16.0,
            label = escape(&b.label),
            n = b.count,
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// The mean score per group as a line over 0–100, with the pass rate in each point's title.
pub fn trend(groups: &[GroupStat]) -> String {
    let (w, h, left, bottom, top) = (560.0, 220.0, 34.0, 28.0, 14.0);
    let plot = h - bottom - top;
    let n = groups.len().max(1);
    let step = (w - left - 20.0) / (n.max(2) - 1) as f64;
    let y_of = |v: f64| top + plot - v.clamp(0.0, 100.0) / 100.0 * plot;
    let mut svg = format!(
        r#"<svg class="chart trend" aria-hidden="true" viewBox="0 0 {w} {h}" width="100%" xmlns="http://www.w3.org/2000/svg">"#
    );
    for v in [0.0, 60.0, 100.0] {
        svg.push_str(&format!(
            r#"<line x1="{left}" y1="{y:.1}" x2="{w}" y2="{y:.1}" class="chart-grid" stroke="currentColor" stroke-opacity="0.2"/><text x="{tx}" y="{ty:.1}" text-anchor="end" class="chart-label">{v}</text>"#,
            y = y_of(v),
            tx = left - 4.0,
            ty = y_of(v) + 4.0,
        ));
    }
    let pts: Vec<(f64, f64, &GroupStat)> = groups
        .iter()
        .enumerate()
        .filter_map(|(i, g)| g.mean.map(|m| (left + 10.0 + i as f64 * step, y_of(m), g)))
        .collect();
    if pts.len() > 1 {
        let path: Vec<String> = pts
            .iter()
            .map(|(x, y, _)| format!("{x:.1},{y:.1}"))
            .collect();
        svg.push_str(&format!(
            r#"<polyline points="{}" fill="none" stroke="currentColor" stroke-width="2" class="chart-line"/>"#,
            path.join(" ")
        ));
    }
    for (x, y, g) in &pts {
        svg.push_str(&format!(
            r#"<circle cx="{x:.1}" cy="{y:.1}" r="4" class="chart-bar"><title>{label}: {m}, {p}</title></circle><text x="{x:.1}" y="{ly:.1}" text-anchor="middle" class="chart-label">{label}</text><text x="{x:.1}" y="{vy:.1}" text-anchor="middle" class="chart-value">{m}</text>"#,
            label = escape(&g.label),
            m = g.mean.map(|m| format!("{m:.1}")).unwrap_or_default(),
            p = g.pass_rate.map(|p| format!("{:.0}%", p * 100.0)).unwrap_or_default(),
            ly = h - bottom + 16.0,
            vy = y - 8.0,
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// Sections side by side: mean score per section as horizontal bars.
pub fn comparison(groups: &[GroupStat]) -> String {
    let bars: Vec<(String, f64)> = groups
        .iter()
        .filter_map(|g| g.mean.map(|m| (g.label.clone(), m)))
        .collect();
    crate::charts::bar_chart(&bars, "")
}
