/* The README's walkthrough: a C program running a keyword-spotting RNN exported from
 * PyTorch, with the weights baked into the object by
 *   rnnc build/kws.toml --weights build/kws.safetensors -o build
 * Build: cc -O2 -std=c99 tools/c/kws_demo.c build/kws.o -Ibuild -lm -o kws_demo
 * Prints output[0][0][0..4] and h_n[1][0][0..4] for 50 frames of a fixed test signal. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "kws.h"

#define FRAMES 50

int main(void) {
    static float input[FRAMES * KWS_INPUT_SIZE];
    static float output[FRAMES * KWS_OUTPUT_SIZE];
    static float h_n[KWS_NUM_LAYER_DIRECTIONS * KWS_STATE_H_SIZE];
    float *work = malloc(KWS_WORK_SIZE(FRAMES, 1) * sizeof(float));
    int i, status;
    if (!work) return 1;
    if (!kws_cpu_supported()) {
        fprintf(stderr, "this CPU lacks the instructions the object uses (x86-64-v3)\n");
        return 1;
    }
    /* The same signal as the walkthrough's PyTorch side: sin(0.01 * i). */
    for (i = 0; i < FRAMES * KWS_INPUT_SIZE; i++) input[i] = (float)sin(0.01 * i);
    /* Unbatched input (L, H_in) is batch 1; no h0 (zeros), no lengths (all frames). */
    status = kws_forward(input, NULL, NULL, output, h_n, work, FRAMES, 1);
    if (status != RNNC_OK) {
        fprintf(stderr, "kws_forward refused the call: status %d\n", status);
        return 1;
    }
    printf("output[0][0][:4] = %.6f %.6f %.6f %.6f\n", output[0], output[1], output[2], output[3]);
    printf("h_n[1][:4]       = %.6f %.6f %.6f %.6f\n", h_n[KWS_HIDDEN_SIZE], h_n[KWS_HIDDEN_SIZE + 1],
           h_n[KWS_HIDDEN_SIZE + 2], h_n[KWS_HIDDEN_SIZE + 3]);
    free(work);
    return 0;
}
