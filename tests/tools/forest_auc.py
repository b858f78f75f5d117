"""Cross-check of the portal's early warning: a scikit-learn random forest on the rows that
`srm mine early --as-of-day N --export-features FILE` wrote (train on `split == train`, test on
`split == test`). Prints one JSON object: the test ROC AUC and the seconds the fit took.

    python3 tests/tools/forest_auc.py FILE [--trees 100] [--seed 1]
"""

import argparse
import csv
import json
import time

from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import roc_auc_score


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("file")
    p.add_argument("--trees", type=int, default=100)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    with open(a.file, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    features = [c for c in rows[0].keys() if c not in ("target", "term", "split")]

    def part(split):
        sel = [r for r in rows if r["split"] == split]
        return [[float(r[c]) for c in features] for r in sel], [int(r["target"]) for r in sel]

    x_train, y_train = part("train")
    x_test, y_test = part("test")
    started = time.perf_counter()
    model = RandomForestClassifier(
        n_estimators=a.trees, random_state=a.seed, n_jobs=-1, class_weight="balanced"
    )
    model.fit(x_train, y_train)
    proba = model.predict_proba(x_test)[:, 1]
    seconds = time.perf_counter() - started
    print(json.dumps({
        "roc_auc": roc_auc_score(y_test, proba),
        "seconds": seconds,
        "train_rows": len(y_train),
        "test_rows": len(y_test),
        "features": len(features),
    }))


if __name__ == "__main__":
    main()
