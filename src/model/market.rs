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

/// One buyer's outcome and working state in a clearing.
#[derive(Debug, Clone, Copy, Default)]
struct BuyerState {
    /// Copies of the buyer's mandate and demand.
    mandate: Option<BuyerMandate>,
    demand: f64,
    unmet: f64,
    cut: f64,
    /// Foreign purchases still allowed (in the mandate's basis) during the re-offer.
    allowance: f64,
    /// The shortfalls of this round pooled by nest (domestic only, any).
    pool_domestic: f64,
    pool_any: f64,
    /// Whether its pending row may hold a non-zero request (an all-zero row
    /// is skipped by the water-filling: it changes nothing).
    live: bool,
    /// Whether it was rationed in the current round (its spill is due).
    rationed: bool,
    /// Whether its `short` row may hold a NaN shortfall, which the next
    /// spill pools (positive shortfalls are pooled as they arise).
    nan_short: bool,
    /// 0 not yet known, 1 no wanted product's linear weight underflowed
    /// to 0, 2 one did (see [`spread`]).
    underflow: u8,
    /// Its `log_weight` row is filled. A free buyer with linear weights
    /// supplied needs its log-weights only in the rare re-weighing, so they
    /// are computed then (the same numbers).
    log_ready: bool,
}

/// Reusable buffers for clearing, and the outcome of the last clearing.
#[derive(Debug, Clone, Default)]
pub struct Clearing {
    n_products: usize,
    buyers: Vec<Buyer>,
    /// `available[b * P + j]`.
    available: Vec<bool>,
    /// Target log-weights (−∞ where the buyer does not want the product);
    /// a row is filled only when needed (see [`BuyerState::log_ready`]).
    log_weight: Vec<f64>,
    /// This month's `ln_quality_price`, for log-weights filled on demand.
    ln_quality_price: Vec<f64>,
    /// Compute allocated, `allocation[b * P + j]`.
    allocation: Vec<f64>,
    /// Requests not yet served, `pending[b * P + j]`.
    pending: Vec<f64>,
    /// The shortfall of each request when last served (or 0 where it was
    /// pooled at once): only a NaN one is read again (by the next spill).
    short: Vec<f64>,
    /// Per buyer: the outcome and working state of its clearing, together so
    /// that a buyer's row of work checks one index.
    st: Vec<BuyerState>,
    remaining: Vec<f64>,
    /// Per product, all bits set while a spread may use it (unsaturated),
    /// none once saturated: a weight masked with it is the weight or +0.
    open_any: Vec<u64>,
    /// The same for a mandated buyer's domestic spill: unsaturated and domestic.
    open_domestic: Vec<u64>,
    /// The buyers whose rows may hold a request, in order.
    live_buyers: Vec<usize>,
    /// No first spread met a negative weight this month (supplied weights
    /// only could be one; see `dense` in [`water_fill`]).
    nonnegative_weights: bool,
    /// All bits set, to leave [`reweigh_from_logs`]' weights unmasked.
    all_bits: Vec<u64>,
    scratch: Vec<f64>,
    /// Per product: its requests summed over the buyers, then its rationing ratio.
    ratio: Vec<f64>,
    /// Per product: `NEGLIGIBLE` times its cap in compute.
    negligible_cap: Vec<f64>,
    /// Linear target weights, `weight[b * P + j]`: those supplied with the
    /// buyer (see [`Clearing::add_buyer_rows`]; meaningful where
    /// `has_base_weight[b]`) while the mandate does not move them, else
    /// `exp(log_weight − the buyer's largest)` in (0, 1], written over them:
    /// one row to read whichever they are.
    weight: Vec<f64>,
    has_base_weight: Vec<bool>,
    /// Unsaturated products, and unsaturated domestic ones.
    n_open_any: usize,
    n_open_domestic: usize,
}

impl Clearing {
    /// Starts a new month with `n_products` products and no buyers.
    pub fn reset(&mut self, n_products: usize) {
        self.n_products = n_products;
        self.buyers.clear();
        self.has_base_weight.clear();
    }

    /// Adds a buyer and returns its rows of `available` and `weight`,
    /// every element of which the caller writes. The two buffers only ever
    /// grow (to the same length): rows past the last buyer's are stale and
    /// never read, so that a month resizes nothing once they are large enough.
    #[inline]
    fn push_buyer(&mut self, buyer: Buyer, has_base_weight: bool) -> (&mut [bool], &mut [f64]) {
        self.buyers.push(buyer);
        self.has_base_weight.push(has_base_weight);
        let p = self.n_products;
        let end = self.buyers.len() * p;
        if self.available.len() < end {
            self.available.resize(end, false);
            self.weight.resize(end, 0.0);
        }
        (
            &mut self.available[end - p..end],
            &mut self.weight[end - p..end],
        )
    }

    /// Adds a buyer; `available(j)` says whether it may buy product `j`.
    pub fn add_buyer(&mut self, buyer: Buyer, available: impl Fn(usize) -> bool) {
        let (row, weight) = self.push_buyer(buyer, false);
        for (j, a) in row.iter_mut().enumerate() {
            *a = available(j);
        }
        weight.fill(0.0);
    }

