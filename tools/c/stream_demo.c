/* The README's walkthrough: a C program streaming a recurrent model exported from PyTorch
 * (an LSTM with projections, or a GRU) one chunk of frames at a time, carrying its states
 * from each call to the next, as a live audio pipeline would. The weights are baked into
 * the object:
 *   rnnc build/lstmp.toml --weights build/lstmp.safetensors -o build
 *   cc -O2 -std=c99 -DMODEL=lstmp -DMODEL_UPPER=LSTMP -DMODEL_HEADER='"lstmp.h"' \
 *       tools/c/stream_demo.c build/lstmp.o -Ibuild -lm -o lstmp_demo
 * (MODEL=gru, MODEL_UPPER=GRU, MODEL_HEADER='"gru.h"' for the GRU). Feeds 50 frames of
 * sin(0.01 * i), 40 features each, in chunks of 10, and prints the last frame's first
 * four outputs and h_n[0][:4] (the first layer's final h). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include MODEL_HEADER

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define SIZE(x) CAT(MODEL_UPPER, x)
#define FN(x) CAT(MODEL, x)

#define FRAMES 50
#define CHUNK 10
#define H_LEN (SIZE(_NUM_LAYER_DIRECTIONS) * SIZE(_STATE_H_SIZE))

int main(void) {
    static float input[FRAMES * SIZE(_INPUT_SIZE)];
    static float output[CHUNK * SIZE(_OUTPUT_SIZE)];
    /* The states before and after each call: h, and for an LSTM c. */
    static float h[H_LEN], h_n[H_LEN];
#if SIZE(_NUM_STATES) == 2
#define C_LEN (SIZE(_NUM_LAYER_DIRECTIONS) * SIZE(_STATE_C_SIZE))
    static float c[C_LEN], c_n[C_LEN];
#define STATES(h0, c0) h0, c0
#else
#define STATES(h0, c0) h0
#endif
    float *work = malloc(SIZE(_WORK_SIZE)(CHUNK, 1) * sizeof(float));
    int i, t, status;
    if (!work) return 1;
    if (!FN(_cpu_supported)()) {
        fprintf(stderr, "this CPU lacks the instructions the object uses (x86-64-v3)\n");
        return 1;
    }
    for (i = 0; i < FRAMES * SIZE(_INPUT_SIZE); i++) input[i] = (float)sin(0.01 * i);
    for (t = 0; t < FRAMES; t += CHUNK) {
        /* Unbatched chunks (batch 1); the first call starts from zeros (NULL states). */
        const float *x = input + t * SIZE(_INPUT_SIZE);
        status = FN(_forward)(x, STATES(t ? h : NULL, t ? c : NULL), NULL, output,
                              STATES(h_n, c_n), work, CHUNK, 1);
        if (status != RNNC_OK) {
            fprintf(stderr, "forward refused the call: status %d\n", status);
            return 1;
        }
        memcpy(h, h_n, sizeof h);
#if SIZE(_NUM_STATES) == 2
        memcpy(c, c_n, sizeof c);
#endif
    }
    printf("output[49][:4] = %.6f %.6f %.6f %.6f\n", output[(CHUNK - 1) * SIZE(_OUTPUT_SIZE)],
           output[(CHUNK - 1) * SIZE(_OUTPUT_SIZE) + 1],
           output[(CHUNK - 1) * SIZE(_OUTPUT_SIZE) + 2],
           output[(CHUNK - 1) * SIZE(_OUTPUT_SIZE) + 3]);
    printf("h_n[0][:4]     = %.6f %.6f %.6f %.6f\n", h[0], h[1], h[2], h[3]);
    free(work);
    return 0;
}
