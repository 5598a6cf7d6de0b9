#!/usr/bin/env python3
"""Write rnnc test cases computed by PyTorch (the format of tests/golden/README.md).

A case is NAME.json (torch's constructor arguments and how the call was made) beside
NAME.safetensors (the state_dict, `input`, optional `h0` (and an LSTM's `c0`), and torch's
`output`, `h_n` (and `c_n`)). `rnnc verify PATH...` checks rnnc against such cases.

A cell module's case (torch.nn.RNNCell, LSTMCell, GRUCell) is a stepped loop: the cell
called once per step on `input[t]` with the state the step before returned
(`h = cell(x[t], h)`), `output` the new h after every step and `h_n` (`c_n`) the last.

Commands:
  random  --out DIR [--cell rnn|lstm|gru|rnn_cell|lstm_cell|gru_cell] [--count N] [--seed S]
          [--max-size M] [--max-len L]
          random models, flags and calls (packed, unbatched, h0, an LSTM's projections...),
          like the shared sets; for a cell module, random stepped loops.
  cells   --out DIR [--seed S]
          the cell modules' cases of tests/golden: DIR/torch-rnn-cell, torch-lstm-cell and
          torch-gru-cell, 20 each (every flag and call form, sizes up to 300, and one
          deployed size: LSTMCell(128, 128), GRUCell(512, 512)).
  export  --spec SPEC.toml (--module MODEL.pt | --weights W.safetensors
          [--nonlinearity tanh|relu] --batch-first true|false) [--prefix encoder.rnn.]
          --out DIR/NAME [--input X.safetensors (tensor `input`)] [--seq-len L --batch N]
          [--h0] [--lengths 5,3,4] [--seed S]
          your own trained model (torch.nn.RNN, LSTM or GRU) on a sample input: rnnc must
          reproduce what torch computes for it. With --module (a whole module saved by
          torch.save(model)), torch runs your module itself; with --weights (its
          state_dict, which does not record batch_first, nor an RNN's nonlinearity), you
          state those flags, and the cell is read from the shapes (export_weights.py says
          how). Either way every constructor argument of the spec you compile is checked
          against the model, so that a spec that describes another model (a relu RNN
          exported as tanh, a GRU as an LSTM) fails here instead of verifying against
          itself. --h0 passes random initial states ((h0, c0) for an LSTM).

From Python, `write_case(module, input, path, hx=None, lengths=None)` writes a case for any
`torch.nn.RNN`, `LSTM` or `GRU` you hold (`hx` is `h0`, or `(h0, c0)` for an LSTM), and
`write_cell_case(cell, input, path, hx=None)` a stepped loop of any `torch.nn.RNNCell`,
`LSTMCell` or `GRUCell` (`input` is `(L, N, H_in)` or `(L, H_in)`).

Needs torch, safetensors and numpy (not needed by rnnc's build or tests).
"""

import argparse
import json
import os
import random
import sys
import tomllib

try:
    import torch
    from safetensors import SafetensorError
    from safetensors.torch import load_file, save_file
except ImportError as e:
    sys.exit(f"error: {e.name} is not installed: pip install torch safetensors numpy")


# The sibling tool's helpers (tools/ is the script's directory, hence on sys.path).
from export_weights import (  # noqa: E402
    CELL_MODULES, ExportError, GATES, MODULES, cell_module_of, cell_of, check_flags, infer_cell,
    normalized, parse_bool, prefixes)


class CaseError(Exception):
    """A mistake in the tool's input: reported in one message, without a traceback."""

DTYPES = {torch.float32: "float32", torch.float64: "float64"}
SPEC_DTYPES = {"f32": torch.float32, "float32": torch.float32,
               "f64": torch.float64, "float64": torch.float64}


def in_eval_mode(module):
    """The module in eval mode (dropout off, as rnnc computes) and its dtype, which must be
    one rnnc computes in."""
    dtype = next(module.parameters()).dtype
    if dtype not in DTYPES:
        raise CaseError(f"rnnc computes in float32 or float64, the module is {dtype}")
    return module.eval(), dtype