    /// Adds a buyer with its linear CES weights already known, and returns
    /// its rows for the caller to fill in full: whether it may buy each
    /// product, and its weights `weight_j ∝ exp(w_j)` with
    /// `w_j = (1 − σ) ln(c_j / a_j)` over its available products (equal for
    /// all when σ = 1), 0 elsewhere, on any common scale within
    /// [1e-150, 1e150] of `exp(w_j − max_k w_k)` (the model carries them
    /// forward month to month, so they equal that to rounding). The caller
    /// computes them anyway for the segment's price index, so the clearing
    /// need not repeat the exponentials; a mandate that moves the targets,
    /// or weights too small to divide by, are recomputed from the
    /// log-weights. Rows are written in place rather than pushed element by
    /// element: this runs for every buyer every month.
    #[inline]
    pub fn add_buyer_rows(&mut self, buyer: Buyer) -> (&mut [bool], &mut [f64]) {
        self.push_buyer(buyer, true)
    }

    /// Buyers added this month, in order.
    pub fn buyers(&self) -> &[Buyer] {
        &self.buyers
    }

    /// Compute allocated to buyer `b` of each product, H100e.
    pub fn allocations(&self, b: usize) -> &[f64] {
        &self.allocation[b * self.n_products..][..self.n_products]
    }

    /// Compute allocated to buyer `b` of product `j`, H100e.
    pub fn allocation(&self, b: usize, j: usize) -> f64 {
        self.allocation[b * self.n_products + j]
    }

    /// Compute buyer `b` wanted but did not get, H100e.
    pub fn unmet(&self, b: usize) -> f64 {
        self.st[b].unmet
    }

    /// Foreign compute the mandate cut from buyer `b`'s purchases, H100e.
    pub fn mandate_cut(&self, b: usize) -> f64 {
        self.st[b].cut
    }

    /// Whether buyer `b` may buy product `j`.
    pub fn is_available(&self, b: usize, j: usize) -> bool {
        self.available[b * self.n_products + j]
    }

    /// The buyer's CES target share of product `j` (after the mandate nest), for tests and reports.
    pub fn target_share(&self, b: usize, j: usize) -> f64 {
        let p = self.n_products;
        let lw = |k: usize| {
            if self.st[b].log_ready {
                self.log_weight[b * p + k]
            } else {
                free_log_weight(self, b, k)
            }
        };
        let max = (0..p).map(lw).fold(f64::NEG_INFINITY, f64::max);
        if max == f64::NEG_INFINITY {
            return 0.0;
        }
        let total: f64 = (0..p).map(|k| (lw(k) - max).exp()).sum();
        (lw(j) - max).exp() / total
    }
}

/// Which of a buyer's open products a [`spread`] may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Nest {
    All,
    /// A mandated buyer's domestic shortfall goes to domestic products only.
    Domestic,
}

/// Sets `v` to `n` copies of `x`, reusing its allocation.
fn refill<T: Copy>(v: &mut Vec<T>, n: usize, x: T) {
    v.resize(n, x);
    v.fill(x);
}

