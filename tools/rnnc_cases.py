#!/usr/bin/env python3
"""Write rnnc test cases computed by PyTorch (the format of tests/golden/README.md).

A case is NAME.json (torch's constructor arguments and how the call was made) beside
NAME.safetensors (the state_dict, `input`, optional `h0`, and torch's `output`, `h_n`).
`rnnc verify PATH...` checks rnnc against such cases.

Commands:
  random  --out DIR [--count N] [--seed S] [--max-size M] [--max-len L]
          random models, flags and calls (packed, unbatched, h0...), like the shared set.
  export  --spec SPEC.toml --weights W.safetensors [--prefix encoder.rnn.] --out DIR/NAME
          [--input X.safetensors (tensor `input`)] [--seq-len L --batch N] [--h0]
          [--lengths 5,3,4] [--seed S]
          your own trained model (the spec you compile with rnnc, and its weights as
          `safetensors.torch.save_file(model.state_dict(), W)` wrote them) on a sample
          input: rnnc must reproduce what torch computes for it.

From Python, `write_case(rnn, input, path, h0=None, lengths=None)` writes a case for any
`torch.nn.RNN` you hold.

Needs torch, safetensors and numpy (not needed by rnnc's build or tests).
"""

import argparse
import json
import os
import random
import sys
import tomllib

import torch
from safetensors.torch import load_file, save_file

DTYPES = {torch.float32: "float32", torch.float64: "float64"}
SPEC_DTYPES = {"f32": torch.float32, "float32": torch.float32,
               "f64": torch.float64, "float64": torch.float64}


def write_case(rnn, input, path, h0=None, lengths=None, enforce_sorted=False):
    """Run `rnn` (a torch.nn.RNN) on `input` in eval mode and write PATH.json/.safetensors.

    `input` is (L, N, H_in), (N, L, H_in) for batch_first, or unbatched (L, H_in); `lengths`
    (one per sequence) packs the padded input with pack_padded_sequence, as a
    variable-length batch is fed to torch.
    """
    assert isinstance(rnn, torch.nn.RNN), "write_case takes a torch.nn.RNN"
    rnn = rnn.eval()
    dtype = next(rnn.parameters()).dtype
    if dtype not in DTYPES:
        raise SystemExit(f"rnnc computes in float32 or float64, the model is {dtype}")
    input = input.to(dtype).contiguous()
    unbatched = input.dim() == 2
    if unbatched and lengths is not None:
        raise SystemExit("lengths need a batched input")
    seq_len = input.shape[1] if rnn.batch_first and not unbatched else input.shape[0]
    batch = 1 if unbatched else (input.shape[0] if rnn.batch_first else input.shape[1])
    with torch.inference_mode():
        if lengths is not None:
            packed = torch.nn.utils.rnn.pack_padded_sequence(
                input, torch.tensor(lengths), batch_first=rnn.batch_first,
                enforce_sorted=enforce_sorted)
            out, h_n = rnn(packed, h0)
            output, _ = torch.nn.utils.rnn.pad_packed_sequence(
                out, batch_first=rnn.batch_first, total_length=seq_len)
        else:
            output, h_n = rnn(input, h0)
    tensors = {name: p.detach().contiguous() for name, p in rnn.state_dict().items()}
    tensors["input"] = input
    if h0 is not None:
        tensors["h0"] = h0.to(dtype).contiguous()
    tensors["output"] = output.contiguous()
    tensors["h_n"] = h_n.contiguous()
    config = {
        "input_size": rnn.input_size,
        "hidden_size": rnn.hidden_size,
        "num_layers": rnn.num_layers,
        "nonlinearity": rnn.nonlinearity,
        "bias": rnn.bias,
        "batch_first": rnn.batch_first,
        "bidirectional": rnn.bidirectional,
        "dropout": float(rnn.dropout),
        "dtype": DTYPES[dtype],
        "seq_len": seq_len,
        "batch": batch,
        "unbatched": unbatched,
        "has_h0": h0 is not None,
        "packed": lengths is not None,
        "enforce_sorted": bool(enforce_sorted),
        "lengths": list(lengths) if lengths is not None else None,
        "tensors": {name: list(t.shape) for name, t in tensors.items()},
    }
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    with open(path + ".json", "w") as f:
        json.dump(config, f, indent=1)
    save_file(tensors, path + ".safetensors")


