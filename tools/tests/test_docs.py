"""Every snippet of the README and of docs/ runs, so that none can rot.

Each Markdown file is one test: its fenced blocks run in order in a directory of their own
(holding links to the checkout's `specs`, `tools`, `tests` and `benches`), so that a
walkthrough's steps see each other's files, as a reader's would:

- ```python blocks run as scripts with this interpreter (torch and the rnnc package
  installed, as tools/python-tests provides);
- ```sh blocks run with bash (`set -euo pipefail`); `cargo run --release --bin rnnc -- ARGS`
  runs the rnnc binary the tests use (RNNC_BIN, else target/debug/rnnc) and `cargo run
  --release --example NAME -- ARGS` the checkout's example (in the debug profile the test
  suite has built: the generated code is the same); any other cargo command is refused, so
  a snippet cannot quietly build or test something else;
- ```rust blocks in docs/ must be a file of the checkout, verbatim (`file PATH` below:
  the examples, which cargo builds); the README's are doc-tests of the `rnnc` crate;
- ```text and ```toml blocks are not run.

An HTML comment right before a block directs it, `<!-- doctest: D; D -->`:
- `skip: REASON`: not run (install steps, hour-long runs); the reason is required;
- `fixture NAME`: first makes the files the snippet stands for (a user's saved model);
- `continue`: a python block that goes on from the previous one (same script);
- `expect`: the next block (```text) holds lines that the output must contain, in order;
- `needs CMD...`: runs only where the commands exist (the cross-compilation tools); CI
  sets RNNC_REQUIRE_CROSS=1, which makes a missing one a failure;
- `file PATH`: the block is the checkout's file PATH, verbatim.
"""

import glob
import os
import re
import shutil
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCS = ["README.md"] + sorted(
    os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "docs", "**", "*.md"), recursive=True)
)
RUN = {"python", "sh"}
NOT_RUN = {"text", "toml"}
TIMEOUT = 900

FENCE = re.compile(r"^```(\S*)\s*$")
DIRECTIVE = re.compile(r"^<!--\s*doctest:\s*(.*?)\s*-->\s*$")


class Block:
    def __init__(self, path, line, lang, text, directives):
        self.path, self.line, self.lang, self.text = path, line, lang, text
        self.directives = directives

    def where(self):
        return f"{self.path}:{self.line}"

    def directive(self, name):
        """The argument of directive `name` ("" if it has none), or None if absent."""
        for d in self.directives:
            key, _, arg = d.partition(" ")
            key = key.rstrip(":")
            if key == name:
                return arg.strip()
        return None


def blocks_of(path):
    lines = open(os.path.join(ROOT, path), encoding="utf-8").read().split("\n")
    blocks, i, pending = [], 0, []
    while i < len(lines):
        directive = DIRECTIVE.match(lines[i])
        fence = FENCE.match(lines[i])
        if directive:
            pending = [d.strip() for d in directive.group(1).split(";") if d.strip()]
        elif fence:
            start = i
            i += 1
            body = []
            while i < len(lines) and not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            assert i < len(lines), f"{path}:{start + 1}: unclosed code block"
            blocks.append(Block(path, start + 1, fence.group(1), "\n".join(body) + "\n", pending))
            pending = []
        elif lines[i].strip():
            assert not pending, f"{path}:{i + 1}: a doctest directive must come right before a code block"
        i += 1
    return blocks


SHIM_CARGO = """#!/usr/bin/env bash
# cargo as the docs' snippets call it: `cargo run [--release] --bin rnnc -- ARGS` and
# `cargo run [--release] --example NAME -- ARGS`; anything else is a snippet the doc runner
# does not know how to run.
set -euo pipefail
if [ "${1:-}" != run ]; then
    echo "doc snippet ran 'cargo $*': snippets may only 'cargo run' rnnc or an example" >&2
    exit 99
fi
shift
target=""
while [ $# -gt 0 ]; do
    case "$1" in
        --release) shift ;;
        --bin) target="bin:$2"; shift 2 ;;
        --example) target="example:$2"; shift 2 ;;
        --) shift; break ;;
        *) echo "doc snippet: unexpected cargo run argument $1" >&2; exit 99 ;;
    esac
done
case "$target" in
    bin:rnnc) exec "$RNNC_BIN" "$@" ;;
    example:*) exec "$REAL_CARGO" run --quiet --manifest-path "$RNNC_ROOT/Cargo.toml" \\
        --example "${target#example:}" -- "$@" ;;
    *) echo "doc snippet: cargo run of '$target'" >&2; exit 99 ;;
esac
"""