/// Clears the month: fills the allocations, unmet demand and mandate cuts of
/// the buyers added to `clearing`.
pub fn clear_market(offer: &ProductOffer, clearing: &mut Clearing) {
    let p = clearing.n_products;
    let nb = clearing.buyers.len();
    let c = clearing;
    // Only what is accumulated into needs zeroing; target rows are written
    // before they are read.
    refill(&mut c.allocation, nb * p, 0.0);
    refill(&mut c.pending, nb * p, 0.0);
    refill(&mut c.short, nb * p, 0.0);
    c.log_weight.resize(nb * p, 0.0);
    c.ln_quality_price.clear();
    c.ln_quality_price
        .extend_from_slice(&offer.ln_quality_price[..p]);
    c.st.clear();
    c.st.extend(c.buyers.iter().map(|buyer| BuyerState {
        mandate: buyer.mandate,
        demand: buyer.demand_h100e,
        allowance: f64::INFINITY,
        ..BuyerState::default()
    }));
    c.remaining.resize(p, 0.0);
    c.negligible_cap.resize(p, 0.0);
    // Every product starts unsaturated, a zero cap too: the first
    // water-filling round saturates it at ratio 0, so its requests spill
    // by the nest rules (a mandated buyer's to domestic products only).
    refill(&mut c.open_any, p, !0);
    c.open_domestic.clear();
    c.n_open_domestic = 0;
    for &d in &offer.domestic[..p] {
        c.open_domestic.push(if d { !0 } else { 0 });
        c.n_open_domestic += d as usize;
    }
    // Never written but here: only its length changes.
    if c.all_bits.len() < p {
        c.all_bits.resize(p, !0);
    }
    c.scratch.resize(p, 0.0);
    c.ratio.resize(p, 0.0);
    c.n_open_any = p;
    for (((rem, neg), &units), &h) in c
        .remaining
        .iter_mut()
        .zip(c.negligible_cap.iter_mut())
        .zip(&offer.cap_units[..p])
        .zip(&offer.h100e[..p])
    {
        let cap = units * h;
        *rem = cap.max(0.0);
        *neg = NEGLIGIBLE * cap;
    }

    // Cleared by a first spread that meets a negative weight (a buyer given
    // no first requests is only ever offered 0 later).
    c.nonnegative_weights = true;
    // 1. Targets and first requests; the rows with requests are listed and
    //    summed per product (in buyer order) for the first water-filling round
    //    as they are placed.
    c.live_buyers.clear();
    c.ratio[..p].fill(-0.0);
    for b in 0..nb {
        set_targets(c, offer, b);
        let demand = c.st[b].demand;
        if demand <= 0.0 {
            continue;
        }
        let placed = first_spread(c, offer, b, demand);
        c.st[b].unmet += demand - placed;
    }
    // 2. Water-filling.
    water_fill_listed(c, offer);
    // 3. Mandate cut.
    let mut freed_any = false;
    for b in 0..nb {
        freed_any |= cut_to_mandate(c, offer, b);
    }
    // 4. Re-offer what the cut freed to buyers with unmet demand.
    if freed_any {
        for b in 0..nb {
            if let Some(m) = c.st[b].mandate {
                let (dom, foreign) = nest_totals(c, offer, b, m.basis);
                c.st[b].allowance = (dom * (1.0 - m.share) / m.share - foreign).max(0.0);
            }
        }
        for b in 0..nb {
            let want = c.st[b].unmet;
            if want <= NEGLIGIBLE * c.st[b].demand {
                continue;
            }
            c.st[b].unmet = 0.0;
            let placed = spread(c, offer, b, want, Nest::All);
            c.st[b].unmet += want - placed;
        }
        water_fill(c, offer);
    }
    // 5. Negligible quantities are zero: below 1e-9 of the buyer's demand, and
    //    of the product's cap too, so that a small buyer's real share of a
    //    product swamped by a huge one is not thrown away.
    for b in 0..nb {
        let tiny = NEGLIGIBLE * c.st[b].demand;
        let allocation = &mut c.allocation[b * p..][..p];
        let negligible_cap = &c.negligible_cap[..p];
        let mut unmet = c.st[b].unmet;
        let mut zeroed = false;
        // `tiny.min(cap)` is at most `tiny` unless `tiny` is NaN (then it is
        // the cap, and no q that fails `q < ∞` passes): a first, cheap test.
        let first = if tiny.is_nan() { f64::INFINITY } else { tiny };
        for j in 0..p {
            let q = allocation[j];
            if q < first && q != 0.0 && q < tiny.min(negligible_cap[j]) {
                unmet += q;
                allocation[j] = 0.0;
                zeroed = true;
            }
        }
        c.st[b].unmet = if unmet < tiny { 0.0 } else { unmet };
        if c.st[b].cut < tiny {
            c.st[b].cut = 0.0;
        }
        // Zeroing a negligible domestic purchase can leave the share a hair
        // below r: cut again (what this frees is negligible and not re-offered).
        // Purchases untouched since step 3 found nothing to cut give the same
        // answer, so only a re-offer or a zeroing calls for the check.
        if freed_any || zeroed {
            cut_to_mandate(c, offer, b);
        }
    }
}

/// Cuts buyer `b`'s foreign purchases, pro rata, to `domestic · (1 − r) / r`
/// when its domestic share is below its mandate's `r`; the freed supply goes
/// back to the products. Returns whether anything was cut.
#[inline(always)]
fn cut_to_mandate(c: &mut Clearing, offer: &ProductOffer, b: usize) -> bool {
    // Checked here, in line: most buyers have no mandate.
    match c.st[b].mandate {
        Some(m) => cut_to_share(c, offer, b, m),
        None => false,
    }
}

/// [`cut_to_mandate`] of a buyer bound by mandate `m`.
fn cut_to_share(c: &mut Clearing, offer: &ProductOffer, b: usize, m: BuyerMandate) -> bool {
    let p = c.n_products;
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
    let allocation = &mut c.allocation[b * p..][..p];
    let remaining = &mut c.remaining[..p];
    let open_any = &mut c.open_any[..p];
    let domestic = &offer.domestic[..p];
    let (mut cut, mut unmet) = (c.st[b].cut, c.st[b].unmet);
    let mut freed_any = false;
    for j in 0..p {
        if domestic[j] {
            continue;
        }
        let freed = allocation[j] * (1.0 - factor);
        if freed > 0.0 {
            allocation[j] -= freed;
            remaining[j] += freed;
            // A foreign product: never open to a domestic spill.
            c.n_open_any += (open_any[j] == 0) as usize;
            open_any[j] = !0;
            cut += freed;
            unmet += freed;
            freed_any = true;
        }
    }
    c.st[b].cut = cut;
    c.st[b].unmet = unmet;
    freed_any
}

/// Sets buyer `b`'s target weights (log and linear).
#[inline(always)]
fn set_targets(c: &mut Clearing, offer: &ProductOffer, b: usize) {
    // The common cases in line: a free buyer with its linear weights
    // supplied, or a mandated one that wants only domestic products, targets
    // them as they are (as `set_log_targets` would find).
    if c.has_base_weight[b] && (c.st[b].mandate.is_none() || only_domestic_wanted(c, offer, b)) {
        return;
    }
    set_targets_from_logs(c, offer, b);
}