def save_case(path, config, tensors):
    """PATH.json (the configuration) and PATH.safetensors (the tensors)."""
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    with open(path + ".json", "w") as f:
        json.dump(config, f, indent=1)
    save_file(tensors, path + ".safetensors")


def write_case(rnn, input, path, hx=None, lengths=None, enforce_sorted=False):
    """Run `rnn` (a torch.nn.RNN, LSTM or GRU) on `input` in eval mode and write
    PATH.json/.safetensors.

    `input` is (L, N, H_in), (N, L, H_in) for batch_first, or unbatched (L, H_in); `hx` is
    the initial state (`h0`, or `(h0, c0)` for an LSTM) or None; `lengths` (one per
    sequence) packs the padded input with pack_padded_sequence, as a variable-length batch
    is fed to torch.
    """
    cell = cell_of(rnn)
    if cell is None:
        raise CaseError(f"write_case takes a torch.nn.RNN, LSTM or GRU, got {type(rnn).__name__}")
    if (cell == "lstm") != isinstance(hx, tuple) and hx is not None:
        raise CaseError("an LSTM's initial state is a tuple (h0, c0); the others' a tensor h0")
    rnn, dtype = in_eval_mode(rnn)
    input = input.to(dtype).contiguous()
    unbatched = input.dim() == 2
    if unbatched and lengths is not None:
        raise CaseError("lengths need a batched input: torch cannot pack an unbatched one")
    seq_len = input.shape[1] if rnn.batch_first and not unbatched else input.shape[0]
    batch = 1 if unbatched else (input.shape[0] if rnn.batch_first else input.shape[1])
    with torch.inference_mode():
        if lengths is not None:
            packed = torch.nn.utils.rnn.pack_padded_sequence(
                input, torch.tensor(lengths), batch_first=rnn.batch_first,
                enforce_sorted=enforce_sorted)
            out, h_n = rnn(packed, hx)
            output, _ = torch.nn.utils.rnn.pad_packed_sequence(
                out, batch_first=rnn.batch_first, total_length=seq_len)
        else:
            output, h_n = rnn(input, hx)
    tensors = {name: p.detach().contiguous() for name, p in rnn.state_dict().items()}
    tensors["input"] = input
    initial = hx if isinstance(hx, tuple) else (hx,)
    for name, t in zip(["h0", "c0"], initial):
        if t is not None:
            tensors[name] = t.to(dtype).contiguous()
    tensors["output"] = output.contiguous()
    for name, t in zip(["h_n", "c_n"], h_n if isinstance(h_n, tuple) else (h_n,)):
        tensors[name] = t.contiguous()
    config = {
        "input_size": rnn.input_size,
        "hidden_size": rnn.hidden_size,
        "num_layers": rnn.num_layers,
    }
    if cell == "rnn":
        config["nonlinearity"] = rnn.nonlinearity
    else:
        config["cell"] = cell
    if cell == "lstm":
        config["proj_size"] = rnn.proj_size
    config |= {
        "bias": rnn.bias,
        "batch_first": rnn.batch_first,
        "bidirectional": rnn.bidirectional,
        "dropout": float(rnn.dropout),
        "dtype": DTYPES[dtype],
        "seq_len": seq_len,
        "batch": batch,
        "unbatched": unbatched,
        "has_h0": hx is not None,
        "packed": lengths is not None,
        "enforce_sorted": bool(enforce_sorted),
        "lengths": list(lengths) if lengths is not None else None,
        "tensors": {name: list(t.shape) for name, t in tensors.items()},
    }
    save_case(path, config, tensors)


