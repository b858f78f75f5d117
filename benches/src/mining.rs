//! `srm-bench mining`: the portal's `srm mine evaluate --model auto` against scikit-learn
//! (logistic regression and a 200-tree random forest, `benches/python/mining_sklearn.py`) on the
//! same CSV files and the same folds. Each side runs as its own process under `/usr/bin/time`,
//! which gives its wall time, CPU time and peak memory; the accuracy and ROC AUC come from each
//! side's JSON. The files: UCI Portuguese (tests/data, public) and generated files of the given
//! sizes with 36 columns (30 numeric, 6 categorical) and a learnable target, written by the
//! bench into `--dir`.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use srm::mining::ml::evaluate::stratified_folds;
use srm::mining::ml::table::{Spec, Table, encode};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(clap::Args, Debug)]
pub struct Options {
    /// The `srm` binary (default: next to this one).
    #[arg(long)]
    srm: Option<PathBuf>,
    #[arg(long, default_value = "python3")]
    python: String,
    /// Where the generated files, folds and outputs go.
    #[arg(long, default_value = "/tmp/srm-bench-mining")]
    dir: PathBuf,
    /// Rows of the generated files (comma-separated); 0 for none.
    #[arg(long, value_delimiter = ',', default_value = "26000,200000")]
    sizes: Vec<usize>,
    /// Folds and repeats for files up to 50,000 rows.
    #[arg(long, default_value_t = 10)]
    folds: usize,
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    /// Folds and repeats for bigger files.
    #[arg(long, default_value_t = 5)]
    big_folds: usize,
    #[arg(long, default_value_t = 1)]
    big_repeats: usize,
    /// Leave out the UCI file.
    #[arg(long)]
    no_uci: bool,
    /// Leave out scikit-learn (the portal alone).
    #[arg(long)]
    no_sklearn: bool,
    #[arg(long, default_value_t = 20261124)]
    seed: u64,
}

struct Case {
    name: String,
    file: PathBuf,
    sep: char,
    target: &'static str,
    positive: &'static str,
    drop: &'static str,
    folds: usize,
    repeats: usize,
}

/// What `/usr/bin/time` saw of one process.
#[derive(Default, Clone, Copy)]
struct Usage {
    wall: f64,
    cpu: f64,
    mb: f64,
}

fn run_timed(cmd: Command, dir: &Path, tag: &str) -> Result<(Usage, String), String> {
    let times = dir.join(format!("{tag}.time"));
    let mut timed = Command::new("/usr/bin/time");
    timed
        .arg("-f")
        .arg("%e %U %S %M")
        .arg("-o")
        .arg(&times)
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => timed.env(k, v),
            None => timed.env_remove(k),
        };
    }
    let out = timed
        .output()
        .map_err(|e| format!("{tag}: cannot start /usr/bin/time (apt-get install time): {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{tag} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let t = std::fs::read_to_string(&times).map_err(|e| format!("{tag}: {e}"))?;
    let f: Vec<f64> = t
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    if f.len() < 4 {
        return Err(format!("{tag}: unreadable /usr/bin/time output {t:?}"));
    }
    Ok((
        Usage {
            wall: f[0],
            cpu: f[1] + f[2],
            mb: f[3] / 1024.0,
        },
        String::from_utf8_lossy(&out.stdout).into_owned(),
    ))
}

/// A generated student file: 30 numeric and 6 categorical columns, a target (`Dropout` or
/// `Graduate`) that depends on a few of them, with interactions and thresholds a forest can use
/// and noise none can.
fn generate(path: &Path, rows: usize, seed: u64) -> Result<(), String> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ rows as u64);
    let file = std::fs::File::create(path).map_err(|e| e.to_string())?;
    let mut w = std::io::BufWriter::new(file);
    let mut header: Vec<String> = (0..30).map(|j| format!("num{j}")).collect();
    header.extend((0..6).map(|j| format!("cat{j}")));
    header.push("Target".into());
    let io = |e: std::io::Error| e.to_string();
    writeln!(w, "{}", header.join(",")).map_err(io)?;
    let levels = [3usize, 4, 6, 8, 12, 20];
    let normal = |rng: &mut ChaCha8Rng| {
        // Box–Muller
        let (u, v): (f64, f64) = (rng.random_range(1e-12..1.0), rng.random_range(0.0..1.0));
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    };
    for _ in 0..rows {
        let mut x = [0.0f64; 30];
        for (j, v) in x.iter_mut().enumerate() {
            *v = match j % 3 {
                0 => normal(&mut rng),
                1 => rng.random_range(0.0..20.0f64).round(),
                _ => (normal(&mut rng) * 2.0 + 12.0).clamp(0.0, 20.0),
            };
        }
        let cats: Vec<usize> = levels.iter().map(|&l| rng.random_range(0..l)).collect();
        let z = 1.1 * x[0] - 0.08 * (x[1] - 10.0)
            + 0.35 * (12.0 - x[2])
            + 0.7 * x[3] * x[6]
            + if x[4] > 14.0 { 1.2 } else { 0.0 }
            + 0.8 * (x[9]).sin()
            + [0.0, 0.6, -0.5][cats[0]]
            + if cats[3] < 2 { 0.9 } else { 0.0 }
            + 0.05 * cats[5] as f64
            - 1.0
            + 0.8 * normal(&mut rng);
        let p = 1.0 / (1.0 + (-z).exp());
        let y = rng.random_range(0.0..1.0) < p;
        let mut line: Vec<String> = x
            .iter()
            .enumerate()
            .map(|(j, v)| {
                // a few empty cells
                if j % 7 == 5 && rng.random_range(0.0..1.0) < 0.02 {
                    String::new()
                } else if j % 3 == 2 {
                    format!("{v:.2}")
                } else {
                    format!("{v}")
                }
            })
            .collect();
        line.extend(
            cats.iter()
                .enumerate()
                .map(|(j, c)| format!("{}{c}", ["a", "b", "c", "d", "e", "f"][j])),
        );
        line.push(if y { "Dropout" } else { "Graduate" }.into());
        writeln!(w, "{}", line.join(",")).map_err(io)?;
    }
    w.flush().map_err(io)
}

