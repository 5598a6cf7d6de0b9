#!/usr/bin/env python3
"""Export a PyTorch RNN for rnnc: its spec (TOML) and its weights (safetensors).

  python tools/export_weights.py CHECKPOINT --out build/kws [--prefix encoder.rnn.]
         [--nonlinearity relu] [--batch-first] [--name kws]

CHECKPOINT is a state_dict saved with torch.save (.pt/.pth) or safetensors; --prefix
selects the RNN inside a larger model. Sizes, layers, direction and bias are read from the
tensors' names and shapes; nonlinearity and batch_first are not in a state_dict, so say
them if they are not torch's defaults. Writes OUT.toml and OUT.safetensors (plain
state_dict names), ready for:

  rnnc OUT.toml --weights OUT.safetensors -o build

From Python, export(rnn, "build/kws") does the same for an nn.RNN you hold.
"""

import argparse
import os
import re
import sys

import torch
from safetensors.torch import load_file, save_file


def spec_text(name, input_size, hidden_size, num_layers, nonlinearity, bias, batch_first,
              bidirectional, dtype):
    return (f'name = "{name}"\ninput_size = {input_size}\nhidden_size = {hidden_size}\n'
            f'num_layers = {num_layers}\nnonlinearity = "{nonlinearity}"\n'
            f'bias = {str(bias).lower()}\nbatch_first = {str(batch_first).lower()}\n'
            f'bidirectional = {str(bidirectional).lower()}\ndtype = "{dtype}"\n')


def write(out, name, state, nonlinearity, batch_first):
    """Infer the spec from a plain-named state_dict and write OUT.toml, OUT.safetensors."""
    if "weight_ih_l0" not in state:
        raise SystemExit("no weight_ih_l0 among the tensors: wrong --prefix? found: "
                         + ", ".join(sorted(state)[:8]))
    layers = 1 + max(int(m.group(1)) for k in state if (m := re.match(r"weight_ih_l(\d+)", k)))
    hidden_size, input_size = state["weight_ih_l0"].shape
    dtypes = {torch.float32: "f32", torch.float64: "f64"}
    dtype = state["weight_ih_l0"].dtype
    if dtype not in dtypes:
        raise SystemExit(f"rnnc computes in float32 or float64, the weights are {dtype}")
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
    assert isinstance(rnn, torch.nn.RNN), "export takes a torch.nn.RNN"
    write(out, name or os.path.basename(out), rnn.state_dict(), rnn.nonlinearity, rnn.batch_first)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--out", required=True, help="path without extension")
    parser.add_argument("--prefix", default="")
    parser.add_argument("--nonlinearity", default="tanh", choices=["tanh", "relu"])
    parser.add_argument("--batch-first", action="store_true")
    parser.add_argument("--name", help="C identifier for the emitted symbols [OUT's stem]")
    args = parser.parse_args()
    if args.checkpoint.endswith(".safetensors"):
        state = load_file(args.checkpoint)
    else:
        state = torch.load(args.checkpoint, map_location="cpu", weights_only=True)
    prefix = args.prefix if not args.prefix or args.prefix.endswith(".") else args.prefix + "."
    state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    name = args.name or re.sub(r"\W", "_", os.path.basename(args.out))
    write(args.out, name, state, args.nonlinearity, args.batch_first)


if __name__ == "__main__":
    sys.exit(main())
