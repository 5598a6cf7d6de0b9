"""Reading a live torch module: which torch module it is (a spec), the weights its forward
computes with, and the tensors those weights come from.

The weights are what torch's own forward reads (`RNNBase._flat_weights`, a cell's
`weight_ih`...): a parameter as it is, a parametrized weight (`parametrizations.
weight_norm`, `orthogonal`, ...) evaluated, an old-style `weight_norm` computed from its
`_g` and `_v`, a tied parameter under each of its names. Each is seen without copying
where it is a tensor of the module. What rnnc cannot honour (a `forward` of a subclass,
backward hooks, a quantized module, another device or dtype) is refused here, with a
message that says why.
"""

from __future__ import annotations

from typing import NamedTuple


class Reading(NamedTuple):
    """What a module's forward would compute with, now."""

    #: torch's name of the weight -> its elements (numpy, a view where possible).
    weights: dict
    #: `(holder, name, object, is_tensor)`: the tensors (and containers) the weights come
    #: from, each as `holder[name]` holds it; see `_rnnc.Native.repack`.
    watch: list
    #: The weights' torch dtype.
    dtype: object


def base_class(torch, module):
    """The torch class `module` is an instance of (`torch.nn.LSTM`, ..., `GRUCell`), or None."""
    nn = torch.nn
    for cls in (nn.RNN, nn.LSTM, nn.GRU, nn.RNNCell, nn.LSTMCell, nn.GRUCell):
        if isinstance(module, cls):
            return cls
    return None


def refuse_unless_compilable(torch, module):
    """Raises, saying why, unless rnnc computes exactly what `module(...)` computes."""
    cls = type(module)
    where = cls.__module__
    if where.startswith(("torch.ao.nn.quantized", "torch.nn.quantized", "torch.ao.nn.quantizable")):
        raise TypeError(
            f"rnnc.compile: {where}.{cls.__name__} is a quantized module (int8 weights with "
            "scales), which rnnc does not compile yet: compile the float module (the one "
            "before torch.ao.quantization.quantize_dynamic)"
        )
    base = base_class(torch, module)
    if base is None:
        raise TypeError(
            "rnnc.compile takes a torch.nn.RNN, LSTM, GRU, RNNCell, LSTMCell or GRUCell, got "
            f"{cls.__name__}"
        )
    for method in ("forward", "__call__", "_call_impl"):
        if getattr(cls, method) is not getattr(base, method):
            raise TypeError(
                f"rnnc.compile: {cls.__name__} overrides {method} of torch.nn.{base.__name__}, "
                f"and rnnc computes torch.nn.{base.__name__}'s: compile the "
                f"torch.nn.{base.__name__} that {cls.__name__} uses, or one with its state_dict"
            )
    if module._backward_hooks or module._backward_pre_hooks:
        raise TypeError(
            f"rnnc.compile: the {cls.__name__} has backward hooks, and rnnc computes no "
            "gradients (they would never run): remove them first"
        )


def spec_of(torch, module):
    """The spec of `module` (without dtype: the weights say it), and torch's class name.

    torch's attributes as the module holds them: a sequence module's `mode` (`RNN_TANH`,
    `LSTM`...), which names its cell and an RNN's nonlinearity, and its arguments; a cell
    module, which has no mode, by its `cell` (and an RNNCell's `nonlinearity`). rnnc's
    reader names the model after its cell, as for a spec without a name."""
    nn = torch.nn
    base = base_class(torch, module)
    spec = {"input_size": module.input_size, "hidden_size": module.hidden_size, "bias": bool(module.bias)}
    if issubclass(base, nn.RNNCellBase):
        spec["cell"] = CELL_MODULES[base.__name__]
        if base is nn.RNNCell:
            spec["nonlinearity"] = module.nonlinearity
    else:
        spec.update(
            mode=module.mode,
            num_layers=module.num_layers,
            batch_first=bool(module.batch_first),
            dropout=float(module.dropout),
            bidirectional=bool(module.bidirectional),
            proj_size=module.proj_size,
        )
    return spec, base.__name__


# The spec's `cell` of each cell module (torch's class name -> rnnc's), which has no `mode`.
CELL_MODULES = {"RNNCell": "rnn_cell", "LSTMCell": "lstm_cell", "GRUCell": "gru_cell"}


def weight_names(torch, module):
    """The names of the weights torch's forward reads, in `state_dict` order."""
    if isinstance(module, torch.nn.RNNBase):
        return list(module._flat_weights_names)
    return ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if module.bias else [])


def read(torch, module) -> Reading:
    """The weights `module`'s forward computes with now, and where they come from."""
    from torch.nn.utils import parametrize
    from torch.nn.utils.weight_norm import WeightNorm

    norms = {h.name: h for h in module._forward_pre_hooks.values() if isinstance(h, WeightNorm)}
    weights, watch = {}, []

    def watch_tensors(owner):
        for holder in (owner._parameters, owner._buffers):
            for key, t in holder.items():
                if t is not None:
                    watch.append((holder, key, t, True))

    for name in weight_names(torch, module):
        if name in norms:
            weight = norms[name].compute_weight(module)
            for part in (name + "_g", name + "_v"):
                watch.append((module._parameters, part, module._parameters[part], True))
        elif parametrize.is_parametrized(module, name):
            weight = getattr(module, name)
            plist = module.parametrizations[name]
            watch.append((module._modules, "parametrizations", module.parametrizations, False))
            watch.append((module.parametrizations._modules, name, plist, False))
            for owner in plist.modules():
                watch_tensors(owner)
        else:
            weight = getattr(module, name)
            for holder in (module._parameters, module._buffers, module.__dict__):
                if holder.get(name) is weight:
                    watch.append((holder, name, weight, True))
                    break
        if not isinstance(weight, torch.Tensor):
            raise TypeError(
                f"rnnc.compile: {type(module).__name__}.{name} is a {type(weight).__name__}, "
                "not a tensor"
            )
        weights[name] = weight
    dtypes = {w.dtype for w in weights.values()}
    if len(dtypes) != 1 or not dtypes <= {torch.float32, torch.float64}:
        found = ", ".join(sorted(str(d) for d in dtypes))
        raise ValueError(
            f"rnnc compiles float32 and float64 modules; this one's parameters are {found}"
        )
    devices = {w.device.type for w in weights.values()}
    if devices != {"cpu"}:
        raise ValueError(
            f"rnnc reads the parameters on the CPU; this module's are on "
            f"{', '.join(sorted(devices))}: compile module.cpu()"
        )
    arrays = {}
    for name, w in weights.items():
        w = w.detach()
        if w.is_neg():
            w = w.resolve_neg()
        arrays[name] = w.numpy()
    return Reading(arrays, watch, dtypes.pop())