def write_cell_case(cell, input, path, hx=None):
    """Step `cell` (a torch.nn.RNNCell, LSTMCell or GRUCell) over `input` in eval mode, as a
    model steps it, `h = cell(input[t], h)` from `hx` (None, `h0`, or an LSTMCell's
    `(h0, c0)`), and write PATH.json/.safetensors.

    `input` is (L, N, H_in), or (L, H_in) for unbatched steps; `output` is the new h of
    every step, (L, N, H), and `h_n` (and `c_n`) the states after the last.
    """
    kind = cell_module_of(cell)
    if kind is None:
        raise CaseError("write_cell_case takes a torch.nn.RNNCell, LSTMCell or GRUCell, got "
                        f"{type(cell).__name__}")
    if (kind == "lstm_cell") != isinstance(hx, tuple) and hx is not None:
        raise CaseError("an LSTMCell's state is a tuple (h0, c0); the others' a tensor h0")
    cell, dtype = in_eval_mode(cell)
    input = input.to(dtype).contiguous()
    if input.dim() not in (2, 3) or input.shape[0] < 1:
        raise CaseError(f"a stepped loop's input is (L, N, H_in) or (L, H_in) with L >= 1, got "
                        f"{list(input.shape)}")
    unbatched = input.dim() == 2
    state, outputs = hx, []
    with torch.inference_mode():
        for x in input:
            state = cell(x, state)
            outputs.append(state[0] if isinstance(state, tuple) else state)
    tensors = {name: p.detach().contiguous() for name, p in cell.state_dict().items()}
    tensors["input"] = input
    for name, t in zip(["h0", "c0"], hx if isinstance(hx, tuple) else (hx,)):
        if t is not None:
            tensors[name] = t.to(dtype).contiguous()
    tensors["output"] = torch.stack(outputs).contiguous()
    for name, t in zip(["h_n", "c_n"], state if isinstance(state, tuple) else (state,)):
        tensors[name] = t.contiguous()
    config = {"input_size": cell.input_size, "hidden_size": cell.hidden_size, "cell": kind}
    if kind == "rnn_cell":
        config["nonlinearity"] = cell.nonlinearity
    config |= {
        "bias": cell.bias,
        "dtype": DTYPES[dtype],
        "seq_len": input.shape[0],
        "batch": 1 if unbatched else input.shape[1],
        "unbatched": unbatched,
        "has_h0": hx is not None,
        "tensors": {name: list(t.shape) for name, t in tensors.items()},
    }
    save_case(path, config, tensors)


def cell_state(cell, batch, unbatched, dtype):
    """A random state of `cell`: h0, or an LSTMCell's (h0, c0), (N, H) or (H)."""
    def state():
        shape = (cell.hidden_size,) if unbatched else (batch, cell.hidden_size)
        return torch.randn(*shape, dtype=dtype)
    return (state(), state()) if isinstance(cell, torch.nn.LSTMCell) else state()


def cell_case(kind, input_size, hidden_size, bias, dtype, seq_len, batch, unbatched, has_h0,
              nonlinearity="tanh"):
    """A cell module, its stepped loop's input and its initial state."""
    args = dict(bias=bias, dtype=dtype)
    if kind == "rnn_cell":
        args["nonlinearity"] = nonlinearity
    cell = CELL_MODULES[kind](input_size, hidden_size, **args)
    shape = (seq_len, input_size) if unbatched else (seq_len, batch, input_size)
    x = torch.randn(*shape, dtype=dtype)
    return cell, x, cell_state(cell, batch, unbatched, dtype) if has_h0 else None


def random_cell_case(rng, max_size, max_len, kind):
    """A random cell module of `kind` and stepped loop, covering every flag and call form."""
    return cell_case(
        kind, rng.randint(1, max_size), rng.randint(1, max_size), bias=rng.random() < 0.8,
        dtype=rng.choice([torch.float32, torch.float32, torch.float64]),
        seq_len=rng.randint(1, max_len), batch=rng.randint(1, 5),
        unbatched=rng.random() < 0.2, has_h0=rng.random() < 0.5,
        nonlinearity=rng.choice(["tanh", "relu"]))


