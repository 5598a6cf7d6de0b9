#!/usr/bin/env python3
"""Export a PyTorch RNN, LSTM or GRU, or a cell module (RNNCell, LSTMCell, GRUCell), for
rnnc: its spec (TOML) and its weights (safetensors).

  python tools/export_weights.py CHECKPOINT --out build/kws [--prefix encoder.rnn.]
         [--cell rnn|lstm|gru|rnn_cell|lstm_cell|gru_cell] [--nonlinearity tanh|relu]
         [--batch-first true|false] [--name kws]

CHECKPOINT is one of:
  - a whole module saved with torch.save(model) (a torch.nn.RNN, LSTM, GRU or cell module,
    or a model holding one at --prefix): every constructor argument is read from the
    module itself;
  - a state_dict saved with torch.save(model.state_dict()) (.pt/.pth) or with
    safetensors.torch.save_file: the cell, sizes, layers, direction, bias and proj_size are
    read from the tensors' names and shapes, but a state_dict does not record batch_first
    (nor an RNN's nonlinearity), so --batch-first (and for an RNN --nonlinearity) are
    required: a relu model exported as tanh would compile, run and even verify against
    cases made from the same wrong spec. A cell module's tensors have no layer suffix
    (weight_ih, weight_hh, bias_ih, bias_hh); it has no batch_first, and an RNNCell's
    state_dict needs --nonlinearity.
How the cell is told from the shapes: weight_hh_l0 is (G * hidden_size, R) with G = 1 for
the RNN, 3 for the GRU (gates r, z, n) and 4 for the LSTM (i, f, g, o). Without a
weight_hr_l0, R = hidden_size, so G is the ratio of weight_hh_l0's rows to its columns and
no two cells share a shape (a 2-layer GRU of hidden size 4 has weight_hh [12, 4]; an LSTM
with 12 rows would have hidden size 3 and 3 columns). With weight_hr_l0 (P, H) the model
is an LSTM with proj_size P, hidden_size H and weight_hh (4H, P). --cell states the cell
and is checked against the shapes.
--prefix selects the module inside a larger model. Writes OUT.toml and OUT.safetensors
(plain state_dict names), ready for:

  rnnc OUT.toml --weights OUT.safetensors -o build

From Python, export(module, "build/kws") does the same for an nn.RNN, nn.LSTM, nn.GRU or
cell module you hold.
"""

import argparse
import os
import re
import sys

try:
    import torch
    from safetensors import SafetensorError
    from safetensors.torch import load_file, save_file
except ImportError as e:
    sys.exit(f"error: {e.name} is not installed: pip install torch safetensors numpy")


class ExportError(Exception):
    """A mistake in the tool's input: reported in one message, without a traceback."""


# Gate blocks stacked in each weight, per cell.
GATES = {"rnn": 1, "gru": 3, "lstm": 4}
MODULES = {"rnn": "torch.nn.RNN", "gru": "torch.nn.GRU", "lstm": "torch.nn.LSTM"}


# The cell modules, their cells' gate blocks, and the sequence module of each cell.
CELL_MODULES = {"rnn_cell": torch.nn.RNNCell, "lstm_cell": torch.nn.LSTMCell,
                "gru_cell": torch.nn.GRUCell}
CELL_GATES = {"rnn_cell": 1, "gru_cell": 3, "lstm_cell": 4}


def cell_of(module):
    """`rnn`, `lstm` or `gru` for a torch recurrent module, else None: its `mode` names it
    (`RNN_TANH` and `RNN_RELU` are the RNN's, `LSTM`, `GRU`)."""
    if isinstance(module, torch.nn.RNNBase):
        return module.mode.split("_")[0].lower()
    return None


def cell_module_of(module):
    """`rnn_cell`, `lstm_cell` or `gru_cell` for a torch cell module, else None."""
    for cell, cls in CELL_MODULES.items():
        if isinstance(module, cls):
            return cell
    return None


def kind_of(module):
    """The spec's `cell` for any module rnnc compiles, else None."""
    return cell_of(module) or cell_module_of(module)


def module_name(kind):
    return MODULES.get(kind) or f"torch.nn.{CELL_MODULES[kind].__name__}"


