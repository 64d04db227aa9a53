//! Market clearing for one month: CES target shares with the domestic-mandate
//! nests, rationing with spill-over (water-filling), the mandate cut and the
//! re-offer of freed supply.
//!
//! Everything is in compute (H100e) per month; caps arrive in units and are
//! converted with each product's `h100e`. [`clear_market`] is a pure function
//! of its inputs; [`Clearing`] only owns reusable buffers so that the monthly
//! loop allocates nothing.

use crate::scenario::MandateBasis;

/// Below this share of a buyer's demand a quantity is zero (`model.md`).
pub const NEGLIGIBLE: f64 = 1e-9;

/// Below this sum of linear weights [`spread`] re-weighs from the log
/// weights: far above the subnormal range, where a weight keeps full precision.
const MIN_LINEAR_TOTAL: f64 = 1e-200;

/// What the market offers this month: one entry per product.
#[derive(Debug, Clone, Copy)]
pub struct ProductOffer<'a> {
    /// Compute per unit, H100e.
    pub h100e: &'a [f64],
    /// Made in the importing market.
    pub domestic: &'a [bool],
    /// Most units that can be sold this month (`f64::INFINITY` for none).
    pub cap_units: &'a [f64],
    /// `ln` of the buyer price per quality-adjusted compute, `ln(c_j / a_j)` (USD per H100e).
    pub ln_quality_price: &'a [f64],
}

/// The domestic-share mandate a buyer is bound by.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BuyerMandate {
    /// Minimum domestic share r, in (0, 1].
    pub share: f64,
    /// Measured on units or compute.
    pub basis: MandateBasis,
}

/// One buyer: a segment's free or mandated part.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Buyer {
    /// Index of its segment.
    pub segment: usize,
    /// Compute demanded this month, H100e.
    pub demand_h100e: f64,
    /// CES substitution elasticity σ.
    pub sigma: f64,
    /// The mandate binding it, if it is the mandated part.
    pub mandate: Option<BuyerMandate>,
}

/// Reusable buffers for clearing, and the outcome of the last clearing.
#[derive(Debug, Clone, Default)]
pub struct Clearing {
    n_products: usize,
    buyers: Vec<Buyer>,
    /// `available[b * P + j]`.
    available: Vec<bool>,
    /// Target log-weights (−∞ where the buyer does not want the product).
    log_weight: Vec<f64>,
    /// `exp(log_weight − the buyer's largest)`: linear target weights in (0, 1].
    weight: Vec<f64>,
    /// Compute allocated, `allocation[b * P + j]`.
    allocation: Vec<f64>,
    pending: Vec<f64>,
    short: Vec<f64>,
    unmet: Vec<f64>,
    cut: Vec<f64>,
    /// Foreign purchases still allowed (in the mandate's basis) during the re-offer.
    allowance: Vec<f64>,
    remaining: Vec<f64>,
    saturated: Vec<bool>,
    /// Whether buyer `b` was rationed in the current water-filling round.
    buyer_short: Vec<bool>,
    scratch: Vec<f64>,
    /// Linear CES weights supplied with the buyer (see [`Clearing::add_buyer_weighted`]),
    /// `base_weight[b * P + j]`; meaningful where `has_base_weight[b]`.
    base_weight: Vec<f64>,
    has_base_weight: Vec<bool>,
}

impl Clearing {
    /// Starts a new month with `n_products` products and no buyers.
    pub fn reset(&mut self, n_products: usize) {
        self.n_products = n_products;
        self.buyers.clear();
        self.available.clear();
        self.base_weight.clear();
        self.has_base_weight.clear();
    }

    /// Adds a buyer; `available(j)` says whether it may buy product `j`.
    pub fn add_buyer(&mut self, buyer: Buyer, available: impl Fn(usize) -> bool) {
        self.buyers.push(buyer);
        let p = self.n_products;
        self.available.extend((0..p).map(available));
        self.base_weight.extend(std::iter::repeat_n(0.0, p));
        self.has_base_weight.push(false);
    }

