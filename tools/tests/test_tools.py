"""The Python tools as a user runs them: tools/export_weights.py and tools/rnnc_cases.py.

Needs torch, safetensors and pytest (`.ci/run` installs them in a virtual environment);
the end-to-end test also runs the `rnnc` binary (RNNC_BIN, else target/debug/rnnc).
"""

import json
import os
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file, save_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import export_weights  # noqa: E402
import rnnc_cases  # noqa: E402


def rnnc_binary():
    binary = os.environ.get("RNNC_BIN", os.path.join(ROOT, "target", "debug", "rnnc"))
    if not os.path.exists(binary):
        subprocess.run(["cargo", "build", "--bin", "rnnc"], cwd=ROOT, check=True)
    return binary


@pytest.fixture
def relu_rnn():
    torch.manual_seed(3)
    return torch.nn.RNN(6, 10, num_layers=2, nonlinearity="relu", batch_first=True)


def test_a_state_dict_needs_the_flags_it_does_not_record(tmp_path, relu_rnn, capsys):
    checkpoint = tmp_path / "model.pt"
    torch.save(relu_rnn.state_dict(), checkpoint)
    out = str(tmp_path / "m")
    assert export_weights.main([str(checkpoint), "--out", out]) == 1
    err = capsys.readouterr().err
    assert "--nonlinearity and --batch-first" in err and "Traceback" not in err
    assert not os.path.exists(out + ".toml")
    assert export_weights.main([str(checkpoint), "--out", out, "--nonlinearity", "relu",
                                "--batch-first", "true"]) == 0
    spec = open(out + ".toml").read()
    assert 'nonlinearity = "relu"' in spec and "batch_first = true" in spec


def test_a_whole_module_gives_its_own_flags(tmp_path, relu_rnn):
    model = torch.nn.Sequential()
    model.add_module("rnn", relu_rnn)
    checkpoint = tmp_path / "whole.pt"
    torch.save(model, checkpoint)
    out = str(tmp_path / "m")
    assert export_weights.main([str(checkpoint), "--out", out, "--prefix", "rnn"]) == 0
    spec = open(out + ".toml").read()
    assert 'nonlinearity = "relu"' in spec and "batch_first = true" in spec
    # A flag that contradicts the module is refused.
    assert export_weights.main([str(checkpoint), "--out", out, "--prefix", "rnn",
                                "--nonlinearity", "tanh"]) == 1


def test_a_wrong_prefix_names_the_prefixes_found(tmp_path, relu_rnn, capsys):
    weights = tmp_path / "w.safetensors"
    save_file({f"encoder.rnn.{k}": v.contiguous() for k, v in relu_rnn.state_dict().items()},
              str(weights))
    args = [str(weights), "--out", str(tmp_path / "m"), "--nonlinearity", "relu",
            "--batch-first", "true"]
    assert export_weights.main(args + ["--prefix", "enc"]) == 1
    err = capsys.readouterr().err
    assert "--prefix encoder.rnn." in err and "Traceback" not in err
    assert export_weights.main(args) == 1
    assert "--prefix encoder.rnn." in capsys.readouterr().err
    assert export_weights.main(args + ["--prefix", "encoder.rnn"]) == 0
    # No RNN at all: the file's tensors are listed.
    other = tmp_path / "other.safetensors"
    save_file({"linear.weight": torch.zeros(2, 2)}, str(other))
    assert export_weights.main([str(other), "--out", str(tmp_path / "o"), "--nonlinearity",
                                "tanh", "--batch-first", "false"]) == 1
    assert "linear.weight" in capsys.readouterr().err


def test_missing_and_unreadable_files_are_one_line(tmp_path, capsys):
    assert export_weights.main([str(tmp_path / "nope.pt"), "--out", str(tmp_path / "m")]) == 1
    assert "no such file" in capsys.readouterr().err
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"not a file at all")
    assert export_weights.main([str(garbage), "--out", str(tmp_path / "m")]) == 1
    err = capsys.readouterr().err
    assert "not a safetensors file" in err and "Traceback" not in err


