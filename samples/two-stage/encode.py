"""Stage one of the two-stage sample: a feature encoder, which another model consumes.

Fits a scaler and a 3-component PCA on the churn features of $TIMEMACHINE_DATA/customers.csv and
writes encoder.pkl (and metrics.json: the variance its components explain) to $TIMEMACHINE_OUTPUT.
Deterministic: the same data gives the same bytes. Registered as `encoder`; the churn model of
train.py is registered with `--upstream encoder@N:encoder.pkl`.
"""
import json
import os
import pickle

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

FEATURES = ["tenure_months", "monthly_charges", "support_calls", "contract_months", "late_payments"]


def main() -> int:
    data_dir = os.environ.get("TIMEMACHINE_DATA", "/data")
    out_dir = os.environ.get("TIMEMACHINE_OUTPUT", "/out")
    frame = pd.read_csv(os.path.join(data_dir, "customers.csv"))
    x = frame[FEATURES].to_numpy(dtype=np.float64)
    encoder = make_pipeline(StandardScaler(), PCA(n_components=3, svd_solver="full"))
    encoder.fit(x)
    explained = round(float(encoder[-1].explained_variance_ratio_.sum()), 6)
    print(f"encoder fitted on {len(frame)} rows; 3 components explain {explained}", flush=True)
    with open(os.path.join(out_dir, "encoder.pkl"), "wb") as f:
        pickle.dump({"encoder": encoder, "features": FEATURES}, f, protocol=4)
    with open(os.path.join(out_dir, "metrics.json"), "w") as f:
        json.dump({"explained_variance": explained}, f, indent=2, sort_keys=True)
        f.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
