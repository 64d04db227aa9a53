//! `revenue`: monthly gross revenue by vendor and the export fee.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::Meta;
use super::bands::{
    BandSeries, Panel, draw_panel, month_span, order_origins, order_series, value_axis,
};
use super::read::TimeSeries;
use super::render::{Chart, DrawErr};
use super::style::{MonthAxis, PAGE_MARGIN, page};

/// Gross revenue per vendor (and `total`, which is not drawn).
pub(crate) const REVENUE: &str = "revenue_usd";
/// Export fee per foreign origin.
pub(crate) const FEE: &str = "export_fee_usd";

/// The data of the revenue chart, in $ billion per month.
pub(crate) struct Revenue {
    meta: Meta,
    series: Vec<BandSeries>,
    span: (i32, i32),
}

impl Revenue {
    /// `None` when neither revenue nor export fees have drawable data.
    pub(crate) fn new(ts: &TimeSeries, meta: &Meta) -> Option<Self> {
        let mut vendors = Vec::new();
        if let Some(rev) = ts.metric(REVENUE) {
            for (entity, series) in rev.iter().filter(|(e, _)| *e != "total") {
                vendors.push(BandSeries::new(entity, entity.clone(), series, 1e-9));
            }
        }
        let mut fees = Vec::new();
        if let Some(fee) = ts.metric(FEE) {
            for (origin, series) in fee {
                let mut s = BandSeries::new(origin, format!("{origin} export fee"), series, 1e-9);
                // Dashed so a fee never reads as another vendor's revenue.
                s.dashed = true;
                fees.push(s);
            }
        }
        // Vendors first, fees last, each group largest first.
        let mut series = order_series(vendors);
        series.extend(order_origins(fees));
        if series.is_empty() {
            return None;
        }
        let maps = [REVENUE, FEE].into_iter().filter_map(|m| ts.metric(m));
        Some(Revenue {
            meta: meta.clone(),
            series,
            span: month_span(maps)?,
        })
    }
}

impl Chart for Revenue {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawErr> {
        let body = page(
            root,
            &self.meta.title,
            "Revenue per month by vendor, and the export fee (median, 90 % band)",
            &self
                .meta
                .footer("Lines show the median; shaded bands the 90 % interval"),
        )?;
        let body = body.margin(0, 0, PAGE_MARGIN - 10, PAGE_MARGIN - 20);
        let x = MonthAxis::new(self.span.0, self.span.1, 8);
        let y = value_axis(&self.series, 6);
        draw_panel(
            &body,
            &Panel {
                caption: None,
                series: &self.series,
                x: &x,
                y: &y,
                y_desc: "$ B / month",
                zero_line: false,
            },
        )
    }
}