def spec_text(name, input_size, hidden_size, num_layers, nonlinearity, bias, batch_first,
              bidirectional, dtype, cell="rnn", proj_size=0):
    text = f'name = "{name}"\n'
    if cell != "rnn":
        text += f'cell = "{cell}"\n'
    text += f'input_size = {input_size}\nhidden_size = {hidden_size}\nnum_layers = {num_layers}\n'
    if cell == "rnn":
        text += f'nonlinearity = "{nonlinearity}"\n'
    if proj_size:
        text += f"proj_size = {proj_size}\n"
    return text + (f'bias = {str(bias).lower()}\nbatch_first = {str(batch_first).lower()}\n'
                   f'bidirectional = {str(bidirectional).lower()}\ndtype = "{dtype}"\n')


def infer_cell(state):
    """(cell, hidden_size, proj_size) from a plain-named state_dict's shapes (see the module
    documentation for why they are unambiguous)."""
    if "weight_hh_l0" not in state:
        raise ExportError("the state_dict has weight_ih_l0 but no weight_hh_l0")
    rows, cols = state["weight_hh_l0"].shape
    if "weight_hr_l0" in state:
        proj, hidden = state["weight_hr_l0"].shape
        if (rows, cols) != (4 * hidden, proj):
            raise ExportError(
                f"weight_hr_l0 {list(state['weight_hr_l0'].shape)} is an LSTM projection, but "
                f"weight_hh_l0 is {[rows, cols]}, not [{4 * hidden}, {proj}]")
        return "lstm", hidden, proj
    cells = [c for c, g in GATES.items() if rows == g * cols]
    if not cells:
        raise ExportError(
            f"weight_hh_l0 has shape {[rows, cols]}: not (G * hidden_size, hidden_size) for "
            "G = 1 (RNN), 3 (GRU) or 4 (LSTM)")
    return cells[0], cols, 0


def prefixes(names, stem="weight_ih_l0"):
    """The prefixes under which `names` hold an RNN (`encoder.rnn.` for encoder.rnn.weight_ih_l0)."""
    return sorted({n[: -len(stem)] for n in names if n.endswith(stem)})


def normalized(prefix):
    return prefix if not prefix or prefix.endswith(".") else prefix + "."


def select(state, prefix):
    """The tensors under `prefix`, without it; a clear error if there are none."""
    prefix = normalized(prefix)
    selected = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    if "weight_ih_l0" in selected or "weight_ih" in selected:
        return selected
    found = sorted(set(prefixes(state)) | set(prefixes(state, "weight_ih")))
    if found:
        hint = "the file holds an RNN under " + ", ".join(
            f"--prefix {p}" if p else "no prefix (omit --prefix)" for p in found)
    else:
        names = sorted(state)
        shown = ", ".join(names[:12]) + (f", ... ({len(names)} tensors)" if len(names) > 12 else "")
        hint = ("the file has no RNN weights (no tensor named *weight_ih_l0, or a cell "
                f"module's *weight_ih); it holds: {shown or 'nothing'}")
    where = f"under the prefix `{prefix}`" if prefix else "without a prefix"
    raise ExportError(f"no RNN weights {where}: {hint}")


def check_flags(cell, nonlinearity, batch_first):
    """The flags a state_dict does not record, as the user stated them: batch_first, and a
    torch.nn.RNN's nonlinearity (which the LSTM and the GRU do not have)."""
    if cell != "rnn" and nonlinearity is not None:
        raise ExportError(f"--nonlinearity is the RNN's; the tensors are a {MODULES[cell]}'s, "
                          "which has none")
    unrecorded = (["nonlinearity"] if cell == "rnn" else []) + ["batch_first"]
    given = {"nonlinearity": nonlinearity, "batch_first": batch_first}
    missing = [f"--{f.replace('_', '-')}" for f in unrecorded if given[f] is None]
    if missing:
        raise ExportError(
            f"a state_dict does not record {' and '.join(unrecorded)}: give "
            f"{' and '.join(missing)} as your model has them (e.g. --batch-first false), or "
            "export the whole module (torch.save(model)) instead")


def save(out, text, state):
    """Writes OUT.toml (the spec `text`) and OUT.safetensors (`state`)."""
    directory = os.path.dirname(out)
    if directory:
        os.makedirs(directory, exist_ok=True)
    with open(out + ".toml", "w") as f:
        f.write(text)
    save_file({k: v.contiguous() for k, v in state.items()}, out + ".safetensors")
    print(f"wrote {out}.toml and {out}.safetensors:\n{text}", end="")


