"""Churn, written where a tracking tool would put it: the seeded churn model, but its outputs land
under a directory named after a random run id, next to run metadata with a timestamp, the way MLflow's
file store lays out a run (mlruns/<experiment>/<run id>/artifacts/...). No MLflow is needed: this is
what `register --outputs` rules must turn into stable, comparable names.
"""
import json
import os
import pickle
import sys
import time
import uuid

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

SEED = 42
FEATURES = ["tenure_months", "monthly_charges", "support_calls", "contract_months", "late_payments"]


def main() -> int:
    data_dir = os.environ.get("TIMEMACHINE_DATA", "/data")
    out_dir = os.environ.get("TIMEMACHINE_OUTPUT", "/out")
    frame = pd.read_csv(os.path.join(data_dir, "customers.csv"))
    x = frame[FEATURES].to_numpy(dtype=np.float64)
    y = frame["churned"].to_numpy(dtype=np.int64)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=SEED, stratify=y)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=SEED))
    model.fit(x_train, y_train)
    predicted = model.predict(x_test)
    metrics = {
        "accuracy": round(float(accuracy_score(y_test, predicted)), 6),
        "f1": round(float(f1_score(y_test, predicted)), 6),
    }

    run_dir = os.path.join(out_dir, "mlruns", "0", uuid.uuid4().hex)  # a new run id every run
    os.makedirs(os.path.join(run_dir, "artifacts"))
    with open(os.path.join(run_dir, "meta.yaml"), "w") as f:
        f.write(f"start_time: {int(time.time() * 1000)}\n")  # never the same twice
    with open(os.path.join(run_dir, "artifacts", "model.pkl"), "wb") as f:
        pickle.dump(model, f, protocol=4)
    with open(os.path.join(run_dir, "artifacts", "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2, sort_keys=True)
        f.write("\n")
    print(f"wrote model.pkl and metrics.json to {run_dir}/artifacts: {metrics}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
