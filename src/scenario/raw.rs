//! The scenario file as written: serde types that mirror the TOML format
//! one to one, with spans kept on every value a later check may complain about.
//!
//! Nothing here interprets the numbers; `resolve` does, collecting every
//! problem with its location.

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use std::fmt;
use toml::Spanned;

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenarioFile {
    pub scenario: Spanned<RawScenarioHeader>,
    pub market: Spanned<RawMarket>,
    #[serde(default)]
    pub segment: Vec<Spanned<RawSegment>>,
    #[serde(default)]
    pub product: Vec<Spanned<RawProduct>>,
    #[serde(default)]
    pub export_rule: Vec<Spanned<RawExportRule>>,
    #[serde(default)]
    pub import_rule: Vec<Spanned<RawImportRule>>,
    #[serde(default)]
    pub domestic_mandate: Vec<Spanned<RawMandate>>,
    #[serde(default)]
    pub shock: Vec<Spanned<RawShock>>,
}

/// `[scenario]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenarioHeader {
    pub name: Spanned<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub start: Spanned<String>,
    pub months: Spanned<i64>,
    pub trials: Option<Spanned<i64>>,
    pub seed: Option<Spanned<i64>>,
    /// Read and taken out by `compose` before deserialization; declared so
    /// that a misspelt `extend` is answered with "did you mean `extends`?".
    #[allow(dead_code)]
    pub extends: Option<serde::de::IgnoredAny>,
    /// As `extends`.
    #[allow(dead_code)]
    pub remove: Option<serde::de::IgnoredAny>,
}

/// `[market]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMarket {
    pub name: Spanned<String>,
    pub home: Spanned<String>,
    pub demand: Spanned<RawDemand>,
}

/// `[market.demand]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDemand {
    pub initial: Spanned<RawUncertain>,
    pub annual_growth: Option<Spanned<RawUncertain>>,
    pub monthly_volatility: Option<Spanned<RawUncertain>>,
    pub price_elasticity: Option<Spanned<RawUncertain>>,
}

/// `[[segment]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSegment {
    pub name: Spanned<String>,
    pub share: Spanned<f64>,
    pub substitution_elasticity: Spanned<RawUncertain>,
    pub mandate_compliance: Option<Spanned<RawUncertain>>,
}

/// `[[product]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProduct {
    pub name: Spanned<String>,
    pub label: Option<String>,
    pub vendor: Spanned<String>,
    pub origin: Spanned<String>,
    pub h100e: Spanned<f64>,
    pub price: Spanned<RawUncertain>,
    pub price_trend: Option<Spanned<RawUncertain>>,
    pub preference: Option<Spanned<RawUncertain>>,
    pub launch: Option<Spanned<String>>,
    pub supply: Option<Spanned<RawUncertain>>,
    pub production: Option<Spanned<RawProduction>>,
}

/// `[product.production]`: a logistic ramp or a schedule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProduction {
    pub ceiling: Option<Spanned<RawUncertain>>,
    pub midpoint: Option<Spanned<String>>,
    pub midpoint_shift: Option<Spanned<RawUncertain>>,
    pub ramp_months: Option<Spanned<RawUncertain>>,
    pub schedule: Option<Spanned<Vec<Spanned<SchedulePoint>>>>,
    pub scale: Option<Spanned<RawUncertain>>,
    pub initial_inventory: Option<Spanned<RawUncertain>>,
}

/// One `["YYYY-MM", units]` point of a production schedule.
pub type SchedulePoint = (Spanned<String>, Spanned<f64>);

/// The fields of an export rule, shared by `[[export_rule]]` and `[shock.export_rule]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExportRule {
    pub product: Spanned<String>,
    pub from: Option<Spanned<String>>,
    pub until: Option<Spanned<String>>,
    pub regime: Option<Spanned<String>>,
    pub quota: Option<Spanned<RawUncertain>>,
    pub approval_rate: Option<Spanned<RawUncertain>>,
    pub revenue_fee: Option<Spanned<RawUncertain>>,
    pub fee_pass_through: Option<Spanned<RawUncertain>>,
}

/// The fields of an import rule, shared by `[[import_rule]]` and `[shock.import_rule]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawImportRule {
    pub product: Spanned<String>,
    pub from: Option<Spanned<String>>,
    pub until: Option<Spanned<String>>,
    pub regime: Option<Spanned<String>>,
    pub cumulative_cap: Option<Spanned<RawUncertain>>,
    pub segments: Option<Spanned<Vec<Spanned<String>>>>,
}

/// The fields of a domestic mandate, shared by `[[domestic_mandate]]` and `[shock.domestic_mandate]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMandate {
    pub from: Option<Spanned<String>>,
    pub until: Option<Spanned<String>>,
    pub share: Spanned<RawUncertain>,
    pub basis: Option<Spanned<String>>,
    pub segments: Option<Spanned<Vec<Spanned<String>>>>,
}

/// `[[shock]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawShock {
    pub name: Spanned<String>,
    pub description: Option<String>,
    pub monthly_hazard: Option<Spanned<f64>>,
    pub probability: Option<Spanned<f64>>,
    pub window: Spanned<(Spanned<String>, Spanned<String>)>,
    pub duration_months: Option<Spanned<i64>>,
    pub export_rule: Option<Spanned<RawExportRule>>,
    pub import_rule: Option<Spanned<RawImportRule>>,
    pub domestic_mandate: Option<Spanned<RawMandate>>,
}

/// A number that may be uncertain: a constant or a distribution table.
#[derive(Debug, Clone, PartialEq)]
pub enum RawUncertain {
    Constant(f64),
    Distribution(Box<RawDistribution>),
}

/// A distribution table as written; which keys go together is checked by `resolve`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDistribution {
    pub dist: Spanned<String>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub mode: Option<f64>,
    pub mean: Option<f64>,
    pub sd: Option<f64>,
    pub median: Option<f64>,
    pub sigma: Option<f64>,
    pub p5: Option<f64>,
    pub p95: Option<f64>,
    pub alpha: Option<f64>,
    pub beta: Option<f64>,
    pub values: Option<Vec<f64>>,
    pub weights: Option<Vec<f64>>,
}

impl<'de> Deserialize<'de> for RawUncertain {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct UncertainVisitor;
        impl<'de> Visitor<'de> for UncertainVisitor {
            type Value = RawUncertain;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number or a distribution table such as { dist = \"uniform\", min = 1, max = 2 }")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(RawUncertain::Constant(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(RawUncertain::Constant(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(RawUncertain::Constant(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                RawDistribution::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|d| RawUncertain::Distribution(Box::new(d)))
            }
        }
        deserializer.deserialize_any(UncertainVisitor)
    }
}
