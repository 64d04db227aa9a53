//! TEMPORARY STUB (lead) — replaced by the charts helper.
use std::path::{Path, PathBuf};
/// Format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartFormat { Png, Svg }
/// Error.
#[derive(Debug, thiserror::Error)]
pub enum ChartError { #[error("draw {0}")] Draw(String) }
/// Draw.
pub fn draw_scenario_charts(_dir: &Path, _f: &[ChartFormat]) -> Result<Vec<PathBuf>, ChartError> { Ok(vec![]) }
/// Draw.
pub fn draw_comparison_chart(_dir: &Path, _f: &[ChartFormat]) -> Result<Vec<PathBuf>, ChartError> { Ok(vec![]) }
