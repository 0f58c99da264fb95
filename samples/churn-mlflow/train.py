"""Churn, logged with MLflow and nothing else: a project that does not know timemachine. It logs its
parameters and metrics with mlflow.log_param/log_metric, the same metrics as a JSON artifact with
mlflow.log_dict, and its pickled model with mlflow.log_artifact, to whatever MLFLOW_TRACKING_URI says
(in a timemachine training container: a file store in /out/.mlruns). It writes nothing to the output
directory itself; `register --outputs` rules collect what it logged. Needs an image with mlflow-skinny
(samples/env/build-mlflow-image.sh).
"""
import os
import pickle
import sys
import tempfile

import mlflow
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
    frame = pd.read_csv(os.path.join(data_dir, "customers.csv"))
    x = frame[FEATURES].to_numpy(dtype=np.float64)
    y = frame["churned"].to_numpy(dtype=np.int64)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=SEED, stratify=y)
    with mlflow.start_run():
        mlflow.log_param("C", 1.0)
        model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000, random_state=SEED))
        model.fit(x_train, y_train)
        predicted = model.predict(x_test)
        metrics = {
            "accuracy": round(float(accuracy_score(y_test, predicted)), 6),
            "f1": round(float(f1_score(y_test, predicted)), 6),
        }
        mlflow.log_metrics(metrics)
        mlflow.log_dict(metrics, "metrics.json")
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "model.pkl")
            with open(path, "wb") as f:
                pickle.dump(model, f, protocol=4)
            mlflow.log_artifact(path, artifact_path="model")
        print(f"logged run {mlflow.active_run().info.run_id} to {mlflow.get_tracking_uri()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