/// [`set_targets`] of a mandated buyer or one without supplied weights;
/// out of line, so that the month's loop stays small.
#[inline(never)]
fn set_targets_from_logs(c: &mut Clearing, offer: &ProductOffer, b: usize) {
    let moved = set_log_targets(c, offer, b);
    let p = c.n_products;
    if !moved && c.has_base_weight[b] {
        return; // Its supplied weights are its targets.
    }
    let weight = &mut c.weight[b * p..][..p];
    let log_weight = &c.log_weight[b * p..][..p];
    let max = log_weight.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    for (w, &lw) in weight.iter_mut().zip(log_weight) {
        *w = if max == f64::NEG_INFINITY {
            0.0
        } else {
            (lw - max).exp()
        };
    }
}

/// A free buyer's log-weight of product `j`: CES over its available products.
fn free_log_weight(c: &Clearing, b: usize, j: usize) -> f64 {
    let rho = 1.0 - c.buyers[b].sigma;
    if c.available[b * c.n_products + j] {
        if rho.abs() < 1e-9 {
            0.0 // Cobb–Douglas.
        } else {
            rho * c.ln_quality_price[j]
        }
    } else {
        f64::NEG_INFINITY
    }
}

/// Fills buyer `b`'s row of `log_weight` with its free log-weights.
fn fill_log_weights(c: &mut Clearing, b: usize) {
    let p = c.n_products;
    let rho = 1.0 - c.buyers[b].sigma;
    let cobb_douglas = rho.abs() < 1e-9;
    let log_weight = &mut c.log_weight[b * p..][..p];
    let available = &c.available[b * p..][..p];
    let ln_quality_price = &c.ln_quality_price[..p];
    for j in 0..p {
        log_weight[j] = if available[j] {
            if cobb_douglas {
                0.0
            } else {
                rho * ln_quality_price[j]
            }
        } else {
            f64::NEG_INFINITY
        };
    }
    c.st[b].log_ready = true;
}

/// Whether buyer `b` wants some domestic product and no foreign one: the
/// largest log-weight of the domestic nest is finite and that of the
/// foreign nest is −∞ (the cases [`set_log_targets`] settles first),
/// without filling the row of log-weights. The common case of a mandated
/// buyer while foreign products are blocked.
fn only_domestic_wanted(c: &Clearing, offer: &ProductOffer, b: usize) -> bool {
    let p = c.n_products;
    let rho = 1.0 - c.buyers[b].sigma;
    let cobb_douglas = rho.abs() < 1e-9;
    let available = &c.available[b * p..][..p];
    let (domestic, ln_quality_price) = (&offer.domestic[..p], &c.ln_quality_price[..p]);
    // A nest's largest log-weight (folded with `f64::max` from −∞) is −∞
    // exactly when none of its log-weights is above −∞ (a NaN is not).
    let (mut any_domestic, mut any_foreign) = (false, false);
    for j in 0..p {
        // As `fill_log_weights` computes it: −∞ where not available, else 0
        // (Cobb–Douglas) or `rho · ln_quality_price`; tested without branches.
        let wanted =
            available[j] & (cobb_douglas | (rho * ln_quality_price[j] > f64::NEG_INFINITY));
        any_domestic |= wanted & domestic[j];
        any_foreign |= wanted & !domestic[j];
    }
    any_domestic && !any_foreign
}

/// Sets buyer `b`'s target log-weights: CES over its available products,
/// moved into the mandate's nests when its domestic share falls short.
/// Returns whether the mandate moved them.
fn set_log_targets(c: &mut Clearing, offer: &ProductOffer, b: usize) -> bool {
    let p = c.n_products;
    let mandate = c.st[b].mandate;
    if mandate.is_none() && c.has_base_weight[b] {
        return false; // Its linear weights are known; log-weights on demand.
    }
    if mandate.is_some() && c.has_base_weight[b] && only_domestic_wanted(c, offer, b) {
        // The share is 1 ≥ r already (as below): its linear weights are its
        // targets, and its log-weights are computed on demand.
        return false;
    }
    fill_log_weights(c, b);
    let log_weight = &mut c.log_weight[b * p..][..p];
    let Some(m) = mandate else {
        return false;
    };
    // Within-nest log-sum-exp and, for the units basis, units per compute of each nest.
    let nest_max = |dom: bool, w: &[f64]| -> f64 {
        (0..p)
            .filter(|&j| offer.domestic[j] == dom)
            .map(|j| w[j])
            .fold(f64::NEG_INFINITY, f64::max)
    };
    let lse = |dom: bool, w: &[f64], max: f64| -> f64 {
        if max == f64::NEG_INFINITY {
            return max;
        }
        max + (0..p)
            .filter(|&j| offer.domestic[j] == dom)
            .map(|j| (w[j] - max).exp())
            .sum::<f64>()
            .ln()
    };
    let w = &*log_weight;
    // A nest's log-sum-exp is −∞ exactly when its largest log-weight is
    // (the sum is then at least 1, or NaN): settle these cases before any
    // exponential.
    let (max_dom, max_for) = (nest_max(true, w), nest_max(false, w));
    if max_dom == f64::NEG_INFINITY {
        // No domestic product available: the mandate forbids foreign ones too.
        log_weight.fill(f64::NEG_INFINITY);
        return true;
    }
    if max_for == f64::NEG_INFINITY {
        return false; // Only domestic products: the share is 1 ≥ r already.
    }
    let lse_dom = lse(true, w, max_dom);
    let lse_for = lse(false, w, max_for);
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
    for (lw, &dom) in log_weight.iter_mut().zip(&offer.domestic[..p]) {
        if *lw == f64::NEG_INFINITY {
            continue;
        }
        *lw += if dom {
            ln_dom - lse_dom
        } else {
            ln_for - lse_for
        };
    }
    true
}

