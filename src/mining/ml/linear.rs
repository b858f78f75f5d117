//! Logistic regression: smartcore's L-BFGS fit with an L2 penalty on standardised features,
//! probabilities from the sigmoid of its coefficients and intercept.

use super::{Dataset, MlError, Standardizer};
use serde::{Deserialize, Serialize};
use smartcore::linalg::basic::arrays::Array;
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::linear::logistic_regression::{LogisticRegression, LogisticRegressionParameters};

/// L2 strength (smartcore adds alpha/2 · |w|² to the summed log-loss). On standardised
/// features this keeps coefficients finite on separable data and steadies one-hot columns.
pub(crate) const ALPHA: f64 = 1.0;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Logistic {
    scaler: Standardizer,
    /// On the standardised scale.
    coef: Vec<f64>,
    intercept: f64,
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

impl Logistic {
    pub(crate) fn fit(data: &Dataset) -> Result<Logistic, MlError> {
        let scaler = Standardizer::fit(&data.x);
        let z = scaler.transform(&data.x);
        let y: Vec<i32> = data.y.iter().map(|&v| i32::from(v)).collect();
        let p = data.features();
        let (coef, intercept) = super::guard(|| {
            let x = DenseMatrix::from_2d_vec(&z).map_err(|e| MlError::Fit(e.to_string()))?;
            let params = LogisticRegressionParameters::default().with_alpha(ALPHA);
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
