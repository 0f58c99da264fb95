#!/usr/bin/env python3
"""Log a finished training run into MLflow with its triplet, register it as a model version, alias it.

The host-side half of recording: training containers run without network, so the training writes
its outputs to a directory and this command (on the host, with MLflow reachable) starts a run in an
experiment, calls timemachine_mlflow.record_triplet, registers the run's outputs as a new version of
the named model and, if asked, points an alias at it. It prints one JSON line:
{"name": ..., "version": ..., "run_id": ...}.

Example:
  MLFLOW_TRACKING_URI=http://127.0.0.1:5050 python record_run.py \
    --output-dir /tmp/out --model churn --alias champion \
    --image 127.0.0.1:5000/timemachine/churn-env@sha256:<64 hex> \
    --snapshot-uri s3://timemachine/snapshots/churn --root-digest sha256:<64 hex> \
    --file-count 1 --total-bytes 48213 --entry-point '["python3", "train.py"]' \
    --tolerance f1=abs:0.01
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import timemachine_mlflow  # noqa: E402


def _key_value(text):
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def _entry_point(text):
    if text.lstrip().startswith("["):
        try:
            return json.loads(text)
        except ValueError as e:
            raise argparse.ArgumentTypeError(f"--entry-point is not a JSON list: {e}") from None
    return text


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--output-dir", required=True, help="the directory the training wrote its outputs to")
    p.add_argument("--model", required=True, help="registered model name")
    p.add_argument("--alias", action="append", default=[], help="alias to point at the new version (repeatable)")
    p.add_argument("--experiment", default="timemachine-training", help="experiment of the run (created if missing)")
    p.add_argument("--run-name", default=None)
    p.add_argument("--tracking-uri", default=None, help="default: MLFLOW_TRACKING_URI")
    p.add_argument("--image", required=True)
    p.add_argument("--snapshot", default=None, metavar="FILE",
                   help="the JSON that `timemachine snapshot create DIR URI --json` printed (or - for stdin);"
                        " instead of the four flags below")
    p.add_argument("--snapshot-uri")
    p.add_argument("--root-digest")
    p.add_argument("--file-count", type=int)
    p.add_argument("--total-bytes", type=int)
    p.add_argument("--entry-point", required=True, type=_entry_point,
                   help="JSON argv list, e.g. '[\"python3\", \"train.py\"]', or a shell-quoted string")
    p.add_argument("--working-dir", default=".")
    p.add_argument("--repo-url", default=None, help="default: git remote get-url origin (in the current directory)")
    p.add_argument("--commit", default=None, help="default: git rev-parse HEAD (in the current directory)")
    p.add_argument("--metrics-file", default="metrics.json", help="'' when the training writes no metrics")
    p.add_argument("--tolerance", action="append", default=[], type=_key_value, metavar="METRIC=SPEC",
                   help="e.g. f1=abs:0.01,rel:0.001 (repeatable)")
    p.add_argument("--tag", action="append", default=[], type=_key_value, metavar="KEY=VALUE",
                   help="an extra run tag (repeatable)")
    p.add_argument("--dataset", action="append", default=[], type=_key_value, metavar="PATH=FILE",
                   help="log FILE (CSV or Parquet, read with pandas) as a dataset input named PATH, its path in the"
                        " snapshot: its column schema becomes the version's contract (repeatable)")
    p.add_argument("--allow-unpushed", action="store_true",
                   help="record even if no branch or tag of the repository contains the commit"
                        " (tagged timemachine.code.unpushed=true; every replay report warns)")
    args = p.parse_args(argv)
    for path, file in args.dataset:
        if not os.path.isfile(file):
            p.error(f"--dataset {path}={file}: no such file")
    four = ("snapshot_uri", "root_digest", "file_count", "total_bytes")
    if args.snapshot is not None:
        if any(getattr(args, name) is not None for name in four):
            p.error("--snapshot replaces --snapshot-uri, --root-digest, --file-count and --total-bytes: give one or the other")
        try:
            with (sys.stdin if args.snapshot == "-" else open(args.snapshot, encoding="utf-8")) as f:
                snapshot = json.load(f)
            args.snapshot_uri = snapshot["snapshotUri"]
            args.root_digest = snapshot["rootDigest"]
            args.file_count = int(snapshot["fileCount"])
            args.total_bytes = int(snapshot["totalBytes"])
        except (OSError, ValueError, KeyError, TypeError) as e:
            p.error(f"--snapshot {args.snapshot}: not the JSON of `timemachine snapshot create --json` ({e!r})")
    else:
        missing = ["--" + name.replace("_", "-") for name in four if getattr(args, name) is None]
        if missing:
            p.error("the data snapshot is needed: --snapshot FILE, or " + ", ".join(missing))
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    # MLflow prints "View run ..." lines to stdout; keep stdout for the one JSON line callers parse.
    with contextlib.redirect_stdout(sys.stderr):
        result = _record(args)
    if isinstance(result, int):
        return result
    print(json.dumps(result))
    return 0


def _record(args):
    import mlflow
    from mlflow.exceptions import MlflowException

    if args.tracking_uri:
        mlflow.set_tracking_uri(args.tracking_uri)
    client = mlflow.MlflowClient()
    mlflow.set_experiment(args.experiment)
    run_id = None
    try:
        with mlflow.start_run(run_name=args.run_name, tags=dict(args.tag)) as run:
            run_id = run.info.run_id
            timemachine_mlflow.record_triplet(
                args.output_dir,
                image=args.image,
                snapshot_uri=args.snapshot_uri,
                root_digest=args.root_digest,
                file_count=args.file_count,
                total_bytes=args.total_bytes,
                entry_point=args.entry_point,
                working_dir=args.working_dir,
                repo_url=args.repo_url,
                commit=args.commit,
                metrics_file=args.metrics_file or None,
                tolerances=dict(args.tolerance),
                allow_unpushed=args.allow_unpushed,
            )
            _log_datasets(args.dataset)
            artifact_uri = run.info.artifact_uri
    except timemachine_mlflow.TripletError as e:
        _delete_failed_run(client, run_id)
        print(f"record_run: {e}", file=sys.stderr)
        return 2
    except BaseException:
        _delete_failed_run(client, run_id)
        raise

    try:
        client.create_registered_model(args.model)
    except MlflowException as e:
        if e.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    source = f"{artifact_uri.rstrip('/')}/{timemachine_mlflow.OUTPUTS_DIR}"
    version = client.create_model_version(args.model, source=source, run_id=run_id)
    for _ in range(300):
        if version.status == "READY":
            break
        if version.status == "FAILED_REGISTRATION":
            print(f"record_run: registration of {args.model} failed: {version.status_message}", file=sys.stderr)
            return 1
        time.sleep(1)
        version = client.get_model_version(args.model, version.version)
    for alias in args.alias:
        client.set_registered_model_alias(args.model, alias, version.version)
    return {"name": args.model, "version": str(version.version), "run_id": run_id}


def _log_datasets(datasets):
    """Logs each file as a dataset input named by its path in the snapshot, with its column schema."""
    if not datasets:
        return
    import mlflow
    import pandas as pd

    for path, file in datasets:
        frame = pd.read_parquet(file) if file.lower().endswith(".parquet") else pd.read_csv(file)
        dataset = mlflow.data.from_pandas(frame, source=os.path.abspath(file), name=path)
        mlflow.log_input(dataset, context="training")


def _delete_failed_run(client, run_id):
    """Deletes the run a failed recording started, so no empty FAILED run is left to be mistaken for one.

    Deleted, not tagged: a run without its triplet can never be replayed, and MLflow keeps a deleted run
    restorable (``mlflow gc`` removes it for good); the reason is printed on stderr instead.
    """
    if run_id is None:
        return
    try:
        client.delete_run(run_id)
    except Exception as e:  # the recording's own failure is the one to report
        print(f"record_run: could not delete the failed run {run_id}: {e}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
