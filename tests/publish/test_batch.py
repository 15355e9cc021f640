"""Publishing many modules: selection, shards, pre-flight, failures, resume, --changed, and N
machines (processes) publishing one zoo into one S3 store by shards."""

import io
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from hubzoo.errors import HubzooError
from hubzoo.paths import REPO_ROOT
from hubzoo.registry import load_registry
from hubzoo.store import open_store
from pipeline.batch import (
    FAILED,
    IDENTICAL,
    PUBLISHED,
    SKIPPED,
    BatchOptions,
    in_shard,
    parse_shard,
    publish_batch,
    select,
)
from tests.store.servers import BUCKET, S3_KEYS, s3_options

__all__ = ["s3_options"]

PUBLISH = [sys.executable, str(REPO_ROOT / "scripts" / "publish.py")]
V1 = "google/imagenet/mobilenet_v1_025_128"
TINY = f"{V1}/feature_vector/1"
QUANTOPS = f"{V1}/quantops/feature_vector/1"


def results(report) -> dict[str, str]:
    return {outcome.handle: outcome.result for outcome in report.outcomes}


def table(stdout: str) -> dict[str, str]:
    """handle -> result from the summary table a batch run prints."""
    rows = [line.split() for line in stdout.splitlines()[1:-1]]
    return {row[1]: row[0] for row in rows if len(row) > 1}


# Selection and shards (no TensorFlow)


def test_shards_partition_the_selection_the_same_everywhere():
    handles = sorted(load_registry().modules)
    for count in (1, 2, 3, 7):
        shards = [{h for h in handles if in_shard(h, (k, count))} for k in range(1, count + 1)]
        assert set().union(*shards) == set(handles)
        assert sum(len(shard) for shard in shards) == len(handles)
    # pinned: a shard is a sha256 of the handle, not Python's per-process salted hash()
    assert in_shard(TINY, (1, 2)) and not in_shard(f"{V1}/feature_vector/3", (1, 2))
    sizes = [sum(in_shard(h, (k, 4)) for h in handles) for k in range(1, 5)]
    assert min(sizes) > len(handles) / 8, sizes


@pytest.mark.parametrize("text", ["0/2", "3/2", "1", "a/b", "1/0"])
def test_bad_shard_is_refused(text):
    with pytest.raises(HubzooError, match="--shard"):
        parse_shard(text)


