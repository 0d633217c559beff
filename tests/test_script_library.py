"""The host scripts' shared pieces (components/scripts/lib/) and their one include mechanism:
steps.script_text puts each included library's text in place of its include, so the command a step
sends is self-contained, and it changes (the step runs again) exactly when its script or what the
script includes changes. shellcheck follows the same includes (.shellcheckrc)."""
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from components import steps
from components.steps import script_text

ROOT = Path(__file__).resolve().parent.parent
LIB = steps.SCRIPTS / "lib"
CMD = "command:remote:Command"

# Who includes what, directly: the scripts, then the libraries.
SCRIPT_INCLUDES = {
    "docker-install": {"log", "apt", "metadata-guard"},
    "first-boot": {"log", "boot-locks"},
    "flink-python": {"log"},
    "flink-ready": {"swarm"},
    "flink-serving": {"log"},
    "flink-state": {"log"},
    "flink-state-entry": {"log"},
    "flink-stopped": {"log"},
    "host-firewall": {"log", "apt"},
    "image-pull": {"log", "boot-locks"},
    "node-labels": {"log", "swarm"},
    "node-remove": {"log", "swarm"},
    "ssh-files": set(),
    "swarm-init": {"log"},
    "data-dirs": {"log"},
    "swarm-join": {"log", "engine-api"},
    "swarm-leave": {"log"},
    "swarm-tokens": {"swarm"},
    "weave-pin": {"log", "engine-api"},
    "weave-plugin": {"log", "engine-api", "boot-locks"},
}
LIB_INCLUDES = {"log": set(), "apt": {"log"}, "boot-locks": {"log"}, "engine-api": set(), "swarm": {"log"},
                "metadata-guard": {"log"}}

# The pieces the scripts used to copy, each found by a pattern that only its library may match.
PIECES = {
    "log": [r"^\s*log\s*\(\)", r"\[flink-swarm\]"],
    "swarm": [r"docker node ls -q >/dev/null", r"not a swarm node id", r"\{25\}"],
    "engine-api": [r"--unix-socket", r"--data-binary"],
    "apt": [r"DPkg::Lock::Timeout", r"apt-get -q update"],
    "boot-locks": [r"FLINK_SWARM_LOCKS", r"/run/flink-swarm", r"flock -w"],
    "metadata-guard": [r"DOCKER-USER", r"169\.254\.169\.254/32"],
}

INCLUDE_LINE = re.compile(r'^\. "\$\(dirname "\$\{BASH_SOURCE\[0\]\}"\)/(?:lib/)?([a-z-]+)\.sh"  # include$', re.M)


def closure(name: str) -> set[str]:
    """The libraries a script or library includes, directly or through another library."""
    todo, seen = list(SCRIPT_INCLUDES.get(name, LIB_INCLUDES.get(name, set()))), set()
    while todo:
        lib = todo.pop()
        if lib not in seen:
            seen.add(lib)
            todo.extend(LIB_INCLUDES[lib])
    return seen


def own_lines(path: Path) -> str:
    """A file's text without its includes."""
    return "".join(line for line in path.read_text().splitlines(keepends=True)
                   if "# include" not in line and not line.startswith("# shellcheck source="))


def lib_header(lib: str) -> str:
    return f"# lib/{lib}.sh: "


def include(path: str) -> str:
    """The two lines that include `path` (relative to the including file's folder)."""
    return f'# shellcheck source={path}\n. "$(dirname "${{BASH_SOURCE[0]}}")/{path}"  # include\n'


@pytest.fixture
def scripts(tmp_path, monkeypatch):
    """A copy of the scripts (lib/ too) that the program reads instead of its own."""
    folder = tmp_path / "scripts"
    shutil.copytree(steps.SCRIPTS, folder)
    monkeypatch.setattr(steps, "SCRIPTS", folder)
    return folder


def test_the_include_table_is_the_scripts_own():
    assert {p.stem for p in steps.SCRIPTS.glob("*.sh")} == set(SCRIPT_INCLUDES)
    assert {p.stem for p in LIB.glob("*.sh")} == set(LIB_INCLUDES)
    for folder, table in ((steps.SCRIPTS, SCRIPT_INCLUDES), (LIB, LIB_INCLUDES)):
        for name, libs in table.items():
            assert set(INCLUDE_LINE.findall((folder / f"{name}.sh").read_text())) == libs, name