def random_case(rng, max_size, max_len):
    """A random model and call, covering every flag and call form."""
    d = dict(
        input_size=rng.randint(1, max_size),
        hidden_size=rng.randint(1, max_size),
        num_layers=rng.randint(1, 3),
        nonlinearity=rng.choice(["tanh", "relu"]),
        bias=rng.random() < 0.8,
        batch_first=rng.random() < 0.5,
        bidirectional=rng.random() < 0.5,
        dropout=rng.choice([0.0, 0.0, 0.3]),
    )
    dtype = rng.choice([torch.float32, torch.float32, torch.float64])
    rnn = torch.nn.RNN(**d, dtype=dtype)
    seq_len, batch = rng.randint(1, max_len), rng.randint(1, 5)
    unbatched = rng.random() < 0.15
    packed = not unbatched and rng.random() < 0.25
    hidden = (rnn.num_layers * (2 if rnn.bidirectional else 1), rnn.hidden_size)
    if unbatched:
        x = torch.randn(seq_len, rnn.input_size, dtype=dtype)
        h0 = torch.randn(*hidden, dtype=dtype) if rng.random() < 0.5 else None
    else:
        shape = (batch, seq_len) if rnn.batch_first else (seq_len, batch)
        x = torch.randn(*shape, rnn.input_size, dtype=dtype)
        h0 = torch.randn(hidden[0], batch, hidden[1], dtype=dtype) if rng.random() < 0.5 else None
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
        rnn, x, h0, lengths, enforce_sorted = random_case(rng, args.max_size, args.max_len)
        write_case(rnn, x, os.path.join(args.out, f"case_{i:03d}"), h0, lengths, enforce_sorted)
    print(f"wrote {args.count} cases to {args.out}")


def command_export(args):
    with open(args.spec, "rb") as f:
        spec = tomllib.load(f)
    dtype = SPEC_DTYPES[spec.get("dtype", "f32")]
    rnn = torch.nn.RNN(
        spec["input_size"], spec["hidden_size"], num_layers=spec.get("num_layers", 1),
        nonlinearity=spec.get("nonlinearity", "tanh"), bias=spec.get("bias", True),
        batch_first=spec.get("batch_first", False), dropout=spec.get("dropout", 0.0),
        bidirectional=spec.get("bidirectional", False), dtype=dtype)
    prefix = args.prefix
    if prefix and not prefix.endswith("."):
        prefix += "."
    state = {k[len(prefix):]: v for k, v in load_file(args.weights).items() if k.startswith(prefix)}
    rnn.load_state_dict(state)  # torch itself reports missing or mis-shaped tensors
    torch.manual_seed(args.seed)
    if args.input:
        x = load_file(args.input)["input"]
    else:
        shape = (args.batch, args.seq_len) if rnn.batch_first else (args.seq_len, args.batch)
        x = torch.randn(*shape, rnn.input_size, dtype=dtype)
    unbatched = x.dim() == 2
    batch = 1 if unbatched else (x.shape[0] if rnn.batch_first else x.shape[1])
    h0 = None
    if args.h0:
        states = rnn.num_layers * (2 if rnn.bidirectional else 1)
        size = (states, rnn.hidden_size) if unbatched else (states, batch, rnn.hidden_size)
        h0 = torch.randn(*size, dtype=dtype)
    lengths = [int(n) for n in args.lengths.split(",")] if args.lengths else None
    write_case(rnn, x, args.out, h0, lengths)
    print(f"wrote {args.out}.json and {args.out}.safetensors")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("random", help="random models and calls")
    r.add_argument("--out", required=True)
    r.add_argument("--count", type=int, default=60)
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--max-size", type=int, default=24)
    r.add_argument("--max-len", type=int, default=12)
    e = sub.add_parser("export", help="your model on a sample input")
    e.add_argument("--spec", required=True, help="the rnnc spec (TOML) of the model")
    e.add_argument("--weights", required=True, help="safetensors of the state_dict")
    e.add_argument("--prefix", default="", help="name prefix of the RNN's tensors")
    e.add_argument("--out", required=True, help="path of the case, without extension")
    e.add_argument("--input", help="safetensors file holding a tensor `input`")
    e.add_argument("--seq-len", type=int, default=20)
    e.add_argument("--batch", type=int, default=1)
    e.add_argument("--h0", action="store_true", help="also pass a random h0")
    e.add_argument("--lengths", help="comma-separated lengths: a packed call")
    e.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    {"random": command_random, "export": command_export}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
