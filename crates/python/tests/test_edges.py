"""What trying to break rnnc.compile found: processes forked with a compiled model, tied
and parametrized weights, memory that cannot be allocated, unusual tensors and packed
sequences, messages, threads."""

import multiprocessing
import os
import warnings

import numpy as np
import pytest
import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence

import rnnc
from torch_checks import close, same

warnings.filterwarnings("ignore", message="LSTM with projections is not supported with oneDNN")


def _call_in_child(fast, x, queue):
    out, _ = fast(x)
    queue.put(out.numpy())


@pytest.mark.parametrize("called_before", [False, True])
def test_a_threaded_model_runs_in_a_forked_child(called_before):
    """multiprocessing with fork (DataLoader workers): the model's worker threads are the
    parent's, and do not exist in the child."""
    torch.manual_seed(0)
    m = torch.nn.LSTM(32, 64, num_layers=2).eval()
    fast = rnnc.compile(m, threads=2)
    x = torch.randn(100, 4, 32)
    if called_before:
        expected, _ = fast(x)
    else:
        with torch.no_grad():
            expected, _ = m(x)
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_call_in_child, args=(fast, x, queue))
    child.start()
    try:
        # Read before joining: the child's queue flushes its 100 kB only to a reader.
        out = torch.from_numpy(queue.get(timeout=60))
    except Exception:
        pytest.fail("the call in the forked child hung (or failed)")
    finally:
        child.join(timeout=10)
        if child.is_alive():
            child.kill()
    assert child.exitcode == 0
    assert close(out, expected)


def test_tied_parameters_compile_as_torch_runs_them():
    """torch's weight-tying test: one parameter under two names, which named_parameters()
    lists once."""
    torch.manual_seed(1)
    for cls in (torch.nn.RNN, torch.nn.LSTM, torch.nn.GRU):
        m = cls(4, 5, bidirectional=True).eval()
        m.bias_ih_l0_reverse = m.bias_ih_l0
        m.weight_hh_l0_reverse = m.weight_hh_l0
        x = torch.randn(3, 2, 4)
        fast = rnnc.compile(m)
        with torch.no_grad():
            assert same(fast(x), m(x))
            m.bias_ih_l0.add_(0.5)  # one write, both names
            assert same(fast(x), m(x))


@pytest.mark.parametrize(
    "parametrize",
    [
        lambda m: torch.nn.utils.weight_norm(m, "weight_hh_l0"),
        lambda m: torch.nn.utils.parametrizations.weight_norm(m, "weight_ih_l0"),
        lambda m: torch.nn.utils.parametrizations.orthogonal(m, "weight_hh_l0"),
    ],
    ids=["utils.weight_norm", "parametrizations.weight_norm", "parametrizations.orthogonal"],
)
def test_weight_norm_and_parametrizations_compile_their_effective_weights(parametrize):
    torch.manual_seed(2)
    m = torch.nn.RNN(6, 6).eval()  # square, for orthogonal
    parametrize(m)
    x = torch.randn(4, 1, 6)
    fast = rnnc.compile(m)
    with torch.no_grad():
        assert same(fast(x), m(x))
        assert list(fast.state_dict()) == list(m.state_dict())
        for p in m.parameters():  # the g and v, or the originals: the weights follow
            p.mul_(0.9)
        assert same(fast(x), m(x))


def test_memory_that_cannot_be_allocated_is_a_memory_error():
    """A non-contiguous array must be copied; when the copy cannot be allocated, the error
    is numpy's MemoryError with the size, not a TypeError."""
    m = rnnc.compile(torch.nn.GRU(4, 3).eval())
    one = np.zeros((1, 1, 1), np.float32)
    # 2^38 rows of 4 features, all the same element: 4 TiB to copy.
    huge = np.lib.stride_tricks.as_strided(one, shape=(1 << 38, 1, 4), strides=(0, 0, 0))
    with pytest.raises(MemoryError, match=r"\(4398046511104 bytes\)"):
        m(huge)
    with torch.no_grad(), pytest.raises(MemoryError, match=r"\(4398046511104 bytes\)"):
        m(torch.zeros(1, 1, 1).expand(1 << 38, 1, 4))  # the same as a tensor


