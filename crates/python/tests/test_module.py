"""rnnc.compile(module) as a torch.nn.Module that stands in for the module: inside a model,
printed, saved and loaded, copied, converted, trained around, with hooks; its weights
always the module's."""

import copy
import io
import pickle
import warnings

import pytest
import torch

import rnnc
from torch_checks import close, same

warnings.filterwarnings("ignore", message="LSTM with projections is not supported with oneDNN")


class Tagger(torch.nn.Module):
    """A model with other layers around its recurrent part."""

    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Linear(6, 8)
        self.lstm = torch.nn.LSTM(8, 16, num_layers=2, bidirectional=True)
        self.head = torch.nn.Linear(32, 3)

    def forward(self, x):
        y, _ = self.lstm(torch.tanh(self.embed(x)))
        return self.head(y)


def tagger():
    torch.manual_seed(0)
    return Tagger().eval()


X = torch.randn(7, 2, 6)


def test_swapped_into_a_model_it_is_the_module():
    model = tagger()
    original = model.lstm
    names = list(model.state_dict())
    with torch.no_grad():
        ref = model(X)
    model.lstm = rnnc.compile(model.lstm)
    assert isinstance(model.lstm, torch.nn.Module) and isinstance(model.lstm, rnnc.CompiledModule)
    with torch.no_grad():
        assert close(model(X), ref)
    # With grad mode on (torch's default, and the layers before it trainable), the same
    # values; the output refuses a backward through the compiled part.
    out = model(X)
    assert close(out.detach(), ref) and out.requires_grad
    with pytest.raises(RuntimeError, match="rnnc computes no gradients: backward reached the output of a LSTM"):
        out.sum().backward()
    assert list(model.state_dict()) == names
    # The parameters are the module's own tensors, under the same names.
    assert dict(model.lstm.named_parameters()) == dict(original.named_parameters())
    assert all(a is b for a, b in zip(model.lstm.parameters(), original.parameters()))
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in tagger().parameters())
    text = str(model)
    assert "(lstm): rnnc.LSTM(8, 16, num_layers=2, bidirectional=True)" in text, text
    assert model.lstm.hidden_size == 16 and model.lstm.num_layers == 2  # the module's attributes


@pytest.mark.parametrize("how", ["torch.save", "pickle", "deepcopy"])
def test_saved_loaded_and_copied_with_the_same_outputs(how, tmp_path):
    model = tagger()
    model.lstm = rnnc.compile(model.lstm, threads=2)
    with torch.no_grad():
        ref = model(X)
    if how == "torch.save":
        torch.save(model, tmp_path / "model.pt")
        again = torch.load(tmp_path / "model.pt", weights_only=False)
    elif how == "pickle":
        again = pickle.loads(pickle.dumps(model))
    else:
        again = copy.deepcopy(model)
    assert isinstance(again.lstm, rnnc.CompiledModule) and again.lstm.spec["threads"] == 2
    with torch.no_grad():
        assert torch.equal(again(X), ref)
        # A copy has its own weights: changing the original's does not change it.
        model.lstm.weight_hh_l0.zero_()
        assert torch.equal(again(X), ref) and not torch.equal(model(X), ref)
    buffer = io.BytesIO()
    torch.save(again.state_dict(), buffer)
    buffer.seek(0)
    plain = tagger()
    plain.load_state_dict(torch.load(buffer))
    with torch.no_grad():
        assert close(plain(X), ref)


def test_load_state_dict_repacks_and_a_changed_shape_is_a_clear_error():
    model = tagger()
    model.lstm = rnnc.compile(model.lstm)
    torch.manual_seed(1)
    other = Tagger().eval()
    model.load_state_dict(other.state_dict())
    with torch.no_grad():
        assert close(model(X), other(X))
    # The compiled module's own load_state_dict too (torch's own method: in place).
    model.lstm.load_state_dict(tagger().lstm.state_dict())
    with torch.no_grad():
        x = torch.randn(4, 2, 8)
        assert same(model.lstm(x), tagger().lstm(x))
    wider = torch.nn.LSTM(8, 20, num_layers=2, bidirectional=True).state_dict()
    with pytest.raises(RuntimeError, match="size mismatch for weight_ih_l0"):
        model.lstm.load_state_dict(wider)
    with pytest.raises(RuntimeError, match="size mismatch for weight_ih_l0"):
        model.lstm.load_state_dict(wider, assign=True)
    # A parameter of another shape set directly: rnnc's error, naming it.
    model.lstm.weight_ih_l0 = torch.nn.Parameter(torch.zeros(80, 8))
    with pytest.raises(ValueError, match=r"tensor `weight_ih_l0` has shape \[80, 8\], expected \[64, 8\]"):
        model(X)


def test_weights_changed_in_any_way_torch_records_are_followed():
    """A call never uses weights other than the module's: after an in-place edit, an
    optimizer's step, a replaced parameter, on the compiled module or its source."""
    torch.manual_seed(2)
    source = torch.nn.GRU(4, 6, num_layers=2).eval()
    fast = rnnc.compile(source)
    x = torch.randn(5, 3, 4)

    def check():
        with torch.no_grad():
            assert same(fast(x), source(x))

    check()
    with torch.no_grad():
        source.weight_hh_l1.mul_(0.5)  # in place, through the source
    check()
    with torch.no_grad():
        fast.bias_ih_l0.add_(0.25)  # in place, through the compiled module
    check()
    source.weight_ih_l0 = torch.nn.Parameter(torch.randn(18, 4))  # replaced, on the source
    check()
    fast.weight_hh_l0 = torch.nn.Parameter(torch.randn(18, 6))  # replaced, on the module
    assert source.weight_hh_l0 is fast.weight_hh_l0
    check()
    opt = torch.optim.SGD(source.parameters(), lr=0.1)
    source.train()
    out, _ = source(x)
    out.sum().backward()
    opt.step()  # training the source between evaluations through the compiled module
    source.eval()
    check()


