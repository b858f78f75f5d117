"""scikit-learn on the same CSV and the same folds as `srm mine evaluate`, for `srm-bench mining`.

Logistic regression (standardised, C=1) and a 200-tree random forest (all cores), each fitted on
the training rows of every fold (imputation means and one-hot levels learned there only) and
scored on the test rows; per repeat the out-of-fold probabilities are pooled, as the portal does.
Prints JSON: per model the mean ROC AUC and accuracy (at 0.5) over the repeats and the seconds
spent fitting and scoring.

python3 mining_sklearn.py --csv F --sep ';' --target G3 --positive '<10' --drop G1,G2 \
    --folds FOLDS.json [--trees 200]
FOLDS.json: a list (one per repeat) of lists (the fold number of each row, file order).
"""

import argparse
import csv
import json
import time

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

MISSING = {"", "na", "n/a", "nan", "null", "?"}


def number(v):
    try:
        x = float(v)
        return x if np.isfinite(x) else None
    except ValueError:
        return None


def positive_test(spec):
    spec = spec.strip()
    for op in ("<=", ">=", "<", ">", "="):
        if spec.startswith(op) and number(spec[len(op):]) is not None:
            t = float(spec[len(op):])
            f = {"<=": lambda x: x <= t, ">=": lambda x: x >= t, "<": lambda x: x < t,
                 ">": lambda x: x > t, "=": lambda x: x == t}[op]
            return lambda v: f(float(v))
    return lambda v: v.strip() == spec


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--csv", required=True)
    ap.add_argument("--sep", default=",")
    ap.add_argument("--target", required=True)
    ap.add_argument("--positive", required=True)
    ap.add_argument("--drop", default="")
    ap.add_argument("--folds", required=True)
    ap.add_argument("--trees", type=int, default=200)
    a = ap.parse_args()
    with open(a.csv, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f, delimiter=a.sep))
    header, body = [h.strip() for h in rows[0]], [r for r in rows[1:] if any(c.strip() for c in r)]
    drop = {d.strip() for d in a.drop.split(",") if d.strip()}
    t = header.index(a.target)
    is_pos = positive_test(a.positive)
    y = np.array([1 if is_pos(r[t]) else 0 for r in body])
    cols = [j for j, h in enumerate(header) if j != t and h not in drop]
    numeric, text = [], []
    for j in cols:
        present = [r[j] for r in body if r[j].strip().lower() not in MISSING]
        ok = sum(number(v) is not None for v in present)
        (numeric if present and ok >= 0.9 * len(present) else text).append(j)
    xn = np.array([[number(r[j]) if number(r[j]) is not None else np.nan for j in numeric]
                   for r in body], dtype=float).reshape(len(body), len(numeric))
    xt = np.array([[r[j].strip() for j in text] for r in body], dtype=object).reshape(
        len(body), len(text))
    x = np.concatenate([xn.astype(object), xt], axis=1)
    nn = len(numeric)
    with open(a.folds) as f:
        repeats = json.load(f)

    def encoder():
        return ColumnTransformer([
            ("num", SimpleImputer(strategy="mean"), list(range(nn))),
            ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                  OneHotEncoder(handle_unknown="ignore",
                                                max_categories=50)),
             list(range(nn, x.shape[1]))),
        ], sparse_threshold=0)

    models = {
        "logistic": lambda: make_pipeline(encoder(), StandardScaler(),
                                          LogisticRegression(C=1.0, max_iter=1000)),
        "forest": lambda: make_pipeline(encoder(), RandomForestClassifier(
            n_estimators=a.trees, n_jobs=-1, random_state=0)),
    }
    out = {}
    for name, make in models.items():
        aucs, accs, seconds = [], [], 0.0
        for fold in repeats:
            fold = np.array(fold)
            if len(fold) != len(y):
                raise SystemExit(f"{len(fold)} fold numbers for {len(y)} rows")
            oof = np.zeros(len(y))
            for k in sorted(set(fold.tolist())):
                train, test = fold != k, fold == k
                started = time.perf_counter()
                m = make().fit(x[train], y[train])
                oof[test] = m.predict_proba(x[test])[:, 1]
                seconds += time.perf_counter() - started
            aucs.append(roc_auc_score(y, oof))
            accs.append(accuracy_score(y, oof >= 0.5))
        out[name] = {"roc_auc": float(np.mean(aucs)), "accuracy": float(np.mean(accs)),
                     "seconds": seconds}
    out["rows"] = int(len(y))
    out["positives"] = int(y.sum())
    print(json.dumps(out))


if __name__ == "__main__":
    main()