def spec_dtype(state, weight):
    dtypes = {torch.float32: "f32", torch.float64: "f64"}
    dtype = state[weight].dtype
    if dtype not in dtypes:
        raise ExportError(f"rnnc computes in float32 or float64, the weights are {dtype}")
    return dtypes[dtype]


def write_cell(out, name, state, nonlinearity, batch_first, cell=None):
    """Like `write`, for a cell module's state_dict (weight_ih, weight_hh, bias_ih,
    bias_hh): the cell from weight_hh's shape, (G * hidden_size, hidden_size)."""
    if "weight_hh" not in state:
        raise ExportError("the state_dict has weight_ih but no weight_hh")
    rows, cols = state["weight_hh"].shape
    inferred = next((c for c, g in CELL_GATES.items() if rows == g * cols), None)
    if inferred is None:
        raise ExportError(
            f"weight_hh has shape {[rows, cols]}: not (G * hidden_size, hidden_size) for "
            "G = 1 (RNNCell), 3 (GRUCell) or 4 (LSTMCell)")
    if cell is not None and cell != inferred:
        raise ExportError(
            f"--cell {cell}, but the tensors are a {module_name(inferred)}'s: weight_hh "
            f"{[rows, cols]} stacks {CELL_GATES[inferred]} gate block(s) of hidden_size {cols}"
            + ("" if cell in CELL_GATES else " (a cell module's names have no layer suffix)"))
    if batch_first is not None:
        raise ExportError(f"--batch-first is a sequence module's; a {module_name(inferred)} "
                          "steps one (N, H_in) input and has none")
    if inferred == "rnn_cell" and nonlinearity is None:
        raise ExportError("a state_dict does not record nonlinearity: give --nonlinearity as "
                          "your RNNCell has it (tanh or relu), or export the whole module "
                          "(torch.save(model)) instead")
    if inferred != "rnn_cell" and nonlinearity is not None:
        raise ExportError(f"--nonlinearity is the RNNCell's; the tensors are a "
                          f"{module_name(inferred)}'s, which has none")
    text = cell_spec_text(name, inferred, state["weight_ih"].shape[1], cols, nonlinearity,
                          "bias_ih" in state, spec_dtype(state, "weight_ih"))
    save(out, text, state)


def cell_spec_text(name, cell, input_size, hidden_size, nonlinearity, bias, dtype):
    text = (f'name = "{name}"\ncell = "{cell}"\ninput_size = {input_size}\n'
            f"hidden_size = {hidden_size}\n")
    if cell == "rnn_cell":
        text += f'nonlinearity = "{nonlinearity}"\n'
    return text + f'bias = {str(bias).lower()}\ndtype = "{dtype}"\n'


def write(out, name, state, nonlinearity, batch_first, cell=None):
    """Infer the spec from a plain-named state_dict and write OUT.toml, OUT.safetensors;
    `cell`, if given, must be the one the shapes say."""
    if "weight_ih" in state and "weight_ih_l0" not in state:
        return write_cell(out, name, state, nonlinearity, batch_first, cell)
    if cell in CELL_GATES:
        raise ExportError(f"--cell {cell}, but the tensors are a sequence module's "
                          "(weight_ih_l0, ...), where a cell module's have no layer suffix")
    layers = 1 + max(int(m.group(1)) for k in state if (m := re.match(r"weight_ih_l(\d+)$", k)))
    inferred, hidden_size, proj_size = infer_cell(state)
    if cell is not None and cell != inferred:
        rows, cols = state["weight_hh_l0"].shape
        raise ExportError(
            f"--cell {cell}, but the tensors are a {MODULES[inferred]}'s: weight_hh_l0 "
            f"{[rows, cols]} stacks {GATES[inferred]} gate block(s) of hidden_size {hidden_size}"
            + (f" (and weight_hr_l0 projects to {proj_size})" if proj_size else "")
            + f", where a {MODULES[cell]} stacks {GATES[cell]}")
    cell = inferred
    check_flags(cell, nonlinearity, batch_first)
    input_size = state["weight_ih_l0"].shape[1]
    text = spec_text(name, input_size, hidden_size, layers, nonlinearity, "bias_ih_l0" in state,
                     batch_first, "weight_ih_l0_reverse" in state,
                     spec_dtype(state, "weight_ih_l0"), cell, proj_size)
    save(out, text, state)


