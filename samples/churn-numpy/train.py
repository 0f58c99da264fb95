"""Churn model, NumPy-weights variant: a two-layer network written in NumPy, its weights saved as
weights.npz (one array per layer, in layer order), initialised from an unseeded generator.

Every training gives other weights: timemachine must diff the .npz tensor by tensor and name the first
diverging layer, and compare the two networks' behaviour only through the metrics (no predict()).
"""
import json
import os
import sys

import numpy as np
import pandas as pd

FEATURES = ["tenure_months", "monthly_charges", "support_calls", "contract_months", "late_payments"]


def main() -> int:
    data_dir = os.environ.get("TIMEMACHINE_DATA", "/data")
    out_dir = os.environ.get("TIMEMACHINE_OUTPUT", "/out")
    frame = pd.read_csv(os.path.join(data_dir, "customers.csv"))
    x = frame[FEATURES].to_numpy(dtype=np.float64)
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    y = frame["churned"].to_numpy(dtype=np.float64).reshape(-1, 1)
    rng = np.random.default_rng()  # unseeded, on purpose
    w1 = rng.normal(0, 0.5, (len(FEATURES), 8))
    b1 = np.zeros(8)
    w2 = rng.normal(0, 0.5, (8, 1))
    b2 = np.zeros(1)
    for _ in range(300):
        h = np.tanh(x @ w1 + b1)
        p = 1 / (1 + np.exp(-(h @ w2 + b2)))
        g = (p - y) / len(x)
        gw2 = h.T @ g
        gh = (g @ w2.T) * (1 - h ** 2)
        w2 -= 0.5 * gw2
        b2 -= 0.5 * g.sum(axis=0)
        w1 -= 0.5 * (x.T @ gh)
        b1 -= 0.5 * gh.sum(axis=0)
    p = 1 / (1 + np.exp(-(np.tanh(x @ w1 + b1) @ w2 + b2)))
    accuracy = float(((p >= 0.5) == (y >= 0.5)).mean())
    os.makedirs(out_dir, exist_ok=True)
    np.savez(os.path.join(out_dir, "weights.npz"), **{"layer1.weight": w1, "layer1.bias": b1, "layer2.weight": w2,
                                                        "layer2.bias": b2})
    with open(os.path.join(out_dir, "metrics.json"), "w") as f:
        json.dump({"accuracy": accuracy}, f, indent=2, sort_keys=True)
        f.write("\n")
    print(f"accuracy {accuracy}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