def test_messages_say_what_is_wrong(tmp_path):
    lstm = torch.nn.LSTM(3, 4)
    quantized = torch.ao.quantization.quantize_dynamic(torch.nn.Sequential(lstm), {torch.nn.LSTM})[0]
    with pytest.raises(TypeError, match="is a quantized module .* which rnnc does not compile yet"):
        rnnc.compile(quantized)
    fast = rnnc.compile(lstm.eval())
    (tmp_path / "file").write_text("")
    with pytest.raises(FileExistsError, match=str(tmp_path / "file")):
        fast.emit(tmp_path / "file")
    for threads in (0, -1):
        with pytest.raises(ValueError, match=f"threads must be at least 1, got {threads}"):
            rnnc.compile(lstm, threads=threads)


def test_more_threads_than_cores_are_capped_with_a_warning():
    cores = len(os.sched_getaffinity(0))
    with pytest.warns(UserWarning, match=f"threads={cores + 6} is more than the {cores} cores"):
        fast = rnnc.compile(torch.nn.GRU(3, 4).eval(), threads=cores + 6)
    assert fast.spec["threads"] == cores


def test_negative_and_conjugate_views_are_read_as_torch_reads_them():
    torch.manual_seed(3)
    m = torch.nn.GRU(4, 5).eval()
    fast = rnnc.compile(m)
    x = torch.randn(3, 2, 4)._neg_view()
    h = torch.randn(1, 2, 5)._neg_view()
    with torch.no_grad():
        assert same(fast(x, h), m(x, h))


def test_malformed_packed_sequences_get_torchs_exception_classes():
    m = torch.nn.GRU(2, 3).eval()
    fast = rnnc.compile(m)
    data = torch.randn(5, 2)
    cases = [
        PackedSequence(data, torch.tensor([3, 0, 2])),  # a zero inside
        PackedSequence(data, torch.tensor([3, 2], dtype=torch.int32)),  # int32 sizes
        PackedSequence(data, torch.tensor([2, 3])),  # increasing
        PackedSequence(data, torch.tensor([3, 3])),  # more rows than the data has
        PackedSequence(torch.randn(2, 2), torch.tensor([3, -1])),  # negative
        PackedSequence(data, torch.tensor([[3, 2]])),  # 2-D sizes
        PackedSequence(torch.randn(0, 2), torch.tensor([], dtype=torch.int64)),  # empty
        PackedSequence(torch.randn(5, 1, 2), torch.tensor([3, 2])),  # 3-D data
        PackedSequence(torch.randn(5, 4), torch.tensor([3, 2])),  # wrong features
    ]
    for packed in cases:
        with pytest.raises(Exception) as theirs:
            with torch.no_grad():
                m(packed)
        with pytest.raises(type(theirs.value)):
            fast(packed)
    # What torch accepts, rnnc runs as torch does.
    accepted = [
        PackedSequence(data, torch.tensor([3, 1])),  # fewer rows than the data has
        PackedSequence(data, torch.tensor([3, 2, 0])),  # a step no sequence reaches
        PackedSequence(torch.randn(0, 2), torch.tensor([0])),  # no sequence at all
        PackedSequence(data, torch.tensor([3, 2]), torch.tensor([2, 0, 1]), torch.tensor([1, 2, 0])),
    ]
    for packed in accepted:
        with torch.no_grad():
            ref = m(packed)
            got = fast(packed)
        assert same(got, ref)
        assert torch.equal(got[0].batch_sizes, ref[0].batch_sizes)
    x = pack_padded_sequence(torch.randn(4, 3, 2), [4, 2, 1], enforce_sorted=False)
    with torch.no_grad():
        assert same(fast(x), m(x))
