//! A random forest of histogram trees: each tree gets its own stratified bootstrap and its own
//! random subset of the features, trees are fitted on all cores, a row's probability is the mean
//! over the trees of its leaf's positive share (as scikit-learn's), and importance is Breiman's
//! out-of-bag permutation importance.
//!
//! NOTE: the trees are grown here, not by smartcore. smartcore's `DecisionTreeClassifier`
//! rescans every row of the training set at every node (`find_best_cutoff` and `split` loop over
//! all `n_rows`, skipping the rows whose sample weight is 0), so a tree of k nodes costs
//! rows × k, quadratic in the rows for deep trees; its forest gives neither probabilities nor
//! importances. Measured on UCI Portuguese (649 rows, 10-fold × 3, `--model auto`) and on a
//! 26,000-row file, the histogram trees below are many times faster at the same accuracy (the
//! figures are in the README's performance section and `srm-bench mining`). Each feature is
//! binned once per fit into at most 255 quantile bins (u8 codes, as scikit-learn's
//! HistGradientBoosting and LightGBM do); a node builds per-bin class counts over its own rows
//! only (the rows are partitioned in place as the tree grows) and takes the split with the
//! lowest Gini impurity. The split is stored as a value threshold, so scoring needs no bins.
//! Logistic regression is fitted here too (Newton's method, `linear.rs`).

use super::{Dataset, MlError, TrainConfig};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Share of the features each tree sees. Measured on the UCI files (0.3 … 1.0): strong
/// sampling starves most trees of the one feature that matters (the previous grade) and costs
/// up to 8 points of accuracy; 0.9 keeps the trees different and as good as plain bagging.
pub(crate) const FEATURE_FRACTION: f64 = 0.9;
/// Smallest leaf (rows of the bootstrap sample; at least a thousandth of them).
pub(crate) const MIN_LEAF: usize = 3;
/// Rows in each tree's bootstrap sample at most.
pub(crate) const MAX_SAMPLES: usize = 5000;
/// Out-of-bag rows per tree used for the permutation importance at most.
const MAX_OOB: usize = 1000;
/// Bins per feature at most (codes fit a `u8`).
const MAX_BINS: usize = 255;
/// Rows the bin edges are computed from at most (an evenly spaced sample of a bigger table).
const BIN_SAMPLE: usize = 100_000;