def test_globs_suffixes_and_all_select_records():
    registry = load_registry()
    chosen = select(registry, BatchOptions(queries=("*/mobilenet_v2_*/*/4",)))
    assert chosen and all(
        s.record.handle.split("/")[2].startswith("mobilenet_v2_") and s.record.handle.endswith("/4")
        for s in chosen
    )
    assert not any(s.named for s in chosen)
    named = select(registry, BatchOptions(queries=("mobilenet_v1_025_128/feature_vector/1", TINY)))
    assert [(s.record.handle, s.named) for s in named] == [(TINY, True)]
    everything = select(registry, BatchOptions(all_records=True))
    assert len(everything) == len(registry.modules)
    with pytest.raises(HubzooError, match="no module in the registry matches"):
        select(registry, BatchOptions(queries=("*/inception_v9/*",)))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([TINY, "--checkpoint", "x.ckpt", f"{V1}/feature_vector/3"], "one module only"),
        (["*/inception_v1/*", "--dry-run"], "one module only"),
        (["--synthetic"], "name the modules to publish"),
        (["--all", "--shard", "3/2"], "--shard"),
    ],
)
def test_batch_arguments_are_checked(args, message):
    done = subprocess.run([*PUBLISH, *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


# Publishing (TensorFlow, tiny modules)


@pytest.mark.slow
def test_failures_are_reported_and_do_not_stop_the_others(tmp_path):
    store_url = str(tmp_path / "store")
    options = BatchOptions(
        queries=(QUANTOPS, TINY, "amoebanet*/feature_vector/1"),
        synthetic=True,
        store_url=store_url,
        build_site=False,
    )
    fast = publish_batch(
        BatchOptions(**{**options.__dict__, "fail_fast": True}), stream=io.StringIO()
    )
    assert results(fast) == {
        QUANTOPS: FAILED,
        "google/imagenet/amoebanet_a_n18_f448/feature_vector/1": SKIPPED,
    }
    why = {outcome.handle: outcome.why for outcome in fast.outcomes}
    assert "quantops graph" in why[QUANTOPS] and "no network" in why[min(why)] and not fast.ok
    assert open_store(store_url).list_manifests() == [], "--fail-fast stops before any export"

    progress = io.StringIO()
    report = publish_batch(options, stream=progress)
    assert results(report)[QUANTOPS] == FAILED and results(report)[TINY] == PUBLISHED
    assert [m.handle for m in open_store(store_url).list_manifests()] == [TINY]
    assert f"publishing {TINY} ...\n[1/1] published {TINY}" in progress.getvalue()
    lines = report.lines()
    assert lines[0].split() == ["result", "handle", "seconds", "why"]
    assert "1 published, 0 identical, 1 failed, 1 skipped" in lines[-1]

    # a rerun skips the published version from its manifest; --changed leaves it out
    again = publish_batch(BatchOptions(**{**options.__dict__, "queries": (TINY,)}), stream=None)
    assert results(again) == {TINY: IDENTICAL} and again.outcomes[0].seconds == 0
    changed = publish_batch(
        BatchOptions(**{**options.__dict__, "queries": (TINY,), "changed": True}), stream=None
    )
    assert changed.outcomes == [] and changed.unchanged == 1

    # a manifest from another hubzoo version: --changed rebuilds it; same bytes: kept
    manifest_path = tmp_path / "store" / f"{TINY}.json"
    manifest = json.loads(manifest_path.read_text())
    manifest_path.write_text(json.dumps({**manifest, "hubzoo_version": "0.0.1"}))
    rebuilt = publish_batch(
        BatchOptions(**{**options.__dict__, "queries": (TINY,), "changed": True}), stream=None
    )
    assert results(rebuilt) == {TINY: IDENTICAL} and rebuilt.outcomes[0].seconds > 0
    assert "identical bytes" in rebuilt.outcomes[0].why


@pytest.mark.slow
def test_an_interrupted_run_resumes(tmp_path):
    """Terminated (as a cancelled CI job is; Ctrl-C acts the same) after its first module."""
    store_url = str(tmp_path / "store")
    handles = [f"{V1}/classification/1", f"{V1}/feature_vector/1", f"{V1}/feature_vector/3"]
    command = [*PUBLISH, *handles, "--synthetic", "--store", store_url, "--no-site"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    for line in process.stderr:
        seen.append(line)
        if line.startswith("[1/3] "):
            process.send_signal(signal.SIGTERM)
            break
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 130, "".join(seen) + stderr
    assert "interrupted: rerun the same command to resume" in stdout
    store = open_store(store_url)
    done = {m.handle for m in store.list_manifests()}
    assert 1 <= len(done) < 3
    report = store.fsck()
    assert report.problems == [], "an interrupted batch leaves no lock or partial file"

    rerun = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    rows = table(rerun.stdout)
    assert {h for h, r in rows.items() if r == IDENTICAL} == done
    assert {h for h, r in rows.items() if r == PUBLISHED} == set(handles) - done


@pytest.mark.slow
def test_two_shards_publish_one_zoo_into_one_s3_store(s3_options, tmp_path):
    """Two processes (two CI machines), shard 1/2 (with --jobs 2) and 2/2, one S3 store."""
    endpoint = s3_options["client_kwargs"]["endpoint_url"]
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": S3_KEYS["key"],
        "AWS_SECRET_ACCESS_KEY": S3_KEYS["secret"],
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    store_url = f"s3://{BUCKET}/shards-{time.monotonic_ns()}"
    selection = [f"{V1}/feature_vector/[13]", "mobilenet_v2_035_96/*/1"]
    base = [*PUBLISH, *selection, "--synthetic", "--store", store_url, "--no-site"]
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True, "env": env}
    runs = [
        subprocess.Popen([*base, "--shard", "1/2", "--jobs", "2"], **pipes),
        subprocess.Popen([*base, "--shard", "2/2"], **pipes),
    ]
    outputs = [run.communicate(timeout=900) for run in runs]
    for run, (stdout, stderr) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, stdout + stderr
    shards = [table(stdout) for stdout, _ in outputs]
    assert not set(shards[0]) & set(shards[1])
    everything = set(shards[0]) | set(shards[1])
    assert len(everything) == 4 and set(shards[0].values()) | set(shards[1].values()) == {PUBLISHED}
    assert "in other shards" in outputs[0][0]
    published = {
        m.handle for m in open_store(store_url, storage_options=s3_options).list_manifests()
    }
    assert published == everything

    again = subprocess.run(base, capture_output=True, text=True, timeout=300, env=env)
    assert again.returncode == 0, again.stderr
    assert set(table(again.stdout).values()) == {IDENTICAL}
    assert "0 published, 4 identical" in again.stdout
