"""Evaluate entry point of the churn sample: scores the recorded model on new data, without training.

`timemachine backtest churn@1 --data Q4 --evaluate` runs it in the recorded image with the version's
recorded artifacts (verified by sha256) read-only at $TIMEMACHINE_MODEL and the new data at
$TIMEMACHINE_DATA; it writes metrics.json (the same metrics train.py records, over every row) to
$TIMEMACHINE_OUTPUT. Registered with `--evaluate-entry-point "python3 evaluate.py"`.
"""
import json
import os
import pickle

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score


def main() -> int:
    model_dir = os.environ["TIMEMACHINE_MODEL"]
    data_dir = os.environ.get("TIMEMACHINE_DATA", "/data")
    out_dir = os.environ.get("TIMEMACHINE_OUTPUT", "/out")
    with open(os.path.join(model_dir, "model.pkl"), "rb") as f:
        bundle = pickle.load(f)
    frame = pd.read_csv(os.path.join(data_dir, "customers.csv"))
    x = frame[bundle["features"]].to_numpy(dtype=np.float64)
    y = frame["churned"].to_numpy(dtype=np.int64)
    proba = (bundle["logistic"].predict_proba(x)[:, 1] + bundle["forest"].predict_proba(x)[:, 1]) / 2
    predicted = (proba >= 0.5).astype(np.int64)
    metrics = {
        "accuracy": round(float(accuracy_score(y, predicted)), 6),
        "f1": round(float(f1_score(y, predicted)), 6),
        "roc_auc": round(float(roc_auc_score(y, proba)), 6),
    }
    print(f"recorded model scored on {len(frame)} rows of {data_dir}: {metrics}", flush=True)
    with open(os.path.join(out_dir, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2, sort_keys=True)
        f.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