def write_spec(path, **keys):
    lines = [f"{k} = {json.dumps(v)}" for k, v in keys.items()]
    path.write_text("\n".join(lines) + "\n")


def test_cases_are_not_made_from_a_spec_of_another_model(tmp_path, relu_rnn, capsys):
    """A relu model whose spec says tanh (an export that forgot the flag) cannot be turned
    into a case that verifies the spec against itself."""
    module = tmp_path / "whole.pt"
    torch.save(relu_rnn, module)
    spec = tmp_path / "m.toml"
    write_spec(spec, input_size=6, hidden_size=10, num_layers=2, batch_first=True)
    out = str(tmp_path / "case")
    assert rnnc_cases.main(["export", "--spec", str(spec), "--module", str(module), "--out",
                            out]) == 1
    err = capsys.readouterr().err
    assert "nonlinearity = 'tanh' in the spec, 'relu' in" in err and "Traceback" not in err
    # The same with a state_dict: the flags must be stated, and must agree with the spec.
    weights = tmp_path / "w.safetensors"
    save_file({k: v.contiguous() for k, v in relu_rnn.state_dict().items()}, str(weights))
    base = ["export", "--spec", str(spec), "--weights", str(weights), "--out", out]
    assert rnnc_cases.main(base) == 1
    assert "--nonlinearity and --batch-first" in capsys.readouterr().err
    assert rnnc_cases.main(base + ["--nonlinearity", "relu", "--batch-first", "true"]) == 1
    assert "nonlinearity = 'tanh' in the spec" in capsys.readouterr().err
    assert not os.path.exists(out + ".json")


def test_bad_inputs_to_cases_export_are_one_line(tmp_path, relu_rnn, capsys):
    module = tmp_path / "whole.pt"
    torch.save(relu_rnn, module)
    spec = tmp_path / "m.toml"
    write_spec(spec, input_size=6, hidden_size=10, num_layers=2, nonlinearity="relu",
               batch_first=True)
    base = ["export", "--spec", str(spec), "--module", str(module), "--out",
            str(tmp_path / "c")]
    for extra, message in [
        (["--lengths", "20,x"], "expected integers"),
        (["--lengths", "20,21", "--batch", "2"], "expected 2 lengths in 1..20"),
        (["--prefix", "encoder"], "no submodule `encoder`"),
    ]:
        assert rnnc_cases.main(base + extra) == 1, extra
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, err
    assert rnnc_cases.main(["export", "--spec", str(tmp_path / "none.toml"), "--module",
                            str(module), "--out", str(tmp_path / "c")]) == 1
    assert "no such file" in capsys.readouterr().err


