"""`CompiledModule`: what `rnnc.compile(module)` returns, a `torch.nn.Module` that stands
in for the module it compiled.

It is a view of the source module: it shares the source's `_parameters`, `_buffers` and
`_modules` (a parametrized module's `parametrizations`), so `state_dict()`,
`load_state_dict()`, `parameters()` and `named_modules()` see the source's names and
tensors, and an in-place change through either module is a change of both. Assignments of
parameters, buffers and submodules, and conversions (`.to()`, `.double()`), go through
the source (`setattr(source, ...)`, `source._apply`), whose own bookkeeping (an RNN's
`_flat_weights`) stays right. Its forward is rnnc's:

- every call first checks, in native code, that the tensors the packed weights came from
  are unchanged as torch records it (the same objects in the same holders, at the same
  `_version`); if not, it reads the weights again, repacks them and calls (the module's
  weights are always the ones used);
- forward hooks and pre-hooks (the source's when it was compiled, and any registered on
  it later) run as `torch.nn.Module.__call__` runs them; without hooks, the call skips
  that machinery;
- training mode is refused where it would change results (dropout between layers); with
  grad mode on, outputs computed from tensors that require grad carry a node whose
  backward raises: rnnc computes inference, never gradients;
- `torch.jit.trace` is refused (a trace would record rnnc's outputs as constants: a traced
  model would return them whatever its input);
- pickling (`torch.save`, `copy.deepcopy`) saves the source module and rnnc's options, and
  loading compiles again.
"""

from __future__ import annotations

import os
from typing import Optional

import torch
from torch.nn.modules import module as _torch_module
from torch.nn.utils.weight_norm import WeightNorm

from . import _rnnc
from . import _torch
from ._compiled import Stream
from ._runner import Runner

# torch.jit.trace's state: None unless a trace is being recorded (a C function, cheap
# enough for every call).
_tracing = torch._C._get_tracing_state

# torch's global hooks (torch.nn.modules.module.register_module_forward_hook...): dicts
# that registration fills in place.
_GLOBAL_FORWARD_HOOKS = _torch_module._global_forward_hooks
_GLOBAL_FORWARD_PRE_HOOKS = _torch_module._global_forward_pre_hooks

# The hook dicts of a module whose entries are copied from the source (by hook id).
_HOOK_DICTS = (
    "_forward_hooks",
    "_forward_hooks_with_kwargs",
    "_forward_hooks_always_called",
    "_forward_pre_hooks",
    "_forward_pre_hooks_with_kwargs",
)