    /// Adds a buyer with its linear CES weights already known:
    /// `weight(j) = exp(w_j − max_k w_k)` with `w_j = (1 − σ) ln(c_j / a_j)`
    /// over its available products (`1` for all when σ = 1), 0 elsewhere —
    /// exactly what clearing would compute. The caller computes them anyway
    /// for the segment's price index, so the clearing need not repeat the
    /// exponentials; a mandate that moves the targets recomputes them.
    pub fn add_buyer_weighted(
        &mut self,
        buyer: Buyer,
        available: impl Fn(usize) -> bool,
        weight: impl Fn(usize) -> f64,
    ) {
        self.buyers.push(buyer);
        let p = self.n_products;
        self.available.extend((0..p).map(available));
        self.base_weight.extend((0..p).map(weight));
        self.has_base_weight.push(true);
    }

    /// Buyers added this month, in order.
    pub fn buyers(&self) -> &[Buyer] {
        &self.buyers
    }

    /// Compute allocated to buyer `b` of product `j`, H100e.
    pub fn allocation(&self, b: usize, j: usize) -> f64 {
        self.allocation[b * self.n_products + j]
    }

    /// Compute buyer `b` wanted but did not get, H100e.
    pub fn unmet(&self, b: usize) -> f64 {
        self.unmet[b]
    }

    /// Foreign compute the mandate cut from buyer `b`'s purchases, H100e.
    pub fn mandate_cut(&self, b: usize) -> f64 {
        self.cut[b]
    }

    /// Whether buyer `b` may buy product `j`.
    pub fn is_available(&self, b: usize, j: usize) -> bool {
        self.available[b * self.n_products + j]
    }

    /// The buyer's CES target share of product `j` (after the mandate nest), for tests and reports.
    pub fn target_share(&self, b: usize, j: usize) -> f64 {
        let p = self.n_products;
        let row = &self.log_weight[b * p..(b + 1) * p];
        let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if max == f64::NEG_INFINITY {
            return 0.0;
        }
        let total: f64 = row.iter().map(|w| (w - max).exp()).sum();
        (row[j] - max).exp() / total
    }
}

/// Clears the month: fills the allocations, unmet demand and mandate cuts of
/// the buyers added to `clearing`.
pub fn clear_market(offer: &ProductOffer, clearing: &mut Clearing) {
    let p = clearing.n_products;
    let nb = clearing.buyers.len();
    let c = clearing;
    for v in [
        &mut c.log_weight,
        &mut c.weight,
        &mut c.allocation,
        &mut c.pending,
        &mut c.short,
    ] {
        v.clear();
        v.resize(nb * p, 0.0);
    }
    for v in [&mut c.unmet, &mut c.cut] {
        v.clear();
        v.resize(nb, 0.0);
    }
    c.allowance.clear();
    c.allowance.resize(nb, f64::INFINITY);
    c.buyer_short.clear();
    c.buyer_short.resize(nb, false);
    c.remaining.clear();
    c.saturated.clear();
    for j in 0..p {
        let cap = offer.cap_units[j] * offer.h100e[j];
        // Every product starts unsaturated, a zero cap too: the first
        // water-filling round saturates it at ratio 0, so its requests spill
        // by the nest rules (a mandated buyer's to domestic products only).
        c.remaining.push(cap.max(0.0));
        c.saturated.push(false);
    }
    c.scratch.resize(p, 0.0);

    // 1. Targets and first requests.
    for b in 0..nb {
        set_targets(c, offer, b);
        let demand = c.buyers[b].demand_h100e;
        if demand <= 0.0 {
            continue;
        }
        let placed = spread(c, offer, b, demand, |_| true);
        c.unmet[b] += demand - placed;
    }
    // 2. Water-filling.
    water_fill(c, offer);
    // 3. Mandate cut.
    let mut freed_any = false;
    for b in 0..nb {
        freed_any |= cut_to_mandate(c, offer, b);
    }
    // 4. Re-offer what the cut freed to buyers with unmet demand.
    if freed_any {
        for b in 0..nb {
            if let Some(m) = c.buyers[b].mandate {
                let (dom, foreign) = nest_totals(c, offer, b, m.basis);
                c.allowance[b] = (dom * (1.0 - m.share) / m.share - foreign).max(0.0);
            }
        }
        for b in 0..nb {
            let want = c.unmet[b];
            if want <= NEGLIGIBLE * c.buyers[b].demand_h100e {
                continue;
            }
            c.unmet[b] = 0.0;
            let placed = spread(c, offer, b, want, |_| true);
            c.unmet[b] += want - placed;
        }
        water_fill(c, offer);
    }
    // 5. Negligible quantities are zero: below 1e-9 of the buyer's demand, and
    //    of the product's cap too, so that a small buyer's real share of a
    //    product swamped by a huge one is not thrown away.
    for b in 0..nb {
        let tiny = NEGLIGIBLE * c.buyers[b].demand_h100e;
        for j in 0..p {
            let k = b * p + j;
            let cap = offer.cap_units[j] * offer.h100e[j];
            if c.allocation[k] != 0.0 && c.allocation[k] < tiny.min(NEGLIGIBLE * cap) {
                c.unmet[b] += c.allocation[k];
                c.allocation[k] = 0.0;
            }
        }
        if c.unmet[b] < tiny {
            c.unmet[b] = 0.0;
        }
        if c.cut[b] < tiny {
            c.cut[b] = 0.0;
        }
        // Zeroing a negligible domestic purchase can leave the share a hair
        // below r: cut again (what this frees is negligible and not re-offered).
        cut_to_mandate(c, offer, b);
    }
}

