"""The rooms stay: the layers of .importlinter hold (checked with import-linter's `lint-imports`, as CI
runs it), an upward import breaks them, and no function in components/ outgrows a screen."""
import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_FUNCTION = 60  # lines
MAX_MODULE = 260  # lines


def lint_imports(folder: Path) -> subprocess.CompletedProcess:
    tool = Path(sys.executable).with_name("lint-imports")
    if not tool.exists():
        pytest.fail("import-linter is missing: pip install -r requirements-dev.txt")
    return subprocess.run([str(tool), "--no-cache"], cwd=folder, capture_output=True, text=True)


def test_the_layers_hold():
    done = lint_imports(ROOT)
    assert done.returncode == 0 and "0 broken" in done.stdout, done.stdout + done.stderr


@pytest.mark.parametrize("module, upward", [
    ("machines", "from . import nodes"),  # a circle through the nodes layer, as the TYPE_CHECKING one was
    ("config/checks", "from .. import steps"),  # settings reaching up into the host steps
])
def test_an_upward_import_breaks_the_build(tmp_path, module, upward):
    shutil.copy(ROOT / ".importlinter", tmp_path)
    shutil.copytree(ROOT / "components", tmp_path / "components", ignore=shutil.ignore_patterns("__pycache__"))
    path = tmp_path / "components" / f"{module}.py"
    path.write_text(path.read_text() + f"\n{upward}  # noqa\n")
    done = lint_imports(tmp_path)
    assert done.returncode == 1 and "BROKEN" in done.stdout, done.stdout + done.stderr


def test_no_function_in_components_is_over_a_screen_nor_a_module_over_its_room():
    long = []
    for path in sorted((ROOT / "components").rglob("*.py")):
        text = path.read_text()
        if text.count("\n") > MAX_MODULE:
            long.append(f"{path.relative_to(ROOT)}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {lines} lines")
    assert long == []
