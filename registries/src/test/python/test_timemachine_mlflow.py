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

HERE = os.path.dirname(os.path.abspath(__file__))
# The helper is product code in src/main/python; its tests live apart from it, in src/test/python.
sys.path.insert(0, os.path.join(HERE, "..", "..", "main", "python"))
sys.path.insert(0, HERE)
# MLflow 3 would otherwise send usage telemetry off the machine; tests stay on loopback.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

import mlflow  # noqa: E402

import timemachine_mlflow as tm  # noqa: E402

IMAGE = "127.0.0.1:5000/timemachine/churn-env@sha256:" + "a" * 64
ROOT = "sha256:" + "b" * 64


def _git(repo, *args):
    return subprocess.run(["git", "-C", repo, "-c", "user.email=t@t", "-c", "user.name=t", *args],
                          check=True, capture_output=True, text=True).stdout.strip()


def _origin_and_clone(root):
    """A bare "origin" and a clone of it with two pushed commits; returns (origin, clone, older, newer)."""
    origin = os.path.join(root, "origin.git")
    clone = os.path.join(root, "clone")
    subprocess.run(["git", "init", "-q", "--bare", origin], check=True)
    subprocess.run(["git", "clone", "-q", origin, clone], check=True, capture_output=True)
    _git(clone, "commit", "-q", "--allow-empty", "-m", "older")
    older = _git(clone, "rev-parse", "HEAD")
    _git(clone, "commit", "-q", "--allow-empty", "-m", "newer")
    newer = _git(clone, "rev-parse", "HEAD")
    _git(clone, "push", "-q", "origin", "HEAD:refs/heads/main")
    return origin, clone, older, newer


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
        self.origin, self.clone, self.older, self.commit = _origin_and_clone(self.tmp.name)

    def record(self, **overrides):
        args = dict(
            image=IMAGE, snapshot_uri="s3://b/snap", root_digest=ROOT, file_count=2, total_bytes=10,
            entry_point=["python3", "train.py"], repo_url=self.origin, commit=self.commit,
        )
        args.update(overrides)
        return tm.record_triplet(self.out, **args)

    def test_one_call_records_tags_metrics_dataset_and_outputs(self):
        with mlflow.start_run() as run:
            self.record(working_dir="samples/churn", tolerances={"f1": "abs:0.01", "accuracy": {"rel": 0.001}})
        got = mlflow.MlflowClient().get_run(run.info.run_id)
        tags = got.data.tags
        self.assertEqual(tags["mlflow.source.git.commit"], self.commit)
        self.assertEqual(tags["mlflow.source.git.repoURL"], self.origin)
        self.assertNotIn("timemachine.code.unpushed", tags)
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
        repo = self.clone
        head = self.commit
        cwd = os.getcwd()
        os.chdir(repo)
        try:
            with mlflow.start_run() as run:
                self.record(repo_url=None, commit=None)
        finally:
            os.chdir(cwd)
        tags = mlflow.MlflowClient().get_run(run.info.run_id).data.tags
        self.assertEqual(tags["mlflow.source.git.commit"], head)
        self.assertEqual(tags["mlflow.source.git.repoURL"], self.origin)

    def test_a_commit_behind_a_branch_tip_is_reachable(self):
        with mlflow.start_run() as run:
            self.record(commit=self.older)
        tags = mlflow.MlflowClient().get_run(run.info.run_id).data.tags
        self.assertEqual(tags["mlflow.source.git.commit"], self.older)
        self.assertNotIn("timemachine.code.unpushed", tags)

    def test_an_unpushed_commit_is_refused_with_the_fix_before_anything_is_logged(self):
        _git(self.clone, "commit", "-q", "--allow-empty", "-m", "local only")
        unpushed = _git(self.clone, "rev-parse", "HEAD")
        with mlflow.start_run() as run:
            with self.assertRaises(tm.TripletError) as caught:
                self.record(commit=unpushed)
        self.assertEqual(
            str(caught.exception),
            f"commit {unpushed} is not reachable from {self.origin} (no branch or tag of it contains it): "
            f"push it (git push origin HEAD) or pass allow_unpushed=True (record_run.py: --allow-unpushed)")
        self.assertNotIn("timemachine.image", mlflow.MlflowClient().get_run(run.info.run_id).data.tags)

    def test_allow_unpushed_records_it_as_a_tag(self):
        _git(self.clone, "commit", "-q", "--allow-empty", "-m", "local only")
        unpushed = _git(self.clone, "rev-parse", "HEAD")
        with mlflow.start_run() as run:
            self.record(commit=unpushed, allow_unpushed=True)
        tags = mlflow.MlflowClient().get_run(run.info.run_id).data.tags
        self.assertEqual(tags["timemachine.code.unpushed"], "true")
        self.assertEqual(tags["mlflow.source.git.commit"], unpushed)

    def test_a_repository_that_cannot_be_reached_is_not_called_unpushed(self):
        missing = os.path.join(self.tmp.name, "no-such-repo.git")
        with mlflow.start_run():
            with self.assertRaises(tm.RepositoryUnreachableError) as caught:
                self.record(repo_url=missing, allow_unpushed=True)
        self.assertIn(f"repository {missing} cannot be reached", str(caught.exception))
        self.assertNotIn("not reachable from", str(caught.exception))



class RecordRunFailureTest(unittest.TestCase):
    """A record_run.py that fails leaves no empty FAILED run behind: it deletes the run it started."""

    def test_a_refused_recording_deletes_its_run(self):
        import record_run
        from mlflow.entities import ViewType

        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        origin, clone, _, _ = _origin_and_clone(tmp.name)
        _git(clone, "commit", "-q", "--allow-empty", "-m", "local only")
        unpushed = _git(clone, "rev-parse", "HEAD")
        out = os.path.join(tmp.name, "out")
        os.makedirs(out)
        with open(os.path.join(out, "model.pkl"), "wb") as f:
            f.write(b"m")
        uri = "sqlite:///" + os.path.join(tmp.name, "mlflow.db")
        mlflow.set_tracking_uri(uri)
        mlflow.create_experiment("rr", artifact_location="file://" + os.path.join(tmp.name, "artifacts"))
        argv = ["--tracking-uri", uri, "--experiment", "rr", "--output-dir", out, "--model", "m", "--image", IMAGE,
                "--snapshot-uri", "s3://b/x", "--root-digest", ROOT, "--file-count", "1", "--total-bytes", "1",
                "--entry-point", "python3 train.py", "--repo-url", origin, "--commit", unpushed, "--metrics-file", ""]

        with contextlib.redirect_stderr(io.StringIO()) as err:
            code = record_run.main(argv)

        self.assertEqual(code, 2)
        self.assertIn(f"commit {unpushed} is not reachable from {origin}", err.getvalue())
        client = mlflow.MlflowClient()
        experiment = client.get_experiment_by_name("rr").experiment_id
        self.assertEqual(client.search_runs([experiment], run_view_type=ViewType.ACTIVE_ONLY), [], "no run left visible")
        deleted = client.search_runs([experiment], run_view_type=ViewType.DELETED_ONLY)
        self.assertEqual(len(deleted), 1, "the started run, deleted")


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