def test_training_mode_is_refused_where_results_or_gradients_would_differ():
    torch.manual_seed(3)
    lstm = torch.nn.LSTM(4, 5, num_layers=2, dropout=0.25)  # constructed in training mode
    fast = rnnc.compile(lstm)
    x = torch.randn(3, 1, 4)
    for context in (torch.no_grad, torch.enable_grad):
        with context(), pytest.raises(RuntimeError, match="training mode with dropout=0.25"):
            fast(x)
    fast.eval()
    with torch.no_grad():
        assert same(fast(x), lstm.eval()(x))
    # Training mode without dropout: torch's results, but no gradients. A backward through
    # the compiled module (to its parameters, or to what is before it) is an error.
    source = torch.nn.GRU(4, 5)
    plain = rnnc.compile(source)
    out, h = plain(x)
    with torch.no_grad():
        assert same((out, h), source.eval()(x))
    with pytest.raises(RuntimeError, match="rnnc computes no gradients: backward reached the output of a GRU"):
        (out.sum() + h.sum()).backward()
    plain.requires_grad_(False)
    out, _ = plain(x)
    assert not out.requires_grad  # frozen, and nothing before it: nothing to differentiate
    model = tagger().train()
    model.lstm = rnnc.compile(model.lstm)
    with pytest.raises(RuntimeError, match="rnnc computes no gradients"):
        model(X).sum().backward()  # to the LSTM's parameters
    model.lstm.requires_grad_(False)
    with pytest.raises(RuntimeError, match="rnnc computes no gradients"):
        model(X).sum().backward()  # through the LSTM, to the embedding's
    # With everything before it frozen too, the head alone trains around the compiled part.
    model.embed.requires_grad_(False)
    model(X).sum().backward()
    assert model.head.weight.grad is not None


def test_to_dtype_compiles_again_and_a_dtype_or_device_rnnc_cannot_run_is_an_error():
    model = tagger()
    model.lstm = rnnc.compile(model.lstm)
    with torch.no_grad():
        ref = tagger().double()(X.double())
    model.double()
    assert model.lstm.spec["dtype"] == "float64"
    with torch.no_grad():
        assert close(model(X.double()), ref)
    model.half()
    with pytest.raises(RuntimeError, match="cannot run: rnnc compiles float32 and float64 modules; this one's parameters are torch.float16"):
        model.lstm(X.half())
    model.float()
    with torch.no_grad():
        assert close(model(X), tagger().half().float()(X))  # the weights rounded to float16


def test_hooks_run_as_torch_runs_them():
    torch.manual_seed(4)
    source = torch.nn.RNN(3, 4).eval()
    calls = []
    source.register_forward_hook(lambda m, args, out: calls.append("source hook") or (out[0] * 2, out[1]))
    fast = rnnc.compile(source)
    x = torch.randn(2, 1, 3)
    with torch.no_grad():
        ref = source(x)
        assert same(fast(x), ref) and calls == ["source hook", "source hook"]
        handle = fast.register_forward_pre_hook(lambda m, args: (args[0] + 1,))
        assert same(fast(x), source(x + 1))
        handle.remove()
        assert same(fast(x), ref)
        seen = []
        global_handle = torch.nn.modules.module.register_module_forward_hook(
            lambda m, args, out: seen.append(type(m).__name__))
        try:
            fast(x)
        finally:
            global_handle.remove()
        assert seen == ["CompiledModule"]


def test_what_rnnc_cannot_honour_is_refused():
    class Scaled(torch.nn.LSTM):
        def forward(self, input, hx=None):
            out, state = super().forward(input, hx)
            return out * 2, state

    with pytest.raises(TypeError, match="Scaled overrides forward of torch.nn.LSTM"):
        rnnc.compile(Scaled(3, 4))

    class Plain(torch.nn.LSTM):  # a subclass that keeps torch's forward compiles
        pass

    plain = Plain(3, 4).eval()
    x = torch.randn(2, 3)
    with torch.no_grad():
        assert same(rnnc.compile(plain)(x), plain(x))
    gru = torch.nn.GRU(3, 4)
    gru.register_full_backward_hook(lambda *a: None)
    with pytest.raises(TypeError, match="backward hooks, and rnnc computes no gradients"):
        rnnc.compile(gru)


def test_tracing_is_refused_and_torch_compile_runs_it():
    """torch.jit.trace would record rnnc's outputs as constants (a traced model returning
    them whatever its input): refused, directly and inside a model, with or without
    hooks. torch.compile runs the compiled part as it is, with the input's values."""
    model = tagger()
    model.lstm = rnnc.compile(model.lstm)
    cell = rnnc.compile(torch.nn.GRUCell(6, 5).eval())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit.trace's deprecation
        for module, args in [(model, (X,)), (model.lstm, (torch.randn(7, 2, 8),)),
                             (cell, (torch.randn(2, 6),))]:
            with pytest.raises(RuntimeError, match=r"rnnc\.\w+ cannot be traced"):
                torch.jit.trace(module, args)
        handle = model.lstm.register_forward_hook(lambda m, i, o: o)
        with pytest.raises(RuntimeError, match="rnnc.LSTM cannot be traced"):
            torch.jit.trace(model, (X,))
        handle.remove()
    with torch.no_grad():
        ref = model(X)  # untraced calls work as before
        compiled = torch.compile(model, backend="eager")
        for x in (X, 2 * X):
            assert same(compiled(x), Tagger.forward(model, x))
        assert same(compiled(X), ref)
