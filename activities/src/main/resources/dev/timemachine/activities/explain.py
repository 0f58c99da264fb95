"""timemachine's in-image comparator: runs inside the RECORDED image, network none, read-only.

Mounted read-only at /tm/explain.py and run as `python3 /tm/explain.py /tm/request.json`. It loads
the recorded (/original) and the rebuilt (/rebuilt) artifacts with the libraries of the image itself,
compares them model-aware, optionally predicts with both on a probe set under /data, and writes one
JSON document to /result/explain.json. Nothing it finds changes the verdict on its own: the JVM grades.

Request: {"artifacts": ["model.pkl", ...], "probe": {"artifact": "model.pkl", "file": "customers.csv",
"tolerance": 0.0} or null}. Every failure is caught per artifact and reported as "problem".
"""
import difflib
import io
import json
import math
import os
import pickle
import pickletools
import sys
import traceback

ORIGINAL = os.environ.get("TM_ORIGINAL", "/original")
REBUILT = os.environ.get("TM_REBUILT", "/rebuilt")
DATA = os.environ.get("TM_DATA", "/data")
RESULT = os.environ.get("TM_RESULT", "/result")
MAX_DIFF_LINES = 200
MAX_ATTRIBUTES = 200

try:
    import numpy as np
except Exception:  # noqa: BLE001 - an image without numpy still gets a pickle disassembly diff
    np = None


def finite(x):
    x = float(x)
    return x if math.isfinite(x) else None


def array_diff(name, kind, a, b):
    """Shape, dtype and the largest differences of two arrays (or array-likes)."""
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape:
        return {"name": name, "kind": "structure", "shape": f"{list(a.shape)} vs {list(b.shape)}",
                "note": "shape differs"}
    if a.dtype != b.dtype and not (a.dtype.kind in "fiub" and b.dtype.kind in "fiub"):
        return {"name": name, "kind": "structure", "shape": str(list(a.shape)), "note": f"dtype {a.dtype} vs {b.dtype}"}
    if a.dtype.kind not in "fiubc":
        same = bool(np.array_equal(a, b))
        return None if same else {"name": name, "kind": kind, "shape": str(list(a.shape)), "note": "values differ"}
    x = a.astype(np.float64, copy=False)
    y = b.astype(np.float64, copy=False)
    if x.size == 0:
        return None
    d = np.abs(x - y)
    both_nan = np.isnan(x) & np.isnan(y)
    d = np.where(both_nan, 0.0, d)
    max_abs = float(np.nanmax(d)) if d.size else 0.0
    if max_abs == 0.0:
        return None
    denom = np.maximum(np.abs(x), np.abs(y))
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(denom > 0, d / denom, 0.0)
    norm = float(np.linalg.norm(np.nan_to_num(x)))
    rel_l2 = float(np.linalg.norm(np.nan_to_num(x - y))) / norm if norm > 0 else None
    return {"name": name, "kind": kind, "shape": str(list(a.shape)), "maxAbs": finite(max_abs),
            "maxRel": finite(float(np.nanmax(rel))), "relL2": None if rel_l2 is None else finite(rel_l2)}


def load_model_file(path):
    lower = path.lower()
    if lower.endswith(".joblib"):
        import joblib
        return joblib.load(path)
    with open(path, "rb") as f:
        return pickle.load(f)


def find_estimator(obj):
    """The fitted estimator in a pickle, and the feature names that go with it if the pickle says."""
    if hasattr(obj, "predict"):
        return obj, list(getattr(obj, "feature_names_in_", [])) or None
    if isinstance(obj, dict):
        features = obj.get("features") or obj.get("feature_names") or obj.get("columns")
        for value in obj.values():
            if hasattr(value, "predict"):
                names = list(features) if features is not None else (list(getattr(value, "feature_names_in_", [])) or None)
                return value, names
    if isinstance(obj, (list, tuple)):
        for value in obj:
            if hasattr(value, "predict"):
                return value, None
    return None, None