@pytest.mark.parametrize("name", sorted(SCRIPT_INCLUDES))
def test_the_text_a_step_sends_holds_each_library_it_includes_once_and_no_include(name):
    text = script_text(name)
    assert "# include" not in text and "BASH_SOURCE" not in text and "shellcheck source=" not in text
    for lib in LIB_INCLUDES:
        assert text.count(lib_header(lib)) == (1 if lib in closure(name) else 0), lib
    assert text.count("log() {") == (1 if "log" in closure(name) else 0)
    # each library's own lines, a block where its include was; what is left is the script's own lines
    for lib in sorted(closure(name), key=lambda lib: len(closure(lib))):  # the innermost first
        block = own_lines(LIB / f"{lib}.sh")
        assert text.count(block) == 1, lib
        text = text.replace(block, "")
    assert text == own_lines(steps.SCRIPTS / f"{name}.sh")


def test_a_library_change_changes_exactly_the_scripts_that_include_it(scripts):
    before = {name: script_text(name) for name in SCRIPT_INCLUDES}
    for lib in LIB_INCLUDES:
        path = scripts / "lib" / f"{lib}.sh"
        original = path.read_text()
        path.write_text(original + f"# edited {lib}\n")
        after = {name: script_text(name) for name in SCRIPT_INCLUDES}
        path.write_text(original)
        changed = {name for name in before if before[name] != after[name]}
        assert changed == {name for name in SCRIPT_INCLUDES if lib in closure(name)}, lib
        assert all(after[name].count(f"# edited {lib}\n") == 1 for name in changed)


@pytest.mark.parametrize("lib", ["engine-api", "swarm", "boot-locks"])
def test_a_library_change_reruns_exactly_the_steps_whose_scripts_include_it(program, scripts, lib):
    """The commands as the program builds them (steps.script): create and delete, every step."""
    def commands():
        return {c.name: (c.inputs.get("create"), c.inputs.get("delete")) for c in program().of_type(CMD)}

    def names(command):  # the scripts a step runs: `[sudo -n] bash -c '<text>' name args...`
        return {words[words.index("-c") + 2] for words in map(shlex.split, filter(None, command))}

    before = commands()
    (scripts / "lib" / f"{lib}.sh").write_text((scripts / "lib" / f"{lib}.sh").read_text() + "# edited\n")
    after = commands()
    assert after.keys() == before.keys()
    changed = {step for step in before if before[step] != after[step]}
    expected = {step for step, command in before.items() if any(lib in closure(n) for n in names(command))}
    assert changed == expected and expected and len(expected) < len(before)


def test_includes_nest_each_library_once_in_the_order_first_included(scripts):
    (scripts / "lib" / "c.sh").write_text("c() { :; }")  # no newline at its end
    (scripts / "lib" / "b.sh").write_text(include("c.sh") + "b() { c; }\n")
    (scripts / "top.sh").write_text("#!/usr/bin/env bash\nset -eu\n" + include("lib/b.sh") + include("lib/c.sh")
                                    + "b\n")
    assert script_text("top") == "#!/usr/bin/env bash\nset -eu\nc() { :; }\nb() { c; }\nb\n"
    assert subprocess.run(["bash", str(scripts / "top.sh")]).returncode == 0  # and runs from its file
    (scripts / "lib" / "c.sh").write_text("c() { :; }\n" + include("b.sh"))  # a circle: b, c, b
    assert script_text("top") == "#!/usr/bin/env bash\nset -eu\nc() { :; }\nb() { c; }\nb\n"


@pytest.mark.parametrize("lines, line, says", [
    (include("lib/nope.sh"), 4, "includes lib/nope.sh, which is not a library"),
    (include("../first-boot.sh").replace("../", "lib/../"), 4, "which is not a library"),
    ('. "$(dirname "${BASH_SOURCE[0]}")/lib/log.sh"  # include\n', 3, "the line before an include is"),
    ('# shellcheck source=lib/log.sh\n. lib/log.sh  # include\n', 4, "an include is"),
    ('# shellcheck source=lib/log.sh\nsource "${BASH_SOURCE%/*}/lib/log.sh"\n', 4, "an include is"),
])
def test_a_wrong_include_is_an_error_naming_the_script_and_the_line(scripts, lines, line, says):
    (scripts / "broken.sh").write_text("#!/usr/bin/env bash\nset -eu\n" + lines + "log hello\n")
    with pytest.raises(ValueError, match=rf"^broken\.sh line {line} \(.*\): .*{re.escape(says)}"):
        script_text("broken")


def test_a_wrong_include_in_a_library_names_the_library(scripts):
    (scripts / "lib" / "log.sh").write_text("log() { :; }\n" + include("gone.sh"))
    with pytest.raises(ValueError, match=r"^lib/log\.sh line 3 .*includes gone\.sh, which is not a library"):
        script_text("swarm-init")


