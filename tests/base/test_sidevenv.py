"""Side venvs: built from pinned sources, stamped last, rebuilt when stale, run in isolation.

A real (tiny) venv is built here from a requirements file that installs nothing, so the build,
the check, the stamp and the runs are the real thing in a few seconds and without the network.
"""

import json
import sys
from pathlib import Path

import pytest

from hubzoo.errors import HubzooError
from hubzoo.sidevenv import SideVenv, SideVenvError

CHECK = "import sys; print('side venv check on', sys.version_info[:2])"


def make_side_venv(folder: Path, check_code: str = CHECK, shim: bool = True) -> SideVenv:
    folder.mkdir(parents=True, exist_ok=True)
    requirements = folder / "requirements.txt"
    requirements.write_text("# nothing to install\n")
    shim_path = None
    if shim:
        shim_path = folder / "sitecustomize.py"
        shim_path.write_text("import os\nos.environ['HUBZOO_SHIM_RAN'] = 'yes'\n")
    return SideVenv(
        name="probe",
        title="the probe venv",
        path=folder / "venv",
        requirements=requirements,
        check_code=check_code,
        shim=shim_path,
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> SideVenv:
    venv = make_side_venv(tmp_path_factory.mktemp("sidevenv"))
    venv.ensure()
    return venv


def test_a_built_venv_is_current_and_ensure_leaves_it_alone(built):
    assert built.is_current()
    before = built.stamp_path.stat().st_mtime_ns
    assert built.ensure() == built.python
    assert built.stamp_path.stat().st_mtime_ns == before


def test_the_shim_is_installed_as_sitecustomize(built):
    code = "import os; print(os.environ.get('HUBZOO_SHIM_RAN'))"
    assert built.run_python(code).stdout == "yes\n"


def test_the_stamp_covers_requirements_and_shim(tmp_path):
    venv = make_side_venv(tmp_path)
    original = venv.expected_stamp()
    assert venv.shim is not None
    venv.shim.write_text(venv.shim.read_text() + "# changed\n")
    changed_shim = venv.expected_stamp()
    venv.requirements.write_text("six==1.16.0\n")
    assert len({original, changed_shim, venv.expected_stamp()}) == 3


def test_only_a_venv_stamped_with_the_current_sources_is_current(tmp_path):
    venv = make_side_venv(tmp_path)
    assert not venv.is_current()  # missing
    (venv.path / "bin").mkdir(parents=True)
    venv.stamp_path.write_text(venv.expected_stamp() + "\n")
    assert not venv.is_current()  # no python
    venv.python.write_text("")
    assert venv.is_current()
    venv.stamp_path.write_text("0" * 64 + "\n")
    assert not venv.is_current()  # stale
    venv.stamp_path.unlink()
    assert not venv.is_current()  # unfinished


def test_a_stale_venv_is_rebuilt(tmp_path):
    venv = make_side_venv(tmp_path, shim=False)
    venv.ensure()
    leftover = venv.path / "leftover.txt"
    leftover.write_text("from the old build")
    venv.requirements.write_text("# nothing, again\n")
    assert not venv.is_current()
    venv.ensure()
    assert venv.is_current() and not leftover.exists()


def test_a_failing_check_leaves_no_stamp(tmp_path):
    venv = make_side_venv(tmp_path, check_code="raise SystemExit('check-failed-7')", shim=False)
    with pytest.raises(HubzooError, match=r"building the probe venv failed(.|\n)*check-failed-7"):
        venv.ensure()
    assert venv.python.exists() and not venv.is_current()


def test_require_says_in_one_line_how_to_create_it(tmp_path):
    venv = make_side_venv(tmp_path, shim=False)
    with pytest.raises(HubzooError) as missing:
        venv.require("create it with: make probe")
    assert "\n" not in str(missing.value)
    assert str(missing.value).endswith("is missing; create it with: make probe")
    venv.python.parent.mkdir(parents=True)
    venv.python.write_text("")
    with pytest.raises(HubzooError, match="is out of date; create it"):
        venv.require("create it with: make probe")


def test_runs_are_isolated_from_the_main_venv(built, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(Path(sys.prefix) / "lib"))
    monkeypatch.setenv("VIRTUAL_ENV", sys.prefix)
    code = (
        "import json, os, sys\n"
        "print(json.dumps([sys.prefix, os.environ.get('PYTHONPATH'), os.environ.get('VIRTUAL_ENV'),"
        " os.environ.get('HUBZOO_PROBE'), sys.argv[1:]]))"
    )
    completed = built.run_python(code, "a", "b c", env={"HUBZOO_PROBE": "yes"})
    prefix, pythonpath, virtual_env, probe, argv = json.loads(completed.stdout)
    assert Path(prefix) == built.path
    assert (pythonpath, virtual_env, probe, argv) == (None, None, "yes", ["a", "b c"])


def test_a_script_path_runs_with_its_arguments(built, tmp_path):
    script = tmp_path / "echo.py"
    script.write_text("import sys\nprint(' | '.join(sys.argv[1:]))\n")
    assert built.run_python(script, "x", "y z").stdout == "x | y z\n"


def test_a_failing_run_raises_with_the_end_of_stderr(built):
    code = "import sys\nprint('noise', file=sys.stderr)\nraise ValueError('side-boom-42')"
    with pytest.raises(SideVenvError, match=r"status 1 in the probe venv(.|\n)*side-boom-42"):
        built.run_python(code)


def test_a_run_past_its_timeout_raises(built):
    with pytest.raises(SideVenvError, match=r"timed out after 0\.5 s in the probe venv"):
        built.run_python("import time\ntime.sleep(30)", timeout=0.5)
