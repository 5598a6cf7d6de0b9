/* The C contract of an rnnc object, from C: every misuse the entry point can detect is
 * refused with its status and nothing written; what it cannot detect is the header's
 * documented requirement. The test of crates/cli/tests/aot.rs compiles it once per model
 * with -DRNN_HEADER='"NAME.h"' -DRNN_NAME=NAME -DRNN_UPPER=UPPERCASE_NAME (an object
 * without baked weights, time-major): a sequence module of one state (an RNN), and with
 * -DRNN_CELL=1 an LSTMCell, whose NAME_step is checked instead (step_contract below).
 * Usage: contract          runs every check, prints "ok" (exit 1 and a message if not)
 *        contract cpu      prints NAME_cpu_supported() */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include RNN_HEADER

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define SIZE(x) CAT(RNN_UPPER, x)
#define FN(x) CAT(RNN_NAME, x)

typedef FN(_scalar) scalar;

enum { SEQ_LEN = 5, BATCH = 3 };
#define CANARY ((scalar)12345.0)

static int failures = 0;

static void expect(int got, int want, const char *what) {
    if (got != want) {
        fprintf(stderr, "%s: status %d, expected %d\n", what, got, want);
        failures++;
    }
}

static void fill(scalar *p, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) p[i] = CANARY;
}

/* Whether a buffer still holds only the canary: a refused call writes nothing. */
static void untouched(const scalar *p, size_t n, const char *what) {
    size_t i;
    for (i = 0; i < n; i++) {
        if (p[i] != CANARY) {
            fprintf(stderr, "%s: element %lu was written\n", what, (unsigned long)i);
            failures++;
            return;
        }
    }
}

#ifndef RNN_CELL
#define RNN_CELL 0
#endif

/* The packed weights of parameters that are all 0.01 * (k % 7) - 0.03 for element k. */
static scalar *packed_weights(void) {
    static const size_t sizes[] = SIZE(_PARAM_SIZES);
    const scalar *params[SIZE(_NUM_PARAMS)];
    size_t total = 0, k;
    scalar *all, *packed = malloc(SIZE(_PACKED_SIZE) * sizeof(scalar));
    for (k = 0; k < SIZE(_NUM_PARAMS); k++) total += sizes[k];
    all = malloc(total * sizeof(scalar));
    if (!all || !packed) exit(3);
    for (k = 0; k < total; k++) all[k] = (scalar)(0.01 * (double)(k % 7) - 0.03);
    for (total = 0, k = 0; k < SIZE(_NUM_PARAMS); k++) {
        params[k] = all + total;
        total += sizes[k];
    }
    FN(_pack)(params, packed);
    free(all);
    return packed;
}

#if RNN_CELL
/* NAME_step of an LSTMCell: refusals with NAME_forward's statuses and nothing written
 * (the output's room at the end of the workspace included), and steps in a loop that
 * compute what one NAME_forward call over the same steps computes, bit for bit. */