/// Spreads `amount` of buyer `b`'s compute over its wanted, unsaturated
/// products in `nest`, in proportion to its targets, as pending requests;
/// foreign requests stop at the buyer's allowance. Returns what was placed.
fn spread(c: &mut Clearing, offer: &ProductOffer, b: usize, amount: f64, nest: Nest) -> f64 {
    let p = c.n_products;
    let mask = match nest {
        Nest::All => &c.open_any[..p],
        Nest::Domestic => &c.open_domestic[..p],
    };
    let weight = &c.weight[b * p..][..p];
    let mut total = masked_sum_in_order(weight, mask);
    let (weight, mask) = if total >= MIN_LINEAR_TOTAL || total.is_nan() {
        (weight, mask)
    } else if total == 0.0 && !has_underflow(c, b) {
        // Every open weight is 0 and none underflowed: nothing open is
        // wanted, which is what the re-weighing would find too.
        return 0.0;
    } else {
        match reweigh_from_logs(c, offer, b, nest) {
            Some(t) => total = t,
            None => return 0.0,
        }
        (&c.scratch[..p], &c.all_bits[..p])
    };
    let domestic = &offer.domestic[..p];
    // Foreign part against the allowance (in the mandate's basis).
    let mut foreign_scale = 1.0;
    if let Some(m) = c.st[b].mandate
        && c.st[b].allowance.is_finite()
    {
        let foreign_basis: f64 = (0..p)
            .filter(|&j| !domestic[j])
            .map(|j| {
                let w = f64::from_bits(weight[j].to_bits() & mask[j]);
                amount * (w / total) / basis_divisor(offer, j, m.basis)
            })
            .sum();
        if foreign_basis > c.st[b].allowance {
            foreign_scale = if foreign_basis > 0.0 {
                c.st[b].allowance / foreign_basis
            } else {
                0.0
            };
        }
        // Rounding can leave `allowance − allowance` a hair below zero, which
        // would make the next spread's foreign requests negative.
        c.st[b].allowance = (c.st[b].allowance - foreign_basis * foreign_scale).max(0.0);
    }
    c.st[b].live = true;
    let pending = &mut c.pending[b * p..][..p];
    let mut placed = 0.0;
    // The ratio first: `amount · w` could underflow when `w` is tiny.
    if foreign_scale == 1.0 && amount.is_finite() && !total.is_nan() {
        // Scaling by 1 changes nothing; and a closed or unwanted product's
        // request is then `amount · (0 / total)` = +0 or −0, which leaves
        // the (never −0) pending request and the sum placed as they are.
        for ((&w, &m), q_pending) in weight.iter().zip(mask).zip(pending.iter_mut()) {
            let q = amount * (f64::from_bits(w.to_bits() & m) / total);
            *q_pending += q;
            placed += q;
        }
    } else if foreign_scale == 1.0 {
        for ((&w, &m), q_pending) in weight.iter().zip(mask).zip(pending.iter_mut()) {
            let w = f64::from_bits(w.to_bits() & m);
            if w == 0.0 {
                continue;
            }
            let q = amount * (w / total);
            *q_pending += q;
            placed += q;
        }
    } else {
        for (((&w, &m), q_pending), &dom) in weight
            .iter()
            .zip(mask)
            .zip(pending.iter_mut())
            .zip(domestic)
        {
            let w = f64::from_bits(w.to_bits() & m);
            if w == 0.0 {
                continue;
            }
            let mut q = amount * (w / total);
            if !dom {
                q *= foreign_scale;
            }
            *q_pending += q;
            placed += q;
        }
    }
    placed
}

/// `0 + x₀ + x₁ + …`, added in order as a plain loop would, four to an
/// iteration (a short sum's loop control costs as much as its additions),
/// and the least of the `xs` not NaN (∞ for none).
#[inline(always)]
fn sum_and_least(xs: &[f64]) -> (f64, f64) {
    let mut total = 0.0;
    // `x < least ? x : least`: one instruction.
    let mut least = f64::INFINITY;
    let mut take = |x: f64| {
        total += x;
        least = if x < least { x } else { least };
    };
    let mut quads = xs.chunks_exact(4);
    for q in &mut quads {
        take(q[0]);
        take(q[1]);
        take(q[2]);
        take(q[3]);
    }
    for &x in quads.remainder() {
        take(x);
    }
    (total, least)
}

