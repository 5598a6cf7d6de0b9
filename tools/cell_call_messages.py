#!/usr/bin/env python3
"""Write what torch's cell modules say to every call of a grid of shapes: the table
crates/spec/tests/torch_cell_calls.txt, which rnnc's checks of cell calls must reproduce
(message and exception class), in crates/spec/tests/cell_calls.rs.

Usage: python tools/cell_call_messages.py [OUT]   (default: that table)

Modules RNNCell, LSTMCell and GRUCell of input_size 4, hidden_size 3; inputs and states of
every rank from 0 to 4 and of right and wrong sizes and batches, and hx None. One line per
call, tab-separated: the module, the input's shape, h0's shape (`none`: hx is None), c0's
(`-` for a cell of one state; `none`: an LSTMCell given a tuple of h0 alone), then `OK`
and the shape of h' (and c'), or the exception's class and message.

Needs torch (not needed by rnnc's build or tests).
"""

import itertools
import os
import sys

import torch

INPUTS = [(), (4,), (5,), (0,), (2, 4), (2, 5), (0, 4), (2, 0), (1, 2, 4), (1, 1, 2, 4)]
STATES = [(), (3,), (7,), (1, 3), (2, 3), (5, 3), (2, 7), (0, 3), (1, 2, 3)]
LSTM_STATES = [(3,), (7,), (2, 3), (5, 3), (2, 7), (1, 3), (1, 2, 3)]


def shape(s):
    return "[" + ", ".join(map(str, s)) + "]"


def outcome(call):
    try:
        result = call()
    except Exception as e:  # torch's class and message are the data
        return f"{type(e).__name__}\t{e}"
    results = result if isinstance(result, tuple) else (result,)
    return "OK\t" + " ".join(shape(r.shape) for r in results)


def lines():
    torch.manual_seed(0)
    for name in ["RNNCell", "LSTMCell", "GRUCell"]:
        cell = getattr(torch.nn, name)(4, 3)
        zeros = torch.zeros
        for x in INPUTS:
            if name == "LSTMCell":
                calls = [("none", "none", None)]
                for h0, c0 in itertools.product(LSTM_STATES, LSTM_STATES + [None]):
                    hx = (zeros(h0),) if c0 is None else (zeros(h0), zeros(c0))
                    calls.append((shape(h0), "none" if c0 is None else shape(c0), hx))
            else:
                calls = [("none", "-", None)] + [(shape(h0), "-", zeros(h0)) for h0 in STATES]
            for h0, c0, hx in calls:
                result = outcome(lambda: cell(zeros(x), hx))
                yield f"{name}\t{shape(x)}\t{h0}\t{c0}\t{result}"


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    out = argv[1] if len(argv) > 1 else os.path.join(
        here, "..", "crates", "spec", "tests", "torch_cell_calls.txt")
    table = list(lines())
    with open(out, "w") as f:
        f.write(f"# torch {torch.__version__.split('+')[0]}: tools/cell_call_messages.py\n")
        f.write("\n".join(table) + "\n")
    print(f"wrote {len(table)} calls to {out}")


if __name__ == "__main__":
    main(sys.argv)