def fixture(name, work, env):
    """Makes the files a snippet takes as given (a user's trained model, saved)."""
    scripts = {
        # A trained model whose recurrent part is `model.lstm`, saved whole.
        "model.pt": """
            import torch
            from doc_model import Model
            torch.manual_seed(0)
            torch.save(Model(), "model.pt")
        """,
        "gru.safetensors": """
            import torch
            from safetensors.torch import save_file
            torch.manual_seed(0)
            save_file(torch.nn.GRU(40, 48, batch_first=True).state_dict(), "gru.safetensors")
        """,
        # Silero VAD's decoder: an LSTMCell(128, 128) at `decoder.rnn`.
        "silero_vad.safetensors": """
            import torch
            from safetensors.torch import save_file
            torch.manual_seed(0)
            cell = torch.nn.LSTMCell(128, 128)
            save_file({"decoder.rnn." + k: v for k, v in cell.state_dict().items()}, "silero_vad.safetensors")
        """,
        # A keyword spotter with its RNN at `encoder.rnn`, and the spec exported from it.
        "kws-model": """
            import subprocess, sys, torch
            from doc_model import Encoder
            torch.manual_seed(0)
            torch.save(Encoder(), "model.pt")
            subprocess.run([sys.executable, "tools/export_weights.py", "model.pt", "--prefix",
                            "encoder.rnn.", "--out", "build/kws"], check=True)
        """,
    }
    assert name in scripts, f"unknown doctest fixture {name!r}: one of {sorted(scripts)}"
    run(["python", "-c", textwrap.dedent(scripts[name])], work, env, f"fixture {name}")


DOC_MODEL = '''
import torch

class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(40, 128, 2)
        self.head = torch.nn.Linear(128, 2)

    def forward(self, x):
        return self.head(self.lstm(x)[0])

class Encoder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = torch.nn.Module()
        self.encoder.rnn = torch.nn.RNN(40, 128, 2)
'''


