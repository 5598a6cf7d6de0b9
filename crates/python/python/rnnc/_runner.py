"""Calls of a compiled model with torch's conventions: what `Compiled` and the torch
module (`rnnc.nn.Module`) share.

The native half takes plain CPU torch tensors of the model's dtype as they are (`call`)
and numpy arrays (`forward`); everything else torch accepts (a tensor that needs grad
under `no_grad`, a negative or strided view, a subclass, a `PackedSequence`) is made
plain here, and everything torch refuses gets torch's exception class and message. The
forward path calls no torch function but the zero-copy conversions.
"""

from __future__ import annotations

import sys

import numpy as np

from . import _rnnc


def torch_module():
    """torch if it has been imported (a torch tensor implies it has): never imported here."""
    return sys.modules.get("torch")


class Runner:
    """One compiled model (`native`) called as its torch module is."""

    __slots__ = ("native", "spec", "cell_module", "dtype", "tdtype", "torch", "batch_first")

    def __init__(self, native: _rnnc.Native):
        self.native = native
        self.spec = native.spec
        self.cell_module = self.spec["module"].endswith("Cell")
        self.batch_first = self.spec.get("batch_first", False)
        self.dtype = np.dtype(self.spec["dtype"])
        self.torch = None  # torch, once seen
        self.tdtype = None  # torch's dtype of the model, once torch is seen
        torch = torch_module()
        if torch is not None:
            self.see_torch(torch)

    def see_torch(self, torch):
        if self.torch is None:
            self.native.use_torch(torch)
            self.tdtype = torch.float32 if self.dtype == np.float32 else torch.float64
            self.torch = torch

    def result(self, out, states, torch=None):
        """What the module returns, from the output and the tuple of final states."""
        if torch is not None:
            states = tuple(torch.from_numpy(s) for s in states)
            out = torch.from_numpy(out)
        state = states if len(states) > 1 else states[0]
        return state if self.cell_module else (out, state)

    def call(self, input, hx=None, lengths=None, anchors=()):
        """The module's call on any input it takes; see `Compiled.__call__`. With grad mode
        on, outputs computed from tensors that require grad (the input, the states, or
        `anchors`: a training module's parameters) get a `grad_fn` whose backward raises:
        rnnc computes the values, never their gradients."""
        if lengths is None and not anchors:
            # numpy arrays and plain tensors, the common case: all in native code.
            result = self.native.call(input, hx)
            if result is not None:
                return result
        if type(input) is np.ndarray:
            return self.numpy(input, hx, lengths)
        torch = torch_module()
        if torch is not None:
            self.see_torch(torch)
            if isinstance(input, torch.nn.utils.rnn.PackedSequence):
                if lengths is not None:
                    raise ValueError("lengths are for padded inputs: a PackedSequence has its own")
                return self.refuse_gradients(torch, self.packed(torch, input, hx), input.data, hx, anchors)
            if isinstance(input, torch.Tensor):
                x = self.tensor(torch, input, "input")
                out, states = self.native.forward(x, self.torch_states(torch, hx), lengths)
                result = self.result(out, states, torch)
                return self.refuse_gradients(torch, result, input, hx, anchors)
        if isinstance(input, np.ndarray):  # a subclass of ndarray
            return self.numpy(input, hx, lengths)
        raise TypeError(
            "input must be a torch tensor, a PackedSequence or a numpy array, got "
            f"{type(input).__name__}"
        )

    def refuse_gradients(self, torch, result, input, hx, anchors):
        """`result`, attached to the graph through a node whose backward raises, if grad
        mode is on and it was computed from tensors that require grad."""
        if not torch.is_grad_enabled():
            return result
        given = [input, *(numpy_states(hx) or ()), *anchors]
        needs = [t for t in given if isinstance(t, torch.Tensor) and t.requires_grad]
        if not needs:
            return result
        parts = flat_result(torch, result)
        attached = no_gradients(torch, self.spec["module"]).apply(lambda: tuple(parts), *needs)
        return unflatten_result(torch, result, iter(attached))
    def numpy(self, input, hx, lengths):
        out, states = self.native.forward(input, numpy_states(hx), lengths)
        return self.result(out, states)

    def tensor(self, torch, t, what):
        """A tensor's elements as numpy, without copying where torch allows: torch's errors
        for another dtype, rnnc's for another device."""
        if t.dtype is not self.tdtype:
            if self.cell_module and what in ("input", "h0"):
                # torch's cells multiply first, and its matmul says so.
                mine = torch.empty(0, dtype=self.tdtype).type()[6:-6]
                raise RuntimeError(
                    f"mat1 and mat2 must have the same dtype, but got {t.type()[6:-6]} and {mine}"
                )
            if what == "input":
                w = self.tdtype
                raise ValueError(
                    f"RNN input dtype ({t.dtype}) does not match weight dtype ({w}). "
                    f"Convert input: input.to({w}), or convert model: model.to({t.dtype})"
                )
            raise RuntimeError(f"{what} must have dtype {self.tdtype}, got {t.dtype}")
        if t.device.type != "cpu":
            raise RuntimeError(f"rnnc runs on the CPU: {what} is on {t.device}; pass {what}.cpu()")
        if t.requires_grad:
            t = t.detach()  # see `refuse_gradients`
        if t.layout is not torch.strided:
            t = t.to_dense()
        if t.is_neg():
            t = t.resolve_neg()
        if type(t) is not torch.Tensor:
            t = t.as_subclass(torch.Tensor)
        return t.numpy()

    def torch_states(self, torch, hx):
        """`hx` with torch tensors (or numpy arrays) as the native tuple of arrays."""
        states = numpy_states(hx)
        if states is None:
            return None
        names = self.spec["states"]
        return tuple(
            self.tensor(torch, s, names[min(i, len(names) - 1)] + "0")
            if isinstance(s, torch.Tensor)
            else s
            for i, s in enumerate(states)
        )

    def packed(self, torch, packed, hx):
        """A `PackedSequence` as torch runs it: padded in its sorted order with lengths, the
        initial states permuted into that order and the final ones back; malformed ones
        refused with torch's exception classes."""
        data = packed.data
        if not isinstance(data, torch.Tensor) or data.dim() != 2:
            dims = data.dim() if isinstance(data, torch.Tensor) else "no"
            raise RuntimeError(f"input must have 2 dimensions, got {dims}")
        batch_sizes = check_batch_sizes(torch, packed.batch_sizes)
        rows = int(batch_sizes.sum())
        if rows > data.shape[0]:
            raise RuntimeError(
                f"the PackedSequence's batch_sizes add up to {rows} rows, but its data has "
                f"{data.shape[0]}"
            )
        # torch reads the first `rows` rows, as here.
        data = self.tensor(torch, data[:rows], "input")
        sorted_i, unsorted_i = packed.sorted_indices, packed.unsorted_indices
        steps, batch = len(batch_sizes), int(batch_sizes[0])
        valid = np.arange(batch)[None, :] < batch_sizes[:, None]  # (L, N), sorted order
        padded = np.zeros((steps, batch, data.shape[-1]), dtype=data.dtype)
        padded[valid] = data
        if self.batch_first:
            padded = np.ascontiguousarray(padded.transpose(1, 0, 2))
        states = self.torch_states(torch, hx)
        if states is not None and sorted_i is not None:
            order = sorted_i.numpy()
            states = tuple(np.take(s, order, axis=1) for s in states)
        out, finals = self.native.forward(padded, states, valid.sum(axis=0))
        if self.batch_first:
            out = out.transpose(1, 0, 2)
        out = torch.from_numpy(np.ascontiguousarray(out[valid]))
        if unsorted_i is not None:
            order = unsorted_i.numpy()
            finals = tuple(np.take(s, order, axis=1) for s in finals)
        result = torch.nn.utils.rnn.PackedSequence(out, packed.batch_sizes, sorted_i, unsorted_i)
        finals = tuple(torch.from_numpy(s) for s in finals)
        return result, (finals if len(finals) > 1 else finals[0])

    def stream(self, hx):
        torch = torch_module()
        if torch is not None:
            self.see_torch(torch)
            states = self.torch_states(torch, hx)
        else:
            states = numpy_states(hx)
        return self.native.stream(states)