def fitted_attributes(est):
    names = sorted(k for k in vars(est) if k.endswith("_") and not k.startswith("_"))
    for extra in ("feature_importances_", "coef_", "intercept_"):
        if extra not in names:
            try:
                getattr(est, extra)
                names.append(extra)
            except Exception:  # noqa: BLE001 - not every estimator has them
                pass
    return names


def compare_values(name, a, b, out):
    if len(out) >= MAX_ATTRIBUTES:
        return
    if hasattr(a, "tree_") and hasattr(b, "tree_"):
        for field in ("feature", "threshold", "value", "children_left", "children_right"):
            d = array_diff(f"{name}.tree_.{field}", "fitted", getattr(a.tree_, field), getattr(b.tree_, field))
            if d:
                out.append(d)
        return
    if hasattr(a, "get_params") and hasattr(b, "get_params"):
        compare_estimators(name, a, b, out)
        return
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            out.append({"name": name, "kind": "structure", "note": f"length {len(a)} vs {len(b)}"})
            return
        if a and all(hasattr(x, "tree_") or hasattr(x, "get_params") for x in a):
            diverging = []
            for i, (x, y) in enumerate(zip(a, b)):
                before = len(out)
                compare_values(f"{name}[{i}]", x, y, out)
                if len(out) > before:
                    diverging.append(i)
            if diverging:
                out.append({"name": name, "kind": "summary",
                            "note": f"{len(diverging)} of {len(a)} sub-estimators differ, first: {diverging[0]}"})
            return
    try:
        if np is not None and (isinstance(a, np.ndarray) or isinstance(a, (int, float)) or
                               (isinstance(a, (list, tuple)) and a and isinstance(a[0], (int, float)))):
            d = array_diff(name, "fitted", a, b)
            if d:
                out.append(d)
            return
    except Exception:  # noqa: BLE001 - fall back to equality
        pass
    try:
        same = a == b
        same = bool(same) if not hasattr(same, "all") else bool(same.all())
    except Exception:  # noqa: BLE001
        same = repr(a) == repr(b)
    if not same:
        out.append({"name": name, "kind": "fitted", "note": f"{short(a)} vs {short(b)}"})


def short(value):
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def compare_estimators(prefix, a, b, out):
    if type(a) is not type(b):
        out.append({"name": prefix or "model", "kind": "structure",
                    "note": f"{type(a).__name__} vs {type(b).__name__}"})
        return
    try:
        pa = a.get_params(deep=False)
        pb = b.get_params(deep=False)
        for key in sorted(set(pa) | set(pb)):
            va, vb = pa.get(key), pb.get(key)
            if hasattr(va, "get_params"):
                continue
            if repr(va) != repr(vb):
                out.append({"name": f"{prefix}{key}", "kind": "param", "note": f"{short(va)} -> {short(vb)}"})
    except Exception as e:  # noqa: BLE001
        out.append({"name": prefix + "get_params", "kind": "structure", "note": f"could not compare: {e}"})
    for attr in fitted_attributes(a):
        try:
            va = getattr(a, attr)
            vb = getattr(b, attr)
        except Exception:  # noqa: BLE001
            out.append({"name": prefix + attr, "kind": "structure", "note": "missing in the rebuilt model"})
            continue
        compare_values(prefix + attr, va, vb, out)
    if hasattr(a, "steps") and hasattr(b, "steps"):
        for (na, sa), (_, sb) in zip(a.steps, b.steps):
            compare_estimators(f"{prefix}{na}.", sa, sb, out)


def disassembly_diff(path_a, path_b, name):
    def dis(path):
        buf = io.StringIO()
        with open(path, "rb") as f:
            try:
                pickletools.dis(f, out=buf, annotate=0)
            except Exception as e:  # noqa: BLE001 - a stream pickletools cannot read: show what it read
                buf.write(f"(disassembly stopped: {e})\n")
        # Offsets move whenever anything before them changes; the opcodes and arguments are what differ.
        return [line.split(":", 1)[-1].rstrip() for line in buf.getvalue().splitlines()[:20000]]
    lines = list(difflib.unified_diff(dis(path_a), dis(path_b), "recorded/" + name, "rebuilt/" + name, lineterm="", n=2))
    if len(lines) > MAX_DIFF_LINES:
        lines = lines[:MAX_DIFF_LINES] + [f"... ({len(lines) - MAX_DIFF_LINES} more diff lines not shown)"]
    return "\n".join(lines) + "\n"


