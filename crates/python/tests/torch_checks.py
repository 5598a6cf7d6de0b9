"""What the torch tests share: rnnc verify's comparison on torch tensors, and the ways a
call is made."""

import contextlib

import torch
from torch.nn.utils.rnn import PackedSequence

import rnnc

# How a call is made: with grad mode on (torch's default), under no_grad or under
# inference_mode.
GRAD_MODES = {
    "grad": contextlib.nullcontext,
    "no_grad": torch.no_grad,
    "inference_mode": torch.inference_mode,
}


def close(got, ref):
    """rnnc verify's comparison, on torch tensors of one dtype."""
    assert type(got) is torch.Tensor and got.dtype == ref.dtype and got.shape == ref.shape
    tol = rnnc.tolerance(ref.dtype)
    g, r = got.double(), ref.double()
    return bool(((g - r).abs() <= tol * (1 + r.abs())).all())


def states(x):
    """A module's final states as a tuple: `(h,)` or an LSTM's `(h, c)`."""
    return x if isinstance(x, tuple) else (x,)


def flat(result):
    """The tensors of a module's result: `(out, h)`, `(out, (h, c))`, a cell's `h` or
    `(h, c)`, a PackedSequence's data."""
    if isinstance(result, torch.Tensor):
        return [result]
    if isinstance(result, PackedSequence):
        return [result.data]
    return [t for part in result for t in flat(part)]


def same(a, b):
    """Two results of a module, tensor by tensor within rnnc verify's tolerance."""
    return all(close(x, y) for x, y in zip(flat(a), flat(b), strict=True))