/// Cuts buyer `b`'s foreign purchases, pro rata, to `domestic · (1 − r) / r`
/// when its domestic share is below its mandate's `r`; the freed supply goes
/// back to the products. Returns whether anything was cut.
fn cut_to_mandate(c: &mut Clearing, offer: &ProductOffer, b: usize) -> bool {
    let p = c.n_products;
    let Some(m) = c.buyers[b].mandate else {
        return false;
    };
    let (dom, foreign) = nest_totals(c, offer, b, m.basis);
    let total = dom + foreign;
    if total <= 0.0 || dom >= m.share * total * (1.0 - 1e-12) {
        return false;
    }
    let allowed = dom * (1.0 - m.share) / m.share;
    let factor = if foreign > 0.0 {
        (allowed / foreign).clamp(0.0, 1.0)
    } else {
        1.0
    };
    let mut freed_any = false;
    for j in 0..p {
        if offer.domestic[j] {
            continue;
        }
        let k = b * p + j;
        let freed = c.allocation[k] * (1.0 - factor);
        if freed > 0.0 {
            c.allocation[k] -= freed;
            c.remaining[j] += freed;
            c.saturated[j] = false;
            c.cut[b] += freed;
            c.unmet[b] += freed;
            freed_any = true;
        }
    }
    freed_any
}

/// Sets buyer `b`'s target weights (log and linear).
fn set_targets(c: &mut Clearing, offer: &ProductOffer, b: usize) {
    let moved = set_log_targets(c, offer, b);
    let p = c.n_products;
    let row = b * p..(b + 1) * p;
    if !moved && c.has_base_weight[b] {
        c.weight[row.clone()].copy_from_slice(&c.base_weight[row]);
        return;
    }
    let max = c.log_weight[row.clone()]
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    for k in row {
        c.weight[k] = if max == f64::NEG_INFINITY {
            0.0
        } else {
            (c.log_weight[k] - max).exp()
        };
    }
}