def load_tensors(path):
    """An ordered list of (name, array) of a NumPy, safetensors or PyTorch file."""
    lower = path.lower()
    if lower.endswith(".npy"):
        return [("array", np.load(path, allow_pickle=False))]
    if lower.endswith(".npz"):
        with np.load(path, allow_pickle=False) as z:
            return [(k, z[k]) for k in z.files]
    if lower.endswith(".safetensors"):
        from safetensors.numpy import load_file
        return list(load_file(path).items())
    import torch  # .pt / .pth / .bin state dicts
    state = torch.load(path, map_location="cpu", weights_only=True)
    if hasattr(state, "state_dict"):
        state = state.state_dict()
    return [(k, v.detach().cpu().numpy()) for k, v in state.items() if hasattr(v, "detach")]


def compare_tensors(path_a, path_b):
    a = load_tensors(path_a)
    b = dict(load_tensors(path_b))
    out = []
    first = None
    for name, x in a:
        if name not in b:
            out.append({"name": name, "kind": "structure", "note": "missing in the rebuilt file"})
            first = first or name
            continue
        d = array_diff(name, "tensor", x, b.pop(name))
        if d:
            d["note"] = f"dtype {np.asarray(x).dtype}"
            out.append(d)
            first = first or name
    for name in b:
        out.append({"name": name, "kind": "structure", "note": "only in the rebuilt file"})
    return out, first


def compare_artifact(name):
    a = os.path.join(ORIGINAL, name)
    b = os.path.join(REBUILT, name)
    lower = name.lower()
    if lower.endswith((".npy", ".npz", ".safetensors", ".pt", ".pth")):
        if np is None:
            return {"path": name, "kind": "tensors", "problem": "numpy is not in the recorded image"}
        attrs, first = compare_tensors(a, b)
        worst = max((x for x in attrs if x.get("maxAbs") is not None), key=lambda x: x["maxAbs"], default=None)
        summary = f"{len(attrs)} tensor(s) differ" + (
            f"; first diverging: {first}" + (f", max abs diff {worst['maxAbs']:.3g}" if worst else "") if first else "")
        return {"path": name, "kind": "tensors", "summary": summary, "attributes": attrs, "firstDiverging": first}
    if lower.endswith((".pkl", ".pickle", ".joblib", ".sav")):
        try:
            ma = load_model_file(a)
            mb = load_model_file(b)
        except Exception as e:  # noqa: BLE001 - the libraries of the image cannot load it
            return {"path": name, "kind": "pickle", "summary": "not loadable in the recorded image; opcode diff",
                    "diff": disassembly_diff(a, b, name), "problem": f"could not load: {type(e).__name__}: {e}"}
        ea, _ = find_estimator(ma)
        eb, _ = find_estimator(mb)
        if ea is not None and eb is not None and hasattr(ea, "get_params"):
            attrs = []
            compare_estimators("", ea, eb, attrs)
            numeric = [x for x in attrs if x.get("maxAbs") is not None]
            first = next((x["name"] for x in attrs if x["kind"] != "summary"), None)
            params = [x for x in attrs if x["kind"] == "param"]
            summary = (f"{type(ea).__name__}: {len(params)} parameter(s) and "
                       f"{len([x for x in attrs if x['kind'] == 'fitted'])} fitted attribute(s) differ")
            if numeric:
                worst = max(numeric, key=lambda x: x["maxAbs"])
                summary += f"; largest: {worst['name']} max abs diff {worst['maxAbs']:.3g}"
            if not attrs:
                summary = f"{type(ea).__name__}: same parameters and fitted attributes; the bytes differ in how they were pickled"
            return {"path": name, "kind": "sklearn", "summary": summary, "attributes": attrs, "firstDiverging": first}
        return {"path": name, "kind": "pickle", "summary": "no scikit-learn estimator inside; opcode diff",
                "diff": disassembly_diff(a, b, name)}
    return {"path": name, "kind": "binary", "summary": "binary; no comparator for this type"}