def run(argv, work, env, what):
    proc = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    if proc.returncode != 0:
        pytest.fail(f"{what} failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def environment(work):
    shims = os.path.join(work, ".shims")
    os.makedirs(shims)
    with open(os.path.join(shims, "cargo"), "w") as f:
        f.write(SHIM_CARGO)
    for name in ("python", "python3"):
        # A script, not a link: a virtual environment's interpreter knows its environment
        # by the path it is started from.
        with open(os.path.join(shims, name), "w") as f:
            f.write(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    for path in os.listdir(shims):
        os.chmod(os.path.join(shims, path), 0o755)
    for name in ("specs", "tools", "tests", "benches"):
        os.symlink(os.path.join(ROOT, name), os.path.join(work, name))
    with open(os.path.join(work, "doc_model.py"), "w") as f:
        f.write(DOC_MODEL)
    env = dict(os.environ)
    env["PATH"] = shims + os.pathsep + env["PATH"]
    env["RNNC_ROOT"] = ROOT
    env["REAL_CARGO"] = shutil.which("cargo") or "cargo"
    env["RNNC_BIN"] = os.environ.get("RNNC_BIN", os.path.join(ROOT, "target", "debug", "rnnc"))
    env["PYTHONPATH"] = work
    return env


def check_expected(block, expected, out):
    """Each non-empty line of `expected` occurs in `out`, in order (spaces normalized)."""
    got = [" ".join(line.split()) for line in out.split("\n")]
    at = 0
    for line in expected.text.split("\n"):
        want = " ".join(line.split())
        if not want:
            continue
        while at < len(got) and want not in got[at]:
            at += 1
        if at == len(got):
            pytest.fail(f"{block.where()}: output lacks {want!r} (expected at {expected.where()}):\n{out}")
        at += 1


@pytest.mark.parametrize("doc", DOCS)
def test_every_snippet_runs(doc, tmp_path):
    blocks = blocks_of(doc)
    work = str(tmp_path)
    env = environment(work)
    require_tools = os.environ.get("RNNC_REQUIRE_CROSS") == "1"
    chain = ""
    missing_tools = []
    for i, block in enumerate(blocks):
        if block.lang not in RUN | NOT_RUN | {"rust"}:
            pytest.fail(f"{block.where()}: a code block of language {block.lang!r}: use python, sh, "
                        "rust (run or compiled by the tests), or text/toml (not run)")
        path = block.directive("file")
        if path is not None:
            with open(os.path.join(ROOT, path), encoding="utf-8") as f:
                assert block.text == f.read(), f"{block.where()}: the block differs from {path}"
            continue
        if block.lang == "rust":
            assert doc == "README.md", (
                f"{block.where()}: a Rust block in docs/ must be a file of the checkout "
                "(`<!-- doctest: file examples/NAME.rs -->`), which cargo builds")
            continue  # the README's Rust blocks are doc-tests of the rnnc crate (src/lib.rs)
        if block.lang in NOT_RUN:
            continue
        reason = block.directive("skip")
        if reason is not None:
            assert reason, f"{block.where()}: `skip` needs a reason"
            continue
        needs = block.directive("needs")
        if needs:
            absent = [cmd for cmd in needs.split() if shutil.which(cmd) is None]
            if absent:
                assert not require_tools, f"{block.where()}: needs {absent}, missing (RNNC_REQUIRE_CROSS=1)"
                missing_tools.append(f"{block.where()} (needs {', '.join(absent)})")
                continue
        name = block.directive("fixture")
        if name:
            fixture(name, work, env)
        if block.lang == "python":
            chain = (chain if block.directive("continue") is not None else "") + block.text
            script = os.path.join(work, f"snippet_{i}.py")
            with open(script, "w") as f:
                f.write(chain)
            out = run(["python", script], work, env, f"{block.where()} (python)")
        else:
            script = os.path.join(work, f"snippet_{i}.sh")
            with open(script, "w") as f:
                f.write("set -euo pipefail\n" + block.text)
            out = run(["bash", script], work, env, f"{block.where()} (sh)")
        if block.directive("expect") is not None:
            assert i + 1 < len(blocks) and blocks[i + 1].lang == "text", (
                f"{block.where()}: `expect` needs a ```text block right after it")
            check_expected(block, blocks[i + 1], out)
    if missing_tools:
        print(f"{doc}: SKIPPED snippets whose tools are missing: {'; '.join(missing_tools)}", file=sys.stderr)


def test_an_expectation_fails_on_output_that_lacks_a_line_or_has_it_out_of_order():
    block = Block("doc.md", 1, "sh", "./demo\n", ["expect"])
    expected = Block("doc.md", 5, "text", "a = 1  2\nb = 3\n", [])
    check_expected(block, expected, "noise\na = 1 2\nmore\nb   = 3\n")
    with pytest.raises(pytest.fail.Exception, match="lacks 'b = 3'"):
        check_expected(block, expected, "a = 1 2\nb = 4\n")
    with pytest.raises(pytest.fail.Exception, match="lacks 'b = 3'"):
        check_expected(block, expected, "b = 3\na = 1 2\n")


def test_a_directive_must_come_right_before_a_block(tmp_path, monkeypatch):
    doc = tmp_path / "doc.md"
    doc.write_text("<!-- doctest: skip: why -->\nsome text\n```sh\ntrue\n```\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", str(tmp_path))
    with pytest.raises(AssertionError, match="right before a code block"):
        blocks_of("doc.md")
    doc.write_text("<!-- doctest: skip: why; fixture x -->\n```sh\ntrue\n```\n")
    (block,) = blocks_of("doc.md")
    assert block.directive("skip") == "why" and block.directive("fixture") == "x"
    assert block.directive("expect") is None
