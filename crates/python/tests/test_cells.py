"""rnnc.compile of torch's cell modules, RNNCell, LSTMCell and GRUCell, stepped as models
step them: `h = cell(x[t], h)`, the state fed back.

The property draws a new cell module and a new loop on every run (hypothesis): any cell
and nonlinearity, sizes, bias, dtype; batched or unbatched steps, with or without an
initial state; grad mode on, no_grad or inference_mode. Each step must match the module's
within the tolerance of `rnnc verify`; every wrong call must raise torch's exception with
torch's message.
"""

import copy
import io

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnc
from torch_checks import GRAD_MODES, close, states

def make_cell(kind, input_size, hidden_size, bias=True, dtype=torch.float32):
    if kind.startswith("rnn"):
        return torch.nn.RNNCell(input_size, hidden_size, bias=bias, nonlinearity=kind[4:], dtype=dtype)
    cls = {"lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell}[kind]
    return cls(input_size, hidden_size, bias=bias, dtype=dtype)


@st.composite
def cells_and_loops(draw):
    kind = draw(st.sampled_from(["rnn_tanh", "rnn_relu", "lstm", "gru"]))
    input_size, hidden_size = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    torch.manual_seed(draw(st.integers(0, 2**31)))
    cell = make_cell(kind, input_size, hidden_size, draw(st.booleans()), dtype).eval()
    steps, batch = draw(st.integers(1, 12)), draw(st.integers(1, 5))
    unbatched = draw(st.booleans())
    xs = torch.randn(steps, batch, input_size, dtype=dtype)
    shape = (batch, hidden_size)
    if unbatched:
        xs, shape = xs[:, 0], (hidden_size,)
    hx = None
    if draw(st.booleans()):
        hx = torch.randn(shape, dtype=dtype)
        if kind == "lstm":
            hx = (hx, torch.randn(shape, dtype=dtype))
    return cell, xs, hx, draw(st.sampled_from(list(GRAD_MODES)))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cells_and_loops())
def test_stepped_cells_match_torch(case):
    cell, xs, hx, grad_mode = case
    fast = rnnc.compile(cell)
    h, h_ref = hx, hx
    with GRAD_MODES[grad_mode]():
        for x in xs:
            h = fast(x, h)
            with torch.no_grad():
                h_ref = cell(x, h_ref)
            assert isinstance(h, tuple) == isinstance(h_ref, tuple)
            for a, b in zip(states(h), states(h_ref)):
                assert close(a, b)


@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_wrong_calls_raise_torchs_exceptions_with_torchs_messages(kind):
    torch.manual_seed(1)
    cell = make_cell(kind, 4, 3).eval()
    fast = rnnc.compile(cell)
    two = kind == "lstm"

    def hx(*shape):
        return (torch.zeros(shape), torch.zeros(shape)) if two else torch.zeros(shape)

    calls = [
        (torch.zeros(2, 3, 4), None),  # 3-D input
        (torch.zeros(()), None),  # 0-D input
        (torch.zeros(2, 5), None),  # input_size
        (torch.zeros(4), None),  # unbatched input_size
        (torch.zeros(2, 4), hx(2, 4)),  # hidden_size
        (torch.zeros(2, 4), hx(3, 3)),  # batch
        (torch.zeros(2, 4), hx(3)),  # unbatched state, batched input
        (torch.zeros(4), hx(2, 3)),  # batched state, unbatched input
        (torch.zeros(2, 4), hx(1, 2, 3)),  # 3-D state
        (torch.zeros(2, 4, dtype=torch.float64), None),  # dtype
    ]
    if two:
        calls += [
            (torch.zeros(2, 4), (torch.zeros(2, 3),)),  # c0 missing
            (torch.zeros(4), (torch.zeros(3),)),
            (torch.zeros(2, 4), (torch.zeros(2, 3), torch.zeros(2, 4))),  # c0's size
        ]
    refused = 0
    for x, state in calls:
        try:
            with torch.no_grad():
                expected = cell(x, state)
        except Exception as theirs:
            refused += 1
            with pytest.raises(Exception) as mine:
                fast(x, state)
            assert type(mine.value) is type(theirs), (kind, x.shape, mine.value, theirs)
            assert str(mine.value) == str(theirs), (kind, x.shape)
        else:  # what torch accepts, rnnc computes as torch does
            for a, b in zip(states(fast(x, state)), states(expected)):
                assert close(a, b)
    assert refused >= len(calls) - 2


class Decoder(torch.nn.Module):
    """A decoder that steps its LSTMCell, feeding each output back."""

    def __init__(self):
        super().__init__()
        self.cell = torch.nn.LSTMCell(8, 16)
        self.out = torch.nn.Linear(16, 8)

    def forward(self, x, steps):
        state, ys = None, []
        for _ in range(steps):
            state = self.cell(x, state)
            x = torch.tanh(self.out(state[0]))
            ys.append(x)
        return torch.stack(ys)


def test_a_compiled_cell_is_the_cell_inside_a_model():
    """The decoder's cell compiled in place, the model saved, loaded and copied."""
    torch.manual_seed(2)
    model = Decoder().eval()
    x = torch.randn(3, 8)
    with torch.no_grad():
        ref = model(x, 10)
    model.cell = rnnc.compile(model.cell)
    assert "(cell): rnnc.LSTMCell(8, 16)" in str(model)
    with torch.no_grad():
        assert close(model(x, 10), ref)
    buffer = io.BytesIO()
    torch.save(model, buffer)
    buffer.seek(0)
    for again in (torch.load(buffer, weights_only=False), copy.deepcopy(model)):
        assert isinstance(again.cell, rnnc.CompiledModule)
        with torch.no_grad():
            assert close(again(x, 10), ref)


def test_cells_emit_and_stream(tmp_path):
    cell = torch.nn.GRUCell(5, 6).eval()
    fast = rnnc.compile(cell)
    obj, header = fast.emit(tmp_path)
    text = header.read_text()
    assert obj.name == "gru_cell.o" and "gru_cell_step(" in text
    xs = torch.randn(7, 2, 5)
    s = fast.stream()
    with torch.no_grad():
        h = None
        for x in xs:
            y = s(x)
            h = cell(x, h)
            assert close(y, h)
    assert close(s.state, h)
