/* One forward pass of an rnnc object file through its C API: the linking test of
 * crates/cli/tests/aot.rs. Compiled once per model with
 *   -DRNN_HEADER='"NAME.h"' -DRNN_NAME=NAME -DRNN_UPPER=UPPERCASE_NAME [-DRNN_LSTM=1]
 *   [-DRNN_CELL=1]
 * Usage: harness DIR SEQ_LEN BATCH HAS_H0 HAS_LENGTHS
 * Reads DIR/params.bin (all parameters, state_dict order; unless the weights are baked
 * in), DIR/input.bin, DIR/h0.bin (and an LSTM's DIR/c0.bin) and DIR/lengths.bin (int64)
 * as raw little-endian data; writes DIR/output.bin and DIR/h_n.bin (and DIR/c_n.bin).
 * An LSTM given h0 is first called without c0, which must be refused.
 * A cell module's object (RNN_CELL) runs a stepped loop instead: NAME_step once per step
 * of the input (seq_len rows of [batch][INPUT_SIZE]), each step reading the states the
 * step before wrote (two sets of state buffers, swapped); output.bin holds every step's
 * new h, h_n.bin (c_n.bin) the states after the last step. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include RNN_HEADER

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define SIZE(x) CAT(RNN_UPPER, x)
#define FN(x) CAT(RNN_NAME, x)

#ifndef RNN_LSTM
#define RNN_LSTM 0
#endif
#ifndef RNN_CELL
#define RNN_CELL 0
#endif
#if RNN_LSTM
/* The state arguments of the forward functions: (h0, c0) and (h_n, c_n). */
#define INITIAL(h0, c0) h0, c0
#define FINAL(h_n, c_n) h_n, c_n
#else
#define INITIAL(h0, c0) h0
#define FINAL(h_n, c_n) h_n
#endif

typedef FN(_scalar) scalar;

static void *read_file(const char *dir, const char *name, size_t bytes) {
    char path[4096];
    FILE *f;
    void *data = malloc(bytes ? bytes : 1);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "rb");
    if (!f || !data || fread(data, 1, bytes, f) != bytes) {
        fprintf(stderr, "cannot read %zu bytes of %s\n", bytes, path);
        exit(2);
    }
    fclose(f);
    return data;
}

static void write_file(const char *dir, const char *name, const void *data, size_t bytes) {
    char path[4096];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (!f || fwrite(data, 1, bytes, f) != bytes) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
    fclose(f);
}

