//! Recurrent cells: what one step of one layer and direction computes, and every fact the
//! later stages derive from the kind of cell.
//!
//! A cell has `G` gates: its input and recurrent weights stack `G` blocks of `H` rows each
//! (torch's gate order), and its biases likewise. It carries one or more states from step
//! to step (`h`, and `c` for an LSTM), each of its own width. Everything that depends on
//! which cell a model has (gate counts, states, parameter shapes, the parameter count, the
//! FLOPs) is answered here, so that a new cell is a new variant of [`Cell`] and of the
//! functions that match on it, not an edit of every stage.

use std::fmt;

use crate::spec::Nonlinearity;

/// The most states a cell carries (`h` and an LSTM's `c`).
pub const MAX_STATES: usize = 2;

/// A recurrent cell, named by torch's `RNNBase.mode` (`RNN_TANH`, `RNN_RELU`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cell {
    /// Elman's cell (`torch.nn.RNN`): one gate, one state,
    /// `h' = act(W_ih x + b_ih + W_hh h + b_hh)`.
    Rnn(Nonlinearity),
    /// `torch.nn.LSTM`: gates i, f, g, o; states `h` and `c`;
    /// `c' = σ(f) c + σ(i) tanh(g)`, `h' = σ(o) tanh(c')`, then `h' = W_hr h'` when the
    /// model has projections.
    Lstm,
    /// `torch.nn.GRU`: gates r, z, n; state `h`; `n = tanh(x_n + σ(r) (W_hn h + b_hn))`
    /// (the recurrent part of `n` stays apart, inside the product with `r`),
    /// `h' = (1 - σ(z)) n + σ(z) h`.
    Gru,
}

/// A state a cell carries between steps. torch names the initial value `NAME0` (`h0`) and
/// the final one `NAME_n` (`h_n`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StateKind {
    /// The hidden state, which is also the layer's output at each step.
    H,
    /// An LSTM's cell state.
    C,
}

impl StateKind {
    /// Every kind, in the order states are stored and passed (`h` first).
    pub const ALL: [StateKind; MAX_STATES] = [StateKind::H, StateKind::C];

    /// torch's name: `h`, `c`.
    pub fn name(self) -> &'static str {
        match self {
            StateKind::H => "h",
            StateKind::C => "c",
        }
    }

    /// The initial state's name: `h0`, `c0`.
    pub fn initial(self) -> &'static str {
        match self {
            StateKind::H => "h0",
            StateKind::C => "c0",
        }
    }

    /// The final state's name: `h_n`, `c_n`.
    pub fn last(self) -> &'static str {
        match self {
            StateKind::H => "h_n",
            StateKind::C => "c_n",
        }
    }
}

impl Cell {
    /// Every cell.
    pub const ALL: [Cell; 4] = [
        Cell::Rnn(Nonlinearity::Tanh),
        Cell::Rnn(Nonlinearity::Relu),
        Cell::Lstm,
        Cell::Gru,
    ];

    /// torch's `RNNBase.mode`: `RNN_TANH`, `RNN_RELU`, `LSTM`, `GRU`.
    pub fn mode(self) -> &'static str {
        match self {
            Cell::Rnn(Nonlinearity::Tanh) => "RNN_TANH",
            Cell::Rnn(Nonlinearity::Relu) => "RNN_RELU",
            Cell::Lstm => "LSTM",
            Cell::Gru => "GRU",
        }
    }

    /// The cell named by a mode, if any (the inverse of [`mode`](Self::mode)).
    pub fn from_mode(mode: &str) -> Option<Cell> {
        Cell::ALL.into_iter().find(|c| c.mode() == mode)
    }

    /// The torch module computing it: `RNN`, `LSTM`, `GRU`.
    pub fn module(self) -> &'static str {
        match self {
            Cell::Rnn(_) => "RNN",
            Cell::Lstm => "LSTM",
            Cell::Gru => "GRU",
        }
    }

    /// `G`: gate blocks of `H` rows stacked in each weight and bias.
    pub fn gates(self) -> usize {
        self.gate_names().len()
    }

    /// The gates in torch's stacking order (one letter each where torch names them).
    pub fn gate_names(self) -> &'static [&'static str] {
        match self {
            Cell::Rnn(_) => &["h"],
            Cell::Lstm => &["i", "f", "g", "o"],
            Cell::Gru => &["r", "z", "n"],
        }
    }

    /// The states it carries, the output state `h` first.
    pub fn states(self) -> &'static [StateKind] {
        match self {
            Cell::Rnn(_) | Cell::Gru => &[StateKind::H],
            Cell::Lstm => &StateKind::ALL,
        }
    }

    /// The Elman activation, for an Elman cell.
    pub fn nonlinearity(self) -> Option<Nonlinearity> {
        match self {
            Cell::Rnn(act) => Some(act),
            Cell::Lstm | Cell::Gru => None,
        }
    }

    /// Gates whose recurrent part (`W_h* h + b_h*`) the cell needs apart from the input
    /// part rather than summed with it: GRU's `n`, whose recurrent part `r` multiplies.
    pub fn split_gates(self) -> &'static [usize] {
        match self {
            Cell::Rnn(_) | Cell::Lstm => &[],
            Cell::Gru => &[2],
        }
    }

    /// Whether gate `g`'s recurrent part stays apart (see [`split_gates`](Self::split_gates)).
    pub fn is_split(self, g: usize) -> bool {
        self.split_gates().contains(&g)
    }
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.mode())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_round_trip() {
        for cell in Cell::ALL {
            assert_eq!(Cell::from_mode(cell.mode()), Some(cell));
            assert_eq!(cell.gates(), cell.gate_names().len());
            assert_eq!(cell.states()[0], StateKind::H);
            assert!(cell.split_gates().iter().all(|&g| g < cell.gates()));
        }
        assert_eq!(Cell::from_mode("LSTM2"), None);
        assert_eq!(Cell::Lstm.gates(), 4);
        assert_eq!(Cell::Gru.gates(), 3);
        assert_eq!(Cell::Lstm.states(), [StateKind::H, StateKind::C]);
        assert_eq!(StateKind::H.initial(), "h0");
        assert_eq!(StateKind::C.last(), "c_n");
    }
}
