"""Record a training run's triplet on an MLflow run, so that timemachine can replay it.

One call, after training has written its outputs::

    import mlflow
    import timemachine_mlflow

    with mlflow.start_run():
        ...  # train; write model.pkl and metrics.json to out_dir
        timemachine_mlflow.record_triplet(
            out_dir,
            image="127.0.0.1:5000/timemachine/churn-env@sha256:<64 hex>",
            snapshot_uri="s3://timemachine/snapshots/churn-2026-01",
            root_digest="sha256:<64 hex>",
            file_count=1,
            total_bytes=48213,
            entry_point=["python3", "train.py"],
        )

It sets MLflow's own ``mlflow.source.git.repoURL`` / ``mlflow.source.git.commit`` tags (detected from
the git checkout in the current directory unless given), the ``timemachine.*`` tags for what MLflow has
no field for (image digest, data snapshot, entry point), logs a dataset input describing the snapshot,
logs the metrics file's numbers as run metrics, and logs every file of ``output_dir`` as artifacts
under ``timemachine/outputs/``. The conventions are in docs/mlflow.md; the Java side that reads them is
``dev.timemachine.registries.mlflow.MlflowRegistry``.

Training containers run without network, so a training script that cannot reach MLflow writes its
outputs and a host-side wrapper (see ``record_run.py``) makes this call afterwards.

Everything is validated before anything is logged, so a bad argument leaves the run untouched.
Only the standard library and mlflow are used.
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import subprocess
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from typing import Optional, Union

__all__ = ["record_triplet", "TripletError", "RepositoryUnreachableError", "OUTPUTS_DIR", "TAGS"]

#: Where the output files are logged, relative to the run's artifact root.
OUTPUTS_DIR = "timemachine/outputs"

#: The tag names timemachine reads (see docs/mlflow.md).
TAGS = {
    "repo_url": "mlflow.source.git.repoURL",
    "commit": "mlflow.source.git.commit",
    "entry_point": "timemachine.entry_point",
    "working_dir": "timemachine.working_dir",
    "unpushed": "timemachine.code.unpushed",
    "image": "timemachine.image",
    "snapshot_uri": "timemachine.data.snapshot_uri",
    "root_digest": "timemachine.data.root_digest",
    "file_count": "timemachine.data.file_count",
    "total_bytes": "timemachine.data.total_bytes",
    "outputs_dir": "timemachine.outputs_dir",
    "metrics_file": "timemachine.metrics_file",
    "tolerance_prefix": "timemachine.tolerance.",
}

#: The dataset input's source type, which tells timemachine the dataset describes a snapshot.
DATASET_SOURCE_TYPE = "timemachine"

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE = re.compile(
    r"^" + _COMPONENT + r"(?::[0-9]+)?(?:/" + _COMPONENT + r")*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?@sha256:[0-9a-f]{64}$"
)
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_TOLERANCE_PART = re.compile(r"^(abs|rel):([0-9.eE+-]+)$")


class TripletError(ValueError):
    """An argument of record_triplet is missing or malformed; nothing was logged."""


class RepositoryUnreachableError(TripletError):
    """The repository URL cannot be reached at all (not the same as a commit that is not pushed)."""


def record_triplet(
    output_dir: Union[str, os.PathLike],
    *,
    image: str,
    snapshot_uri: str,
    root_digest: str,
    file_count: int,
    total_bytes: int,
    entry_point: Union[str, Sequence[str]],
    working_dir: str = ".",
    repo_url: Optional[str] = None,
    commit: Optional[str] = None,
    metrics_file: Optional[str] = "metrics.json",
    tolerances: Optional[Mapping[str, Union[str, Mapping[str, float]]]] = None,
    run_id: Optional[str] = None,
    allow_unpushed: bool = False,
) -> dict:
    """Records the triplet and outputs of a training run on the active MLflow run.

    Args:
      output_dir: the directory the training wrote its outputs to; every file in it (but the MLflow
        store .mlruns/ of the training container) is logged and will be compared, by relative path
        and SHA-256, with a replay's outputs.
      image: the environment image pinned by digest, ``repository[:tag]@sha256:<64 hex>``.
      snapshot_uri: where the data snapshot is (e.g. ``s3://bucket/snapshots/x``).
      root_digest: the snapshot's root digest, ``sha256:<64 hex>``.
      file_count: the number of files in the snapshot.
      total_bytes: their total size.
      entry_point: the training command as an argv list (a string is split like a shell would).
      working_dir: where the entry point runs, relative to the repository root.
      repo_url: the git repository; detected from ``git remote get-url origin`` if not given.
      commit: the full 40-hex commit; detected from ``git rev-parse HEAD`` if not given.
      metrics_file: a flat JSON object name -> number inside output_dir, logged as run metrics;
        None when the training writes no metrics.
      tolerances: per metric, how far a replay may drift: ``"abs:0.01"``, ``"rel:0.001"``,
        ``"abs:0.01,rel:0.001"`` or ``{"abs": 0.01, "rel": 0.001}``.
      run_id: the run to record on; the active run if not given.
      allow_unpushed: record even if no branch or tag of repo_url contains commit (a replay then fails
        until it is pushed); recorded as the tag ``timemachine.code.unpushed=true``, which every replay
        report shows as a warning.

    Returns:
      the tags that were set, the metrics that were logged and the run id.

    Raises:
      TripletError: an argument is missing or malformed, or the commit is not pushed (nothing was logged).
      RepositoryUnreachableError: ``git ls-remote`` cannot reach repo_url at all (nothing was logged).
    """
    import mlflow  # imported here so that validation errors do not depend on mlflow's import time

    files = _output_files(output_dir)
    image = _require_match(image, _IMAGE, "image", "<repository>[:tag]@sha256:<64 hex> (a tag alone moves; "
                           "record the digest, e.g. docker inspect --format '{{index .RepoDigests 0}}' IMAGE)")
    if not isinstance(snapshot_uri, str) or not snapshot_uri.strip():
        raise TripletError("snapshot_uri is required (where the data snapshot is, e.g. s3://bucket/snapshots/x)")
    root_digest = _require_match(root_digest, _DIGEST, "root_digest", "sha256:<64 lowercase hex>")
    file_count = _require_count(file_count, "file_count")
    total_bytes = _require_count(total_bytes, "total_bytes")
    argv = _entry_point(entry_point)
    working_dir = _relative_dir(working_dir)
    repo_url, commit = _code(repo_url, commit)
    metrics = _metrics(output_dir, files, metrics_file)
    tolerance_tags = _tolerances(tolerances, metrics)
    # Last of the checks, since it may fetch the repository: the cheap ones fail first.
    unpushed = not _reachable(repo_url, commit)
    if unpushed and not allow_unpushed:
        raise TripletError(
            f"commit {commit} is not reachable from {repo_url} (no branch or tag of it contains it): "
            f"push it (git push origin HEAD) or pass allow_unpushed=True (record_run.py: --allow-unpushed)"
        )
    if unpushed:
        warnings.warn(f"commit {commit} is not reachable from {repo_url}: recording it anyway (allow_unpushed=True)", stacklevel=2)

    tags = {
        TAGS["repo_url"]: repo_url,
        TAGS["commit"]: commit,
        TAGS["entry_point"]: json.dumps(argv),
        TAGS["working_dir"]: working_dir,
        TAGS["image"]: image,
        TAGS["snapshot_uri"]: snapshot_uri,
        TAGS["root_digest"]: root_digest,
        TAGS["file_count"]: str(file_count),
        TAGS["total_bytes"]: str(total_bytes),
        TAGS["outputs_dir"]: OUTPUTS_DIR,
        TAGS["metrics_file"]: metrics_file or "",
    }
    if unpushed:
        tags[TAGS["unpushed"]] = "true"
    tags.update(tolerance_tags)

    client = mlflow.MlflowClient()
    if run_id is None:
        active = mlflow.active_run()
        if active is None:
            raise TripletError("no active MLflow run: call record_triplet inside `with mlflow.start_run():` or pass run_id=")
        run_id = active.info.run_id

    for key, value in tags.items():
        client.set_tag(run_id, key, value)
    if metrics:
        client.log_batch(run_id, metrics=[_metric(k, v) for k, v in sorted(metrics.items())])
    _log_dataset(client, run_id, snapshot_uri, root_digest, file_count, total_bytes)
    # File by file, not log_artifacts(output_dir): the MLflow store of the training container
    # (output_dir/.mlruns) is not an output, as in timemachine's own collection.
    for relative in files:
        parent = os.path.dirname(relative)
        client.log_artifact(run_id, os.path.join(os.fspath(output_dir), relative),
                            artifact_path=OUTPUTS_DIR + ("/" + parent if parent else ""))
    return {"run_id": run_id, "tags": tags, "metrics": metrics, "artifacts": sorted(files)}


# The training container's MLflow file store (MLFLOW_TRACKING_URI=file:///out/.mlruns); OutputRules.MLFLOW_SCRATCH_DIR.
MLFLOW_SCRATCH_DIR = ".mlruns"


def _output_files(output_dir) -> list:
    root = os.fspath(output_dir)
    if not os.path.isdir(root):
        raise TripletError(f"output_dir '{root}' is not a directory")
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        if dirpath == root and MLFLOW_SCRATCH_DIR in dirnames:
            dirnames.remove(MLFLOW_SCRATCH_DIR)  # what the run logged to MLflow inside its container
        dirnames.sort()
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            if os.path.islink(full) or not os.path.isfile(full):
                raise TripletError(f"output '{full}' is not a regular file (symlinks and special files cannot be compared)")
            files.append(os.path.relpath(full, root).replace(os.sep, "/"))
    if not files:
        raise TripletError(f"output_dir '{root}' has no files: there would be nothing to compare a replay with")
    return files


def _require_match(value, pattern, name, expected) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise TripletError(f"{name} must be {expected}, got {value!r}")
    return value


def _require_count(value, name) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TripletError(f"{name} must be a non-negative integer, got {value!r}")
    return value


def _entry_point(entry_point) -> list:
    argv = shlex.split(entry_point) if isinstance(entry_point, str) else entry_point
    if (
        not isinstance(argv, (list, tuple))
        or not argv
        or not all(isinstance(a, str) for a in argv)
    ):
        raise TripletError(f"entry_point must be a non-empty argv list of strings, e.g. ['python3', 'train.py'], got {entry_point!r}")
    return list(argv)


def _relative_dir(path) -> str:
    if path in (None, "", "."):
        return "."
    if not isinstance(path, str) or path.startswith("/") or "\\" in path or any(
        seg in ("", ".", "..") for seg in path.split("/")
    ):
        raise TripletError(f"working_dir must be a relative path inside the repository such as 'src' or '.', got {path!r}")
    return path


def _git(*args) -> Optional[str]:
    try:
        out = subprocess.run(["git", *args], check=True, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def _code(repo_url, commit):
    if commit is None:
        commit = _git("rev-parse", "HEAD")
        if commit is None:
            raise TripletError("commit was not given and the current directory is not a git checkout: pass commit=<40-hex SHA>")
        if _git("status", "--porcelain", "--untracked-files=no"):
            warnings.warn(
                f"the git checkout has uncommitted changes to tracked files: commit {commit} is not exactly the code that ran",
                stacklevel=3,
            )
    if not isinstance(commit, str) or not _COMMIT.match(commit):
        raise TripletError(f"commit must be a full 40-hex commit SHA (branches and tags move), got {commit!r}")
    if repo_url is None:
        repo_url = _git("remote", "get-url", "origin")
        if not repo_url:
            raise TripletError("repo_url was not given and the git checkout has no 'origin' remote: pass repo_url=")
    if not isinstance(repo_url, str) or not repo_url.strip():
        raise TripletError(f"repo_url must be a git repository URL, got {repo_url!r}")
    return repo_url, commit


def _run_git(args, what):
    """Runs git with a timeout; a git that fails means the repository cannot be reached."""
    try:
        done = subprocess.run(["git", *args], capture_output=True, text=True, timeout=300,
                              env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})
    except (OSError, subprocess.SubprocessError) as e:
        raise RepositoryUnreachableError(f"repository {what} cannot be reached: {e}") from None
    return done


def _reachable(repo_url, commit) -> bool:
    """Whether a branch or tag of repo_url contains commit, as the Java side checks at registration.

    ``git ls-remote`` first: cheap, and enough when a branch or tag points at the commit (the usual
    case right after a push). Otherwise every branch and tag is fetched into a temporary bare
    repository, and the commit must be there and contained in one of them (a commit behind a tip
    is as reachable as the tip).
    """
    listed = _run_git(["ls-remote", "--heads", "--tags", repo_url], repo_url)
    if listed.returncode != 0:
        reason = " ".join(listed.stderr.split()) or f"git ls-remote exited {listed.returncode}"
        raise RepositoryUnreachableError(
            f"repository {repo_url} cannot be reached: {reason} (check repo_url, e.g. git remote get-url origin)")
    if any(line.split("\t", 1)[0] == commit for line in listed.stdout.splitlines()):
        return True
    with tempfile.TemporaryDirectory(prefix="timemachine-fetch-") as bare:
        git = ["-C", bare]
        if _run_git(["init", "-q", "--bare", bare], repo_url).returncode != 0:
            raise TripletError(f"could not create a temporary repository in {bare} to fetch {repo_url} into")
        fetched = _run_git(git + ["fetch", "-q", "--no-tags", repo_url,
                                  "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"], repo_url)
        if fetched.returncode != 0:
            reason = " ".join(fetched.stderr.split()) or f"git fetch exited {fetched.returncode}"
            raise RepositoryUnreachableError(f"repository {repo_url} cannot be reached: {reason}")
        if _run_git(git + ["cat-file", "-e", commit + "^{commit}"], repo_url).returncode != 0:
            return False
        containing = _run_git(git + ["for-each-ref", "--contains", commit, "--format=%(refname)"], repo_url)
        return containing.returncode == 0 and bool(containing.stdout.strip())


def _metrics(output_dir, files, metrics_file) -> dict:
    if metrics_file is None or metrics_file == "":
        return {}
    if metrics_file not in files:
        raise TripletError(
            f"metrics_file '{metrics_file}' is not among the outputs in '{os.fspath(output_dir)}' "
            f"(pass metrics_file=None if the training writes no metrics)"
        )
    path = os.path.join(os.fspath(output_dir), metrics_file)
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except ValueError as e:
        raise TripletError(f"metrics_file '{path}' is not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise TripletError(f"metrics_file '{path}' must hold a flat JSON object name -> number")
    metrics = {}
    for name, value in data.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise TripletError(f"metric '{name}' in '{path}' must be a finite number, got {value!r}")
        metrics[name] = float(value)
    return metrics


def _tolerances(tolerances, metrics) -> dict:
    tags = {}
    for name, spec in (tolerances or {}).items():
        if name not in metrics:
            raise TripletError(f"a tolerance is given for metric '{name}', which the metrics file does not report (it has {sorted(metrics)})")
        if isinstance(spec, Mapping):
            unknown = set(spec) - {"abs", "rel"}
            if unknown or not spec:
                raise TripletError(f"tolerance for '{name}' must have keys abs and/or rel, got {dict(spec)!r}")
            text = ",".join(f"{k}:{float(spec[k])!r}" for k in ("abs", "rel") if k in spec)
        elif isinstance(spec, str):
            text = spec.strip()
        else:
            raise TripletError(f"tolerance for '{name}' must be a string like 'abs:0.01,rel:0.001' or a dict, got {spec!r}")
        if text != "exact":
            for part in text.split(","):
                m = _TOLERANCE_PART.match(part.strip())
                if not m or not _is_non_negative(m.group(2)):
                    raise TripletError(f"tolerance for '{name}' must look like 'abs:0.01', 'rel:0.001' or 'abs:0.01,rel:0.001', got {text!r}")
        tags[TAGS["tolerance_prefix"] + name] = text
    return tags


def _is_non_negative(text) -> bool:
    try:
        value = float(text)
    except ValueError:
        return False
    return math.isfinite(value) and value >= 0


def _metric(key, value):
    import time

    from mlflow.entities import Metric

    return Metric(key=key, value=value, timestamp=int(time.time() * 1000), step=0)


def _log_dataset(client, run_id, snapshot_uri, root_digest, file_count, total_bytes):
    """Logs the snapshot as a dataset input, so that MLflow's UI shows the data next to the run.

    MLflow keeps one dataset per name and digest in an experiment and links every later run that logs
    the same pair to the first one's source and profile. So the digest covers everything the dataset
    says (URI, root digest, counts): two runs share a dataset only if they describe the same snapshot.
    MLflow's digest column holds 36 characters, too few for a SHA-256, so the full root digest is in
    the profile and the digest is the first 32 hex characters of a SHA-256 over that description.
    """
    import hashlib

    from mlflow.entities import Dataset, DatasetInput, InputTag

    source = json.dumps({"uri": snapshot_uri})
    profile = json.dumps({"root_digest": root_digest, "file_count": file_count, "total_bytes": total_bytes})
    described = json.dumps({"source": source, "profile": profile}, sort_keys=True).encode("utf-8")
    name = snapshot_uri.rstrip("/").rsplit("/", 1)[-1] or "snapshot"
    dataset = Dataset(
        name=name[:500],
        digest=hashlib.sha256(described).hexdigest()[:32],
        source_type=DATASET_SOURCE_TYPE,
        source=source,
        profile=profile,
    )
    client.log_inputs(run_id, datasets=[DatasetInput(dataset, tags=[InputTag("mlflow.data.context", "training")])])
