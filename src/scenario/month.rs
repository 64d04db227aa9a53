//! Calendar months, `YYYY-MM`.

use std::fmt;

/// A calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct YearMonth {
    /// Year, 1900–2200.
    pub year: i32,
    /// Month, 1–12.
    pub month: u32,
}

impl YearMonth {
    /// Parses `YYYY-MM`; `Err` says what was expected.
    pub fn parse(s: &str) -> Result<YearMonth, String> {
        let bytes = s.as_bytes();
        let shape_ok = bytes.len() == 7
            && bytes[4] == b'-'
            && bytes
                .iter()
                .enumerate()
                .all(|(i, b)| i == 4 || b.is_ascii_digit());
        if !shape_ok {
            return Err(format!("expected a month as \"YYYY-MM\", found \"{s}\""));
        }
        let year: i32 = s[..4].parse().map_err(|_| format!("bad year in \"{s}\""))?;
        let month: u32 = s[5..]
            .parse()
            .map_err(|_| format!("bad month in \"{s}\""))?;
        if !(1..=12).contains(&month) {
            return Err(format!(
                "month {month:02} in \"{s}\" is not between 01 and 12"
            ));
        }
        if !(1900..=2200).contains(&year) {
            return Err(format!("year {year} in \"{s}\" is outside 1900–2200"));
        }
        Ok(YearMonth { year, month })
    }

    /// Months from `self` to `later` (negative if `later` is earlier).
    pub fn months_until(&self, later: YearMonth) -> i64 {
        (later.year as i64 - self.year as i64) * 12 + (later.month as i64 - self.month as i64)
    }

    /// The month `n` months after this one.
    pub fn plus(&self, n: i64) -> YearMonth {
        let idx = self.year as i64 * 12 + (self.month as i64 - 1) + n;
        YearMonth {
            year: idx.div_euclid(12) as i32,
            month: (idx.rem_euclid(12) + 1) as u32,
        }
    }
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_counts_months() {
        let a = YearMonth::parse("2026-01").unwrap();
        let b = YearMonth::parse("2028-12").unwrap();
        assert_eq!(a.months_until(b), 35);
        assert_eq!(a.plus(35), b);
        assert_eq!(a.plus(-1).to_string(), "2025-12");
        assert!(YearMonth::parse("2026-13").is_err());
        assert!(YearMonth::parse("2026-1").is_err());
        assert!(YearMonth::parse("26-01-01").is_err());
    }
}