def flat_result(torch, result):
    """The tensors of a module's result, in order: `(out, h)`, `(out, (h, c))`, a cell's `h`
    or `(h, c)`, a `PackedSequence`'s data."""
    if isinstance(result, torch.nn.utils.rnn.PackedSequence):
        return [result.data]
    if isinstance(result, torch.Tensor):
        return [result]
    return [t for part in result for t in flat_result(torch, part)]


def unflatten_result(torch, like, tensors):
    """`like` with its tensors taken from `tensors` (the inverse of `flat_result`)."""
    if isinstance(like, torch.nn.utils.rnn.PackedSequence):
        return like._replace(data=next(tensors))
    if isinstance(like, torch.Tensor):
        return next(tensors)
    return tuple(unflatten_result(torch, part, tensors) for part in like)


_NO_GRADIENTS = {}


def no_gradients(torch, module):
    """An autograd function that returns what it computes and whose backward raises: the
    node between a compiled module's outputs and the tensors they came from."""
    if module not in _NO_GRADIENTS:

        class CompiledByRnnc(torch.autograd.Function):
            @staticmethod
            def forward(ctx, compute, *inputs):
                return compute()

            @staticmethod
            def backward(ctx, *grads):
                raise RuntimeError(
                    f"rnnc computes no gradients: backward reached the output of a {module} "
                    "compiled by rnnc. Train the torch module itself; to train the layers "
                    "around a compiled one, freeze its parameters and detach its input"
                )

        _NO_GRADIENTS[module] = CompiledByRnnc
    return _NO_GRADIENTS[module]