def read_probe(path, features):
    try:
        import pandas as pd
        frame = pd.read_csv(path) if not path.lower().endswith(".parquet") else pd.read_parquet(path)
        if features:
            missing = [f for f in features if f not in frame.columns]
            if missing:
                raise ValueError(f"the probe set lacks the model's feature columns {missing}")
            return frame[features].to_numpy(dtype=np.float64)
        return frame
    except ImportError:
        data = np.genfromtxt(path, delimiter=",", names=True)
        if not features:
            raise ValueError("the model does not name its feature columns and pandas is not in the image")
        return np.column_stack([data[f] for f in features]).astype(np.float64)


def functional(probe):
    art = probe["artifact"]
    result = {"artifact": art, "probeSet": probe["file"], "tolerance": probe.get("tolerance", 0.0)}
    if not art.lower().endswith((".pkl", ".pickle", ".joblib", ".sav")):
        result["problem"] = (f"{art} is not a pickled estimator (weights only, no predict()): the built-in loader"
                             " cannot predict with it; compare behaviour through the metrics")
        return result
    try:
        ea, features = find_estimator(load_model_file(os.path.join(ORIGINAL, art)))
        eb, _ = find_estimator(load_model_file(os.path.join(REBUILT, art)))
        if ea is None or eb is None:
            result["problem"] = f"{art} holds no object with predict(); record a probe entry point"
            return result
        x = read_probe(os.path.join(DATA, probe["file"]), features)
        tol = float(probe.get("tolerance", 0.0))
        result["rows"] = int(len(x))
        if hasattr(ea, "classes_"):
            la, lb = np.asarray(ea.predict(x)), np.asarray(eb.predict(x))
            result["task"] = "classifier"
            result["labelAgreement"] = float(np.mean(la == lb)) if len(la) else 1.0
            max_p = 0.0
            if hasattr(ea, "predict_proba") and hasattr(eb, "predict_proba"):
                pa, pb = np.asarray(ea.predict_proba(x)), np.asarray(eb.predict_proba(x))
                max_p = float(np.max(np.abs(pa - pb))) if pa.shape == pb.shape and pa.size else float("inf")
                result["maxProbabilityDiff"] = finite(max_p)
            result["identical"] = bool(result["labelAgreement"] == 1.0 and max_p <= tol)
        else:
            ya = np.asarray(ea.predict(x), dtype=np.float64)
            yb = np.asarray(eb.predict(x), dtype=np.float64)
            d = np.abs(ya - yb)
            denom = np.maximum(np.abs(ya), np.abs(yb))
            with np.errstate(divide="ignore", invalid="ignore"):
                rel = np.where(denom > 0, d / denom, 0.0)
            result["task"] = "regressor"
            result["maxAbsDiff"] = finite(float(np.max(d)) if d.size else 0.0)
            result["maxRelDiff"] = finite(float(np.max(rel)) if rel.size else 0.0)
            result["identical"] = bool((float(np.max(d)) if d.size else 0.0) <= tol)
    except Exception as e:  # noqa: BLE001 - the comparison failed; say so, the verdict stands
        result["problem"] = f"{type(e).__name__}: {e}"
    return result


def main():
    with open(sys.argv[1]) as f:
        request = json.load(f)
    out = {"artifacts": [], "functional": None, "problems": []}
    for name in request.get("artifacts", []):
        try:
            out["artifacts"].append(compare_artifact(name))
        except Exception as e:  # noqa: BLE001
            out["artifacts"].append({"path": name, "kind": "binary", "problem": f"comparator failed: {type(e).__name__}: {e}"})
            out["problems"].append(f"{name}: " + traceback.format_exc(limit=2).strip().splitlines()[-1])
    if request.get("probe"):
        if np is None:
            out["functional"] = {"artifact": request["probe"]["artifact"], "probeSet": request["probe"]["file"],
                                 "problem": "numpy is not in the recorded image"}
        else:
            out["functional"] = functional(request["probe"])
    with open(os.path.join(RESULT, "explain.json"), "w") as f:
        json.dump(out, f, allow_nan=False, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
