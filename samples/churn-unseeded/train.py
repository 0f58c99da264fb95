"""Churn model, unseeded variant: the counter-example that must never come back REPRODUCED_BITWISE.

Same data and model family as samples/churn/train.py, but the split and the forest draw their seeds
from the operating system, as so much real training code does by accident.
"""
import json
import os
import pickle
import sys

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
from sklearn.model_selection import train_test_split

FEATURES = ["tenure_months", "monthly_charges", "support_calls", "contract_months", "late_payments"]


def main() -> int:
    data_dir = os.environ.get("TIMEMACHINE_DATA", "/data")
    out_dir = os.environ.get("TIMEMACHINE_OUTPUT", "/out")
    frame = pd.read_csv(os.path.join(data_dir, "customers.csv"))
    x = frame[FEATURES].to_numpy(dtype=np.float64)
    y = frame["churned"].to_numpy(dtype=np.int64)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25)  # no random_state
    forest = RandomForestClassifier(n_estimators=50, max_depth=6, n_jobs=1)  # no random_state
    forest.fit(x_train, y_train)
    proba = forest.predict_proba(x_test)[:, 1]
    predicted = (proba >= 0.5).astype(np.int64)
    metrics = {
        "accuracy": float(accuracy_score(y_test, predicted)),
        "f1": float(f1_score(y_test, predicted)),
        "roc_auc": float(roc_auc_score(y_test, proba)),
    }
    print(f"metrics: {metrics}", flush=True)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "model.pkl"), "wb") as f:
        pickle.dump({"forest": forest, "features": FEATURES}, f, protocol=4)
    with open(os.path.join(out_dir, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2, sort_keys=True)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
