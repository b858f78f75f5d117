//! k-means (k-means++ start, Lloyd's iterations), choosing k by silhouette, and a 2-D PCA
//! projection for the cluster chart. Written here because smartcore's KMeans hides its centres.
//! Callers standardise the features first (see [`super::Standardizer`]) when scales differ.

use super::{MlError, check_matrix};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct KMeans {
    pub centroids: Vec<Vec<f64>>,
    /// The cluster of each input row.
    pub labels: Vec<usize>,
    /// Sum of squared distances to the nearest centre.
    pub inertia: f64,
}

impl KMeans {
    /// The nearest centre for a new row.
    pub fn assign(&self, row: &[f64]) -> usize {
        nearest(&self.centroids, row).0
    }
}

fn dist2(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

fn nearest(centroids: &[Vec<f64>], row: &[f64]) -> (usize, f64) {
    let mut best = (0, f64::INFINITY);
    for (c, centre) in centroids.iter().enumerate() {
        let d = dist2(centre, row);
        if d < best.1 {
            best = (c, d);
        }
    }
    best
}

fn check(x: &[Vec<f64>]) -> Result<usize, MlError> {
    let p = x.first().map_or(0, |r| r.len());
    check_matrix(x, p)?;
    Ok(p)
}

/// k-means with a k-means++ start and Lloyd's iterations (at most 300, until no row moves);
/// the best of 4 starts by inertia. Deterministic for a seed.
pub fn kmeans(x: &[Vec<f64>], k: usize, seed: u64) -> Result<KMeans, MlError> {
    let p = check(x)?;
    if k == 0 || k > x.len() {
        return Err(MlError::Invalid(format!(
            "k must be between 1 and the number of rows ({}), not {k}",
            x.len()
        )));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut best: Option<KMeans> = None;
    for _ in 0..4 {
        let run = lloyd(x, k, p, plus_plus(x, k, &mut rng));
        if best.as_ref().is_none_or(|b| run.inertia < b.inertia) {
            best = Some(run);
        }
    }
    best.ok_or(MlError::Empty)
}

fn plus_plus(x: &[Vec<f64>], k: usize, rng: &mut ChaCha8Rng) -> Vec<Vec<f64>> {
    let mut centres = vec![x[rng.random_range(0..x.len())].clone()];
    let mut d: Vec<f64> = x.iter().map(|r| dist2(r, &centres[0])).collect();
    while centres.len() < k {
        let total: f64 = d.iter().sum();
        let pick = if total > 0.0 {
            let mut target = rng.random::<f64>() * total;
            let mut chosen = x.len() - 1;
            for (i, di) in d.iter().enumerate() {
                if target < *di {
                    chosen = i;
                    break;
                }
                target -= di;
            }
            chosen
        } else {
            rng.random_range(0..x.len())
        };
        centres.push(x[pick].clone());
        for (di, r) in d.iter_mut().zip(x) {
            *di = di.min(dist2(r, &x[pick]));
        }
    }
    centres
}

fn lloyd(x: &[Vec<f64>], k: usize, p: usize, mut centroids: Vec<Vec<f64>>) -> KMeans {
    let mut labels = vec![usize::MAX; x.len()];
    for _ in 0..300 {
        let mut moved = false;
        for (l, r) in labels.iter_mut().zip(x) {
            let c = nearest(&centroids, r).0;
            if *l != c {
                *l = c;
                moved = true;
            }
        }
        if !moved {
            break;
        }
        let mut sums = vec![vec![0.0; p]; k];
        let mut counts = vec![0usize; k];
        for (l, r) in labels.iter().zip(x) {
            counts[*l] += 1;
            for (s, v) in sums[*l].iter_mut().zip(r) {
                *s += v;
            }
        }
        for c in 0..k {
            if counts[c] > 0 {
                centroids[c] = sums[c].iter().map(|s| s / counts[c] as f64).collect();
            } else {
                // NOTE: an empty cluster takes the row farthest from its centre.
                let far = x
                    .iter()
                    .enumerate()
                    .map(|(i, r)| (i, dist2(r, &centroids[labels[i]])))
                    .max_by(|a, b| a.1.total_cmp(&b.1))
                    .map_or(0, |(i, _)| i);
                centroids[c] = x[far].clone();
                labels[far] = c;
            }
        }
    }
    let inertia = x.iter().map(|r| nearest(&centroids, r).1).sum();
    let labels = x.iter().map(|r| nearest(&centroids, r).0).collect();
    KMeans {
        centroids,
        labels,
        inertia,
    }
}

/// Mean silhouette of a clustering (on at most 2,000 rows, an even sample, for speed).
pub fn silhouette(x: &[Vec<f64>], labels: &[usize], k: usize) -> f64 {
    let n = x.len().min(labels.len());
    let step = n.div_ceil(2000).max(1);
    let idx: Vec<usize> = (0..n).step_by(step).collect();
    let mut total = 0.0;
    for &i in &idx {
        let mut sum = vec![0.0; k];
        let mut cnt = vec![0usize; k];
        for &j in &idx {
            if i != j {
                sum[labels[j]] += dist2(&x[i], &x[j]).sqrt();
                cnt[labels[j]] += 1;
            }
        }
        let own = labels[i];
        if cnt[own] == 0 {
            continue; // a singleton scores 0
        }
        let a = sum[own] / cnt[own] as f64;
        let b = (0..k)
            .filter(|&c| c != own && cnt[c] > 0)
            .map(|c| sum[c] / cnt[c] as f64)
            .fold(f64::INFINITY, f64::min);
        if b.is_finite() && a.max(b) > 0.0 {
            total += (b - a) / a.max(b);
        }
    }
    if idx.is_empty() {
        0.0
    } else {
        total / idx.len() as f64
    }
}

/// Chooses k in `ks` (each ≥ 2) by the highest mean silhouette (ties: the smaller k).
/// Returns (k, [(k, silhouette)]).
pub fn choose_k(
    x: &[Vec<f64>],
    ks: std::ops::RangeInclusive<usize>,
    seed: u64,
) -> Result<(usize, Vec<(usize, f64)>), MlError> {
    check(x)?;
    let lo = (*ks.start()).max(2);
    let hi = (*ks.end()).min(x.len().saturating_sub(1));
    if lo > hi {
        return Err(MlError::Invalid(format!(
            "no k to try: k must be from 2 to one less than the rows ({})",
            x.len()
        )));
    }
    let mut scores = Vec::new();
    for k in lo..=hi {
        let km = kmeans(x, k, seed)?;
        scores.push((k, silhouette(x, &km.labels, k)));
    }
    let best = scores
        .iter()
        .fold(None::<(usize, f64)>, |acc, &(k, s)| match acc {
            Some((_, bs)) if bs >= s - 1e-12 => acc,
            _ => Some((k, s)),
        })
        .map_or(lo, |(k, _)| k);
    Ok((best, scores))
}

/// A 2-D principal-component projection.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Pca2 {
    pub points: Vec<[f64; 2]>,
    /// Share of the total variance on each axis.
    pub explained: [f64; 2],
    /// The two unit axes in feature space.
    pub axes: [Vec<f64>; 2],
    pub mean: Vec<f64>,
}

/// Projects centred rows on the two leading eigenvectors of the covariance matrix (power
/// iteration with deflation). One feature gives a zero second axis.
pub fn pca2(x: &[Vec<f64>]) -> Result<Pca2, MlError> {
    let p = check(x)?;
    let n = x.len() as f64;
    let mean: Vec<f64> = (0..p)
        .map(|j| x.iter().map(|r| r[j]).sum::<f64>() / n)
        .collect();
    let mut cov = vec![vec![0.0; p]; p];
    for r in x {
        let d: Vec<f64> = r.iter().zip(&mean).map(|(v, m)| v - m).collect();
        for (row, da) in cov.iter_mut().zip(&d) {
            for (c, db) in row.iter_mut().zip(&d) {
                *c += da * db / n;
            }
        }
    }
    let trace: f64 = (0..p).map(|j| cov[j][j]).sum();
    let mut axes: [Vec<f64>; 2] = [vec![0.0; p], vec![0.0; p]];
    let mut explained = [0.0; 2];
    for (k, axis) in axes.iter_mut().enumerate() {
        let mut v: Vec<f64> = (0..p)
            .map(|j| 1.0 + (j as f64 + k as f64 * 0.37).sin())
            .collect();
        let mut lambda = 0.0;
        for _ in 0..500 {
            let w: Vec<f64> = (0..p)
                .map(|a| (0..p).map(|b| cov[a][b] * v[b]).sum())
                .collect();
            let norm = w.iter().map(|z| z * z).sum::<f64>().sqrt();
            if norm < 1e-300 {
                lambda = 0.0;
                v = vec![0.0; p];
                break;
            }
            let next: Vec<f64> = w.iter().map(|z| z / norm).collect();
            let delta: f64 = next.iter().zip(&v).map(|(a, b)| (a - b).abs()).sum();
            v = next;
            lambda = norm;
            if delta < 1e-12 {
                break;
            }
        }
        explained[k] = if trace > 0.0 {
            (lambda / trace).clamp(0.0, 1.0)
        } else {
            0.0
        };
        for a in 0..p {
            for b in 0..p {
                cov[a][b] -= lambda * v[a] * v[b];
            }
        }
        *axis = v;
    }
    let points = x
        .iter()
        .map(|r| {
            let c: Vec<f64> = r.iter().zip(&mean).map(|(v, m)| v - m).collect();
            [
                c.iter().zip(&axes[0]).map(|(a, b)| a * b).sum(),
                c.iter().zip(&axes[1]).map(|(a, b)| a * b).sum(),
            ]
        })
        .collect();
    Ok(Pca2 {
        points,
        explained,
        axes,
        mean,
    })
}
