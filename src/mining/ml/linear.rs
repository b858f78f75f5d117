//! Logistic regression: smartcore's L-BFGS fit with an L2 penalty on standardised features,
//! its strength chosen by cross-validated log-loss inside the training rows, probabilities
//! from the sigmoid of its coefficients and intercept.

use super::evaluate::stratified_folds;
use super::forest::parallel_map;
use super::{Dataset, MlError, Standardizer, TUNE_FOLDS, TrainConfig};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use smartcore::linalg::basic::arrays::Array;
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::linear::logistic_regression::{LogisticRegression, LogisticRegressionParameters};

/// L2 strengths tried (smartcore adds alpha/2 · |w|² to the summed log-loss; 1 is
/// scikit-learn's default C = 1). On standardised features any of them keeps coefficients
/// finite on separable data and steadies one-hot columns; a strong one keeps many weak
/// features (UCI Portuguese without grades: 43 columns, no dominant one) from fitting noise.
pub(crate) const ALPHAS: [f64; 5] = [1.0, 3.0, 10.0, 30.0, 100.0];
/// Rows the strength is chosen on at most: a bigger table is sampled (the strength matters
/// less the more rows there are, and the search costs 25 fits).
pub(crate) const SEARCH_ROWS: usize = 5000;
/// The strength used when there are too few rows of a class to cross-validate, and in models
/// stored before the choice existed.
pub(crate) const DEFAULT_ALPHA: f64 = 1.0;