/// Sets buyer `b`'s target log-weights: CES over its available products,
/// moved into the mandate's nests when its domestic share falls short.
/// Returns whether the mandate moved them.
fn set_log_targets(c: &mut Clearing, offer: &ProductOffer, b: usize) -> bool {
    let p = c.n_products;
    let buyer = c.buyers[b];
    let rho = 1.0 - buyer.sigma;
    let cobb_douglas = rho.abs() < 1e-9;
    for j in 0..p {
        let k = b * p + j;
        c.log_weight[k] = if c.available[k] {
            if cobb_douglas {
                0.0
            } else {
                rho * offer.ln_quality_price[j]
            }
        } else {
            f64::NEG_INFINITY
        };
    }
    let Some(m) = buyer.mandate else {
        return false;
    };
    let row = b * p..(b + 1) * p;
    // Within-nest log-sum-exp and, for the units basis, units per compute of each nest.
    let lse = |dom: bool, w: &[f64]| -> f64 {
        let max = (0..p)
            .filter(|&j| offer.domestic[j] == dom)
            .map(|j| w[j])
            .fold(f64::NEG_INFINITY, f64::max);
        if max == f64::NEG_INFINITY {
            return max;
        }
        max + (0..p)
            .filter(|&j| offer.domestic[j] == dom)
            .map(|j| (w[j] - max).exp())
            .sum::<f64>()
            .ln()
    };
    let w = &c.log_weight[row.clone()];
    let lse_dom = lse(true, w);
    let lse_for = lse(false, w);
    if lse_dom == f64::NEG_INFINITY {
        // No domestic product available: the mandate forbids foreign ones too.
        c.log_weight[row]
            .iter_mut()
            .for_each(|x| *x = f64::NEG_INFINITY);
        return true;
    }
    if lse_for == f64::NEG_INFINITY {
        return false; // Only domestic products: the share is 1 ≥ r already.
    }
    // Units per compute inside each nest (within-nest CES shares / h100e).
    let units_per_compute = |dom: bool, lse_nest: f64| -> f64 {
        (0..p)
            .filter(|&j| offer.domestic[j] == dom)
            .map(|j| (w[j] - lse_nest).exp() / offer.h100e[j])
            .sum()
    };
    let u_dom = units_per_compute(true, lse_dom);
    let u_for = units_per_compute(false, lse_for);
    // CES compute share of the domestic nest, computed stably.
    let max = lse_dom.max(lse_for);
    let e_dom = (lse_dom - max).exp();
    let e_for = (lse_for - max).exp();
    let ces_dom = e_dom / (e_dom + e_for);
    let ces_on_basis = match m.basis {
        MandateBasis::Compute => ces_dom,
        MandateBasis::Units => ces_dom * u_dom / (ces_dom * u_dom + (1.0 - ces_dom) * u_for),
    };
    if ces_on_basis >= m.share {
        return false;
    }
    let r = m.share;
    // Compute share of the domestic nest that makes its share on the basis exactly r.
    let x_dom = match m.basis {
        MandateBasis::Compute => r,
        MandateBasis::Units => r * u_for / (r * u_for + (1.0 - r) * u_dom),
    };
    let (ln_dom, ln_for) = (x_dom.ln(), (1.0 - x_dom).ln());
    for j in 0..p {
        let k = b * p + j;
        if c.log_weight[k] == f64::NEG_INFINITY {
            continue;
        }
        c.log_weight[k] += if offer.domestic[j] {
            ln_dom - lse_dom
        } else {
            ln_for - lse_for
        };
    }
    true
}

/// Spreads `amount` of buyer `b`'s compute over its wanted, unsaturated
/// products accepted by `allow`, in proportion to its targets, as pending
/// requests; foreign requests stop at the buyer's allowance. Returns what was placed.
fn spread(
    c: &mut Clearing,
    offer: &ProductOffer,
    b: usize,
    amount: f64,
    allow: impl Fn(usize) -> bool,
) -> f64 {
    let p = c.n_products;
    let mut total = 0.0;
    for j in 0..p {
        let k = b * p + j;
        c.scratch[j] = if !c.saturated[j] && allow(j) {
            c.weight[k]
        } else {
            0.0
        };
        total += c.scratch[j];
    }
    if total < MIN_LINEAR_TOTAL {
        // Every open product's linear weight underflowed, or is subnormal and
        // so carries too few bits to divide an amount by (extreme σ or price
        // gaps): weigh them relative to the best of them instead.
        total = 0.0;
        let mut max = f64::NEG_INFINITY;
        for j in 0..p {
            let w = c.log_weight[b * p + j];
            if !c.saturated[j] && allow(j) && w > max {
                max = w;
            }
        }
        if max == f64::NEG_INFINITY {
            return 0.0;
        }
        for j in 0..p {
            let w = c.log_weight[b * p + j];
            c.scratch[j] = if !c.saturated[j] && allow(j) && w > f64::NEG_INFINITY {
                (w - max).exp()
            } else {
                0.0
            };
            total += c.scratch[j];
        }
    }
    // Foreign part against the allowance (in the mandate's basis).
    let mut foreign_scale = 1.0;
    if let Some(m) = c.buyers[b].mandate
        && c.allowance[b].is_finite()
    {
        let foreign_basis: f64 = (0..p)
            .filter(|&j| !offer.domestic[j])
            .map(|j| amount * (c.scratch[j] / total) / basis_divisor(offer, j, m.basis))
            .sum();
        if foreign_basis > c.allowance[b] {
            foreign_scale = if foreign_basis > 0.0 {
                c.allowance[b] / foreign_basis
            } else {
                0.0
            };
        }
        c.allowance[b] -= foreign_basis * foreign_scale;
    }
    let mut placed = 0.0;
    for j in 0..p {
        if c.scratch[j] == 0.0 {
            continue;
        }
        // The ratio first: `amount · w` could underflow when `w` is tiny.
        let mut q = amount * (c.scratch[j] / total);
        if !offer.domestic[j] {
            q *= foreign_scale;
        }
        c.pending[b * p + j] += q;
        placed += q;
    }
    placed
}