def test_an_exported_model_verifies_with_rnnc(tmp_path, relu_rnn):
    module = tmp_path / "whole.pt"
    torch.save(relu_rnn, module)
    out = str(tmp_path / "m")
    assert export_weights.main([str(module), "--out", out]) == 0
    case = str(tmp_path / "cases" / "relu")
    assert rnnc_cases.main(["export", "--spec", out + ".toml", "--module", str(module), "--out",
                            case, "--seq-len", "7", "--batch", "3", "--h0",
                            "--lengths", "7,2,5"]) == 0
    result = subprocess.run([rnnc_binary(), "verify", case + ".json"], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed, 0 failed" in result.stdout


@pytest.fixture
def lstmp():
    torch.manual_seed(5)
    return torch.nn.LSTM(6, 10, num_layers=2, proj_size=4, bidirectional=True)


@pytest.fixture
def gru():
    torch.manual_seed(6)
    return torch.nn.GRU(5, 4, num_layers=2, batch_first=True)


def test_a_whole_module_writes_the_spec_its_state_dict_does(tmp_path, lstmp, gru, relu_rnn):
    """A module's spec comes from its attributes (torch's mode, proj_size...), a state_dict's
    from its shapes and the flags given: the same spec for the same model."""
    for i, (rnn, flags) in enumerate([(lstmp, ["--batch-first", "false"]),
                                      (gru, ["--batch-first", "true"]),
                                      (relu_rnn, ["--batch-first", "true",
                                                  "--nonlinearity", "relu"])]):
        whole, state = tmp_path / f"whole{i}.pt", tmp_path / f"state{i}.safetensors"
        torch.save(rnn, whole)
        save_file({k: v.contiguous() for k, v in rnn.state_dict().items()}, str(state))
        texts = []
        for args in ([str(whole)], [str(state), *flags]):
            out = str(tmp_path / f"m{i}")
            assert export_weights.main(args + ["--out", out, "--name", "m"]) == 0
            texts.append(open(out + ".toml").read())
        assert texts[0] == texts[1], texts


def test_cases_read_torchs_mode_in_a_spec(tmp_path, relu_rnn, capsys):
    """A spec may name the module by torch's mode, as rnnc reads it; a contradiction with
    its cell or nonlinearity is refused in one line."""
    spec = tmp_path / "m.toml"
    write_spec(spec, mode="RNN_RELU", input_size=6, hidden_size=10, num_layers=2,
               batch_first=True)
    read = rnnc_cases.read_spec(str(spec))
    assert read["cell"] == "rnn" and read["nonlinearity"] == "relu"
    module = tmp_path / "whole.pt"
    torch.save(relu_rnn, module)
    out = str(tmp_path / "case")
    assert rnnc_cases.main(["export", "--spec", str(spec), "--module", str(module), "--out",
                            out]) == 0, capsys.readouterr().err
    for keys, message in [({"mode": "RNN_TANH", "nonlinearity": "relu"},
                           "mode = 'RNN_TANH' contradicts nonlinearity = 'relu'"),
                          ({"mode": "LSTM", "cell": "gru"}, "mode = 'LSTM' contradicts cell"),
                          ({"mode": "lstm"}, "unknown mode 'lstm'")]:
        write_spec(spec, input_size=6, hidden_size=10, **keys)
        with pytest.raises(rnnc_cases.CaseError, match=message):
            rnnc_cases.read_spec(str(spec))


def test_the_cell_is_read_from_a_state_dicts_shapes(tmp_path, lstmp, gru, capsys):
    """An LSTM with projections and a 2-layer GRU: cell, sizes and proj_size come from the
    shapes alone; batch_first must still be stated, nonlinearity must not."""
    for module, expected in [(lstmp, ['cell = "lstm"', "proj_size = 4", "hidden_size = 10",
                                      "num_layers = 2", "bidirectional = true"]),
                             (gru, ['cell = "gru"', "hidden_size = 4", "num_layers = 2"])]:
        checkpoint = tmp_path / "model.pt"
        torch.save(module.state_dict(), checkpoint)
        out = str(tmp_path / "m")
        assert export_weights.main([str(checkpoint), "--out", out]) == 1
        err = capsys.readouterr().err
        assert "does not record batch_first: give --batch-first" in err, err
        assert export_weights.main([str(checkpoint), "--out", out, "--batch-first", "false",
                                    "--nonlinearity", "tanh"]) == 1
        assert "--nonlinearity is the RNN's" in capsys.readouterr().err
        assert export_weights.main([str(checkpoint), "--out", out, "--batch-first",
                                    str(module.batch_first).lower()]) == 0
        spec = open(out + ".toml").read()
        assert all(line in spec for line in expected), spec
        assert "nonlinearity" not in spec
    # --cell is checked against the shapes: a GRU's state_dict is not an LSTM's.
    assert export_weights.main([str(checkpoint), "--out", out, "--batch-first", "true",
                                "--cell", "lstm"]) == 1
    err = capsys.readouterr().err
    assert "the tensors are a torch.nn.GRU's: weight_hh_l0 [12, 4] stacks 3" in err, err


def test_lstm_and_gru_cases_verify_with_rnnc(tmp_path, lstmp, gru):
    """Exported from PyTorch with the tools, run by rnnc on every engine: torch's numbers."""
    for name, module in [("lstmp", lstmp), ("gru", gru)]:
        whole = tmp_path / f"{name}.pt"
        torch.save(module, whole)
        out = str(tmp_path / name)
        assert export_weights.main([str(whole), "--out", out]) == 0
        case = str(tmp_path / "cases" / name)
        assert rnnc_cases.main(["export", "--spec", out + ".toml", "--module", str(whole),
                                "--out", case, "--seq-len", "6", "--batch", "3", "--h0",
                                "--lengths", "6,2,4"]) == 0
        config = json.load(open(case + ".json"))
        assert config["has_h0"] and config.get("cell") == name.rstrip("p")
        for engine in ["reference", "interp", "jit"]:
            result = subprocess.run([rnnc_binary(), "verify", "--engine", engine, "--threads",
                                     "2", case + ".json"], capture_output=True, text=True)
            assert result.returncode == 0, result.stdout + result.stderr
            assert "1 passed, 0 failed" in result.stdout
    # A spec of another cell is refused before any case is written.
    spec = tmp_path / "wrong.toml"
    write_spec(spec, cell="lstm", input_size=5, hidden_size=4, num_layers=2, batch_first=True)
    assert rnnc_cases.main(["export", "--spec", str(spec), "--module",
                            str(tmp_path / "gru.pt"), "--out", str(tmp_path / "x")]) == 1


def test_cell_modules_stepped_loops_verify_with_rnnc(tmp_path, capsys):
    """A cell module's case is torch's loop over the steps; rnnc steps it on every engine."""
    torch.manual_seed(5)
    cells = [torch.nn.LSTMCell(7, 9), torch.nn.RNNCell(7, 9, nonlinearity="relu", bias=False),
             torch.nn.GRUCell(7, 9).double()]
    for i, cell in enumerate(cells):
        dtype = next(cell.parameters()).dtype
        x = torch.randn(5, 3, 7, dtype=dtype) if i != 1 else torch.randn(5, 7)
        hx = rnnc_cases.cell_state(cell, 3, i == 1, dtype)
        path = str(tmp_path / f"cell_{i}")
        rnnc_cases.write_cell_case(cell, x, path, hx)
        config = json.load(open(path + ".json"))
        assert config["cell"] == ["lstm_cell", "rnn_cell", "gru_cell"][i]
        assert "num_layers" not in config and "packed" not in config
        assert config["tensors"]["output"] == ([5, 3, 9] if i != 1 else [5, 9])
        for engine in ["reference", "interp", "jit"]:
            result = subprocess.run([rnnc_binary(), "verify", "--engine", engine, path + ".json"],
                                    capture_output=True, text=True)
            assert result.returncode == 0, result.stdout + result.stderr
            assert "1 passed, 0 failed" in result.stdout
    with pytest.raises(rnnc_cases.CaseError, match="takes a torch.nn.RNNCell"):
        rnnc_cases.write_cell_case(torch.nn.LSTM(7, 9), torch.randn(5, 7), str(tmp_path / "x"))
    with pytest.raises(rnnc_cases.CaseError, match="a tuple"):
        rnnc_cases.write_cell_case(cells[0], torch.randn(5, 7), str(tmp_path / "x"),
                                   torch.zeros(9))
    assert rnnc_cases.main(["random", "--cell", "gru_cell", "--count", "3",
                            "--out", str(tmp_path / "random")]) == 0
    result = subprocess.run([rnnc_binary(), "verify", str(tmp_path / "random")],
                            capture_output=True, text=True)
    assert result.returncode == 0 and "3 passed, 0 failed" in result.stdout, result.stdout


class Decoder(torch.nn.Module):
    """A model around a cell module (module-level: torch.save pickles the class by name)."""

    def __init__(self, cell):
        super().__init__()
        self.cell, self.out = cell, torch.nn.Linear(9, 2)


def test_cell_modules_export_and_compile(tmp_path, capsys):
    """A cell module saved whole (inside a model, at --prefix) or as a state_dict: the spec
    has torch's arguments, the weights torch's names, and `rnnc` compiles them into a
    step function; a state_dict's missing or contradicting flags are one-line errors."""
    torch.manual_seed(7)
    cells = [(torch.nn.LSTMCell(7, 9), {}), (torch.nn.GRUCell(7, 9, bias=False).double(), {}),
             (torch.nn.RNNCell(7, 9, nonlinearity="relu"), {"nonlinearity": "relu"})]
    for i, (cell, flags) in enumerate(cells):
        kind = export_weights.cell_module_of(cell)
        whole, state = tmp_path / f"whole{i}.pt", tmp_path / f"state{i}.safetensors"
        torch.save(Decoder(cell), whole)
        save_file(cell.state_dict(), state)
        expected = {"cell": kind, "input_size": 7, "hidden_size": 9, "bias": cell.bias,
                    "dtype": "f64" if i == 1 else "f32", **flags}
        flag_args = [a for k, v in flags.items() for a in (f"--{k}", v)]
        for args in ([str(whole), "--prefix", "cell"], [str(state), *flag_args]):
            out = str(tmp_path / f"m{i}")
            assert export_weights.main(args + ["--out", out]) == 0, capsys.readouterr().err
            spec = dict(line.split(" = ", 1) for line in open(out + ".toml").read().splitlines())
            spec = {k: json.loads(v) if k not in ("bias",) else v == "true" for k, v in spec.items()}
            assert spec == {"name": f"m{i}", **expected}, spec
            written = load_file(out + ".safetensors")
            assert written.keys() == cell.state_dict().keys()
            assert all(torch.equal(written[k], v) for k, v in cell.state_dict().items())
            result = subprocess.run([rnnc_binary(), out + ".toml", "--weights",
                                     out + ".safetensors", "-o", str(tmp_path / "build")],
                                    capture_output=True, text=True)
            assert result.returncode == 0, result.stderr
            header = open(tmp_path / "build" / f"m{i}.h").read()
            assert f"m{i}_step(" in header
    # A state_dict does not record an RNNCell's nonlinearity; a cell module has no
    # batch_first; the cell is checked against the shapes.
    base = [str(state), "--out", str(tmp_path / "x")]
    assert export_weights.main(base) == 1
    assert "does not record nonlinearity: give --nonlinearity" in capsys.readouterr().err
    assert export_weights.main(base + ["--nonlinearity", "tanh", "--batch-first", "true"]) == 1
    assert "--batch-first is a sequence module's" in capsys.readouterr().err
    assert export_weights.main(base + ["--nonlinearity", "tanh", "--cell", "gru_cell"]) == 1
    err = capsys.readouterr().err
    assert "the tensors are a torch.nn.RNNCell's: weight_hh [9, 9] stacks 1" in err, err
    assert export_weights.main(base + ["--nonlinearity", "tanh", "--cell", "rnn"]) == 1
    assert "no layer suffix" in capsys.readouterr().err
    lstm = tmp_path / "lstm.safetensors"
    save_file(torch.nn.LSTM(3, 4).state_dict(), lstm)
    assert export_weights.main([str(lstm), "--out", str(tmp_path / "y"), "--batch-first",
                                "false", "--cell", "lstm_cell"]) == 1
    assert "a sequence module's (weight_ih_l0, ...)" in capsys.readouterr().err
    assert export_weights.main([str(tmp_path / "whole0.pt"), "--out", str(tmp_path / "z"),
                                "--prefix", "cell", "--cell", "gru_cell"]) == 1
    assert "contradicts the module, a torch.nn.LSTMCell" in capsys.readouterr().err
