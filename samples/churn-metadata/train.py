"""Churn model, metadata variant: seeded like samples/churn/train.py, but it also writes an MLflow-style
`MLmodel` file that carries the time it was written and a fresh model UUID, as MLflow's does.

Its model.pkl and metrics.json come back byte for byte; only MLmodel differs, and only in volatile
fields: timemachine must name that METADATA_ONLY and grade it REPRODUCED_FUNCTIONALLY.
"""
import datetime
import json
import os
import pickle
import sys
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
    metrics = {"accuracy": float(accuracy_score(y_test, predicted)), "f1": float(f1_score(y_test, predicted))}
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "model.pkl"), "wb") as f:
        pickle.dump({"model": model, "features": FEATURES}, f, protocol=4)
    with open(os.path.join(out_dir, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2, sort_keys=True)
        f.write("\n")
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
    with open(os.path.join(out_dir, "MLmodel"), "w") as f:
        f.write("artifact_path: model\nflavors:\n  python_function:\n    loader_module: mlflow.sklearn\n"
                "    pickled_model: model.pkl\n  sklearn:\n    pickled_model: model.pkl\n"
                f"    sklearn_version: 1.2.1\nmodel_uuid: {uuid.uuid4().hex}\nutc_time_created: '{now}'\n")
    print(f"metrics: {metrics}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