def check_batch_sizes(torch, batch_sizes):
    """A PackedSequence's `batch_sizes` as numpy, if torch would run it: a 1-D int64 CPU
    tensor, not empty, not increasing, positive but for trailing zeros (which torch runs)."""
    if not isinstance(batch_sizes, torch.Tensor):
        raise TypeError(f"batch_sizes must be a tensor, got {type(batch_sizes).__name__}")
    if batch_sizes.dtype is not torch.int64:
        found = {torch.int32: "Int", torch.int16: "Short", torch.int8: "Char",
                 torch.uint8: "Byte"}.get(batch_sizes.dtype, str(batch_sizes.dtype))
        raise RuntimeError(f"expected scalar type Long but found {found}")
    if batch_sizes.dim() != 1:
        raise TypeError(f"batch_sizes must be 1-D, got {batch_sizes.dim()}-D")
    if batch_sizes.device.type != "cpu":
        raise RuntimeError(f"batch_sizes must be on the CPU, got {batch_sizes.device}")
    sizes = batch_sizes.numpy()
    if len(sizes) == 0:
        raise IndexError("index 0 is out of bounds for dimension 0 with size 0")
    # Not increasing, so zeros (steps no sequence reaches, which torch allows) only at the end.
    if (sizes < 0).any() or (np.diff(sizes) > 0).any():
        raise RuntimeError(
            "a PackedSequence's batch_sizes must be positive and must not increase (zeros "
            f"only at the end), got {sizes.tolist()}"
        )
    return sizes


def numpy_states(hx):
    """The module's `hx` as the native tuple: `(h0,)` or `(h0, c0)`."""
    if hx is None:
        return None
    return tuple(hx) if isinstance(hx, (tuple, list)) else (hx,)
