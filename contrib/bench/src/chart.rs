//! Draws the comparison's ratios as a horizontal bar chart in SVG (for the README), and reads
//! them back from a saved comparison table so a chart can be redrawn without a new run.
//!
//! The ratio axis is logarithmic and bars start at 1×: ratios run from under 1 to several
//! hundred, and on a linear axis everything but the largest would be a sliver.

use crate::compare::Row;
use plotters::prelude::*;

/// One bar: its label (`scenario metric`) and the ratio (> 1 = ours is better).
pub struct Bar {
    pub label: String,
    pub ratio: f64,
}

/// Whether a metric gets a bar: all but the load tool's own CPU, which is not the server's.
fn charted(metric: &str) -> bool {
    !metric.starts_with("client")
}

impl Bar {
    pub fn from_rows(rows: &[Row]) -> Vec<Bar> {
        rows.iter()
            .filter(|r| charted(r.metric))
            .map(|r| Bar {
                label: format!("{} {}", r.scenario, r.metric),
                ratio: r.ratio,
            })
            .collect()
    }
}

/// The bars of a table as `compare` prints it (`| scenario | metric | … | 1.56× |` rows).
pub fn parse_table(text: &str) -> Result<Vec<Bar>, String> {
    let bars: Vec<Bar> = text
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.trim().trim_matches('|').split('|').collect();
            let ratio = cells.last()?.trim().strip_suffix('×')?.parse().ok()?;
            let metric = cells.get(1)?.trim();
            if !charted(metric) {
                return None;
            }
            Some(Bar {
                label: format!("{} {metric}", cells.first()?.trim()),
                ratio,
            })
        })
        .collect();
    if bars.is_empty() {
        return Err("no table rows ending in a ratio like `1.56×` found".into());
    }
    Ok(bars)
}

/// Writes one bar per entry, from 1× to its ratio.
pub fn draw(path: &str, title: &str, bars: &[Bar]) -> Result<(), String> {
    let height = 80 + 28 * bars.len() as u32;
    let root = SVGBackend::new(path, (900, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let ratios = bars.iter().map(|b| b.ratio.max(1e-3));
    let max = ratios.clone().fold(2.0, f64::max) * 1.5;
    let min = ratios.fold(0.5, f64::min) / 1.5;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(230)
        // A segmented `0..n` has a segment for `n` as well (its upper end is included): `0..n - 1`
        // gives exactly one row per bar, without an empty one on top.
        .build_cartesian_2d(
            (min..max).log_scale(),
            (0..bars.len().saturating_sub(1)).into_segmented(),
        )
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .y_labels(bars.len())
        .y_label_formatter(&|v| match v {
            // Labels sit at the middle of their bar; the first row of the table goes on top.
            SegmentValue::CenterOf(i) => bars
                .len()
                .checked_sub(i + 1)
                .map(|row| bars[row].label.clone())
                .unwrap_or_default(),
            _ => String::new(),
        })
        .x_label_formatter(&|x| format!("{x}×"))
        .x_desc("ratio, log scale (ours ÷ C gearmand; > 1 is better)")
        .draw()
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, b)| {
            let color = if b.ratio >= 1.0 {
                GREEN.mix(0.7)
            } else {
                RED.mix(0.7)
            };
            let row = bars.len() - 1 - i;
            let (low, high) = (SegmentValue::Exact(row), SegmentValue::Exact(row + 1));
            Rectangle::new([(1.0, low), (b.ratio.max(min), high)], color.filled())
        }))
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![
                (1.0, SegmentValue::Exact(0)),
                (1.0, SegmentValue::Exact(bars.len())),
            ],
            BLACK,
        )))
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_printed_table_parses_into_bars_without_the_load_tools_own_cpu() {
        let text = "| scenario | metric | ours | C | ratio |\n|---|---|---|---|---|\n\
                    | fg-4x4 | rate/s | 20589 (1–2) | 13174 (1–2) | 1.56× |\n\
                    | echo | p99 ms | 2.85 | 2.49 | 0.87× |\n\
                    | echo | client µs/op | 9.10 | 9.00 | 0.99× |\n";
        let bars = parse_table(text).unwrap();
        let got: Vec<(&str, f64)> = bars.iter().map(|b| (b.label.as_str(), b.ratio)).collect();
        assert_eq!(got, [("fg-4x4 rate/s", 1.56), ("echo p99 ms", 0.87)]);
        assert!(parse_table("no table here").is_err());
    }
}
