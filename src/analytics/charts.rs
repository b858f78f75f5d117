//! The analyses' charts as server-side SVG, each with a title and a description for screen
//! readers (the numbers are in a table beside them too). Labels are escaped here.

use crate::web::escape;

const COLOURS: [&str; 6] = [
    "#1f6feb", "#2b8a3e", "#0c8599", "#d9480f", "#868e96", "#9c36b5",
];

/// Movement between cells: the previous term's cells on the left, this term's on the right, a
/// band per (from, to) as wide as the number of students moving. `labels` are the cells' names
/// in `codes` order.
pub fn flow_chart(
    codes: &[&str],
    labels: &[String],
    flows: &[(String, String, i64)],
    title: &str,
    desc: &str,
) -> String {
    let total: i64 = flows.iter().map(|f| f.2).sum::<i64>().max(1);
    let (w, h, bar, gap) = (360.0, 240.0, 14.0, 8.0);
    let usable = h - gap * (codes.len() as f64 - 1.0);
    let size = |n: i64| n as f64 / total as f64 * usable;
    let sum_by = |pick: &dyn Fn(&(String, String, i64)) -> &String, code: &str| -> i64 {
        flows.iter().filter(|f| pick(f) == code).map(|f| f.2).sum()
    };
    // The top of each cell's block on both sides.
    let mut left_top = Vec::new();
    let mut right_top = Vec::new();
    let (mut yl, mut yr) = (0.0, 0.0);
    for c in codes {
        left_top.push(yl);
        right_top.push(yr);
        yl += size(sum_by(&|f| &f.0, c)) + gap;
        yr += size(sum_by(&|f| &f.1, c)) + gap;
    }
    let mut svg = format!(
        r#"<svg class="chart flowchart" viewBox="-90 -10 {vw} {vh}" role="img" aria-labelledby="flow-title flow-desc"><title id="flow-title">{t}</title><desc id="flow-desc">{d}</desc>"#,
        vw = w + 180.0,
        vh = h + 20.0,
        t = escape(title),
        d = escape(desc),
    );
    let mut out_y = left_top.clone();
    let mut in_y = right_top.clone();
    for (i, from) in codes.iter().enumerate() {
        for (j, to) in codes.iter().enumerate() {
            let n = flows
                .iter()
                .filter(|f| f.0 == *from && f.1 == *to)
                .map(|f| f.2)
                .sum::<i64>();
            if n == 0 {
                continue;
            }
            let s = size(n);
            let (y0, y1) = (out_y[i], in_y[j]);
            out_y[i] += s;
            in_y[j] += s;
            let (x0, x1) = (bar, w - bar);
            let mid = (x0 + x1) / 2.0;
            svg.push_str(&format!(
                r#"<path d="M{x0},{y0:.1} C{mid},{y0:.1} {mid},{y1:.1} {x1},{y1:.1} L{x1},{b1:.1} C{mid},{b1:.1} {mid},{b0:.1} {x0},{b0:.1} Z" fill="{c}" fill-opacity="0.35"><title>{n}</title></path>"#,
                b0 = y0 + s,
                b1 = y1 + s,
                c = COLOURS[i % COLOURS.len()],
            ));
        }
    }
    for (i, code) in codes.iter().enumerate() {
        let label = labels.get(i).map(String::as_str).unwrap_or(code);
        let l = size(sum_by(&|f| &f.0, code));
        let r = size(sum_by(&|f| &f.1, code));
        let c = COLOURS[i % COLOURS.len()];
        svg.push_str(&format!(
            r#"<rect x="0" y="{y:.1}" width="{bar}" height="{l:.1}" fill="{c}"/><text x="-4" y="{ty:.1}" text-anchor="end" font-size="12">{label}</text><rect x="{rx}" y="{ry:.1}" width="{bar}" height="{r:.1}" fill="{c}"/><text x="{tx}" y="{rty:.1}" font-size="12">{label}</text>"#,
            y = left_top[i],
            ty = left_top[i] + l / 2.0 + 4.0,
            rx = w - bar,
            ry = right_top[i],
            tx = w + 4.0,
            rty = right_top[i] + r / 2.0 + 4.0,
            label = escape(label),
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// One stacked bar per term (x: terms, y: students), a segment per series, with a legend.
pub fn stacked_bars(
    terms: &[String],
    series: &[String],
    counts: &[Vec<i64>],
    title: &str,
    desc: &str,
) -> String {
    let max = counts
        .iter()
        .map(|c| c.iter().sum::<i64>())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let (h, bw, gap) = (200.0, 28.0, 12.0);
    let w = terms.len() as f64 * (bw + gap) + gap;
    let mut svg = format!(
        r#"<svg class="chart stacked" viewBox="0 0 {w} {vh}" role="img" aria-labelledby="stack-title stack-desc"><title id="stack-title">{t}</title><desc id="stack-desc">{d}</desc>"#,
        vh = h + 20.0,
        t = escape(title),
        d = escape(desc),
    );
    for (i, term) in terms.iter().enumerate() {
        let x = gap + i as f64 * (bw + gap);
        let mut y = h;
        for (k, n) in counts.get(i).into_iter().flatten().enumerate() {
            let s = *n as f64 / max * h;
            if s <= 0.0 {
                continue;
            }
            y -= s;
            svg.push_str(&format!(
                r#"<rect x="{x:.1}" y="{y:.1}" width="{bw}" height="{s:.1}" fill="{c}"><title>{term}: {name} {n}</title></rect>"#,
                c = COLOURS[k % COLOURS.len()],
                term = escape(term),
                name = escape(series.get(k).map(String::as_str).unwrap_or("")),
            ));
        }
        svg.push_str(&format!(
            r#"<text x="{tx:.1}" y="{ty}" font-size="9" text-anchor="middle">{n}</text>"#,
            tx = x + bw / 2.0,
            ty = h + 14.0,
            n = i + 1,
        ));
    }
    svg.push_str("</svg>");
    let mut legend = String::from(r#"<ul class="chart-legend">"#);
    for (k, name) in series.iter().enumerate() {
        legend.push_str(&format!(
            r#"<li><svg width="10" height="10" aria-hidden="true" focusable="false"><rect width="10" height="10" fill="{c}"/></svg> {name}</li>"#,
            c = COLOURS[k % COLOURS.len()],
            name = escape(name),
        ));
    }
    legend.push_str("</ul>");
    format!("{svg}{legend}")
}