int main(int argc, char **argv) {
    const char *dir;
    int64_t seq_len, batch;
    size_t rows, states, cstates = 0;
    scalar *input, *h0 = NULL, *c0 = NULL, *output, *h_n, *c_n = NULL, *work;
    int64_t *lengths = NULL;
    int status;
#if !SIZE(_WEIGHTS_BAKED)
    static const size_t sizes[] = SIZE(_PARAM_SIZES);
    const scalar *params[SIZE(_NUM_PARAMS)];
    size_t total = 0, k;
    scalar *all, *packed;
#endif
    if (argc != 6) {
        fprintf(stderr, "usage: harness DIR SEQ_LEN BATCH HAS_H0 HAS_LENGTHS\n");
        return 2;
    }
    dir = argv[1];
    seq_len = atoll(argv[2]);
    batch = atoll(argv[3]);
    rows = (size_t)seq_len * (size_t)batch;
    states = (size_t)SIZE(_NUM_LAYER_DIRECTIONS) * (size_t)batch * SIZE(_STATE_H_SIZE);
    input = read_file(dir, "input.bin", rows * SIZE(_INPUT_SIZE) * sizeof(scalar));
    if (atoi(argv[4])) h0 = read_file(dir, "h0.bin", states * sizeof(scalar));
#if RNN_LSTM
    cstates = (size_t)SIZE(_NUM_LAYER_DIRECTIONS) * (size_t)batch * SIZE(_STATE_C_SIZE);
    if (h0) c0 = read_file(dir, "c0.bin", cstates * sizeof(scalar));
    c_n = malloc(cstates * sizeof(scalar) + 1);
    if (!c_n) return 3;
#endif
    if (atoi(argv[5])) lengths = read_file(dir, "lengths.bin", (size_t)batch * sizeof(int64_t));
    output = malloc(rows * SIZE(_OUTPUT_SIZE) * sizeof(scalar) + 1);
    h_n = malloc(states * sizeof(scalar) + 1);
#if RNN_CELL
    work = malloc(SIZE(_STEP_WORK_SIZE)(batch) * sizeof(scalar) + 1);
#else
    work = malloc(SIZE(_WORK_SIZE)(seq_len, batch) * sizeof(scalar) + 1);
#endif
    if (!output || !h_n || !work) return 3;
#if SIZE(_WEIGHTS_BAKED)
#define WEIGHTS
#else
#define WEIGHTS packed,
#endif
#if RNN_CELL
/* One step of the cell from the states (h, c) into (h1, c1). */
#define STEP(x, h, c, h1, c1) FN(_step)(WEIGHTS x, INITIAL(h, c), FINAL(h1, c1), work, batch)
#define FORWARD(c0_arg) STEP(input, h0, c0_arg, h_n, c_n)
#else
#define FORWARD(c0_arg) \
    FN(_forward)(WEIGHTS input, INITIAL(h0, c0_arg), lengths, output, FINAL(h_n, c_n), work, \
                 seq_len, batch)
#endif
#if !SIZE(_WEIGHTS_BAKED)
    for (k = 0; k < SIZE(_NUM_PARAMS); k++) total += sizes[k];
    all = read_file(dir, "params.bin", total * sizeof(scalar));
    for (total = 0, k = 0; k < SIZE(_NUM_PARAMS); k++) {
        params[k] = all + total;
        total += sizes[k];
    }
    packed = malloc(SIZE(_PACKED_SIZE) * sizeof(scalar));
    if (!packed) return 3;
    FN(_pack)(params, packed);
#endif
#if RNN_LSTM
    /* torch takes (h0, c0) together: h0 without c0 is refused, not read as c0 = 0. */
    if (h0 && batch > 0 && FORWARD(NULL) != RNNC_NULL_ARGUMENT) {
        fprintf(stderr, "h0 without c0 was not refused\n");
        return 5;
    }
#endif
#if RNN_CELL
    {
        size_t t, step_in = (size_t)batch * SIZE(_INPUT_SIZE);
        size_t step_out = (size_t)batch * SIZE(_OUTPUT_SIZE);
        const scalar *h = h0, *c = c0;
        scalar *other_h = malloc(states * sizeof(scalar) + 1), *other_c = NULL;
#if RNN_LSTM
        other_c = malloc(cstates * sizeof(scalar) + 1);
        if (!other_c) return 3;
#endif
        if (!other_h) return 3;
        for (t = 0; t < (size_t)seq_len; t++) {
            /* Even steps write (h_n, c_n), odd ones the other buffers. */
            scalar *h1 = t % 2 ? other_h : h_n, *c1 = t % 2 ? other_c : c_n;
            status = STEP(input + t * step_in, h, c, h1, c1);
            if (status != RNNC_OK) {
                fprintf(stderr, "step %lu returned status %d\n", (unsigned long)t, status);
                return 4;
            }
            memcpy(output + t * step_out, h1, step_out * sizeof(scalar));
            h = h1;
            c = c1;
        }
        /* The states after the last step, in h_n (and c_n). */
        if (seq_len % 2 == 0) {
            memcpy(h_n, other_h, states * sizeof(scalar));
            if (c_n) memcpy(c_n, other_c, cstates * sizeof(scalar));
        }
        (void)c;
        (void)lengths; /* a cell module takes none */
    }
#else
    status = FORWARD(c0);
    if (status != RNNC_OK) {
        fprintf(stderr, "forward returned status %d\n", status);
        return 4;
    }
#endif
    write_file(dir, "output.bin", output, rows * SIZE(_OUTPUT_SIZE) * sizeof(scalar));
    write_file(dir, "h_n.bin", h_n, states * sizeof(scalar));
    if (c_n) write_file(dir, "c_n.bin", c_n, cstates * sizeof(scalar));
    (void)c0;
    return 0;
}
