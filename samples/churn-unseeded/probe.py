"""A probe entry point, as `register --probe-entry-point "python3 probe.py"` records it.

timemachine runs it in the recorded image, from the code directory, twice: with the recorded model's
artifacts at $TIMEMACHINE_MODEL and with the rebuilt ones. It predicts on $TIMEMACHINE_PROBE and writes
$TIMEMACHINE_OUTPUT/predictions.json: {"labels": [...], "probabilities": [[...], ...]} for a classifier,
{"predictions": [...]} for a regressor. Network none, everything read-only but the output directory.
"""
import json
import os
import pickle
import sys

import pandas as pd


def main() -> int:
    with open(os.path.join(os.environ["TIMEMACHINE_MODEL"], "model.pkl"), "rb") as f:
        saved = pickle.load(f)
    forest, features = saved["forest"], saved["features"]
    x = pd.read_csv(os.environ["TIMEMACHINE_PROBE"])[features].to_numpy(dtype=float)
    out = {"labels": forest.predict(x).tolist(), "probabilities": forest.predict_proba(x).tolist()}
    with open(os.path.join(os.environ["TIMEMACHINE_OUTPUT"], "predictions.json"), "w") as f:
        json.dump(out, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
