"""Model files are data, never code: no pickle/joblib/dill/torch load path anywhere in the repository's Python
source, and bundles are verified (schema + SHA-256) before use - a tampered bundle is refused by the CLI
``analyze`` path too, before any prediction."""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT

SCANNED = ("tnbc_desktop", "tests", "bench", "packaging", "models", "resources", "setup.py")
# (module, attribute) calls that deserialise code-bearing formats
FORBIDDEN_CALLS = {("pickle", "load"), ("pickle", "loads"), ("pickle", "Unpickler"), ("cPickle", "load"),
                   ("cPickle", "loads"), ("_pickle", "load"), ("_pickle", "loads"), ("joblib", "load"),
                   ("dill", "load"), ("dill", "loads"), ("cloudpickle", "load"), ("cloudpickle", "loads"),
                   ("torch", "load"), ("pd", "read_pickle"), ("pandas", "read_pickle"), ("shelve", "open"),
                   ("marshal", "load"), ("marshal", "loads"), ("jsonpickle", "decode"), ("yaml", "unsafe_load"),
                   ("np", "load"), ("numpy", "load")}
FORBIDDEN_IMPORTS = {"joblib", "dill", "cloudpickle", "jsonpickle", "shelve", "torch"}


def python_files() -> list[Path]:
    out = []
    for name in SCANNED:
        p = REPO_ROOT / name
        out.extend([p] if p.is_file() else sorted(p.rglob("*.py")) if p.is_dir() else [])
    return [p for p in out if p.resolve() != Path(__file__).resolve()]


def unsafe_loads(source: str, filename: str) -> list[str]:
    """Findings in one file: forbidden calls/imports; ``np.load`` only with ``allow_pickle=True``;
    ``yaml.load`` without SafeLoader."""
    tree = ast.parse(source, filename)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in FORBIDDEN_IMPORTS:
                    found.append(f"{filename}:{node.lineno} import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.module:
            root = node.module.split(".")[0]
            names = {a.name for a in node.names}
            if root in FORBIDDEN_IMPORTS or (root in ("pickle", "_pickle", "marshal", "dill")
                                             and names & {"load", "loads", "Unpickler"}):
                found.append(f"{filename}:{node.lineno} from {node.module} import {', '.join(sorted(names))}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and isinstance(node.func.value, ast.Name):
            key = (node.func.value.id, node.func.attr)
            kwargs = {k.arg: k.value for k in node.keywords}
            if key in (("np", "load"), ("numpy", "load")):
                flag = kwargs.get("allow_pickle")
                if isinstance(flag, ast.Constant) and flag.value is True or (flag is not None
                                                                              and not isinstance(flag, ast.Constant)):
                    found.append(f"{filename}:{node.lineno} np.load(allow_pickle=...)")
            elif key == ("yaml", "load"):
                loader = kwargs.get("Loader") or (node.args[1] if len(node.args) > 1 else None)
                if loader is None or "Safe" not in ast.unparse(loader):
                    found.append(f"{filename}:{node.lineno} yaml.load without SafeLoader")
            elif key in FORBIDDEN_CALLS:
                found.append(f"{filename}:{node.lineno} {key[0]}.{key[1]}")
    return found


def test_scanner_finds_planted_loads():
    """The scanner itself must catch each pattern (oracle: hand-written snippets)."""
    snippets = ["import pickle\npickle.load(f)", "import pickle\npickle.loads(b)", "import joblib",
                "from joblib import load", "import numpy as np\nnp.load('x.npy', allow_pickle=True)",
                "import pandas as pd\npd.read_pickle('x')", "import torch", "import yaml\nyaml.load(s)",
                "from pickle import loads", "import dill"]
    for s in snippets:
        assert unsafe_loads(s, "x.py"), s
    assert not unsafe_loads("import numpy as np\nnp.load('x.npy')\nimport yaml\nyaml.load(s, Loader=yaml.SafeLoader)",
                            "ok.py")


def test_no_pickle_joblib_dill_torch_load_paths_in_source():
    files = python_files()
    assert len(files) > 20
    findings = [f for p in files for f in unsafe_loads(p.read_text(encoding="utf-8"), str(p.relative_to(REPO_ROOT)))]
    assert findings == [], "\n".join(findings)


def test_no_pickle_files_shipped():
    bad = [p for d in ("models", "resources") for p in (REPO_ROOT / d).rglob("*")
           if re.search(r"\.(pkl|pickle|joblib|pt|pth|npy|npz|sav|dill)$", p.name)]
    assert bad == []


# ---------------------------------------------------------------------------------------------- bundles
@pytest.fixture(scope="module")
def bundle_and_case(tmp_path_factory):
    from tests.bad_inputs import make_base
    from tests.builders import make_test_bundle

    root = tmp_path_factory.mktemp("bundles")
    base = make_base(root / "case", None)
    return make_test_bundle(root / "good.json"), base


def _tamper(src: Path, dst: Path) -> Path:
    doc = json.loads(src.read_text())
    model = doc["models"]["model3"]
    key = next(k for k in ("coefficients", "coef", "beta") if k in model)
    vals = model[key]
    if isinstance(vals, dict):
        first = next(iter(vals))
        vals[first] = float(vals[first]) + 0.5
    else:
        vals[0] = float(vals[0]) + 0.5
    dst.write_text(json.dumps(doc))
    return dst


def test_tampered_bundle_refused_by_loader(bundle_and_case, tmp_path):
    from tnbc_desktop.core.bundle import load_bundle
    from tnbc_desktop.errors import BundleError

    good, _ = bundle_and_case
    assert load_bundle(good).sha256
    with pytest.raises(BundleError, match="(?i)sha|hash|tamper"):
        load_bundle(_tamper(good, tmp_path / "tampered.json"))


@pytest.mark.parametrize("kind", ["tampered", "pickle", "not-schema"])
def test_bad_bundle_refused_by_cli_analyze(bundle_and_case, tmp_path, capsys, kind):
    from tnbc_desktop.cli import main

    good, base = bundle_and_case
    if kind == "tampered":
        bundle = _tamper(good, tmp_path / "b.json")
    elif kind == "pickle":  # a pickle renamed .json must never be unpickled (this one would run code)
        bundle = tmp_path / "b.json"
        bundle.write_bytes(b"cos\nsystem\n(S'touch " + str(tmp_path / "PWNED").encode() + b"'\ntR.")
    else:
        bundle = tmp_path / "b.json"
        bundle.write_text(json.dumps({"name": "x", "models": {}}))
    code = main(["analyze", "--study", str(base.nifti), "--mask", str(base.mask), "--bundle", str(bundle),
                 "--no-history", "--json", str(tmp_path / "out.json")])
    err = capsys.readouterr().err
    assert code == 2 and "bundle" in err.lower()
    assert not (tmp_path / "out.json").exists() and not (tmp_path / "PWNED").exists()
