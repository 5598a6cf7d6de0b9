"""rnnc.compile against live torch.nn.RNN, LSTM and GRU modules.

The main property draws a new module and a new call on every run (hypothesis; failures
shrink to a smallest configuration): any cell, sizes, layers, direction, bias,
batch_first, projections, dtype; batched, unbatched or packed input (enforce_sorted either
way), with or without initial states; training or eval mode; grad mode on, no_grad or
inference_mode. rnnc's results must match the module's within the tolerance of `rnnc
verify`, or, where rnnc cannot compute what torch would (dropout, gradients), the call
must say so.
"""


import threading
import warnings

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import rnnc
from torch_checks import GRAD_MODES, close, states

warnings.filterwarnings("ignore", message="LSTM with projections is not supported with oneDNN")


@st.composite
def modules_and_calls(draw):
    cell = draw(st.sampled_from(["rnn_tanh", "rnn_relu", "lstm", "gru"]))
    input_size = draw(st.integers(1, 12))
    hidden_size = draw(st.integers(1, 24))
    kw = dict(
        num_layers=draw(st.integers(1, 3)),
        bias=draw(st.booleans()),
        batch_first=draw(st.booleans()),
        bidirectional=draw(st.booleans()),
        dropout=draw(st.sampled_from([0.0, 0.3])),
    )
    if cell == "lstm":
        kw["proj_size"] = draw(st.integers(0, hidden_size - 1))
        cls = torch.nn.LSTM
    elif cell == "gru":
        cls = torch.nn.GRU
    else:
        cls = torch.nn.RNN
        kw["nonlinearity"] = cell[4:]
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    torch.manual_seed(draw(st.integers(0, 2**31)))
    module = cls(input_size, hidden_size, **kw).to(dtype)
    module.train(draw(st.booleans()))
    form = draw(st.sampled_from(["batched", "unbatched", "packed"]))
    seq_len = draw(st.integers(1, 9))
    batch = draw(st.integers(1, 5))
    x = torch.randn(seq_len, batch, input_size, dtype=dtype)
    d = 2 if kw["bidirectional"] else 1
    h_features = kw.get("proj_size") or hidden_size
    lengths = None
    if form == "unbatched":
        x = x[:, 0]
        shape_h, shape_c = (d * kw["num_layers"], h_features), (d * kw["num_layers"], hidden_size)
    else:
        shape_h = (d * kw["num_layers"], batch, h_features)
        shape_c = (d * kw["num_layers"], batch, hidden_size)
        if kw["batch_first"]:
            x = x.transpose(0, 1).contiguous()
    if form == "packed":
        lengths = draw(st.lists(st.integers(1, seq_len), min_size=batch, max_size=batch))
        enforce_sorted = draw(st.booleans())
        if enforce_sorted:
            lengths = sorted(lengths, reverse=True)
        x = pack_padded_sequence(x, lengths, batch_first=kw["batch_first"], enforce_sorted=enforce_sorted)
    hx = None
    if draw(st.booleans()):
        h0 = torch.randn(shape_h, dtype=dtype)
        hx = (h0, torch.randn(shape_c, dtype=dtype)) if cell == "lstm" else h0
    return module, x, hx, draw(st.sampled_from(list(GRAD_MODES)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(modules_and_calls())
def test_compiled_modules_match_torch(case):
    module, x, hx, grad_mode = case
    compiled = rnnc.compile(module)
    dropout = module.training and module.dropout and module.num_layers > 1
    with GRAD_MODES[grad_mode]():
        if dropout:
            # torch would drop units at random between the layers: rnnc refuses.
            with pytest.raises(RuntimeError, match="training mode with dropout=0.3 between its layers"):
                compiled(x, hx)
            return
        out, finals = compiled(x, hx)
    if module.training and grad_mode == "grad":
        # torch would record the graph for its parameters' gradients, which rnnc does not
        # compute: the values are torch's, a backward through them is refused.
        tensor = out.data if isinstance(out, torch.nn.utils.rnn.PackedSequence) else out
        assert tensor.requires_grad
        with pytest.raises(RuntimeError, match="rnnc computes no gradients"):
            tensor.sum().backward()
        out = out.detach() if isinstance(out, torch.Tensor) else out._replace(data=out.data.detach())
        finals = tuple(s.detach() for s in finals) if isinstance(finals, tuple) else finals.detach()
    with torch.no_grad():
        ref_out, ref_states = module(x, hx)
    if isinstance(x, torch.nn.utils.rnn.PackedSequence):
        assert isinstance(out, torch.nn.utils.rnn.PackedSequence)
        assert torch.equal(out.batch_sizes, ref_out.batch_sizes)
        for mine, theirs in ((out.sorted_indices, ref_out.sorted_indices), (out.unsorted_indices, ref_out.unsorted_indices)):
            assert (mine is None) == (theirs is None) and (mine is None or torch.equal(mine, theirs))
        assert close(out.data, ref_out.data)
        assert close(pad_packed_sequence(out)[0], pad_packed_sequence(ref_out)[0])
    else:
        assert close(out, ref_out)
    assert isinstance(finals, tuple) == isinstance(ref_states, tuple)
    for mine, theirs in zip(states(finals), states(ref_states)):
        assert close(mine, theirs)


def trained(module, steps=5):
    """The module after a few steps of training (weights no longer torch's init)."""
    torch.manual_seed(1)
    opt = torch.optim.Adam(module.parameters(), lr=0.05)
    x = torch.randn(8, 4, module.input_size)
    if module.batch_first:
        x = x.transpose(0, 1)
    for _ in range(steps):
        opt.zero_grad()
        out, _ = module(x)
        out.square().mean().backward()
        opt.step()
    return module.eval()


@pytest.mark.parametrize(
    "module",
    [
        lambda: torch.nn.LSTM(12, 32, num_layers=2, proj_size=8),
        lambda: torch.nn.GRU(12, 32, bidirectional=True, batch_first=True),
        lambda: torch.nn.RNN(12, 32, num_layers=2, nonlinearity="relu"),
    ],
    ids=["lstm-proj", "gru-bidirectional", "rnn-relu"],
)
def test_trained_modules_with_packed_sequences(module):
    """The issue's own check: trained modules, reproduced with and without packing."""
    torch.manual_seed(2)
    m = trained(module())
    fast = rnnc.compile(m)
    x = torch.randn(4, 10, 12) if m.batch_first else torch.randn(10, 4, 12)
    packed = pack_padded_sequence(x, [3, 10, 7, 1], batch_first=m.batch_first, enforce_sorted=False)
    with torch.no_grad():
        for inp in (x, packed):
            ref_out, ref_h = m(inp)
            out, h = fast(inp)
            if isinstance(inp, torch.Tensor):
                assert close(out, ref_out)
            else:
                assert close(out.data, ref_out.data)
            for a, b in zip(states(h), states(ref_h)):
                assert close(a, b)


def test_torch_in_torch_out_numpy_in_numpy_out():
    m = torch.nn.GRU(4, 6).eval()
    fast = rnnc.compile(m)
    out, h = fast(torch.randn(3, 2, 4))
    assert type(out) is torch.Tensor and type(h) is torch.Tensor
    out, h = fast(np.zeros((3, 2, 4), np.float32))
    assert type(out) is np.ndarray and type(h) is np.ndarray


@pytest.mark.parametrize("grad_mode", list(GRAD_MODES))
def test_state_fed_back_in_a_loop_and_changed_in_between(grad_mode):
    """The loop `y, h = m(x, h)`, including states written in place between steps (the
    binding recognizes states it returned; a changed one must be read again), with grad
    mode on, under no_grad and under inference_mode (whose tensors keep no version)."""
    for cls in (torch.nn.RNN, torch.nn.GRU, torch.nn.LSTM):
        torch.manual_seed(3)
        m = cls(5, 7).eval()
        fast = rnnc.compile(m)
        xs = torch.randn(12, 1, 5)
        h_ref = h = None
        with GRAD_MODES[grad_mode]():
            for t in range(12):
                with torch.no_grad():
                    y_ref, h_ref = m(xs[t:t + 1], h_ref)
                y, h = fast(xs[t:t + 1], h)
                assert close(y, y_ref)
                for a, b in zip(states(h), states(h_ref)):
                    assert close(a, b)
                if t == 4:
                    for s in states(h) + states(h_ref):
                        s.mul_(0.5)  # in place: same object, new values
                if t == 6:
                    for s in states(h) + states(h_ref):
                        s.unsqueeze_(0)  # in place: same object and memory, 4-D
                    with pytest.raises(Exception) as theirs:
                        with torch.no_grad():
                            m(xs[t:t + 1], h_ref)
                    with pytest.raises(type(theirs.value)) as mine:
                        fast(xs[t:t + 1], h)
                    assert str(mine.value) == str(theirs.value)
                    for s in states(h) + states(h_ref):
                        s.squeeze_(0)
                if t == 8:
                    h_ref = tuple(s.clone().unsqueeze_(1).squeeze_(1) for s in states(h_ref))
                    h = tuple(s.unsqueeze_(1).squeeze_(1) for s in states(h))
                    if cls is not torch.nn.LSTM:
                        h, h_ref = h[0], h_ref[0]


def test_threads_feeding_states_back_and_reading_a_stream():
    """Threads running state loops through one module, some calls long enough to
    release the GIL, while others feed a stream and read its state: each loop gets what
    it gets alone, and nothing deadlocks (the binding's locks are never held while
    another thread may take the GIL)."""
    torch.manual_seed(5)
    m = torch.nn.LSTM(16, 128).eval()
    fast = rnnc.compile(m)
    xs = [torch.randn(6, 8 if i % 2 else 1, 16) for i in range(6)]

    def loop(x):
        h, ys = None, []
        for t in range(x.shape[0]):
            y, h = fast(x[t:t + 1], h)
            ys.append(y)
        return torch.cat(ys), h

    expected = [loop(x) for x in xs]
    chunk = torch.randn(40, 8, 16)
    stream_expected = fast(chunk)[1]
    results, errors = [None] * len(xs), []

    def run(i):
        try:
            for _ in range(10):
                results[i] = loop(xs[i])
        except BaseException as e:  # reported below: a thread's failure is not raised
            errors.append(e)

    def stream():
        try:
            for _ in range(5):
                s = fast.stream()
                for t in range(0, 40, 8):
                    s(chunk[t:t + 8])
                    _ = s.state
                assert all(torch.equal(a, b) for a, b in zip(s.state, stream_expected))
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(xs))]
    threads += [threading.Thread(target=stream) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "threads still running: a deadlock"
    assert not errors, errors
    for (y, (h, c)), (y_ref, (h_ref, c_ref)) in zip(results, expected):
        assert torch.equal(y, y_ref) and torch.equal(h, h_ref) and torch.equal(c, c_ref)


def test_stream_matches_one_call_bit_for_bit():
    torch.manual_seed(4)
    m = torch.nn.LSTM(6, 10, num_layers=2, proj_size=4, batch_first=True).eval()
    fast = rnnc.compile(m)
    x = torch.randn(2, 13, 6)
    hx = (torch.randn(2, 2, 4), torch.randn(2, 2, 10))
    whole, (h, c) = fast(x, hx)
    s = fast.stream(hx)
    ys = [s(x[:, i:i + 3]) for i in range(0, 13, 3)]
    assert all(type(y) is torch.Tensor for y in ys)
    assert torch.equal(torch.cat(ys, dim=1), whole)
    assert torch.equal(s.state[0], h) and torch.equal(s.state[1], c)
    assert "rnnc.Stream" in repr(s)


def test_errors_are_torchs():
    torch.manual_seed(5)
    for cls in (torch.nn.RNN, torch.nn.LSTM, torch.nn.GRU):
        m = cls(4, 3, num_layers=2).eval()
        fast = rnnc.compile(m)
        h = torch.zeros(1, 1, 3)
        calls = [
            (torch.zeros(2, 1, 5), None),
            (torch.zeros(2, 1, 1, 4), None),
            (torch.zeros(0, 1, 4), None),
            (torch.zeros(2, 1, 4, dtype=torch.float64), None),
            (torch.zeros(2, 1, 4), (h, torch.zeros(2, 1, 3)) if cls is torch.nn.LSTM else h),
        ]
        if cls is torch.nn.LSTM:
            calls.append((torch.zeros(2, 1, 4), (torch.zeros(2, 3), torch.zeros(2, 1, 3))))
            calls.append((torch.zeros(2, 4), (torch.zeros(2, 3), torch.zeros(2, 1, 3))))
        else:
            calls.append((torch.zeros(2, 1, 4), torch.zeros(2, 3)))
            calls.append((torch.zeros(2, 4), torch.zeros(2, 1, 3)))
        for x, hx in calls:
            with pytest.raises(Exception) as theirs:
                with torch.no_grad():
                    m(x, hx)
            with pytest.raises(Exception) as mine:
                fast(x, hx)
            assert type(mine.value) is type(theirs.value), (cls, x.shape, mine.value, theirs.value)
            assert str(mine.value) == str(theirs.value)


def test_modules_rnnc_cannot_compile_are_refused_clearly():
    with pytest.raises(ValueError, match="float32 and float64 modules; this one's parameters are torch.float16"):
        rnnc.compile(torch.nn.GRU(3, 4).half())
    with pytest.raises(TypeError, match="takes a torch.nn.RNN, LSTM, GRU, RNNCell, LSTMCell or GRUCell, got Linear"):
        rnnc.compile(torch.nn.Linear(3, 4))
    fast = rnnc.compile(torch.nn.RNN(3, 4).eval())
    with pytest.raises(RuntimeError, match="h0 must have dtype torch.float32, got torch.float64"):
        fast(torch.zeros(2, 1, 3), torch.zeros(1, 1, 4, dtype=torch.float64))


def test_inputs_that_need_grad_or_are_not_contiguous():
    torch.manual_seed(6)
    m = torch.nn.GRU(4, 5, num_layers=2).eval()
    fast = rnnc.compile(m)
    x = torch.randn(5, 3, 8)[:, :, ::2].requires_grad_()
    # With grad mode on, torch would record a graph through the module: rnnc gives the
    # same values, and a backward through them says rnnc computes no gradients.
    out, h = fast(x)
    assert out.requires_grad and h.requires_grad
    with pytest.raises(RuntimeError, match="rnnc computes no gradients: backward reached the output of a GRU"):
        out.sum().backward()
    with torch.no_grad():
        ref, h_ref = m(x)
        out, h = fast(x)
    assert close(out, ref) and close(h, h_ref) and not out.requires_grad


def test_emit_writes_the_module_weights_as_they_are_now(tmp_path):
    m = torch.nn.LSTM(3, 4).eval()
    fast = rnnc.compile(m)
    obj, header = fast.emit(tmp_path / "before")
    assert obj.name == "lstm.o" and "lstm_forward" in header.read_text()
    with torch.no_grad():
        m.weight_hh_l0.add_(1.0)  # load_state_dict writes parameters in place too
    obj, _ = fast.emit(tmp_path / "after")
    assert obj.read_bytes() != (tmp_path / "before" / "lstm.o").read_bytes()
    assert repr(fast) == "rnnc.LSTM(3, 4)"