/// One node of a tree: a split sends a row left when `row[feature] <= threshold`; a leaf holds
/// the class counts of the bootstrap rows that reached it.
#[derive(Debug, Clone, Serialize, Deserialize)]
enum Node {
    Split {
        feature: u32,
        threshold: f64,
        left: u32,
        right: u32,
    },
    Leaf {
        positive: u32,
        total: u32,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Tree {
    /// The root is node 0.
    nodes: Vec<Node>,
}

impl Tree {
    /// The positive share of the leaf that the row with values `value(feature)` reaches.
    fn leaf_share(&self, value: impl Fn(usize) -> f64) -> f64 {
        let mut at = 0usize;
        // NOTE: children always come after their parent, so the walk ends; the bound only
        // guards against a damaged stored model.
        for _ in 0..self.nodes.len() {
            match self.nodes.get(at) {
                Some(Node::Split {
                    feature,
                    threshold,
                    left,
                    right,
                }) => {
                    at = if value(*feature as usize) <= *threshold {
                        *left as usize
                    } else {
                        *right as usize
                    };
                }
                Some(Node::Leaf { positive, total }) => {
                    return f64::from(*positive) / f64::from((*total).max(1));
                }
                None => break,
            }
        }
        0.5
    }

    fn share(&self, row: &[f64]) -> f64 {
        self.leaf_share(|j| row.get(j).copied().unwrap_or(0.0))
    }
}

/// Every feature's values as bin codes, computed once per fit.
struct Binned {
    rows: usize,
    /// Column-major: feature j's code of row i at `codes[j * rows + i]`.
    codes: Vec<u8>,
    /// Per feature, the bin edges: code c holds the values v with `cuts[c - 1] < v <= cuts[c]`.
    cuts: Vec<Vec<f64>>,
}

/// A value between `a` and the next greater value `b` (both finite).
fn between(a: f64, b: f64) -> f64 {
    let m = a + (b - a) / 2.0;
    if m >= b || !m.is_finite() { a } else { m }
}

impl Binned {
    fn new(x: &[Vec<f64>], p: usize) -> Binned {
        let n = x.len();
        let step = n.div_ceil(BIN_SAMPLE).max(1);
        let mut codes = vec![0u8; n * p];
        let mut cuts = Vec::with_capacity(p);
        let mut sample: Vec<f64> = Vec::with_capacity(n / step + 1);
        for j in 0..p {
            sample.clear();
            sample.extend(x.iter().step_by(step).map(|r| r[j]));
            sample.sort_unstable_by(f64::total_cmp);
            let mut distinct = sample.clone();
            distinct.dedup();
            let c: Vec<f64> = if distinct.len() <= MAX_BINS {
                distinct.windows(2).map(|w| between(w[0], w[1])).collect()
            } else {
                // quantile edges: after the value at each 1/255th of the sorted sample, before
                // the next distinct value
                let mut c: Vec<f64> = Vec::with_capacity(MAX_BINS);
                for b in 1..MAX_BINS {
                    let v = sample[(b * sample.len() / MAX_BINS).min(sample.len() - 1)];
                    let k = distinct.partition_point(|&u| u <= v);
                    if let Some(&w) = distinct.get(k) {
                        let cut = between(v, w);
                        if c.last().is_none_or(|&last| cut > last) {
                            c.push(cut);
                        }
                    }
                }
                c
            };
            let col = &mut codes[j * n..(j + 1) * n];
            for (code, r) in col.iter_mut().zip(x) {
                *code = c.partition_point(|&e| e < r[j]) as u8;
            }
            cuts.push(c);
        }
        Binned {
            rows: n,
            codes,
            cuts,
        }
    }

    fn column(&self, j: usize) -> &[u8] {
        &self.codes[j * self.rows..(j + 1) * self.rows]
    }
}

/// Grows one tree on `rows` (indices into `bins`, repeats allowed; reordered in place) with the
/// splits chosen among `features`; a split leaves at least `min_leaf` rows on each side.
fn grow_tree(
    bins: &Binned,
    y: &[bool],
    rows: &mut [u32],
    features: &[usize],
    min_leaf: usize,
) -> Tree {
    let min_leaf = min_leaf.max(1);
    let mut nodes = vec![Node::Leaf {
        positive: 0,
        total: 0,
    }];
    // (node, start, end) of the rows still to split
    let mut todo = vec![(0usize, 0usize, rows.len())];
    let mut total = [0u32; 256];
    let mut pos = [0u32; 256];
    while let Some((node, start, end)) = todo.pop() {
        let part = &mut rows[start..end];
        let n = part.len();
        let np = part.iter().filter(|&&i| y[i as usize]).count();
        nodes[node] = Node::Leaf {
            positive: np as u32,
            total: n as u32,
        };
        if np == 0 || np == n || n < 2 * min_leaf {
            continue;
        }
        // n · Gini: 2 · pos · neg / n; minimise the children's sum (the factor 2 dropped)
        let impurity = |p: f64, t: f64| p * (t - p) / t;
        let parent = impurity(np as f64, n as f64);
        let mut best: Option<(f64, usize, usize)> = None;
        for &j in features {
            let col = bins.column(j);
            let (mut lo, mut hi) = (255usize, 0usize);
            for &i in part.iter() {
                let c = col[i as usize] as usize;
                total[c] += 1;
                pos[c] += u32::from(y[i as usize]);
                lo = lo.min(c);
                hi = hi.max(c);
            }
            let (mut nl, mut pl) = (0usize, 0usize);
            for t in lo..hi {
                nl += total[t] as usize;
                pl += pos[t] as usize;
                if nl < min_leaf || total[t] == 0 {
                    continue;
                }
                let nr = n - nl;
                if nr < min_leaf {
                    break;
                }
                let score = impurity(pl as f64, nl as f64) + impurity((np - pl) as f64, nr as f64);
                if best.is_none_or(|(b, _, _)| score < b) {
                    best = Some((score, j, t));
                }
            }
            total[lo..=hi].fill(0);
            pos[lo..=hi].fill(0);
        }
        let Some((score, j, t)) = best else { continue };
        if score >= parent - 1e-12 * parent.max(1.0) {
            continue;
        }
        let col = bins.column(j);
        // partition: the rows with code ≤ t first
        let mut mid = 0;
        for k in 0..n {
            if col[part[k] as usize] as usize <= t {
                part.swap(k, mid);
                mid += 1;
            }
        }
        let left = nodes.len();
        nodes.push(Node::Leaf {
            positive: 0,
            total: 0,
        });
        nodes.push(Node::Leaf {
            positive: 0,
            total: 0,
        });
        nodes[node] = Node::Split {
            feature: j as u32,
            threshold: bins.cuts[j][t],
            left: left as u32,
            right: left as u32 + 1,
        };
        todo.push((left + 1, start + mid, end));
        todo.push((left, start, start + mid));
    }
    Tree { nodes }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Member {
    /// The columns this tree could split on.
    features: Vec<usize>,
    tree: Tree,
}

/// How a forest is stored. `Forest` is read through it so that a forest stored by an older
/// version (smartcore trees, without `format`) is refused with a message, not misread.
#[derive(Deserialize)]
struct Stored {
    #[serde(default)]
    format: u32,
    n_features: usize,
    members: Vec<serde_json::Value>,
    importances: Vec<f64>,
}

/// The stored form of the histogram-tree forest.
const FORMAT: u32 = 2;

impl TryFrom<Stored> for Forest {
    type Error = String;
    fn try_from(s: Stored) -> Result<Forest, String> {
        if s.format != FORMAT {
            return Err(format!(
                "this forest was stored by an older version of the portal (format {}, now \
                 {FORMAT}) and cannot be read; fit the model again",
                s.format
            ));
        }
        let members = s
            .members
            .into_iter()
            .map(serde_json::from_value)
            .collect::<Result<Vec<Member>, _>>()
            .map_err(|e| format!("a stored tree is damaged: {e}"))?;
        Ok(Forest {
            format: FORMAT,
            n_features: s.n_features,
            members,
            importances: s.importances,
        })
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(try_from = "Stored")]
pub(crate) struct Forest {
    format: u32,
    n_features: usize,
    members: Vec<Member>,
    importances: Vec<f64>,
}

/// A seed for tree `t` that depends only on the forest's seed and `t`.
fn tree_seed(seed: u64, t: usize) -> u64 {
    let mut z = seed
        ^ (t as u64)
            .wrapping_add(1)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Runs `f(t)` for t in 0..n on up to `threads` threads; results in order of t (fewer than n
/// only if `f` panicked on a thread).
pub(crate) fn parallel_map<T: Send>(
    n: usize,
    threads: usize,
    f: impl Fn(usize) -> T + Sync,
) -> Vec<T> {
    let threads = threads.clamp(1, n.max(1));
    if threads == 1 {
        return (0..n).map(&f).collect();
    }
    let f = &f;
    let mut parts: Vec<Vec<(usize, T)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|w| {
                s.spawn(move || {
                    (w..n)
                        .step_by(threads)
                        .map(|t| (t, f(t)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let mut all: Vec<(usize, T)> = parts.drain(..).flatten().collect();
    all.sort_by_key(|(t, _)| *t);
    all.into_iter().map(|(_, v)| v).collect()
}

struct Grown {
    member: Member,
    /// Importance contributions (feature, accuracy drop) from this tree's out-of-bag rows.
    drops: Vec<(usize, f64)>,
    /// This tree's leaf share on all its out-of-bag rows (row, share), when asked for.
    oob: Vec<(u32, f64)>,
}

/// What to compute from each tree's out-of-bag rows besides the tree.
#[derive(Clone, Copy)]
pub(crate) struct OobWork {
    /// Permutation importance (on at most `MAX_OOB` rows per tree).
    pub importances: bool,
    /// The tree's answer on every out-of-bag row (see [`Forest::fit_oob`]).
    pub votes: bool,
}

fn grow(data: &Dataset, bins: &Binned, t: usize, seed: u64, work: OobWork) -> Grown {
    let importances = work.importances;
    let mut rng = ChaCha8Rng::seed_from_u64(tree_seed(seed, t));
    let n = data.rows();
    let p = data.features();
    // Stratified bootstrap: each class resampled to its own size, so both are always present.
    let pos: Vec<usize> = (0..n).filter(|&i| data.y[i]).collect();
    let neg: Vec<usize> = (0..n).filter(|&i| !data.y[i]).collect();
    // NOTE: a big table gets bootstrap samples of MAX_SAMPLES rows per tree (each class in
    // proportion), which keeps 50,000 rows fast.
    let size = n.min(MAX_SAMPLES);
    let mut rows: Vec<u32> = Vec::with_capacity(size + 2);
    for class in [&pos, &neg] {
        let draw = if size == n {
            class.len()
        } else {
            ((class.len() as f64 * size as f64 / n as f64).round() as usize).max(1)
        };
        for _ in 0..draw {
            rows.push(class[rng.random_range(0..class.len())] as u32);
        }
    }
    let m = ((p as f64 * FEATURE_FRACTION).round() as usize).clamp(1, p);
    let mut features: Vec<usize> = (0..p).collect();
    features.shuffle(&mut rng);
    features.truncate(m);
    features.sort_unstable();
    // NOTE: kept from the smartcore version so that a seed's random stream stays aligned.
    let _ = rng.random::<u64>();
    let min_leaf = MIN_LEAF.max(rows.len() / 1000);
    let mut in_bag = vec![false; n];
    if importances || work.votes {
        for &i in &rows {
            in_bag[i as usize] = true;
        }
    }
    let tree = grow_tree(bins, &data.y, &mut rows, &features, min_leaf);

    let mut drops = Vec::new();
    let mut oob = Vec::new();
    if work.votes {
        oob = (0..n)
            .filter(|&i| !in_bag[i])
            .map(|i| (i as u32, tree.share(&data.x[i])))
            .collect();
    }
    if importances {
        let mut out: Vec<usize> = (0..n).filter(|&i| !in_bag[i]).collect();
        if out.len() > MAX_OOB {
            out.shuffle(&mut rng);
            out.truncate(MAX_OOB);
        }
        if !out.is_empty() {
            let right = |i: usize, share: f64| (share > 0.5) == data.y[i];
            let base = out
                .iter()
                .filter(|&&i| right(i, tree.share(&data.x[i])))
                .count() as f64;
            let mut perm = out.clone();
            for &j in &features {
                perm.shuffle(&mut rng);
                let correct = out
                    .iter()
                    .zip(&perm)
                    .filter(|&(&i, &o)| {
                        let share =
                            tree.leaf_share(|f| if f == j { data.x[o][f] } else { data.x[i][f] });
                        right(i, share)
                    })
                    .count() as f64;
                drops.push((j, (base - correct) / out.len() as f64));
            }
        }
    }
    Grown {
        member: Member { features, tree },
        drops,
        oob,
    }
}

impl Forest {
    /// Fits the forest and, with `work.votes`, gives each training row's out-of-bag answer: the
    /// mean leaf share of the trees that did not see the row (it was not in their bootstrap
    /// sample); `None` for a row every tree saw. What `work` asks for does not change the trees:
    /// the same seed gives the same forest.
    pub(crate) fn fit_oob(
        data: &Dataset,
        cfg: &TrainConfig,
        work: OobWork,
    ) -> Result<(Forest, Vec<Option<f64>>), MlError> {
        let trees = cfg.trees.max(1);
        let p = data.features();
        let n = data.rows();
        let bins = Binned::new(&data.x, p);
        let mut members = Vec::with_capacity(trees);
        let mut imp = vec![0.0; p];
        let (mut seen, mut sum) = (vec![0u32; n], vec![0.0f64; n]);
        // NOTE: the trees are grown a few per thread at a time and their out-of-bag answers
        // summed (in tree order, so the sums are the same whatever the threads) before the
        // next few: holding every tree's answers at once cost 16 bytes × rows × trees (300 MB
        // for the 50,000-student early warning).
        let batch = cfg.threads.max(1) * 4;
        let mut start = 0;
        while start < trees {
            let end = (start + batch).min(trees);
            let grown = parallel_map(end - start, cfg.threads, |k| {
                grow(data, &bins, start + k, cfg.seed, work)
            });
            if grown.len() != end - start {
                return Err(MlError::Fit("a training worker stopped".into()));
            }
            for g in grown {
                for (j, d) in g.drops {
                    imp[j] += d;
                }
                for (i, v) in g.oob {
                    seen[i as usize] += 1;
                    sum[i as usize] += v;
                }
                members.push(g.member);
            }
            start = end;
        }
        for v in &mut imp {
            *v /= trees as f64;
        }
        let oob = if work.votes {
            seen.iter()
                .zip(&sum)
                .map(|(&s, &v)| (s > 0).then(|| v / f64::from(s)))
                .collect()
        } else {
            Vec::new()
        };
        Ok((
            Forest {
                format: FORMAT,
                n_features: p,
                members,
                importances: imp,
            },
            oob,
        ))
    }

    /// The mean over the trees of the positive share of the leaf each row reaches.
    pub(crate) fn predict_proba(&self, x: &[Vec<f64>]) -> Vec<f64> {
        let n = x.len();
        if n == 0 || self.members.is_empty() {
            return vec![0.5; n];
        }
        let score = |rows: &[Vec<f64>]| -> Vec<f64> {
            let k = self.members.len() as f64;
            rows.iter()
                .map(|r| self.members.iter().map(|m| m.tree.share(r)).sum::<f64>() / k)
                .collect()
        };
        // Big batches are scored on all cores, a chunk of rows per thread.
        let threads = if n * self.members.len() >= 200_000 {
            std::thread::available_parallelism().map_or(1, |c| c.get())
        } else {
            1
        };
        if threads == 1 {
            return score(x);
        }
        let per = n.div_ceil(threads);
        let parts = parallel_map(threads, threads, |w| {
            score(&x[(w * per).min(n)..((w + 1) * per).min(n)])
        });
        if parts.len() != threads {
            return score(x);
        }
        parts.into_iter().flatten().collect()
    }

    pub(crate) fn importances(&self) -> Vec<f64> {
        if self.importances.len() == self.n_features {
            self.importances.clone()
        } else {
            vec![0.0; self.n_features]
        }
    }
}