static void step_contract(void) {
    enum { STEPS = 5 };
    size_t n_in = (size_t)BATCH * SIZE(_INPUT_SIZE), n_h = (size_t)BATCH * SIZE(_STATE_H_SIZE);
    size_t n_c = (size_t)BATCH * SIZE(_STATE_C_SIZE), n_work = SIZE(_STEP_WORK_SIZE)(BATCH);
    size_t k, t;
    scalar *packed = packed_weights(), *input = malloc(STEPS * n_in * sizeof(scalar));
    scalar *h0 = calloc(n_h, sizeof(scalar)), *c0 = calloc(n_c, sizeof(scalar));
    scalar *h1 = malloc(n_h * sizeof(scalar)), *c1 = malloc(n_c * sizeof(scalar));
    scalar *work = malloc(n_work * sizeof(scalar));
    scalar *h[2], *c[2], *output, *h_n, *c_n, *forward_work;
    if (!input || !h0 || !c0 || !h1 || !c1 || !work) exit(3);
    for (k = 0; k < STEPS * n_in; k++) input[k] = (scalar)((double)k / (double)n_in - 2.0);

    if (SIZE(_STEP_WORK_SIZE)(-1) != SIZE_MAX ||
        SIZE(_STEP_WORK_SIZE)((int64_t)SIZE(_MAX_ROWS) + 1) != SIZE_MAX ||
        SIZE(_STEP_WORK_SIZE)((int64_t)SIZE(_MAX_ROWS)) == SIZE_MAX ||
        SIZE(_STEP_WORK_SIZE)(BATCH) !=
            SIZE(_WORK_SIZE)(1, BATCH) + (size_t)BATCH * SIZE(_OUTPUT_SIZE)) {
        fprintf(stderr, "STEP_WORK_SIZE is not WORK_SIZE(1, batch) plus the output\n");
        failures++;
    }

#define STEP(w, i, h, c, hn, cn, wk, n) FN(_step)(w, i, h, c, hn, cn, wk, n)
#define STEP_REFUSED(status, what, w, i, h, c, hn, cn, wk, n)                             \
    do {                                                                                   \
        fill(h1, n_h);                                                                     \
        fill(c1, n_c);                                                                     \
        fill(work, n_work);                                                                \
        expect(STEP(w, i, h, c, hn, cn, wk, n), status, what);                             \
        untouched(h1, n_h, what);                                                          \
        untouched(c1, n_c, what);                                                          \
        untouched(work, n_work, what);                                                     \
    } while (0)

    STEP_REFUSED(RNNC_BAD_BATCH, "step: batch -7", packed, input, h0, c0, h1, c1, work, -7);
    STEP_REFUSED(RNNC_TOO_LARGE, "step: batch beyond MAX_ROWS", packed, input, h0, c0, h1, c1,
                 work, (int64_t)SIZE(_MAX_ROWS) + 1);
    STEP_REFUSED(RNNC_OK, "step: batch 0 with NULL buffers", NULL, NULL, NULL, NULL, NULL,
                 NULL, NULL, 0);
    STEP_REFUSED(RNNC_NULL_ARGUMENT, "step: NULL work", packed, input, h0, c0, h1, c1, NULL,
                 BATCH);
    STEP_REFUSED(RNNC_NULL_ARGUMENT, "step: NULL weights", NULL, input, h0, c0, h1, c1, work,
                 BATCH);
    STEP_REFUSED(RNNC_NULL_ARGUMENT, "step: NULL input", packed, NULL, h0, c0, h1, c1, work,
                 BATCH);
    STEP_REFUSED(RNNC_NULL_ARGUMENT, "step: NULL h1", packed, input, h0, c0, NULL, c1, work,
                 BATCH);
    STEP_REFUSED(RNNC_NULL_ARGUMENT, "step: NULL c1", packed, input, h0, c0, h1, NULL, work,
                 BATCH);
    STEP_REFUSED(RNNC_NULL_ARGUMENT, "step: h0 without c0", packed, input, h0, NULL, h1, c1,
                 work, BATCH);
    STEP_REFUSED(RNNC_NULL_ARGUMENT, "step: c0 without h0", packed, input, NULL, c0, h1, c1,
                 work, BATCH);
    STEP_REFUSED(RNNC_OVERLAP, "step: h1 over h0 (in place)", packed, input, h0, c0, h0, c1,
                 work, BATCH);
    STEP_REFUSED(RNNC_OVERLAP, "step: h1 over c1", packed, input, h0, c0, c1, c1, work, BATCH);
    STEP_REFUSED(RNNC_OVERLAP, "step: work over h1", packed, input, h0, c0, h1, c1, h1, BATCH);
    /* The kernel's output is the workspace's tail: a state there overlaps it. */
    STEP_REFUSED(RNNC_OVERLAP, "step: c1 in the workspace's output", packed, input, h0, c0, h1,
                 work + n_work - n_c, work, BATCH);
    expect(STEP(packed, input, h0, c0, input, c1, work, BATCH), RNNC_OVERLAP,
           "step: h1 over the input");

    /* Steps in a loop, the states swapped, equal one forward call over the steps. */
    output = malloc(STEPS * n_h * sizeof(scalar));
    h_n = malloc(n_h * sizeof(scalar));
    c_n = malloc(n_c * sizeof(scalar));
    forward_work = malloc(SIZE(_WORK_SIZE)(STEPS, BATCH) * sizeof(scalar));
    if (!output || !h_n || !c_n || !forward_work) exit(3);
    for (k = 0; k < n_h; k++) h0[k] = (scalar)(0.1 * (double)(k % 5));
    for (k = 0; k < n_c; k++) c0[k] = (scalar)(-0.2 * (double)(k % 3));
    expect(FN(_forward)(packed, input, h0, c0, NULL, output, h_n, c_n, forward_work, STEPS,
                        BATCH),
           RNNC_OK, "forward over the steps");
    h[0] = h0, c[0] = c0, h[1] = h1, c[1] = c1;
    for (t = 0; t < STEPS; t++) {
        scalar *hn = h[(t + 1) % 2], *cn = c[(t + 1) % 2];
        expect(STEP(packed, input + t * n_in, h[t % 2], c[t % 2], hn, cn, work, BATCH), RNNC_OK,
               "a step");
        if (memcmp(hn, output + t * n_h, n_h * sizeof(scalar)) != 0) {
            fprintf(stderr, "step %lu: h1 is not forward's output\n", (unsigned long)t);
            failures++;
        }
    }
    if (memcmp(h[STEPS % 2], h_n, n_h * sizeof(scalar)) != 0 ||
        memcmp(c[STEPS % 2], c_n, n_c * sizeof(scalar)) != 0) {
        fprintf(stderr, "the last step's states are not forward's h_n and c_n\n");
        failures++;
    }
}