def test_no_script_keeps_its_own_copy_of_a_shared_piece():
    for lib, patterns in PIECES.items():
        for pattern in patterns:
            assert re.search(pattern, (LIB / f"{lib}.sh").read_text(), re.M), (lib, pattern)
            copies = [f"{path.name}:{number}" for path in sorted(steps.SCRIPTS.glob("*.sh"))
                      for number, line in enumerate(path.read_text().splitlines(), 1) if re.search(pattern, line)]
            assert copies == [], f"{pattern!r} belongs in lib/{lib}.sh, not in {copies}"
            others = [p.name for p in LIB.glob("*.sh") if p.stem != lib and re.search(pattern, p.read_text(), re.M)]
            assert others == [], (pattern, others)


@pytest.mark.parametrize("lib", sorted(LIB_INCLUDES))
def test_sourcing_a_library_only_defines_functions(lib):
    """No output, no variable, no option changed: functions, and the libraries they need, only."""
    probe = 'set -euo pipefail; compgen -v | sort >"$1"; set -o >"$2"; . "$3"; compgen -v | sort >"$4"; set -o >"$5"'
    with_tmp = subprocess.run(["mktemp", "-d"], capture_output=True, text=True, check=True).stdout.strip()
    try:
        out = [f"{with_tmp}/{n}" for n in ("vars", "opts", "vars2", "opts2")]
        done = subprocess.run(["env", "-i", "PATH=/usr/bin:/bin", "bash", "--norc", "--noprofile", "-c", probe, "probe",
                               out[0], out[1], str(LIB / f"{lib}.sh"), out[2], out[3]], capture_output=True, text=True)
        assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
        added = set(Path(out[2]).read_text().split()) - set(Path(out[0]).read_text().split()) - {"_"}
        assert added == set() and Path(out[1]).read_text() == Path(out[3]).read_text()
        functions = subprocess.run(["bash", "--norc", "-c", '. "$1"; declare -F', "probe", str(LIB / f"{lib}.sh")],
                                   capture_output=True, text=True, check=True).stdout
        assert functions.strip(), f"lib/{lib}.sh defines no function"
    finally:
        shutil.rmtree(with_tmp)


@pytest.mark.parametrize("run_as", ["file", "sent"])
def test_log_names_the_running_script_from_its_file_and_as_sent(run_as):
    """`bash -c '<text>' node-remove args` as a step runs it, or `bash .../node-remove.sh args`."""
    argv = (["bash", str(steps.SCRIPTS / "node-remove.sh")] if run_as == "file"
            else ["bash", "-c", script_text("node-remove"), "node-remove"])
    done = subprocess.run([*argv, "--force"], capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == ("[flink-swarm] node-remove: refusing '--force': not a swarm node id "
                           "(25 lowercase letters and digits)\n")


def shellcheck(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    if not shutil.which("shellcheck"):
        pytest.fail("shellcheck is not installed: apt-get install shellcheck")
    return subprocess.run(["shellcheck", *args], capture_output=True, text=True, cwd=cwd)


def test_shellcheck_passes_on_every_script_following_its_includes():
    """As CI runs it (`git ls-files '*.sh' | xargs -r shellcheck`, .ci/run), from the repository root."""
    files = [str(p.relative_to(ROOT)) for p in sorted(steps.SCRIPTS.rglob("*.sh"))]
    assert len(files) == len(SCRIPT_INCLUDES) + len(LIB_INCLUDES)
    done = shellcheck(*files)
    assert done.returncode == 0, done.stdout + done.stderr


def test_shellcheck_reads_what_a_script_includes(tmp_path):
    """A name a library defines is known to the script (SC2154 otherwise); a missing library is an error."""
    shutil.copy(ROOT / ".shellcheckrc", tmp_path / ".shellcheckrc")
    shutil.copytree(LIB, tmp_path / "scripts" / "lib")
    script = tmp_path / "scripts" / "probe.sh"
    script.write_text("#!/usr/bin/env bash\n" + include("lib/swarm.sh") + 'log "$only_lib_knows"\n')
    (tmp_path / "scripts" / "lib" / "swarm.sh").write_text((LIB / "swarm.sh").read_text() + "export only_lib_knows=1\n")
    assert shellcheck("scripts/probe.sh", cwd=tmp_path).returncode == 0
    script.write_text("#!/usr/bin/env bash\n" + include("lib/gone.sh") + "log hello\n")
    done = shellcheck("scripts/probe.sh", cwd=tmp_path)
    assert done.returncode != 0 and "SC1091" in done.stdout
