//! Domestic production ramps.

/// Good units produced in month `t` by a logistic ramp, before the scale:
/// `ceiling / (1 + exp(−k (t − midpoint)))`, `k = ln 81 / ramp_months`, so
/// output goes from 10 % to 90 % of the ceiling in `ramp_months`.
pub fn logistic_units(ceiling: f64, midpoint: f64, ramp_months: f64, t: f64) -> f64 {
    let k = 81f64.ln() / ramp_months;
    let x = -k * (t - midpoint);
    // exp overflows to inf for very early months: the output is then 0, as it should be.
    ceiling / (1.0 + x.exp())
}

/// Units of an explicit schedule in month `t`: linear between points, flat
/// before the first and after the last.
pub fn schedule_units(points: &[(i64, f64)], t: i64) -> f64 {
    let Some(&(first_m, first_u)) = points.first() else {
        return 0.0;
    };
    if t <= first_m {
        return first_u;
    }
    for w in points.windows(2) {
        let ((m0, u0), (m1, u1)) = (w[0], w[1]);
        if t <= m1 {
            let f = (t - m0) as f64 / (m1 - m0) as f64;
            return u0 + f * (u1 - u0);
        }
    }
    points.last().map_or(0.0, |p| p.1)
}

/// Units produced in month `t` by either curve; see [`logistic_units`] and [`schedule_units`].
pub fn production_units(curve: &crate::scenario::ProductionCurve, values: &[f64], t: i64) -> f64 {
    use crate::scenario::ProductionCurve;
    match curve {
        ProductionCurve::Logistic {
            ceiling_units,
            midpoint_month,
            midpoint_shift_months,
            ramp_months,
        } => logistic_units(
            values[ceiling_units.0],
            *midpoint_month as f64 + values[midpoint_shift_months.0],
            values[ramp_months.0],
            t as f64,
        ),
        ProductionCurve::Schedule(points) => schedule_units(points, t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logistic_ramp_goes_from_10_to_90_percent_in_ramp_months() {
        let (c, mid, ramp) = (1000.0, 12.0, 18.0);
        assert!((logistic_units(c, mid, ramp, mid) - 500.0).abs() < 1e-9);
        assert!((logistic_units(c, mid, ramp, mid - ramp / 2.0) - 100.0).abs() < 1e-9);
        assert!((logistic_units(c, mid, ramp, mid + ramp / 2.0) - 900.0).abs() < 1e-9);
        assert_eq!(logistic_units(c, 1e6, 1.0, 0.0), 0.0);
    }

    #[test]
    fn schedule_interpolates_and_holds_flat() {
        let pts = [(0, 8000.0), (11, 20000.0), (35, 40000.0)];
        assert_eq!(schedule_units(&pts, -3), 8000.0);
        assert_eq!(schedule_units(&pts, 0), 8000.0);
        assert!((schedule_units(&pts, 5) - (8000.0 + 5.0 / 11.0 * 12000.0)).abs() < 1e-9);
        assert_eq!(schedule_units(&pts, 11), 20000.0);
        assert_eq!(schedule_units(&pts, 40), 40000.0);
    }
}