/// [`sum_and_least`]'s sum of the weights masked as in `Clearing::open_any`.
#[inline(always)]
fn masked_sum_in_order(weight: &[f64], mask: &[u64]) -> f64 {
    let masked = |w: f64, m: u64| f64::from_bits(w.to_bits() & m);
    let n = weight.len().min(mask.len());
    let (weight, mask) = (&weight[..n], &mask[..n]);
    let mut total = 0.0;
    let (mut w4, mut m4) = (weight.chunks_exact(4), mask.chunks_exact(4));
    for (w, m) in (&mut w4).zip(&mut m4) {
        total += masked(w[0], m[0]);
        total += masked(w[1], m[1]);
        total += masked(w[2], m[2]);
        total += masked(w[3], m[3]);
    }
    for (&w, &m) in w4.remainder().iter().zip(m4.remainder()) {
        total += masked(w, m);
    }
    total
}

/// Buyer `b`'s linear target weights.
fn weights(c: &Clearing, b: usize) -> &[f64] {
    let p = c.n_products;
    &c.weight[b * p..][..p]
}

/// [`spread`] of a buyer's first requests, `amount` over all its wanted
/// products: nothing is saturated yet, its allowance is unlimited and its
/// requests are 0, so the common case needs no masks or checks (the same
/// operations as [`spread`]).
fn first_spread(c: &mut Clearing, offer: &ProductOffer, b: usize, amount: f64) -> f64 {
    let p = c.n_products;
    let weight = &c.weight[b * p..][..p];
    let (total, least) = sum_and_least(weight);
    if least < 0.0 {
        c.nonnegative_weights = false;
    }
    if !(total >= MIN_LINEAR_TOTAL && amount.is_finite()) {
        let placed = spread(c, offer, b, amount, Nest::All);
        if c.st[b].live {
            c.live_buyers.push(b);
            add_row(&mut c.ratio[..p], &c.pending[b * p..][..p]);
        }
        return placed;
    }
    c.st[b].live = true;
    c.live_buyers.push(b);
    let pending = &mut c.pending[b * p..][..p];
    let requested = &mut c.ratio[..p];
    let mut placed = 0.0;
    for ((q_pending, t), &w) in pending.iter_mut().zip(requested).zip(weight) {
        let q = amount * (w / total);
        *q_pending += q;
        *t += *q_pending;
        placed += q;
    }
    placed
}

/// Whether one of buyer `b`'s products has a finite log-weight but a linear
/// weight of 0 (it underflowed); computed once per clearing.
fn has_underflow(c: &mut Clearing, b: usize) -> bool {
    if c.st[b].underflow == 0 {
        if !c.st[b].log_ready {
            fill_log_weights(c, b);
        }
        let p = c.n_products;
        let weight = weights(c, b);
        let log_weight = &c.log_weight[b * p..][..p];
        let any = weight
            .iter()
            .zip(log_weight)
            .any(|(&w, &lw)| w == 0.0 && lw > f64::NEG_INFINITY);
        c.st[b].underflow = if any { 2 } else { 1 };
    }
    c.st[b].underflow == 2
}