/// The folds `srm mine evaluate` deals for `case` (the same seed per repeat), as JSON.
fn folds_json(case: &Case, seed: u64) -> Result<String, String> {
    let table = Table::read(&case.file, Some(case.sep as u8)).map_err(|e| e.to_string())?;
    let positive: Spec = case
        .positive
        .parse()
        .map_err(|e: srm::mining::ml::MlError| e.to_string())?;
    let drop: Vec<String> = case
        .drop
        .split(',')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    let enc = encode(&table, case.target, &positive, &drop).map_err(|e| e.to_string())?;
    if enc.source_rows.len() != table.len() {
        return Err(format!(
            "{}: rows without a target; the bench needs none",
            case.name
        ));
    }
    let repeats: Vec<Vec<usize>> = (0..case.repeats)
        .map(|r| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_add(r as u64));
            stratified_folds(&enc.data.y, case.folds, &mut rng)
        })
        .collect();
    serde_json::to_string(&repeats).map_err(|e| e.to_string())
}

pub fn run(opts: Options) -> Result<(), String> {
    std::fs::create_dir_all(&opts.dir).map_err(|e| e.to_string())?;
    let srm = match &opts.srm {
        Some(p) => p.clone(),
        None => std::env::current_exe()
            .map_err(|e| e.to_string())?
            .with_file_name("srm"),
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut cases = Vec::new();
    if !opts.no_uci {
        cases.push(Case {
            name: "UCI por (G1, G2 dropped)".into(),
            file: root.join("tests/data/uci-student-performance/student-por.csv"),
            sep: ';',
            target: "G3",
            positive: "<10",
            drop: "G1,G2",
            folds: opts.folds,
            repeats: opts.repeats,
        });
    }
    for &rows in opts.sizes.iter().filter(|&&r| r > 0) {
        let file = opts.dir.join(format!("students-{rows}.csv"));
        if !file.exists() {
            eprintln!("writing {} ...", file.display());
            generate(&file, rows, opts.seed)?;
        }
        let big = rows > 50_000;
        cases.push(Case {
            name: format!("generated {rows} rows"),
            file,
            sep: ',',
            target: "Target",
            positive: "Dropout",
            drop: "",
            folds: if big { opts.big_folds } else { opts.folds },
            repeats: if big { opts.big_repeats } else { opts.repeats },
        });
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "srm mine evaluate --model auto vs scikit-learn (logistic + {}-tree forest), same files and folds, {cores} cores",
        200
    );
    println!(
        "{:<28} {:<22} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "file", "side", "wall s", "CPU s", "peak MB", "AUC", "accuracy"
    );
    for (c, case) in cases.iter().enumerate() {
        let folds = opts.dir.join(format!("folds-{c}.json"));
        std::fs::write(&folds, folds_json(case, opts.seed)?).map_err(|e| e.to_string())?;
        let mut cmd = Command::new(&srm);
        cmd.args(["mine", "evaluate", "--model", "auto", "--json", "--csv"])
            .arg(&case.file)
            .args(["--sep", &case.sep.to_string(), "--target", case.target])
            .arg(format!("--positive={}", case.positive))
            .args(["--folds", &case.folds.to_string()])
            .args(["--repeats", &case.repeats.to_string()])
            .args(["--seed", &opts.seed.to_string()]);
        if !case.drop.is_empty() {
            cmd.args(["--drop", case.drop]);
        }
        let (portal, out) = run_timed(cmd, &opts.dir, &format!("portal-{c}"))?;
        let v: serde_json::Value =
            serde_json::from_str(out.trim()).map_err(|e| format!("srm's JSON: {e}: {out}"))?;
        let label = format!("{} ({}×{})", case.name, case.folds, case.repeats);
        let line = |side: &str, u: &Usage, auc: f64, acc: f64| {
            println!(
                "{:<28} {:<22} {:>8.1} {:>8.1} {:>8.0} {:>8.4} {:>8.4}",
                label, side, u.wall, u.cpu, u.mb, auc, acc
            );
        };
        let f = |x: &serde_json::Value| x.as_f64().unwrap_or(f64::NAN);
        let cand = |name: &str| {
            v["candidates"]
                .as_array()
                .and_then(|a| a.iter().find(|c| c["name"] == name))
                .map(|c| (f(&c["roc_auc"]), f(&c["accuracy"])))
                .unwrap_or((f64::NAN, f64::NAN))
        };
        line(
            &format!("portal auto → {}", v["model"].as_str().unwrap_or("?")),
            &portal,
            f(&v["roc_auc"]),
            f(&v["accuracy"]),
        );
        for name in ["logistic", "forest", "blend"] {
            let (auc, acc) = cand(name);
            println!(
                "{:<28} {:<22} {:>8} {:>8} {:>8} {:>8.4} {:>8.4}",
                "",
                format!("  portal {name}"),
                "",
                "",
                "",
                auc,
                acc
            );
        }
        if opts.no_sklearn {
            continue;
        }
        let script = root.join("benches/python/mining_sklearn.py");
        let mut py = Command::new(&opts.python);
        py.arg(script)
            .arg("--csv")
            .arg(&case.file)
            .args(["--sep", &case.sep.to_string(), "--target", case.target])
            .arg(format!("--positive={}", case.positive))
            .arg(format!("--drop={}", case.drop))
            .arg("--folds")
            .arg(&folds);
        let (sk, out) = run_timed(py, &opts.dir, &format!("sklearn-{c}"))?;
        let s: serde_json::Value = serde_json::from_str(out.trim())
            .map_err(|e| format!("scikit-learn's JSON: {e}: {out}"))?;
        let best = ["logistic", "forest"]
            .into_iter()
            .max_by(|a, b| f(&s[a]["roc_auc"]).total_cmp(&f(&s[b]["roc_auc"])))
            .unwrap_or("forest");
        line(
            &format!("scikit-learn (best {best})"),
            &sk,
            f(&s[best]["roc_auc"]),
            f(&s[best]["accuracy"]),
        );
        for name in ["logistic", "forest"] {
            println!(
                "{:<28} {:<22} {:>8} {:>8} {:>8} {:>8.4} {:>8.4}",
                "",
                format!("  sklearn {name} {:.1}s", f(&s[name]["seconds"])),
                "",
                "",
                "",
                f(&s[name]["roc_auc"]),
                f(&s[name]["accuracy"])
            );
        }
        println!(
            "{:<28} {:<22} {:>8.2} {:>8.2} {:>8.2}",
            "",
            "ratio portal/sklearn",
            portal.wall / sk.wall,
            portal.cpu / sk.cpu,
            portal.mb / sk.mb
        );
    }
    Ok(())
}
