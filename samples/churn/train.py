"""Churn model: the seeded sample that timemachine must reproduce bit for bit.

Reads customers.csv from the data directory, trains a scikit-learn pipeline with fixed seeds, and
writes model.pkl and metrics.json to the output directory. Both directories come from the
environment (TIMEMACHINE_DATA, TIMEMACHINE_OUTPUT), which timemachine sets to the read-only data
mount and the fresh output mount of the training container.
"""
import json
import os
import pickle
import sys

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

SEED = 42
FEATURES = ["tenure_months", "monthly_charges", "support_calls", "contract_months", "late_payments"]


def main() -> int:
    data_dir = os.environ.get("TIMEMACHINE_DATA", "/data")
    out_dir = os.environ.get("TIMEMACHINE_OUTPUT", "/out")
    frame = pd.read_csv(os.path.join(data_dir, "customers.csv"))
    print(f"loaded {len(frame)} rows from {data_dir}/customers.csv", flush=True)

    x = frame[FEATURES].to_numpy(dtype=np.float64)
    y = frame["churned"].to_numpy(dtype=np.int64)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=SEED, stratify=y)

    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=SEED))
    model.fit(x_train, y_train)
    forest = RandomForestClassifier(n_estimators=50, max_depth=6, random_state=SEED, n_jobs=1)
    forest.fit(x_train, y_train)

    proba = (model.predict_proba(x_test)[:, 1] + forest.predict_proba(x_test)[:, 1]) / 2
    predicted = (proba >= 0.5).astype(np.int64)
    metrics = {
        "accuracy": round(float(accuracy_score(y_test, predicted)), 6),
        "f1": round(float(f1_score(y_test, predicted)), 6),
        "roc_auc": round(float(roc_auc_score(y_test, proba)), 6),
    }
    print(f"metrics: {metrics}", flush=True)

    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "model.pkl"), "wb") as f:
        pickle.dump({"logistic": model, "forest": forest, "features": FEATURES}, f, protocol=4)
    with open(os.path.join(out_dir, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2, sort_keys=True)
        f.write("\n")
    print(f"wrote model.pkl and metrics.json to {out_dir}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