fn default_alpha() -> f64 {
    DEFAULT_ALPHA
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Logistic {
    scaler: Standardizer,
    /// On the standardised scale.
    coef: Vec<f64>,
    intercept: f64,
    /// The L2 strength it was fitted with.
    #[serde(default = "default_alpha")]
    alpha: f64,
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// For each of `alphas`, the out-of-fold probability of each of `rows` (indices into `data`):
/// fold `f`'s rows predicted by a model fitted on the other folds' rows among `rows`; `None` for
/// the other rows of `data` and for a fold that could not be fitted.
fn out_of_fold(
    data: &Dataset,
    rows: &[usize],
    fold: &[usize],
    k: usize,
    alphas: &[f64],
    threads: usize,
) -> Vec<Vec<Option<f64>>> {
    let parts = parallel_map(alphas.len() * k, threads, |job| {
        let (a, f) = (job / k, job % k);
        let (train, test): (Vec<usize>, Vec<usize>) = rows.iter().partition(|&&i| fold[i] != f);
        let m = Logistic::fit(&data.subset(&train), alphas[a]).ok()?;
        let x: Vec<Vec<f64>> = test.iter().map(|&i| data.x[i].clone()).collect();
        Some((a, test, m.predict_proba(&x)))
    });
    let mut oof = vec![vec![None; data.rows()]; alphas.len()];
    for (a, test, proba) in parts.into_iter().flatten() {
        for (i, p) in test.into_iter().zip(proba) {
            oof[a][i] = Some(p);
        }
    }
    oof
}

/// About `size` row indices, each class sampled in proportion to its share (at least `k` of a
/// class, or all of it when it has fewer), in increasing order.
fn stratified_sample(y: &[bool], size: usize, k: usize, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let mut out = Vec::with_capacity(size + 2 * k);
    for class in [true, false] {
        let mut idx: Vec<usize> = (0..y.len()).filter(|&i| y[i] == class).collect();
        let take = ((idx.len() as f64 * size as f64 / y.len() as f64).round() as usize)
            .max(k)
            .min(idx.len());
        idx.shuffle(rng);
        out.extend_from_slice(&idx[..take]);
    }
    out.sort_unstable();
    out
}

impl Logistic {
    /// Fits with the strength in [`ALPHAS`] whose out-of-fold predictions (stratified
    /// [`TUNE_FOLDS`]-fold cross-validation inside `data`, the folds and strengths in parallel;
    /// on a stratified sample of [`SEARCH_ROWS`] rows when there are more) have the lowest
    /// log-loss; ties to the weaker. Also gives the chosen strength's out-of-fold probability of
    /// each row of the search, from a model that did not see it: every row of a table of up to
    /// [`SEARCH_ROWS`], the sample's rows of a bigger one (the others `None`, as are the rows of
    /// a fold that could not be fitted, and all rows when a class has fewer than two rows). A
    /// threshold tuned on them comes from the search's own fits: a big table costs the search's
    /// 25 fits on the sample and the one final fit on all its rows, nothing more.
    pub(crate) fn fit_cv(
        data: &Dataset,
        cfg: &TrainConfig,
    ) -> Result<(Logistic, Vec<Option<f64>>), MlError> {
        let n = data.rows();
        let positives = data.y.iter().filter(|v| **v).count();
        let k = TUNE_FOLDS.min(positives).min(n - positives);
        if k < 2 {
            return Ok((Self::fit(data, DEFAULT_ALPHA)?, vec![None; n]));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x7475_6e65);
        let fold = stratified_folds(&data.y, k, &mut rng);
        let search = if n > SEARCH_ROWS {
            stratified_sample(&data.y, SEARCH_ROWS, k, &mut rng)
        } else {
            (0..n).collect()
        };
        let mut oof = out_of_fold(data, &search, &fold, k, &ALPHAS, cfg.threads);
        // NOTE: a strength with a fold that failed is judged on its other rows.
        let loss = |o: &[Option<f64>]| {
            let (sum, rows) = o
                .iter()
                .zip(&data.y)
                .fold((0.0, 0usize), |(s, r), (p, &y)| {
                    let Some(p) = p else { return (s, r) };
                    let p = p.clamp(1e-12, 1.0 - 1e-12);
                    (s - if y { p.ln() } else { (1.0 - p).ln() }, r + 1)
                });
            if rows == 0 {
                f64::INFINITY
            } else {
                sum / rows as f64
            }
        };
        let mut best = 0;
        let mut best_loss = loss(&oof[0]);
        for (a, o) in oof.iter().enumerate().skip(1) {
            let l = loss(o);
            if l < best_loss - 1e-12 {
                (best, best_loss) = (a, l);
            }
        }
        // NOTE: the chosen strength's out-of-fold answers on every row of a sampled table
        // would cost `k` more fits on most of its rows, each thrown away once its answers are
        // read; the sample's answers (stratified, thousands of rows) place a threshold as well.
        let unseen = oof.swap_remove(best);
        let model = Self::fit(data, ALPHAS[best])?;
        Ok((model, unseen))
    }

    /// The L2 strength it was fitted with.
    pub(crate) fn alpha(&self) -> f64 {
        self.alpha
    }

    pub(crate) fn fit(data: &Dataset, alpha: f64) -> Result<Logistic, MlError> {
        let scaler = Standardizer::fit(&data.x);
        let y: Vec<i32> = data.y.iter().map(|&v| i32::from(v)).collect();
        let p = data.features();
        // NOTE: one flat row-major copy of the standardised rows (not rows of `Vec`s copied
        // again into a matrix): a big table's training rows are copied once, not twice.
        let mut z = Vec::with_capacity(data.rows() * p);
        for row in &data.x {
            z.extend(scaler.transform_row(row));
        }
        let (coef, intercept) = super::guard(|| {
            let x = DenseMatrix::new(data.rows(), p, z, false)
                .map_err(|e| MlError::Fit(e.to_string()))?;
            let params = LogisticRegressionParameters::default().with_alpha(alpha);
            let m =
                LogisticRegression::fit(&x, &y, params).map_err(|e| MlError::Fit(e.to_string()))?;
            let c = m.coefficients();
            let coef: Vec<f64> = (0..p).map(|j| *c.get((0, j))).collect();
            let intercept = *m.intercept().get((0, 0));
            Ok((coef, intercept))
        })?;
        if !intercept.is_finite() || coef.iter().any(|c| !c.is_finite()) {
            return Err(MlError::Fit("the optimiser did not converge".into()));
        }
        Ok(Logistic {
            scaler,
            coef,
            intercept,
            alpha,
        })
    }

    fn logit(&self, row: &[f64]) -> f64 {
        let z = self.scaler.transform_row(row);
        self.intercept + z.iter().zip(&self.coef).map(|(a, b)| a * b).sum::<f64>()
    }

    pub(crate) fn predict_proba(&self, x: &[Vec<f64>]) -> Vec<f64> {
        x.iter().map(|r| sigmoid(self.logit(r))).collect()
    }

    pub(crate) fn explain(&self, row: &[f64], reference: &[f64]) -> Vec<(usize, f64)> {
        let a = self.scaler.transform_row(row);
        let b = self.scaler.transform_row(reference);
        (0..self.coef.len())
            .map(|j| (j, self.coef[j] * (a[j] - b[j])))
            .collect()
    }

    pub(crate) fn importances(&self) -> Vec<f64> {
        self.coef.iter().map(|c| c.abs()).collect()
    }
}