/// Every open product's linear weight underflowed, or is subnormal and so
/// carries too few bits to divide an amount by (extreme σ or price gaps):
/// weighs them in `scratch` relative to the best of them instead. Returns
/// their total, or `None` when no product is open.
#[cold]
fn reweigh_from_logs(c: &mut Clearing, offer: &ProductOffer, b: usize, nest: Nest) -> Option<f64> {
    let p = c.n_products;
    if !c.st[b].log_ready {
        fill_log_weights(c, b);
    }
    let open = |j: usize| c.open_any[j] != 0 && (nest == Nest::All || offer.domestic[j]);
    let log_weight = &c.log_weight[b * p..][..p];
    let mut max = f64::NEG_INFINITY;
    for (j, &w) in log_weight.iter().enumerate() {
        if open(j) && w > max {
            max = w;
        }
    }
    if max == f64::NEG_INFINITY {
        return None;
    }
    let mut total = 0.0;
    for (j, &w) in log_weight.iter().enumerate() {
        c.scratch[j] = if open(j) && w > f64::NEG_INFINITY {
            (w - max).exp()
        } else {
            0.0
        };
        total += c.scratch[j];
    }
    Some(total)
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
    let allocation = &c.allocation[b * p..][..p];
    let (mut dom, mut foreign) = (0.0, 0.0);
    for (j, &a) in allocation.iter().enumerate() {
        let q = a / basis_divisor(offer, j, basis);
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
    // The buyers whose rows may hold a request, in order: a round visits
    // only these (every other row is 0).
    c.live_buyers.clear();
    for (b, st) in c.st.iter().enumerate() {
        if st.live {
            c.live_buyers.push(b);
        }
    }
    // Each product's requests summed over the buyers in order (row by row:
    // the same additions as down each column).
    let total = &mut c.ratio[..p];
    total.fill(-0.0);
    for &b in &c.live_buyers {
        add_row(total, &c.pending[b * p..][..p]);
    }
    water_fill_listed(c, offer);
}

/// [`water_fill`] with the live buyers listed in `live_buyers` and their
/// requests summed per product in `ratio`, as [`water_fill`] lists and sums them.
fn water_fill_listed(c: &mut Clearing, offer: &ProductOffer) {
    let p = c.n_products;
    if p == 0 {
        return; // Nothing is ever pending.
    }
    // With no negative weight no request is negative (amounts never are:
    // a request is 0, positive or NaN), so a product whose total is not
    // positive has only requests of 0. It may then take the ratio 1, which
    // serves them as nothing, and a row may be served without a test per
    // request (`serve_row_dense`). Otherwise its ratio is NaN: not rationed,
    // its requests left pending.
    let dense = c.nonnegative_weights;
    let unrequested = if dense { 1.0 } else { f64::NAN };
    // Each round saturates at least one product or ends, so P + 1 rounds suffice.
    for _round in 0..=p + 1 {
        // Each product's rationing ratio. A product's ratio, cap and
        // saturation depend on its own requests only, so all are settled
        // before any request is served.
        for (((r, rem), open_any), open_domestic) in c.ratio[..p]
            .iter_mut()
            .zip(&mut c.remaining[..p])
            .zip(&mut c.open_any[..p])
            .zip(&mut c.open_domestic[..p])
        {
            let total = *r;
            if total <= 0.0 {
                // Not rationed this round: NaN (a ratio is never NaN
                // otherwise), or 1 when dense (its requests are all 0).
                *r = unrequested;
                continue;
            }
            *r = if total > *rem { *rem / total } else { 1.0 };
            if *r < 1.0 {
                *rem = 0.0;
                if *open_any != 0 {
                    c.n_open_any -= 1;
                    c.n_open_domestic -= (*open_domestic != 0) as usize;
                }
                *open_any = 0;
                *open_domestic = 0;
            } else {
                *rem -= total;
            }
        }
        // Serve the requests, buyer by buyer. A buyer's spill touches only
        // its own requests and reads the saturation just settled, so the
        // spills may follow all rows, as they do.
        let products = RoundProducts {
            ratio: &c.ratio[..p],
            domestic: &offer.domestic[..p],
            h100e: &offer.h100e[..p],
        };
        let mut any_short = false;
        for &b in &c.live_buyers {
            let st = &mut c.st[b];
            let row = b * p..b * p + p;
            let (pending, allocation, short) = (
                &mut c.pending[row.clone()],
                &mut c.allocation[row.clone()],
                &mut c.short[row],
            );
            let served = if st.mandate.is_some() && st.allowance.is_finite() {
                serve_row::<true>(pending, allocation, short, st, products)
            } else if dense && !st.nan_short {
                serve_row_dense(pending, allocation, short, st, products)
            } else {
                serve_row::<false>(pending, allocation, short, st, products)
            };
            st.rationed = served;
            any_short |= served;
        }
        if !any_short {
            return;
        }
        // Spill, in order; each row live after it (still pending, or given
        // requests by its spill) joins the next round's totals.
        c.ratio[..p].fill(-0.0);
        let mut n_live = 0;
        for i in 0..c.live_buyers.len() {
            let b = c.live_buyers[i];
            if c.st[b].rationed {
                spill(c, offer, b);
            }
            if c.st[b].live {
                add_row(&mut c.ratio[..p], &c.pending[b * p..][..p]);
                c.live_buyers[n_live] = b;
                n_live += 1;
            }
        }
        c.live_buyers.truncate(n_live);
    }
    // Unreachable in exact arithmetic; whatever is still pending is unmet.
    for (row, st) in c.pending.chunks_exact_mut(p).zip(&mut c.st) {
        for q in row {
            st.unmet += *q;
            *q = 0.0;
        }
    }
}

/// Adds a row of requests to the products' totals, four to an iteration
/// (a short row's loop control costs as much as its additions).
#[inline(always)]
fn add_row(total: &mut [f64], row: &[f64]) {
    let mut t4 = total.chunks_exact_mut(4);
    let mut r4 = row.chunks_exact(4);
    for (t, r) in (&mut t4).zip(&mut r4) {
        t[0] += r[0];
        t[1] += r[1];
        t[2] += r[2];
        t[3] += r[3];
    }
    for (t, &x) in t4.into_remainder().iter_mut().zip(r4.remainder()) {
        *t += x;
    }
}

/// The per-product data a round serves requests with.
#[derive(Clone, Copy)]
struct RoundProducts<'a> {
    ratio: &'a [f64],
    domestic: &'a [bool],
    h100e: &'a [f64],
}

