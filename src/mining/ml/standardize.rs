//! Column standardisation (mean 0, standard deviation 1); constant columns are left centred.

use serde::{Deserialize, Serialize};

/// Per-column mean and standard deviation learned from training rows.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Standardizer {
    pub mean: Vec<f64>,
    /// Population standard deviation; 1.0 for a zero-variance column so it maps to 0.
    pub std: Vec<f64>,
}

impl Standardizer {
    /// Learns the means and deviations. Empty input gives an empty standardiser; non-finite
    /// values are skipped.
    pub fn fit(x: &[Vec<f64>]) -> Standardizer {
        let p = x.first().map_or(0, |r| r.len());
        let mut mean = vec![0.0; p];
        let mut count = vec![0usize; p];
        for row in x {
            for (j, v) in row.iter().enumerate().take(p) {
                if v.is_finite() {
                    mean[j] += v;
                    count[j] += 1;
                }
            }
        }
        for j in 0..p {
            mean[j] = if count[j] > 0 {
                mean[j] / count[j] as f64
            } else {
                0.0
            };
        }
        let mut var = vec![0.0; p];
        for row in x {
            for (j, v) in row.iter().enumerate().take(p) {
                if v.is_finite() {
                    var[j] += (v - mean[j]).powi(2);
                }
            }
        }
        let std = (0..p)
            .map(|j| {
                let s = if count[j] > 0 {
                    (var[j] / count[j] as f64).sqrt()
                } else {
                    0.0
                };
                if s > 1e-12 { s } else { 1.0 }
            })
            .collect();
        Standardizer { mean, std }
    }

    /// Standardises one row (missing trailing columns are treated as the mean).
    pub fn transform_row(&self, row: &[f64]) -> Vec<f64> {
        (0..self.mean.len())
            .map(|j| row.get(j).map_or(0.0, |v| (v - self.mean[j]) / self.std[j]))
            .collect()
    }

    pub fn transform(&self, x: &[Vec<f64>]) -> Vec<Vec<f64>> {
        x.iter().map(|r| self.transform_row(r)).collect()
    }
}
