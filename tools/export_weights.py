#!/usr/bin/env python3
"""Export a PyTorch RNN for rnnc: its spec (TOML) and its weights (safetensors).

  python tools/export_weights.py CHECKPOINT --out build/kws [--prefix encoder.rnn.]
         [--nonlinearity tanh|relu] [--batch-first true|false] [--name kws]

CHECKPOINT is one of:
  - a whole module saved with torch.save(model) (a torch.nn.RNN, or a model holding one
    at --prefix): every constructor argument is read from the module itself;
  - a state_dict saved with torch.save(model.state_dict()) (.pt/.pth) or with
    safetensors.torch.save_file: sizes, layers, direction and bias are read from the
    tensors' names and shapes, but a state_dict does not record nonlinearity and
    batch_first, so --nonlinearity and --batch-first are required: a relu model exported
    as tanh would compile, run and even verify against cases made from the same wrong
    spec.
--prefix selects the RNN inside a larger model. Writes OUT.toml and OUT.safetensors (plain
state_dict names), ready for:

  rnnc OUT.toml --weights OUT.safetensors -o build

From Python, export(rnn, "build/kws") does the same for an nn.RNN you hold.
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


def spec_text(name, input_size, hidden_size, num_layers, nonlinearity, bias, batch_first,
              bidirectional, dtype):
    return (f'name = "{name}"\ninput_size = {input_size}\nhidden_size = {hidden_size}\n'
            f'num_layers = {num_layers}\nnonlinearity = "{nonlinearity}"\n'
            f'bias = {str(bias).lower()}\nbatch_first = {str(batch_first).lower()}\n'
            f'bidirectional = {str(bidirectional).lower()}\ndtype = "{dtype}"\n')


def prefixes(names, stem="weight_ih_l0"):
    """The prefixes under which `names` hold an RNN (`encoder.rnn.` for encoder.rnn.weight_ih_l0)."""
    return sorted({n[: -len(stem)] for n in names if n.endswith(stem)})


def normalized(prefix):
    return prefix if not prefix or prefix.endswith(".") else prefix + "."


def select(state, prefix):
    """The tensors under `prefix`, without it; a clear error if there are none."""
    prefix = normalized(prefix)
    selected = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    if "weight_ih_l0" in selected:
        return selected
    found = prefixes(state)
    if found:
        hint = "the file holds an RNN under " + ", ".join(
            f"--prefix {p}" if p else "no prefix (omit --prefix)" for p in found)
    else:
        names = sorted(state)
        shown = ", ".join(names[:12]) + (f", ... ({len(names)} tensors)" if len(names) > 12 else "")
        hint = f"the file has no RNN weights (no tensor named *weight_ih_l0); it holds: {shown or 'nothing'}"
    where = f"under the prefix `{prefix}`" if prefix else "without a prefix"
    raise ExportError(f"no RNN weights {where}: {hint}")


def write(out, name, state, nonlinearity, batch_first):
    """Infer the spec from a plain-named state_dict and write OUT.toml, OUT.safetensors."""
    layers = 1 + max(int(m.group(1)) for k in state if (m := re.match(r"weight_ih_l(\d+)$", k)))
    hidden_size, input_size = state["weight_ih_l0"].shape
    dtypes = {torch.float32: "f32", torch.float64: "f64"}
    dtype = state["weight_ih_l0"].dtype
    if dtype not in dtypes:
        raise ExportError(f"rnnc computes in float32 or float64, the weights are {dtype}")
    hh = tuple(state["weight_hh_l0"].shape) if "weight_hh_l0" in state else None
    if hh != (hidden_size, hidden_size):
        raise ExportError(
            f"weight_hh_l0 has shape {list(hh) if hh else 'none'}, expected "
            f"[{hidden_size}, {hidden_size}] for a torch.nn.RNN with weight_ih_l0 "
            f"{list(state['weight_ih_l0'].shape)}")
    text = spec_text(name, input_size, hidden_size, layers, nonlinearity, "bias_ih_l0" in state,
                     batch_first, "weight_ih_l0_reverse" in state, dtypes[dtype])
    directory = os.path.dirname(out)
    if directory:
        os.makedirs(directory, exist_ok=True)
    with open(out + ".toml", "w") as f:
        f.write(text)
    save_file({k: v.contiguous() for k, v in state.items()}, out + ".safetensors")
    print(f"wrote {out}.toml and {out}.safetensors:\n{text}", end="")


def export(rnn, out, name=None):
    """Write OUT.toml and OUT.safetensors for a torch.nn.RNN."""
    if not isinstance(rnn, torch.nn.RNN):
        raise ExportError(f"export takes a torch.nn.RNN, got {type(rnn).__name__}")
    write(out, name or os.path.basename(out), rnn.state_dict(), rnn.nonlinearity, rnn.batch_first)


def submodule(model, prefix):
    """The module at `prefix` (`encoder.rnn`) of `model`."""
    path = normalized(prefix).rstrip(".")
    try:
        return model.get_submodule(path) if path else model
    except AttributeError:
        names = [n for n, m in model.named_modules() if isinstance(m, torch.nn.RNN)]
        raise ExportError(f"the module has no submodule `{path}`; its RNNs: "
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
    parser.add_argument("--nonlinearity", choices=["tanh", "relu"],
                        help="required for a state_dict, which does not record it")
    parser.add_argument("--batch-first", type=parse_bool, metavar="true|false",
                        help="required for a state_dict, which does not record it")
    parser.add_argument("--name", help="C identifier for the emitted symbols [OUT's stem]")
    args = parser.parse_args(argv)
    name = args.name or re.sub(r"\W", "_", os.path.basename(args.out))
    try:
        loaded = load_checkpoint(args.checkpoint)
        if isinstance(loaded, torch.nn.Module):
            rnn = submodule(loaded, args.prefix)
            if not isinstance(rnn, torch.nn.RNN):
                raise ExportError(f"the module at `{args.prefix}` is a {type(rnn).__name__}, "
                                  "not a torch.nn.RNN")
            for flag, value in [("nonlinearity", args.nonlinearity), ("batch_first", args.batch_first)]:
                if value is not None and value != getattr(rnn, flag):
                    raise ExportError(f"--{flag.replace('_', '-')} {value} contradicts the module, "
                                      f"which has {flag}={getattr(rnn, flag)}")
            export(rnn, args.out, name)
            return 0
        if not isinstance(loaded, dict):
            raise ExportError(f"{args.checkpoint} holds a {type(loaded).__name__}, not a "
                              "state_dict or a module")
        missing = [f"--{f}" for f, v in [("nonlinearity", args.nonlinearity),
                                          ("batch-first", args.batch_first)] if v is None]
        if missing:
            raise ExportError(
                f"a state_dict does not record nonlinearity and batch_first: give {' and '.join(missing)} "
                "(e.g. --nonlinearity tanh --batch-first false), or export the whole module "
                "(torch.save(model)) instead")
        write(args.out, name, select(loaded, args.prefix), args.nonlinearity, args.batch_first)
        return 0
    except ExportError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