#else
/* NAME_forward of a model of one state: every refusal, and a valid call. */
static void forward_contract(void) {
    size_t rows = (size_t)SEQ_LEN * BATCH;
    size_t n_in = rows * SIZE(_INPUT_SIZE), n_out = rows * SIZE(_OUTPUT_SIZE);
    size_t n_state = (size_t)SIZE(_NUM_LAYER_DIRECTIONS) * BATCH * SIZE(_STATE_H_SIZE);
    size_t n_work = SIZE(_WORK_SIZE)(SEQ_LEN, BATCH), k;
    scalar *packed, *input, *h0, *output, *h_n, *work;
    int64_t lengths[BATCH] = {5, 2, 4};
    packed = packed_weights();
    input = calloc(n_in, sizeof(scalar));
    h0 = calloc(n_state, sizeof(scalar));
    output = malloc(n_out * sizeof(scalar));
    h_n = malloc(n_state * sizeof(scalar));
    work = malloc(n_work * sizeof(scalar));
    if (!input || !h0 || !output || !h_n || !work) exit(3);
    for (k = 0; k < n_in; k++) input[k] = (scalar)((double)k / (double)n_in);

    /* The workspace size: exact for valid arguments, SIZE_MAX for any other. */
    if (SIZE(_WORK_SIZE)(-5, -7) != SIZE_MAX || SIZE(_WORK_SIZE)(0, 3) != SIZE_MAX ||
        SIZE(_WORK_SIZE)(5, -1) != SIZE_MAX ||
        SIZE(_WORK_SIZE)((int64_t)1 << 40, (int64_t)1 << 40) != SIZE_MAX ||
        SIZE(_WORK_SIZE)(SIZE(_MAX_ROWS), 1) == SIZE_MAX ||
        SIZE(_WORK_SIZE)(SIZE(_MAX_ROWS) + 1, 1) != SIZE_MAX) {
        fprintf(stderr, "WORK_SIZE does not refuse invalid sizes\n");
        failures++;
    }

#define CALL(w, i, h, len, o, hn, wk, l, n) FN(_forward)(w, i, h, len, o, hn, wk, l, n)
#define REFUSED(status, what, w, i, h, len, o, hn, wk, l, n)                                \
    do {                                                                                   \
        fill(output, n_out);                                                               \
        fill(h_n, n_state);                                                                \
        fill(work, n_work);                                                                \
        expect(CALL(w, i, h, len, o, hn, wk, l, n), status, what);                         \
        untouched(output, n_out, what);                                                    \
        untouched(h_n, n_state, what);                                                     \
        untouched(work, n_work, what);                                                     \
    } while (0)

    REFUSED(RNNC_BAD_SEQ_LEN, "seq_len -5, batch -7", packed, input, h0, NULL, output, h_n,
            work, -5, -7);
    REFUSED(RNNC_BAD_SEQ_LEN, "seq_len 0", packed, input, h0, NULL, output, h_n, work, 0,
            BATCH);
    REFUSED(RNNC_BAD_BATCH, "batch -7", packed, input, h0, NULL, output, h_n, work, SEQ_LEN,
            -7);
    REFUSED(RNNC_OK, "batch 0 (nothing to do)", packed, input, h0, NULL, output, h_n, work,
            (int64_t)1 << 40, 0);
    REFUSED(RNNC_OK, "batch 0 with NULL buffers", NULL, NULL, NULL, NULL, NULL, NULL, NULL,
            SEQ_LEN, 0);
    REFUSED(RNNC_TOO_LARGE, "seq_len * batch beyond MAX_ROWS", packed, input, h0, NULL, output,
            h_n, work, (int64_t)1 << 40, (int64_t)1 << 40);
    REFUSED(RNNC_TOO_LARGE, "seq_len MAX_ROWS + 1", packed, input, h0, NULL, output, h_n, work,
            (int64_t)SIZE(_MAX_ROWS) + 1, 1);
    REFUSED(RNNC_NULL_ARGUMENT, "NULL work", packed, input, h0, NULL, output, h_n, NULL,
            SEQ_LEN, BATCH);
    REFUSED(RNNC_NULL_ARGUMENT, "NULL weights", NULL, input, h0, NULL, output, h_n, work,
            SEQ_LEN, BATCH);
    REFUSED(RNNC_NULL_ARGUMENT, "NULL input", packed, NULL, h0, NULL, output, h_n, work,
            SEQ_LEN, BATCH);
    REFUSED(RNNC_NULL_ARGUMENT, "NULL output", packed, input, h0, NULL, NULL, h_n, work,
            SEQ_LEN, BATCH);
    REFUSED(RNNC_NULL_ARGUMENT, "NULL h_n", packed, input, h0, NULL, output, NULL, work,
            SEQ_LEN, BATCH);
    lengths[1] = 0;
    REFUSED(RNNC_BAD_LENGTHS, "a length of 0", packed, input, h0, lengths, output, h_n, work,
            SEQ_LEN, BATCH);
    lengths[1] = SEQ_LEN + 1;
    REFUSED(RNNC_BAD_LENGTHS, "a length past seq_len", packed, input, h0, lengths, output,
            h_n, work, SEQ_LEN, BATCH);
    lengths[1] = -3;
    REFUSED(RNNC_BAD_LENGTHS, "a negative length", packed, input, h0, lengths, output, h_n,
            work, SEQ_LEN, BATCH);
    lengths[1] = 2;
    REFUSED(RNNC_OVERLAP, "work overlapping output", packed, input, h0, lengths, output, h_n,
            output + 1, SEQ_LEN, BATCH);
    REFUSED(RNNC_OVERLAP, "h_n overlapping output", packed, input, h0, lengths, output,
            output + n_out - 1, work, SEQ_LEN, BATCH);
    REFUSED(RNNC_OVERLAP, "h_n over h0", packed, input, h0, lengths, output, h0, work,
            SEQ_LEN, BATCH);
    REFUSED(RNNC_OVERLAP, "output over the weights", packed, input, h0, lengths, packed,
            h_n, work, SEQ_LEN, BATCH);
    /* Output over the input: the input buffer is the one to check for writes. */
    expect(CALL(packed, input, h0, lengths, input, h_n, work, SEQ_LEN, BATCH), RNNC_OVERLAP,
           "output over the input");
    for (k = 0; k < n_in; k++) {
        if (input[k] != (scalar)((double)k / (double)n_in)) {
            fprintf(stderr, "output over the input: the input was written\n");
            failures++;
            break;
        }
    }

    /* A valid call runs and writes every output element. */
    fill(output, n_out);
    expect(CALL(packed, input, h0, lengths, output, h_n, work, SEQ_LEN, BATCH), RNNC_OK,
           "a valid call");
    for (k = 0; k < n_out; k++) {
        if (output[k] == CANARY) {
            fprintf(stderr, "a valid call left output[%lu] unwritten\n", (unsigned long)k);
            failures++;
            break;
        }
    }
}
#endif

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "cpu") == 0) {
        printf("%d\n", FN(_cpu_supported)());
        return 0;
    }
    if (!FN(_cpu_supported)()) {
        fprintf(stderr, "this CPU cannot run the object\n");
        return 1;
    }
#if RNN_CELL
    step_contract();
#else
    forward_contract();
#endif
    if (failures) return 1;
    printf("ok\n");
    return 0;
}