/// Compute per unit of the basis: 1 for compute, `h100e` for units.
fn basis_divisor(offer: &ProductOffer, j: usize, basis: MandateBasis) -> f64 {
    match basis {
        MandateBasis::Compute => 1.0,
        MandateBasis::Units => offer.h100e[j],
    }
}

/// Domestic and foreign purchases of buyer `b`, in the basis.
fn nest_totals(c: &Clearing, offer: &ProductOffer, b: usize, basis: MandateBasis) -> (f64, f64) {
    let p = c.n_products;
    let (mut dom, mut foreign) = (0.0, 0.0);
    for j in 0..p {
        let q = c.allocation[b * p + j] / basis_divisor(offer, j, basis);
        if offer.domestic[j] {
            dom += q
        } else {
            foreign += q
        }
    }
    (dom, foreign)
}

/// Rations pending requests against the remaining caps and spills shortfalls
/// until nothing is short or nothing unsaturated is left.
fn water_fill(c: &mut Clearing, offer: &ProductOffer) {
    let p = c.n_products;
    let nb = c.buyers.len();
    // Each round saturates at least one product or ends, so P + 1 rounds suffice.
    for _round in 0..=p + 1 {
        let mut any_short = false;
        for j in 0..p {
            let total: f64 = (0..nb).map(|b| c.pending[b * p + j]).sum();
            if total <= 0.0 {
                continue;
            }
            let ratio = if total > c.remaining[j] {
                c.remaining[j] / total
            } else {
                1.0
            };
            for b in 0..nb {
                let k = b * p + j;
                let req = c.pending[k];
                if req == 0.0 {
                    continue;
                }
                let got = req * ratio;
                c.allocation[k] += got;
                c.short[k] = req - got;
                c.pending[k] = 0.0;
                if c.short[k] > 0.0 {
                    any_short = true;
                    c.buyer_short[b] = true;
                    // Unallocated foreign requests give their allowance back.
                    if let Some(m) = c.buyers[b].mandate
                        && !offer.domestic[j]
                        && c.allowance[b].is_finite()
                    {
                        c.allowance[b] += c.short[k] / basis_divisor(offer, j, m.basis);
                    }
                }
            }
            if ratio < 1.0 {
                c.remaining[j] = 0.0;
                c.saturated[j] = true;
            } else {
                c.remaining[j] -= total;
            }
        }
        if !any_short {
            return;
        }
        for b in 0..nb {
            if !std::mem::take(&mut c.buyer_short[b]) {
                continue; // Nothing of this buyer's was rationed this round.
            }
            let mandated = c.buyers[b].mandate.is_some();
            let tiny = NEGLIGIBLE * c.buyers[b].demand_h100e;
            // Spill is linear in the amount, so a buyer's shortfalls are pooled:
            // a mandated buyer's domestic shortfall may only go to domestic products.
            let (mut to_domestic, mut to_any) = (0.0, 0.0);
            for j in 0..p {
                let k = b * p + j;
                let s = c.short[k];
                if s <= 0.0 {
                    continue;
                }
                c.short[k] = 0.0;
                if mandated && offer.domestic[j] {
                    to_domestic += s
                } else {
                    to_any += s
                }
            }
            for (amount, domestic_only) in [(to_domestic, true), (to_any, false)] {
                if amount <= 0.0 {
                    continue;
                }
                if amount < tiny {
                    c.unmet[b] += amount;
                    continue;
                }
                let placed = if domestic_only {
                    spread(c, offer, b, amount, |i| offer.domestic[i])
                } else {
                    spread(c, offer, b, amount, |_| true)
                };
                c.unmet[b] += amount - placed;
            }
        }
    }
    // Unreachable in exact arithmetic; whatever is still pending is unmet.
    for b in 0..nb {
        for j in 0..p {
            let k = b * p + j;
            c.unmet[b] += c.pending[k];
            c.pending[k] = 0.0;
        }
    }
}