class CompiledModule(torch.nn.Module):
    """A torch.nn.RNN, LSTM, GRU, RNNCell, LSTMCell or GRUCell compiled by rnnc: called,
    saved, loaded and inspected as that module (see the module's documentation)."""

    @classmethod
    def wrap(cls, source: torch.nn.Module, threads: int) -> "CompiledModule":
        """The compiled module of `source` (checked by `_torch.refuse_unless_compilable`)."""
        self = cls.__new__(cls)
        torch.nn.Module.__init__(self)
        d = self.__dict__
        d["_parameters"] = source._parameters
        d["_buffers"] = source._buffers
        d["_modules"] = source._modules
        d["_non_persistent_buffers_set"] = source._non_persistent_buffers_set
        d["training"] = source.training
        kept = [
            hook_id
            for hook_id, hook in source._forward_pre_hooks.items()
            if not isinstance(hook, WeightNorm)  # computed here from its _g and _v
        ] + list(source._forward_hooks)
        for name in _HOOK_DICTS:
            mine = getattr(self, name)
            theirs = getattr(source, name)
            for hook_id in kept:
                if hook_id in theirs:
                    mine[hook_id] = theirs[hook_id]
        d["_rnnc_source"] = source
        d["_rnnc_threads"] = threads
        self._rnnc_update_plain()
        self._rnnc_compile()
        return self

    # -- compiling and following the weights

    def _rnnc_compile(self):
        """Compiles the source with its weights as they are now."""
        source = self.__dict__["_rnnc_source"]
        spec, module = _torch.spec_of(torch, source)
        reading = _torch.read(torch, source)
        spec["dtype"] = "float32" if reading.dtype == torch.float32 else "float64"
        native = _rnnc.compile_spec(spec, reading.weights, self.__dict__["_rnnc_threads"],
                                    f"rnnc.compile({module})", reading.watch)
        runner = Runner(native)
        runner.see_torch(torch)
        self.__dict__["_rnnc"] = runner
        self.__dict__["_rnnc_call"] = native.call
        self.__dict__["_rnnc_module"] = module
        return runner

    def _rnnc_refresh(self):
        """Reads the weights again and repacks them (compiling again if their dtype
        changed); returns the runner calls use now."""
        runner = self.__dict__["_rnnc"]
        if isinstance(runner, _Unusable):
            return self._rnnc_compile()
        reading = _torch.read(torch, self.__dict__["_rnnc_source"])
        if reading.dtype is not runner.tdtype:
            return self._rnnc_compile()
        runner.native.repack(reading.weights, reading.watch)
        return runner

    def _apply(self, fn, recurse=True):
        """`.to()`, `.double()`, `.cpu()`, `.share_memory()`... through the source; then
        the weights are read again (a dtype or device rnnc cannot run is an error at the
        next call, so that moving a whole model elsewhere does not fail here)."""
        self.__dict__["_rnnc_source"]._apply(fn, recurse)
        try:
            self._rnnc_refresh()
        except (TypeError, ValueError) as e:
            unusable = _Unusable(str(e))
            self.__dict__["_rnnc"] = unusable
            self.__dict__["_rnnc_call"] = unusable.call
        return self

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """torch's `load_state_dict`, then the weights repacked (a checkpoint of other shapes
        is torch's error; with `assign=True`, rnnc's, naming each tensor)."""
        result = super().load_state_dict(state_dict, strict=strict, assign=assign)
        self._rnnc_refresh()
        return result

    # -- attributes: the source's, and assignments through it

    def __getattr__(self, name):
        try:
            return torch.nn.Module.__getattr__(self, name)
        except AttributeError:
            source = self.__dict__.get("_rnnc_source")
            if source is None or name.startswith("_rnnc"):
                raise
            return getattr(source, name)

    def _rnnc_owns(self, name, value) -> bool:
        """Whether `name` is the source's to set: a parameter, buffer or submodule."""
        d = self.__dict__
        return "_rnnc_source" in d and (
            isinstance(value, (torch.nn.Parameter, torch.nn.Module))
            or name in d["_parameters"]
            or name in d["_buffers"]
            or name in d["_modules"]
        )

    def __setattr__(self, name, value):
        if self._rnnc_owns(name, value):
            setattr(self.__dict__["_rnnc_source"], name, value)
        else:
            super().__setattr__(name, value)
            if name == "training":
                self._rnnc_update_plain()

    def __delattr__(self, name):
        if self._rnnc_owns(name, None):
            delattr(self.__dict__["_rnnc_source"], name)
        else:
            super().__delattr__(name)

    # -- pickling: the source and the options; compiled again on load

    def __getstate__(self):
        state = self.__dict__.copy()
        for key in ("_rnnc", "_rnnc_call", "_rnnc_module"):
            state.pop(key, None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        self._rnnc_update_plain()
        self._rnnc_compile()

    # -- calls

    def __call__(self, input, hx=None):
        # torch.nn.Module.__call__ without hooks calls forward and nothing else: so does
        # this, inlined, without its bookkeeping (a sixth of a small model's step).
        if (
            self._rnnc_plain
            and not _GLOBAL_FORWARD_HOOKS
            and not _GLOBAL_FORWARD_PRE_HOOKS
            and _tracing() is None
        ):
            try:
                # Plain tensors and numpy arrays (a step of a loop, say) are all native; the
                # rest goes through the runner, which makes them plain or raises torch's.
                result = self._rnnc_call(input, hx)
                return self._rnnc.call(input, hx) if result is None else result
            except _rnnc.WeightsChanged:
                return self._rnnc_refresh().call(input, hx)
        self._rnnc_update_plain()
        return torch.nn.Module.__call__(self, input, hx)

    def forward(self, input, hx=None):
        """torch's forward of the source module: `(output, h_n)` (an LSTM's `(output, (h_n,
        c_n))`), a cell's `h'` (an LSTMCell's `(h', c')`), with torch's shapes and errors."""
        if _tracing() is not None:
            raise RuntimeError(
                f"rnnc.{type(self._rnnc_source).__name__} cannot be traced: torch.jit.trace "
                "records what rnnc's native code returns as constants, so the traced model "
                "would give these outputs whatever its input. Trace the model with the "
                "torch module in its place, or call the compiled model as it is"
            )
        anchors = self._rnnc_check_training() if self.training else ()
        try:
            return self._rnnc.call(input, hx, anchors=anchors)
        except _rnnc.WeightsChanged:
            return self._rnnc_refresh().call(input, hx, anchors=anchors)

    def _rnnc_update_plain(self):
        """Notes whether a call may skip torch's `__call__`: in eval mode, without hooks of
        its own. Kept by `train()` (through `__setattr__`) and the hook registrations;
        checked again on every call that does not skip it, so that removed hooks are seen."""
        d = self.__dict__
        d["_rnnc_plain"] = not (d["training"] or d["_forward_hooks"] or d["_forward_pre_hooks"])

    def register_forward_hook(self, *args, **kwargs):
        handle = super().register_forward_hook(*args, **kwargs)
        self.__dict__["_rnnc_plain"] = False
        return handle

    def register_forward_pre_hook(self, *args, **kwargs):
        handle = super().register_forward_pre_hook(*args, **kwargs)
        self.__dict__["_rnnc_plain"] = False
        return handle

    def _rnnc_check_training(self):
        """In training mode: refuses dropout between layers (torch's results would differ);
        returns the parameters that require grad, if grad mode is on, for the outputs to
        refuse a backward through them (see `Runner.refuse_gradients`)."""
        spec = self._rnnc.spec
        if spec.get("dropout") and spec.get("num_layers", 1) > 1:
            raise RuntimeError(
                f"rnnc computes inference: this {self._rnnc_module} is in training mode with "
                f"dropout={spec['dropout']} between its layers, which rnnc does not apply. "
                "Call .eval() on it (or on the model that holds it)"
            )
        if not torch.is_grad_enabled():
            return ()
        return tuple(p for p in self.parameters() if p.requires_grad)

    def stream(self, hx=None) -> Stream:
        """Starts feeding one sequence in chunks: ``s = m.stream(); y = s(chunk)``, the
        outputs bit-identical to one call on the whole sequence (unidirectional models)."""
        try:
            native = self._rnnc.stream(hx)
        except _rnnc.WeightsChanged:
            native = self._rnnc_refresh().stream(hx)
        return Stream(self._rnnc, native, repr(self), self._rnnc_refresh)

    def emit(self, dir, target: Optional[str] = None):
        """Writes ``NAME.o`` and ``NAME.h`` (the C API) into ``dir`` for ``target`` (a
        triple such as ``aarch64-unknown-linux-gnu``; None: this machine), with the
        module's weights as they are now baked in. Returns both paths."""
        return self._rnnc_refresh().native.emit(os.fspath(dir), target)

    @property
    def spec(self) -> dict:
        """What was compiled: torch's ``module`` and ``mode``, the constructor's arguments,
        ``states``, ``dtype``, and rnnc's ``name`` and ``threads``."""
        return dict(self._rnnc.spec)

    # -- printing

    def _get_name(self):
        return f"rnnc.{self.__dict__.get('_rnnc_module', 'CompiledModule')}"

    def extra_repr(self) -> str:
        text = self.__dict__["_rnnc_source"].extra_repr()
        threads = self.__dict__["_rnnc_threads"]
        return text + (f", threads={threads}" if threads > 1 else "")


class _Unusable:
    """What calls meet after a conversion rnnc cannot run (another device or dtype): the
    reason, raised at every call until the module is converted back."""

    __slots__ = ("reason", "spec")

    def __init__(self, reason: str):
        self.reason = reason
        self.spec = {}

    def _fail(self, *args, **kwargs):
        raise RuntimeError(f"this compiled module cannot run: {self.reason}")

    call = stream = _fail

    @property
    def native(self):
        self._fail()

