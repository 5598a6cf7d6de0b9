/* The C contract of an rnnc object, from C: every misuse the entry point can detect is
 * refused with its status and nothing written; what it cannot detect is the header's
 * documented requirement. The test of crates/cli/tests/aot.rs compiles it once per model
 * with -DRNN_HEADER='"NAME.h"' -DRNN_NAME=NAME -DRNN_UPPER=UPPERCASE_NAME (an object
 * without baked weights, time-major).
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

int main(int argc, char **argv) {
    static const size_t sizes[] = SIZE(_PARAM_SIZES);
    const scalar *params[SIZE(_NUM_PARAMS)];
    size_t rows = (size_t)SEQ_LEN * BATCH;
    size_t n_in = rows * SIZE(_INPUT_SIZE), n_out = rows * SIZE(_OUTPUT_SIZE);
    size_t n_state = (size_t)SIZE(_NUM_LAYER_DIRECTIONS) * BATCH * SIZE(_STATE_H_SIZE);
    size_t n_work = SIZE(_WORK_SIZE)(SEQ_LEN, BATCH), total = 0, k;
    scalar *all, *packed, *input, *h0, *output, *h_n, *work;
    int64_t lengths[BATCH] = {5, 2, 4};
    if (argc == 2 && strcmp(argv[1], "cpu") == 0) {
        printf("%d\n", FN(_cpu_supported)());
        return 0;
    }
    if (!FN(_cpu_supported)()) {
        fprintf(stderr, "this CPU cannot run the object\n");
        return 1;
    }
    for (k = 0; k < SIZE(_NUM_PARAMS); k++) total += sizes[k];
    all = calloc(total, sizeof(scalar));
    packed = malloc(SIZE(_PACKED_SIZE) * sizeof(scalar));
    input = calloc(n_in, sizeof(scalar));
    h0 = calloc(n_state, sizeof(scalar));
    output = malloc(n_out * sizeof(scalar));
    h_n = malloc(n_state * sizeof(scalar));
    work = malloc(n_work * sizeof(scalar));
    if (!all || !packed || !input || !h0 || !output || !h_n || !work) return 3;
    for (total = 0, k = 0; k < SIZE(_NUM_PARAMS); k++) {
        params[k] = all + total;
        total += sizes[k];
    }
    for (k = 0; k < n_in; k++) input[k] = (scalar)((double)k / (double)n_in);
    FN(_pack)(params, packed);

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
    if (failures) return 1;
    printf("ok\n");
    return 0;
}
