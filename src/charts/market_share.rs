//! `market_share`: share of compute bought, by origin and by vendor.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::Meta;
use super::bands::{BandSeries, Panel, draw_panel, month_span, order_origins, order_series};
use super::read::TimeSeries;
use super::render::{Chart, DrawErr};
use super::style::{MonthAxis, NumAxis, PAGE_MARGIN, page};

/// Metric drawn by this chart.
pub(crate) const METRIC: &str = "share_compute";

/// The data of the market-share chart, in percent.
pub(crate) struct MarketShare {
    meta: Meta,
    origins: Vec<BandSeries>,
    vendors: Vec<BandSeries>,
    span: (i32, i32),
}

impl MarketShare {
    /// `None` when `share_compute` has nothing drawable.
    pub(crate) fn new(ts: &TimeSeries, meta: &Meta) -> Option<Self> {
        let shares = ts.metric(METRIC)?;
        let vendor_names = ts.vendors();
        let (mut origins, mut vendors) = (Vec::new(), Vec::new());
        for (entity, series) in shares {
            let mut s = BandSeries::new(entity, entity.clone(), series, 100.0);
            s.band50 = true;
            if vendor_names.contains(entity) {
                vendors.push(s);
            } else {
                origins.push(s);
            }
        }
        let origins = order_origins(origins);
        let vendors = order_series(vendors);
        if origins.is_empty() && vendors.is_empty() {
            return None;
        }
        Some(MarketShare {
            meta: meta.clone(),
            origins,
            vendors,
            span: month_span([shares])?,
        })
    }
}

impl Chart for MarketShare {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawErr> {
        let body = page(
            root,
            &self.meta.title,
            "Share of compute bought, by origin and by vendor",
            &self
                .meta
                .footer("Lines show the median; shaded bands the 50 % and 90 % intervals"),
        )?;
        let y = NumAxis {
            lo: 0.0,
            hi: 100.0,
            ticks: (0..=5).map(|i| f64::from(i) * 20.0).collect(),
            decimals: 0,
        };
        let panels: Vec<(&str, &[BandSeries])> = [
            ("By origin", self.origins.as_slice()),
            ("By vendor", self.vendors.as_slice()),
        ]
        .into_iter()
        .filter(|(_, s)| !s.is_empty())
        .collect();
        // Half-width panels fit fewer date labels.
        let x = MonthAxis::new(
            self.span.0,
            self.span.1,
            if panels.len() > 1 { 7 } else { 8 },
        );

        let (w, _) = body.dim_in_pixel();
        let body = body.margin(0, 0, PAGE_MARGIN - 10, PAGE_MARGIN - 20);
        let areas = if panels.len() > 1 {
            let (left, right) = body.split_horizontally(w / 2 - PAGE_MARGIN as u32 + 10);
            vec![left.margin(0, 0, 0, 20), right.margin(0, 0, 20, 0)]
        } else {
            vec![body]
        };
        for ((caption, series), area) in panels.into_iter().zip(&areas) {
            draw_panel(
                area,
                &Panel {
                    caption: Some(caption),
                    series,
                    x: &x,
                    y: &y,
                    y_desc: "% of compute",
                    zero_line: false,
                },
            )?;
        }
        Ok(())
    }
}
