//! Charts drawn on the server as inline SVG: no script, no external
//! resource, and readable without JavaScript.

use maud::{Markup, html};

/// Horizontal bars, one per `(label, value, css class)`, scaled to the
/// largest value.
#[cfg_attr(not(test), allow(dead_code))]
pub fn bars(title: &str, rows: &[(&str, u64, &str)]) -> Markup {
    let linked: Vec<(&str, u64, &str, String)> = rows
        .iter()
        .map(|(l, v, c)| (*l, *v, *c, String::new()))
        .collect();
    bars_linked(title, &linked)
}

/// Bars as [`bars`], each a link to the list it counts when its address
/// is not empty (`(label, value, css class, address)`).
pub fn bars_linked(title: &str, rows: &[(&str, u64, &str, String)]) -> Markup {
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1);
    let (label_w, bar_w, row_h) = (130.0, 260.0, 22.0);
    let height = row_h * rows.len() as f64 + 4.0;
    html! {
        svg class="chart" role="img" aria-label=(title) width=(label_w + bar_w + 70.0) height=(height)
            viewBox={ "0 0 " (label_w + bar_w + 70.0) " " (height) } xmlns="http://www.w3.org/2000/svg" {
            title { (title) }
            @for (i, (label, value, class, href)) in rows.iter().enumerate() {
                @let y = i as f64 * row_h + 2.0;
                @let w = (*value as f64 / max as f64 * bar_w).max(if *value > 0 { 1.0 } else { 0.0 });
                @if href.is_empty() {
                    text x="0" y=(y + 15.0) class="lbl" { (label) }
                    rect x=(label_w) y=(y + 3.0) width=(format!("{w:.1}")) height=(row_h - 6.0) class=(class) {}
                    text x=(label_w + w + 6.0) y=(y + 15.0) class="num" { (value) }
                } @else {
                    a class="bar-link" href=(href) {
                        title { (label) ": " (value) }
                        text x="0" y=(y + 15.0) class="lbl" { (label) }
                        rect x=(label_w) y=(y + 3.0) width=(format!("{w:.1}")) height=(row_h - 6.0) class=(class) {}
                        text x=(label_w + w + 6.0) y=(y + 15.0) class="num" { (value) }
                    }
                }
            }
        }
    }
}

/// A line over `points` (oldest first), with the first, middle and last
/// labels under it and the largest value on the axis.
pub fn line(title: &str, points: &[(String, u64)]) -> Markup {
    let (w, h, left, bottom) = (560.0, 160.0, 50.0, 22.0);
    let max = points.iter().map(|p| p.1).max().unwrap_or(0).max(1) as f64;
    let n = points.len().max(2) as f64 - 1.0;
    let x = |i: usize| left + (w - left - 10.0) * i as f64 / n;
    let y = |v: u64| 8.0 + (h - bottom - 8.0) * (1.0 - v as f64 / max);
    let path: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{:.1},{:.1}", x(i), y(p.1)))
        .collect();
    let area = match (path.first(), points.len()) {
        (Some(_), len) if len > 0 => format!(
            "{:.1},{:.1} {} {:.1},{:.1}",
            x(0),
            y(0),
            path.join(" "),
            x(len - 1),
            y(0)
        ),
        _ => String::new(),
    };
    let labelled: Vec<usize> = match points.len() {
        0 => vec![],
        1 => vec![0],
        l => vec![0, l / 2, l - 1],
    };
    html! {
        svg class="chart" role="img" aria-label=(title) width=(w) height=(h)
            viewBox={ "0 0 " (w) " " (h) } xmlns="http://www.w3.org/2000/svg" {
            title { (title) }
            line x1=(left) y1=(y(0)) x2=(w - 10.0) y2=(y(0)) class="axis" {}
            line x1=(left) y1="8" x2=(left) y2=(y(0)) class="axis" {}
            text x=(left - 6.0) y="14" class="num" text-anchor="end" { (max as u64) }
            text x=(left - 6.0) y=(y(0)) class="num" text-anchor="end" { "0" }
            polygon points=(area) class="area" {}
            polyline points=(path.join(" ")) class="trend" {}
            @for i in labelled {
                @if let Some(p) = points.get(i) {
                    @let anchor = if i == 0 { "start" } else if i + 1 == points.len() { "end" } else { "middle" };
                    text x=(x(i)) y=(h - 6.0) class="lbl" text-anchor=(anchor) { (p.0) }
                    circle cx=(x(i)) cy=(y(p.1)) r="3" class="dot" { title { (p.0) ": " (p.1) } }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_scale_to_the_largest_value_and_escape_labels() {
        let s = bars("t", &[("<a>", 10, "c"), ("b", 5, "h")]).into_string();
        assert!(s.contains("&lt;a&gt;"), "{s}");
        assert!(s.contains("width=\"260.0\""), "{s}");
        assert!(s.contains("width=\"130.0\""), "{s}");
        let linked =
            bars_linked("t", &[("b", 3, "c", "/findings?q=a%3Db&x=1".into())]).into_string();
        assert!(
            linked.contains("<a class=\"bar-link\" href=\"/findings?q=a%3Db&amp;x=1\">"),
            "{linked}"
        );
        let l = line("t", &[("d1".into(), 0), ("d2".into(), 4)]).into_string();
        assert!(l.contains("<polyline"), "{l}");
        assert!(l.contains(">4<"), "{l}");
        assert!(line("t", &[]).into_string().contains("<svg"));
    }
}
