//! Display units of a metric, by its name: how to scale its values and what
//! to write on the axis.

/// Scale factor and axis unit for `metric` (a name from `docs/outputs.md`).
pub(crate) fn display_unit(metric: &str) -> (f64, &'static str) {
    match metric {
        "price_usd" => (1e-3, "$ thousand per unit"),
        "available" => (100.0, "% of trials available"),
        m if m.contains("share_compute") => (100.0, "% of compute"),
        m if m.contains("share_revenue") => (100.0, "% of revenue"),
        m if m.ends_with("_usd") && m.starts_with("total_") => (1e-9, "$ B"),
        m if m.ends_with("_usd") => (1e-9, "$ B / month"),
        m if m.ends_with("_h100e") => (1e-6, "million H100e"),
        m if m.contains("units") => (1e-3, "thousand units"),
        _ => (1.0, ""),
    }
}

/// A short reading of a metric name for titles, e.g. "revenue over the horizon".
pub(crate) fn describe(metric: &str) -> String {
    let text = match metric {
        "total_revenue_usd" => "revenue over the horizon",
        "total_vendor_net_usd" => "vendor net revenue over the horizon",
        "total_export_fee_usd" => "export fee over the horizon",
        "total_units" => "units sold over the horizon",
        "total_demand_h100e" => "demand over the horizon",
        "total_purchased_h100e" => "compute bought over the horizon",
        "total_unmet_h100e" => "unmet demand over the horizon",
        "final_share_compute" => "share of compute in the last month",
        "mean_share_compute" => "share of compute over the horizon",
        "share_compute" => "share of compute",
        "share_revenue" => "share of revenue",
        "revenue_usd" => "revenue",
        "vendor_net_usd" => "vendor net revenue",
        "export_fee_usd" => "export fee",
        "unmet_h100e" => "unmet demand",
        "demand_h100e" => "demand",
        "purchased_h100e" => "compute bought",
        "units" => "units sold",
        other => other,
    };
    text.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_follow_the_metric_names() {
        assert_eq!(display_unit("total_revenue_usd"), (1e-9, "$ B"));
        assert_eq!(display_unit("revenue_usd"), (1e-9, "$ B / month"));
        assert_eq!(display_unit("final_share_compute"), (100.0, "% of compute"));
        assert_eq!(display_unit("total_unmet_h100e"), (1e-6, "million H100e"));
        assert_eq!(display_unit("total_units"), (1e-3, "thousand units"));
        assert_eq!(display_unit("price_usd").1, "$ thousand per unit");
    }
}
