//! Draws the comparison's ratios as a horizontal bar chart in SVG (for the README).

use crate::compare::Row;
use plotters::prelude::*;

/// Writes one bar per row: ratio of the first server over the second (> 1 = first is better).
pub fn draw(path: &str, title: &str, rows: &[Row]) -> Result<(), String> {
    let height = 80 + 28 * rows.len() as u32;
    let root = SVGBackend::new(path, (900, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let max = rows.iter().map(|r| r.ratio).fold(2.0, f64::max) * 1.1;
    let labels: Vec<String> = rows
        .iter()
        .map(|r| format!("{} {}", r.scenario, r.metric))
        .collect();
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(230)
        .build_cartesian_2d(0.0..max, 0..rows.len())
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .y_labels(rows.len())
        .y_label_formatter(&|i| labels.get(*i).cloned().unwrap_or_default())
        .x_desc("ratio (ours ÷ C gearmand; > 1 is better)")
        .draw()
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(rows.iter().enumerate().map(|(i, r)| {
            let color = if r.ratio >= 1.0 {
                GREEN.mix(0.7)
            } else {
                RED.mix(0.7)
            };
            Rectangle::new([(0.0, i), (r.ratio, i + 1)], color.filled())
        }))
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(1.0, 0), (1.0, rows.len())],
            BLACK,
        )))
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}