def export(rnn, out, name=None):
    """Write OUT.toml and OUT.safetensors for a torch.nn.RNN, LSTM, GRU or cell module.

    The spec is the module's own arguments, as torch holds them (`mode` for the cell,
    `proj_size`, `nonlinearity` where the module has one...): nothing is inferred from the
    shapes, which rnnc checks against the spec when it compiles the weights."""
    cell = kind_of(rnn)
    if cell is None:
        raise ExportError("export takes a torch.nn.RNN, LSTM, GRU, RNNCell, LSTMCell or "
                          f"GRUCell, got {type(rnn).__name__}")
    name = name or os.path.basename(out)
    state = rnn.state_dict()
    nonlinearity = getattr(rnn, "nonlinearity", None)  # the RNN's and the RNNCell's
    if cell in CELL_MODULES:
        text = cell_spec_text(name, cell, rnn.input_size, rnn.hidden_size, nonlinearity,
                              bool(rnn.bias), spec_dtype(state, "weight_ih"))
    else:
        text = spec_text(name, rnn.input_size, rnn.hidden_size, rnn.num_layers, nonlinearity,
                         bool(rnn.bias), bool(rnn.batch_first), bool(rnn.bidirectional),
                         spec_dtype(state, "weight_ih_l0"), cell, rnn.proj_size)
    save(out, text, state)


def submodule(model, prefix):
    """The module at `prefix` (`encoder.rnn`) of `model`."""
    path = normalized(prefix).rstrip(".")
    try:
        return model.get_submodule(path) if path else model
    except AttributeError:
        names = [n for n, m in model.named_modules() if kind_of(m)]
        raise ExportError(f"the module has no submodule `{path}`; its recurrent modules: "
                          + (", ".join(f"--prefix {n}" for n in names) or "none"))


def load_checkpoint(path):
    """A state_dict or a whole module from `path` (safetensors or torch.save)."""
    if not os.path.exists(path):
        raise ExportError(f"{path}: no such file")
    if path.endswith(".safetensors"):
        try:
            return load_file(path)
        except (SafetensorError, OSError) as e:
            raise ExportError(f"{path}: not a safetensors file ({e})")
    try:
        # A state_dict loads with weights_only; a whole module needs the pickle.
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        try:
            return torch.load(path, map_location="cpu", weights_only=False)
        except Exception as e:
            raise ExportError(f"{path}: neither a torch.save checkpoint nor safetensors ({e})")


def parse_bool(text):
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--out", required=True, help="path without extension")
    parser.add_argument("--prefix", default="")
    parser.add_argument("--cell", choices=list(GATES) + list(CELL_GATES),
                        help="the module's cell, checked against the shapes [inferred]")
    parser.add_argument("--nonlinearity", choices=["tanh", "relu"],
                        help="an RNN's: required for its state_dict, which does not record it")
    parser.add_argument("--batch-first", type=parse_bool, metavar="true|false",
                        help="required for a state_dict, which does not record it")
    parser.add_argument("--name", help="C identifier for the emitted symbols [OUT's stem]")
    args = parser.parse_args(argv)
    name = args.name or re.sub(r"\W", "_", os.path.basename(args.out))
    try:
        loaded = load_checkpoint(args.checkpoint)
        if isinstance(loaded, torch.nn.Module):
            rnn = submodule(loaded, args.prefix)
            cell = kind_of(rnn)
            if cell is None:
                raise ExportError(f"the module at `{args.prefix}` is a {type(rnn).__name__}, "
                                  "not a torch.nn.RNN, LSTM, GRU, RNNCell, LSTMCell or GRUCell")
            if args.cell is not None and args.cell != cell:
                raise ExportError(f"--cell {args.cell} contradicts the module, a "
                                  f"{module_name(cell)}")
            for flag, value in [("nonlinearity", args.nonlinearity), ("batch_first", args.batch_first)]:
                if value is not None and value != getattr(rnn, flag, None):
                    raise ExportError(f"--{flag.replace('_', '-')} {value} contradicts the module, "
                                      f"which has {flag}={getattr(rnn, flag)}")
            export(rnn, args.out, name)
            return 0
        if not isinstance(loaded, dict):
            raise ExportError(f"{args.checkpoint} holds a {type(loaded).__name__}, not a "
                              "state_dict or a module")
        write(args.out, name, select(loaded, args.prefix), args.nonlinearity, args.batch_first,
              args.cell)
        return 0
    except ExportError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
