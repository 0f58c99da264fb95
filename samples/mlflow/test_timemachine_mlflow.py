"""Tests of timemachine_mlflow.record_triplet against a throwaway local MLflow store (no server).

Run with the venv scripts/mlflow.sh installs:
  $(scripts/mlflow.sh python) -m unittest discover -s samples/mlflow -v
"""

import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import unittest
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# MLflow 3 would otherwise send usage telemetry off the machine; tests stay on loopback.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

import mlflow  # noqa: E402

import timemachine_mlflow as tm  # noqa: E402

IMAGE = "127.0.0.1:5000/timemachine/churn-env@sha256:" + "a" * 64
ROOT = "sha256:" + "b" * 64
COMMIT = "c" * 40


class RecordTripletTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        warnings.simplefilter("ignore")
        mlflow.set_tracking_uri("sqlite:///" + os.path.join(self.tmp.name, "mlflow.db"))
        # Artifacts in the temp dir too: with a database store they default to ./mlruns in the cwd.
        artifacts = "file://" + os.path.join(self.tmp.name, "artifacts")
        mlflow.set_experiment(experiment_id=mlflow.create_experiment("t", artifact_location=artifacts))
        self.out = os.path.join(self.tmp.name, "out")
        os.makedirs(os.path.join(self.out, "sub"))
        with open(os.path.join(self.out, "model.pkl"), "wb") as f:
            f.write(b"\x00model")
        with open(os.path.join(self.out, "metrics.json"), "w") as f:
            json.dump({"accuracy": 0.9, "f1": 0.75}, f)
        with open(os.path.join(self.out, "sub", "notes.txt"), "w") as f:
            f.write("x")

    def record(self, **overrides):
        args = dict(
            image=IMAGE, snapshot_uri="s3://b/snap", root_digest=ROOT, file_count=2, total_bytes=10,
            entry_point=["python3", "train.py"], repo_url="https://git.example/r.git", commit=COMMIT,
        )
        args.update(overrides)
        return tm.record_triplet(self.out, **args)

    def test_one_call_records_tags_metrics_dataset_and_outputs(self):
        with mlflow.start_run() as run:
            self.record(working_dir="samples/churn", tolerances={"f1": "abs:0.01", "accuracy": {"rel": 0.001}})
        got = mlflow.MlflowClient().get_run(run.info.run_id)
        tags = got.data.tags
        self.assertEqual(tags["mlflow.source.git.commit"], COMMIT)
        self.assertEqual(tags["mlflow.source.git.repoURL"], "https://git.example/r.git")
        self.assertEqual(json.loads(tags["timemachine.entry_point"]), ["python3", "train.py"])
        self.assertEqual(tags["timemachine.working_dir"], "samples/churn")
        self.assertEqual(tags["timemachine.image"], IMAGE)
        self.assertEqual(tags["timemachine.data.root_digest"], ROOT)
        self.assertEqual(tags["timemachine.data.file_count"], "2")
        self.assertEqual(tags["timemachine.tolerance.f1"], "abs:0.01")
        self.assertEqual(tags["timemachine.tolerance.accuracy"], "rel:0.001")
        self.assertEqual(got.data.metrics, {"accuracy": 0.9, "f1": 0.75})
        dataset = got.inputs.dataset_inputs[0].dataset
        self.assertEqual(dataset.source_type, "timemachine")
        self.assertEqual(json.loads(dataset.profile)["root_digest"], ROOT)
        listed = {a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id, tm.OUTPUTS_DIR)}
        self.assertEqual(listed, {tm.OUTPUTS_DIR + "/metrics.json", tm.OUTPUTS_DIR + "/model.pkl", tm.OUTPUTS_DIR + "/sub"})

    def test_the_training_containers_mlflow_store_is_not_an_output(self):
        os.makedirs(os.path.join(self.out, ".mlruns", "0", "abc"))
        with open(os.path.join(self.out, ".mlruns", "0", "abc", "meta.yaml"), "w") as f:
            f.write("start_time: 1\n")
        with mlflow.start_run() as run:
            result = self.record()
        self.assertEqual(result["artifacts"], ["metrics.json", "model.pkl", "sub/notes.txt"])
        client = mlflow.MlflowClient()
        listed = {a.path for a in client.list_artifacts(run.info.run_id, tm.OUTPUTS_DIR)}
        self.assertEqual(listed, {tm.OUTPUTS_DIR + "/metrics.json", tm.OUTPUTS_DIR + "/model.pkl", tm.OUTPUTS_DIR + "/sub"})
        self.assertEqual([a.path for a in client.list_artifacts(run.info.run_id, tm.OUTPUTS_DIR + "/sub")],
                         [tm.OUTPUTS_DIR + "/sub/notes.txt"])

    def test_each_run_keeps_its_own_snapshot_in_its_dataset_input(self):
        # MLflow links runs that log a dataset of the same name and digest to the first one's source;
        # the same content at another URI must still show that run's own URI.
        runs = []
        for uri in ("file:///first/snapshots/abc", "s3://second/snapshots/abc"):
            with mlflow.start_run() as run:
                self.record(snapshot_uri=uri)
            runs.append((run.info.run_id, uri))
        for run_id, uri in runs:
            dataset = mlflow.MlflowClient().get_run(run_id).inputs.dataset_inputs[0].dataset
            self.assertEqual(json.loads(dataset.source), {"uri": uri})

    def test_bad_arguments_fail_before_anything_is_logged(self):
        cases = {
            "image must be": dict(image="churn-env:latest"),
            "root_digest must be": dict(root_digest="abc"),
            "commit must be a full 40-hex": dict(commit="abc123"),
            "file_count must be": dict(file_count=-1),
            "entry_point must be": dict(entry_point=[]),
            "working_dir must be": dict(working_dir="../x"),
            "a tolerance is given for metric 'auc'": dict(tolerances={"auc": "abs:0.1"}),
            "tolerance for 'f1' must look like": dict(tolerances={"f1": "within:0.1"}),
            "metrics_file 'm.json' is not among the outputs": dict(metrics_file="m.json"),
        }
        for expected, override in cases.items():
            with self.subTest(expected), mlflow.start_run() as run:
                with self.assertRaises(tm.TripletError) as caught:
                    self.record(**override)
                self.assertIn(expected, str(caught.exception))
                logged = mlflow.MlflowClient().get_run(run.info.run_id)
                self.assertNotIn("timemachine.image", logged.data.tags)

    def test_without_an_active_run_it_says_how_to_start_one(self):
        with self.assertRaises(tm.TripletError) as caught:
            self.record()
        self.assertIn("no active MLflow run", str(caught.exception))

    def test_repository_and_commit_are_detected_from_the_git_checkout(self):
        repo = os.path.join(self.tmp.name, "repo")
        os.makedirs(repo)
        git = ["git", "-C", repo, "-c", "user.email=t@t", "-c", "user.name=t"]
        subprocess.run(git + ["init", "-q"], check=True)
        subprocess.run(git + ["commit", "-q", "--allow-empty", "-m", "x"], check=True)
        subprocess.run(git + ["remote", "add", "origin", "https://git.example/detected.git"], check=True)
        head = subprocess.run(git + ["rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
        cwd = os.getcwd()
        os.chdir(repo)
        try:
            with mlflow.start_run() as run:
                self.record(repo_url=None, commit=None)
        finally:
            os.chdir(cwd)
        tags = mlflow.MlflowClient().get_run(run.info.run_id).data.tags
        self.assertEqual(tags["mlflow.source.git.commit"], head)
        self.assertEqual(tags["mlflow.source.git.repoURL"], "https://git.example/detected.git")



class RecordRunArgumentsTest(unittest.TestCase):
    """record_run.py takes the snapshot as the JSON of `timemachine snapshot create --json`, or as four flags."""

    BASE = ["--output-dir", "out", "--model", "m", "--image", IMAGE, "--entry-point", '["python3", "train.py"]']

    def setUp(self):
        import record_run
        self.record_run = record_run
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def _snapshot_file(self, content):
        path = os.path.join(self.tmp.name, "snapshot.json")
        with open(path, "w", encoding="utf-8") as f:
            f.write(content)
        return path

    def test_the_snapshot_json_of_the_cli_fills_the_four_data_fields(self):
        path = self._snapshot_file(json.dumps(
            {"snapshotUri": "s3://b/snapshots/" + "b" * 64, "rootDigest": ROOT, "fileCount": 2, "totalBytes": 99}))
        args = self.record_run.parse_args(self.BASE + ["--snapshot", path])
        self.assertEqual((args.snapshot_uri, args.root_digest, args.file_count, args.total_bytes),
                         ("s3://b/snapshots/" + "b" * 64, ROOT, 2, 99))

    def test_the_snapshot_json_and_the_four_flags_do_not_mix(self):
        path = self._snapshot_file("{}")
        with self.assertRaises(SystemExit), contextlib.redirect_stderr(io.StringIO()) as err:
            self.record_run.parse_args(self.BASE + ["--snapshot", path, "--root-digest", ROOT])
        self.assertIn("give one or the other", err.getvalue())

    def test_a_file_that_is_not_the_snapshot_json_is_refused_by_name(self):
        path = self._snapshot_file('{"snapshotUri": "s3://b/x"}')
        with self.assertRaises(SystemExit), contextlib.redirect_stderr(io.StringIO()) as err:
            self.record_run.parse_args(self.BASE + ["--snapshot", path])
        self.assertIn("not the JSON of `timemachine snapshot create --json`", err.getvalue())

    def test_without_a_snapshot_the_missing_flags_are_named(self):
        with self.assertRaises(SystemExit), contextlib.redirect_stderr(io.StringIO()) as err:
            self.record_run.parse_args(self.BASE + ["--snapshot-uri", "s3://b/x", "--file-count", "1"])
        self.assertIn("--root-digest, --total-bytes", err.getvalue())


if __name__ == "__main__":
    unittest.main()