/// [`serve_row`] of every product alike, when a request of 0 is served as
/// nothing: at a ratio that is not NaN (see `dense` in [`water_fill`]), with
/// no NaN shortfall waiting in the buyer's `short` row. Which requests are 0
/// or short is data, and branches on it mispredict: none is taken here.
#[inline(always)]
fn serve_row_dense(
    pending: &mut [f64],
    allocation: &mut [f64],
    short: &mut [f64],
    st: &mut BuyerState,
    products: RoundProducts,
) -> bool {
    let p = products.ratio.len();
    let (ratio, domestic) = (products.ratio, &products.domestic[..p]);
    let (pending, allocation, short) = (&mut pending[..p], &mut allocation[..p], &mut short[..p]);
    let (mut to_domestic, mut to_any) = (0.0, 0.0);
    // Requests are +0, positive (+∞ included) or NaN and ratios in [0, 1],
    // so a shortfall `req − req · r` is +0, finite positive or NaN: their
    // sum is NaN exactly when one of them is (it may overflow to +∞, never
    // to NaN). One addition a product instead of a test.
    let mut any_nan = 0.0;
    // A request of 0 gets 0 (+0 added to an allocation, never −0, leaves it
    // as it is) and is 0 short. Only a NaN shortfall is read again (by the
    // next spill). The positive part (`s > 0 ? s : 0`, one instruction; 0
    // for NaN) is pooled, in product order, as the spill would: adding +0
    // leaves a pool (never −0) as it is.
    let mut serve = |j: usize| {
        let req = pending[j];
        let got = req * ratio[j];
        allocation[j] += got;
        let s = req - got;
        pending[j] = 0.0;
        short[j] = s;
        any_nan += s;
        if s > 0.0 { s } else { 0.0 }
    };
    if st.mandate.is_some() {
        // A mandated buyer's domestic shortfall may only go to domestic
        // products: the positive part (finite) times 1 in its nest, 0 in the other.
        for (j, &d) in domestic.iter().enumerate() {
            let positive = serve(j);
            let in_domestic = f64::from(d as u8);
            to_domestic += positive * in_domestic;
            to_any += positive * (1.0 - in_domestic);
        }
    } else {
        for j in 0..p {
            to_any += serve(j);
        }
    }
    // A pool of positive parts is positive exactly when one of them is
    // (each enters one pool whole, times 1; a sum of non-negative numbers
    // is at least each of them).
    let buyer_short = to_domestic > 0.0 || to_any > 0.0;
    st.live = false;
    st.nan_short = any_nan.is_nan();
    if buyer_short {
        st.pool_domestic = to_domestic;
        st.pool_any = to_any;
    }
    buyer_short
}

/// Serves one buyer's pending requests (its rows of `pending`, `allocation`
/// and `short`) at this round's ratios and pools its shortfalls (when
/// `LIMITED`, foreign ones also give their allowance back). Returns whether
/// it was rationed.
#[inline(always)]
fn serve_row<const LIMITED: bool>(
    pending: &mut [f64],
    allocation: &mut [f64],
    short: &mut [f64],
    st: &mut BuyerState,
    products: RoundProducts,
) -> bool {
    let p = products.ratio.len();
    let (ratio, domestic, h100e) = (
        products.ratio,
        &products.domestic[..p],
        &products.h100e[..p],
    );
    let (pending, allocation, short) = (&mut pending[..p], &mut allocation[..p], &mut short[..p]);
    let mandate = st.mandate;
    let mandated = mandate.is_some();
    let (mut to_domestic, mut to_any) = (0.0, 0.0);
    let mut buyer_short = false;
    let mut still_live = false;
    let mut nan = false;
    for j in 0..p {
        let req = pending[j];
        if req == 0.0 {
            continue;
        }
        let r = ratio[j];
        if r.is_nan() {
            still_live = true;
            continue;
        }
        let got = req * r;
        allocation[j] += got;
        let s = req - got;
        pending[j] = 0.0;
        if s > 0.0 {
            // Pooled now, in product order, as the spill would: a mandated
            // buyer's domestic shortfall may only go to domestic products.
            short[j] = 0.0;
            buyer_short = true;
            if mandated && domestic[j] {
                to_domestic += s
            } else {
                to_any += s
            }
            // Unallocated foreign requests give their allowance back.
            if LIMITED
                && !domestic[j]
                && let Some(m) = mandate
            {
                st.allowance += match m.basis {
                    MandateBasis::Compute => s / 1.0,
                    MandateBasis::Units => s / h100e[j],
                };
            }
        } else {
            short[j] = s;
            nan |= s.is_nan();
        }
    }
    st.live = still_live;
    st.nan_short |= nan;
    if buyer_short {
        st.pool_domestic = to_domestic;
        st.pool_any = to_any;
    }
    buyer_short
}

/// Re-spends buyer `b`'s pooled shortfalls of this round over its open products.
fn spill(c: &mut Clearing, offer: &ProductOffer, b: usize) {
    let p = c.n_products;
    let mandated = c.st[b].mandate.is_some();
    let tiny = NEGLIGIBLE * c.st[b].demand;
    // Spill is linear in the amount, so a buyer's shortfalls are pooled.
    let (mut to_domestic, mut to_any) = (c.st[b].pool_domestic, c.st[b].pool_any);
    if std::mem::take(&mut c.st[b].nan_short) {
        // A NaN shortfall (from non-finite inputs) joins the pool of its nest.
        let short = &mut c.short[b * p..][..p];
        for (s, &dom) in short.iter_mut().zip(&offer.domestic[..p]) {
            if s.is_nan() {
                if mandated && dom {
                    to_domestic += *s
                } else {
                    to_any += *s
                }
                *s = 0.0;
            }
        }
    }
    for (amount, nest) in [(to_domestic, Nest::Domestic), (to_any, Nest::All)] {
        if amount <= 0.0 {
            continue;
        }
        if amount < tiny {
            c.st[b].unmet += amount;
            continue;
        }
        let n_open = match nest {
            Nest::All => c.n_open_any,
            Nest::Domestic => c.n_open_domestic,
        };
        // With nothing open the spread places nothing.
        let placed = if n_open == 0 {
            0.0
        } else {
            spread(c, offer, b, amount, nest)
        };
        c.st[b].unmet += amount - placed;
    }
}
