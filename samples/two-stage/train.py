"""Stage two of the two-stage sample: a churn model trained on the encoder's output.

Reads the encoder another model version produced from $TIMEMACHINE_UPSTREAM/encoder/encoder.pkl
(timemachine mounts it read-only at /upstream/encoder after checking its recorded sha256), encodes
the features of $TIMEMACHINE_DATA/customers.csv with it, and trains a seeded logistic regression;
writes model.pkl and metrics.json to $TIMEMACHINE_OUTPUT. A new encoder version changes what this
model sees: `timemachine backtest encoder@2 --downstream` measures by how much.
"""
import json
import os
import pickle

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
from sklearn.model_selection import train_test_split

SEED = 42


def main() -> int:
    data_dir = os.environ.get("TIMEMACHINE_DATA", "/data")
    out_dir = os.environ.get("TIMEMACHINE_OUTPUT", "/out")
    upstream = os.environ.get("TIMEMACHINE_UPSTREAM", "/upstream")
    with open(os.path.join(upstream, "encoder", "encoder.pkl"), "rb") as f:
        bundle = pickle.load(f)
    frame = pd.read_csv(os.path.join(data_dir, "customers.csv"))
    x = bundle["encoder"].transform(frame[bundle["features"]].to_numpy(dtype=np.float64))
    y = frame["churned"].to_numpy(dtype=np.int64)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=SEED, stratify=y)
    model = LogisticRegression(max_iter=1000, random_state=SEED)
    model.fit(x_train, y_train)
    proba = model.predict_proba(x_test)[:, 1]
    predicted = (proba >= 0.5).astype(np.int64)
    metrics = {
        "accuracy": round(float(accuracy_score(y_test, predicted)), 6),
        "f1": round(float(f1_score(y_test, predicted)), 6),
        "roc_auc": round(float(roc_auc_score(y_test, proba)), 6),
    }
    print(f"metrics with the encoder from {upstream}/encoder: {metrics}", flush=True)
    with open(os.path.join(out_dir, "model.pkl"), "wb") as f:
        pickle.dump(model, f, protocol=4)
    with open(os.path.join(out_dir, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2, sort_keys=True)
        f.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
