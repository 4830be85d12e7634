"""Packaging: the wheel carries the forms and resources, and the layers keep Qt out of the core."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

CHECK = """
import os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
import stancelabel
assert stancelabel.__file__.startswith(sys.prefix), stancelabel.__file__
from stancelabel.store.project import default_labels
from stancelabel.io.sample import sample_documents
from PySide6.QtWidgets import QApplication
from stancelabel.gui.forms import form_names, load_form
app = QApplication([])
assert [l.name for l in default_labels()] == ["asserts", "denies", "qualifies"]
assert sample_documents() and "Harbourside" in sample_documents()[0].text
from stancelabel.nlp.lexicon import load_lexicon
assert load_lexicon().get("verb", "deny").stance == "denies"
from stancelabel.nlp import cues, encoder
for model in (cues.model_path(), encoder.model_path()):  # both detectors' models ship in the wheel
    assert model is not None and str(model).startswith(sys.prefix), model
names = form_names()
assert {"annotation_view", "label_panel", "schema_editor"} <= set(names), names
for name in names:
    load_form(name)
print("ok", stancelabel.__file__)
"""


def clean_copy(target: Path) -> Path:
    """The checkout without build leftovers, so the wheel holds only what the sources hold."""
    ignore = shutil.ignore_patterns(".venv", "build", "dist", "*.egg-info", ".git", "__pycache__", ".pytest_cache",
                                    ".hypothesis", "*.stance*")
    shutil.copytree(ROOT, target, ignore=ignore)
    return target


@pytest.mark.slow
def test_wheel_installs_with_forms_and_resources(tmp_path):
    dist = tmp_path / "dist"
    source = clean_copy(tmp_path / "source")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-v", str(source), "--no-deps", "--no-build-isolation", "-w", str(dist)],
        capture_output=True, text=True, timeout=600,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    # setuptools' banners ("Package would be ignored", the licence table) are configuration to fix
    assert "would be ignored" not in build.stdout + build.stderr
    assert "SetuptoolsDeprecationWarning" not in build.stdout + build.stderr
    (wheel,) = dist.glob("stancelabel-*.whl")

    venv = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    install = subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", str(wheel)],
                             capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stdout + install.stderr
    # Dependencies (PySide6, spaCy) come from this environment; its editable
    # install of StanceLabel does not, because .pth files of an added path are not run.
    fresh_site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                capture_output=True, text=True, check=True).stdout.strip()
    Path(fresh_site, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    result = subprocess.run([str(python), "-c", CHECK], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok") and str(venv) in result.stdout

    script = venv / "bin" / "stancelabel"
    if script.exists():
        help_run = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
        assert help_run.returncode == 0 and "import" in help_run.stdout


def test_import_layers_are_kept():
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if lint is None:
        pytest.skip("import-linter is not installed (pip install -e '.[dev]')")
    result = subprocess.run([lint, "--config", str(ROOT / "pyproject.toml")], capture_output=True, text=True,
                            cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_every_package_and_resource_file_is_in_the_package_configuration():
    """Packages are listed in pyproject.toml (ui/ and resources/ are renamed): a new one must be added there,
    or `pip install .` leaves it out (the editable install would not show it)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    listed, data = set(config["packages"]), config["package-data"]
    folders = {"stancelabel": ROOT / "stancelabel", "stancelabel.ui": ROOT / "ui",
               "stancelabel.resources": ROOT / "resources"}
    found: dict[str, Path] = {}
    for package, folder in folders.items():
        for path in [folder, *sorted(p for p in folder.rglob("*") if p.is_dir())]:
            if "__pycache__" in path.parts:
                continue
            if package == "stancelabel" and not (path / "__init__.py").exists():
                continue
            found[".".join([package, *path.relative_to(folder).parts])] = path
    assert sorted(set(found) - listed) == [], "add these to [tool.setuptools] packages in pyproject.toml"
    data_packages = {name: path for name, path in found.items() if name.startswith(("stancelabel.ui",
                                                                                     "stancelabel.resources"))}
    unshipped = [str(f.relative_to(ROOT)) for package, folder in data_packages.items()
                 for f in folder.iterdir() if f.is_file() and f.suffix != ".py"
                 and not any(fnmatch(f.name, pattern) for pattern in data.get(package, []))]
    assert unshipped == [], "add patterns for these to [tool.setuptools.package-data] in pyproject.toml"