def golden_cell_cases(rng, kind):
    """The 20 cases of tests/golden/torch-KIND: every combination of dtype, bias, batched or
    unbatched steps and initial state or none (an RNNCell's with tanh and relu), sizes
    usually small and up to 300, and one at a deployed size."""
    def size():
        return rng.choice([rng.randint(1, 24)] * 4 + [rng.randint(25, 96)] * 2
                          + [rng.randint(97, 300)])
    for i in range(19 if kind != "rnn_cell" else 20):
        yield cell_case(kind, size(), size(), bias=i % 3 != 2,
                        dtype=[torch.float32, torch.float64][i % 2],
                        seq_len=rng.randint(1, 12), batch=rng.randint(1, 5),
                        unbatched=i % 5 == 2, has_h0=(i // 4) % 2 == 0,
                        nonlinearity=["tanh", "relu"][(i // 8) % 2 if i < 16 else i % 2])
    # What deployed models step: Silero VAD's decoder, a WaveRNN-sized GRU.
    if kind == "lstm_cell":
        yield cell_case(kind, 128, 128, True, torch.float32, seq_len=16, batch=1,
                        unbatched=False, has_h0=True)
    elif kind == "gru_cell":
        yield cell_case(kind, 512, 512, True, torch.float32, seq_len=4, batch=1,
                        unbatched=True, has_h0=True)


def command_cells(args):
    rng = random.Random(args.seed)
    torch.manual_seed(args.seed)
    for kind in CELL_MODULES:
        directory = os.path.join(args.out, "torch-" + kind.replace("_", "-"))
        count = 0
        for i, (cell, x, hx) in enumerate(golden_cell_cases(rng, kind)):
            write_cell_case(cell, x, os.path.join(directory, f"case_{i:03d}"), hx)
            count += 1
        print(f"wrote {count} cases to {directory}")


def initial_state(rnn, batch, unbatched, dtype):
    """Random initial states for `rnn`: h0, or (h0, c0) for an LSTM (h0 has proj_size
    features when the LSTM projects)."""
    rows = rnn.num_layers * (2 if rnn.bidirectional else 1)
    proj = getattr(rnn, "proj_size", 0)

    def state(width):
        shape = (rows, width) if unbatched else (rows, batch, width)
        return torch.randn(*shape, dtype=dtype)
    h0 = state(proj or rnn.hidden_size)
    return (h0, state(rnn.hidden_size)) if isinstance(rnn, torch.nn.LSTM) else h0


def random_case(rng, max_size, max_len, cell="rnn"):
    """A random model of `cell` and call, covering every flag and call form."""
    d = dict(
        input_size=rng.randint(1, max_size),
        hidden_size=rng.randint(1, max_size),
        num_layers=rng.randint(1, 3),
        bias=rng.random() < 0.8,
        batch_first=rng.random() < 0.5,
        bidirectional=rng.random() < 0.5,
        dropout=rng.choice([0.0, 0.0, 0.3]),
    )
    dtype = rng.choice([torch.float32, torch.float32, torch.float64])
    if cell == "rnn":
        rnn = torch.nn.RNN(**d, nonlinearity=rng.choice(["tanh", "relu"]), dtype=dtype)
    elif cell == "lstm":
        proj = rng.randint(1, d["hidden_size"] - 1) if d["hidden_size"] > 1 and \
            rng.random() < 0.3 else 0
        rnn = torch.nn.LSTM(**d, proj_size=proj, dtype=dtype)
    else:
        rnn = torch.nn.GRU(**d, dtype=dtype)
    seq_len, batch = rng.randint(1, max_len), rng.randint(1, 5)
    unbatched = rng.random() < 0.15
    packed = not unbatched and rng.random() < 0.25
    if unbatched:
        x = torch.randn(seq_len, rnn.input_size, dtype=dtype)
    else:
        shape = (batch, seq_len) if rnn.batch_first else (seq_len, batch)
        x = torch.randn(*shape, rnn.input_size, dtype=dtype)
    h0 = initial_state(rnn, batch, unbatched, dtype) if rng.random() < 0.5 else None
    lengths, enforce_sorted = None, False
    if packed:
        lengths = [rng.randint(1, seq_len) for _ in range(batch)]
        lengths[rng.randrange(batch)] = seq_len  # torch pads to the longest sequence
        enforce_sorted = rng.random() < 0.5
        if enforce_sorted:
            lengths.sort(reverse=True)
    return rnn, x, h0, lengths, enforce_sorted


def command_random(args):
    rng = random.Random(args.seed)
    torch.manual_seed(args.seed)
    for i in range(args.count):
        path = os.path.join(args.out, f"case_{i:03d}")
        if args.cell in CELL_MODULES:
            cell, x, hx = random_cell_case(rng, args.max_size, args.max_len, args.cell)
            write_cell_case(cell, x, path, hx)
            continue
        rnn, x, h0, lengths, enforce_sorted = random_case(rng, args.max_size, args.max_len,
                                                          args.cell)
        write_case(rnn, x, path, h0, lengths, enforce_sorted)
    print(f"wrote {args.count} cases to {args.out}")


SPEC_DEFAULTS = {"cell": "rnn", "num_layers": 1, "bias": True, "batch_first": False,
                 "dropout": 0.0, "bidirectional": False, "proj_size": 0, "dtype": "f32"}


def read_spec(path):
    try:
        with open(path, "rb") as f:
            spec = tomllib.load(f)
    except FileNotFoundError:
        raise CaseError(f"{path}: no such file")
    except tomllib.TOMLDecodeError as e:
        raise CaseError(f"{path}: not TOML ({e}); `rnnc {path} --emit describe` says more")
    for key in ["input_size", "hidden_size"]:
        if key not in spec:
            raise CaseError(f"{path}: missing required key `{key}`")
    if spec.get("dtype", "f32") not in SPEC_DTYPES:
        raise CaseError(f"{path}: unknown dtype {spec['dtype']!r}")
    if "mode" in spec:
        # torch's RNNBase.mode, as rnnc reads it: the cell, and an RNN's nonlinearity.
        mode = spec.pop("mode")
        if mode not in ("RNN_TANH", "RNN_RELU", "LSTM", "GRU"):
            raise CaseError(f"{path}: unknown mode {mode!r} (RNN_TANH, RNN_RELU, LSTM or GRU)")
        implied = {"cell": mode.split("_")[0].lower()}
        if mode.startswith("RNN_"):
            implied["nonlinearity"] = mode[4:].lower()
        for key, value in implied.items():
            if spec.setdefault(key, value) != value:
                raise CaseError(f"{path}: mode = {mode!r} contradicts {key} = {spec[key]!r}")
    if spec.get("cell", "rnn") not in GATES:
        raise CaseError(f"{path}: unknown cell {spec['cell']!r}")
    spec = {**SPEC_DEFAULTS, **spec}
    if spec["cell"] == "rnn":
        spec.setdefault("nonlinearity", "tanh")
    return spec


def check_spec_against(rnn, spec, spec_path, source):
    """Every constructor argument of the spec must be the model's."""
    dtype = next(rnn.parameters()).dtype
    actual = {"cell": cell_of(rnn), "input_size": rnn.input_size,
              "hidden_size": rnn.hidden_size, "num_layers": rnn.num_layers, "bias": rnn.bias,
              "batch_first": rnn.batch_first, "dropout": float(rnn.dropout),
              "bidirectional": rnn.bidirectional, "proj_size": getattr(rnn, "proj_size", 0)}
    if actual["cell"] == "rnn":
        actual["nonlinearity"] = rnn.nonlinearity
    wrong = [f"{k} = {spec.get(k)!r} in the spec, {v!r} in {source}" for k, v in actual.items()
             if (float(spec[k]) if k == "dropout" else spec.get(k)) != v]
    if SPEC_DTYPES[spec["dtype"]] != dtype:
        wrong.append(f"dtype = {spec['dtype']!r} in the spec, {dtype} in {source}")
    if wrong:
        raise CaseError(f"{spec_path} does not describe the model: " + "; ".join(wrong))


def load_safetensors(path):
    if not os.path.exists(path):
        raise CaseError(f"{path}: no such file")
    try:
        return load_file(path)
    except (SafetensorError, OSError) as e:
        raise CaseError(f"{path}: not a safetensors file ({e})")


def model_from_weights(args, spec):
    """A torch.nn.RNN, LSTM or GRU (as the shapes say) holding the state_dict of --weights,
    built with the flags the user states (a state_dict does not record them) and the sizes
    the tensors have."""
    prefix = normalized(args.prefix)
    tensors = load_safetensors(args.weights)
    state = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
    if "weight_ih_l0" not in state:
        found = prefixes(tensors)
        hint = ("the file holds a recurrent module under "
                + ", ".join(f"--prefix {p}" if p else "no prefix" for p in found)) if found \
            else "the file has no tensor named *weight_ih_l0"
        raise CaseError(f"{args.weights}: no RNN weights under the prefix `{prefix}`: {hint}")
    try:
        cell, hidden, proj = infer_cell(state)
    except ExportError as e:
        raise CaseError(f"{args.weights}: {e}")
    try:
        check_flags(cell, args.nonlinearity, args.batch_first)
    except ExportError as e:
        raise CaseError(f"{e} (for a case: --module MODEL.pt)")
    inputs = state["weight_ih_l0"].shape[1]
    layers = 1 + max(int(k[len("weight_ih_l"):].split("_")[0]) for k in state
                     if k.startswith("weight_ih_l"))
    d = dict(num_layers=layers, bias="bias_ih_l0" in state, batch_first=args.batch_first,
             dropout=float(spec["dropout"]), bidirectional="weight_ih_l0_reverse" in state,
             dtype=state["weight_ih_l0"].dtype)
    if cell == "rnn":
        rnn = torch.nn.RNN(inputs, hidden, nonlinearity=args.nonlinearity, **d)
    elif cell == "lstm":
        rnn = torch.nn.LSTM(inputs, hidden, proj_size=proj, **d)
    else:
        rnn = torch.nn.GRU(inputs, hidden, **d)
    try:
        rnn.load_state_dict(state)
    except RuntimeError as e:
        raise CaseError(f"{args.weights}: the tensors are not a {MODULES[cell]}'s: {e}")
    return rnn


def model_from_module(args):
    """The torch.nn.RNN inside a module saved with torch.save(model)."""
    if not os.path.exists(args.module):
        raise CaseError(f"{args.module}: no such file")
    try:
        model = torch.load(args.module, map_location="cpu", weights_only=False)
    except Exception as e:
        raise CaseError(f"{args.module}: cannot load a module saved with torch.save ({e})")
    if not isinstance(model, torch.nn.Module):
        raise CaseError(f"{args.module} holds a {type(model).__name__}, not a module saved with "
                        "torch.save(model) (for a state_dict use --weights)")
    path = args.prefix.rstrip(".")
    try:
        rnn = model.get_submodule(path) if path else model
    except AttributeError:
        names = [n for n, m in model.named_modules() if cell_of(m)]
        raise CaseError(f"{args.module}: no submodule `{path}`; its recurrent modules: "
                        + (", ".join(f"--prefix {n}" for n in names) or "none"))
    if cell_of(rnn) is None:
        raise CaseError(f"{args.module}: `{path or 'the module'}` is a {type(rnn).__name__}, "
                        "not a torch.nn.RNN, LSTM or GRU")
    return rnn


def command_export(args):
    spec = read_spec(args.spec)
    if (args.module is None) == (args.weights is None):
        raise CaseError("give the model as --module MODEL.pt (torch.save(model)) or as "
                        "--weights W.safetensors with --batch-first (and an RNN's "
                        "--nonlinearity)")
    if args.module is not None:
        rnn = model_from_module(args)
        check_spec_against(rnn, spec, args.spec, args.module)
    else:
        rnn = model_from_weights(args, spec)
        check_spec_against(rnn, spec, args.spec, f"{args.weights} and the flags given")
    dtype = next(rnn.parameters()).dtype
    torch.manual_seed(args.seed)
    if args.input:
        tensors = load_safetensors(args.input)
        if "input" not in tensors:
            raise CaseError(f"{args.input}: no tensor named `input` (found: "
                            + ", ".join(sorted(tensors)) + ")")
        x = tensors["input"]
    else:
        shape = (args.batch, args.seq_len) if rnn.batch_first else (args.seq_len, args.batch)
        x = torch.randn(*shape, rnn.input_size, dtype=dtype)
    if x.dim() not in (2, 3) or x.shape[-1] != rnn.input_size:
        raise CaseError(f"the input has shape {list(x.shape)}; the model takes (L, N, "
                        f"{rnn.input_size}), (N, L, {rnn.input_size}) batch-first, or "
                        f"(L, {rnn.input_size})")
    unbatched = x.dim() == 2
    batch = 1 if unbatched else (x.shape[0] if rnn.batch_first else x.shape[1])
    seq_len = x.shape[0] if unbatched or not rnn.batch_first else x.shape[1]
    h0 = initial_state(rnn, batch, unbatched, dtype) if args.h0 else None
    lengths = None
    if args.lengths:
        try:
            lengths = [int(n) for n in args.lengths.split(",")]
        except ValueError:
            raise CaseError(f"--lengths {args.lengths}: expected integers like 5,3,4")
        if unbatched:
            raise CaseError("--lengths needs a batched input: torch cannot pack an unbatched one")
        if len(lengths) != batch or any(not 1 <= n <= seq_len for n in lengths) \
                or max(lengths) != seq_len:
            raise CaseError(f"--lengths {args.lengths}: expected {batch} lengths in 1..{seq_len}, "
                            f"the longest {seq_len} (torch pads to the longest sequence)")
    write_case(rnn, x, args.out, h0, lengths)
    print(f"wrote {args.out}.json and {args.out}.safetensors")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("random", help="random models and calls")
    r.add_argument("--out", required=True)
    r.add_argument("--cell", choices=list(GATES) + list(CELL_MODULES), default="rnn",
                   help="torch.nn.RNN (default), LSTM or GRU, or a cell module: stepped loops")
    r.add_argument("--count", type=int, default=60)
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--max-size", type=int, default=24)
    r.add_argument("--max-len", type=int, default=12)
    c = sub.add_parser("cells", help="the cell modules' cases of tests/golden")
    c.add_argument("--out", required=True, help="e.g. tests/golden")
    c.add_argument("--seed", type=int, default=0)
    e = sub.add_parser("export", help="your model on a sample input")
    e.add_argument("--spec", required=True, help="the rnnc spec (TOML) of the model")
    e.add_argument("--module", help="the whole module, saved with torch.save(model)")
    e.add_argument("--weights", help="safetensors of the state_dict")
    e.add_argument("--nonlinearity", choices=["tanh", "relu"],
                   help="with --weights of an RNN: its nonlinearity (a state_dict does not "
                        "record it)")
    e.add_argument("--batch-first", type=parse_bool, metavar="true|false",
                   help="with --weights: the model's (a state_dict does not record it)")
    e.add_argument("--prefix", default="", help="name prefix of the module's tensors")
    e.add_argument("--out", required=True, help="path of the case, without extension")
    e.add_argument("--input", help="safetensors file holding a tensor `input`")
    e.add_argument("--seq-len", type=int, default=20)
    e.add_argument("--batch", type=int, default=1)
    e.add_argument("--h0", action="store_true",
                   help="also pass random initial states (h0, and an LSTM's c0)")
    e.add_argument("--lengths", help="comma-separated lengths: a packed call")
    e.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        {"random": command_random, "cells": command_cells,
         "export": command_export}[args.command](args)
    except CaseError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
