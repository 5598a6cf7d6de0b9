/* rnnc's batch-1 micro-kernel (8 accumulators of 4 f32 = one 32-row panel, one input
 * column) as four instruction streams for the same arithmetic, run over a K x 32 panel:
 *   (a) the instructions Cranelift 0.135 emits for it (from `rnnc SPEC --emit asm` before
 *       rnnc patched Cranelift, see vendor/README.md):
 *       index arithmetic per k, `vmovss` + register `vbroadcastss`, a `movdqa` copy before
 *       each `vfmadd132ps` because x64 Cranelift never uses the accumulator-tied 231 form;
 *   (b) (a) with pointer bumps instead of the index arithmetic;
 *   (c) what a hand-written kernel does: `vbroadcastss` from memory, `vfmadd231ps`;
 *   (d) what rnnc emits with its patched Cranelift: (a) with `vfmadd231ps` and no copies.
 * K sets where the panel lives: 64 (8 KiB, L1) ... 1024 (128 KiB, L2).
 *
 *   cc -O2 -mavx2 -mfma tools/c/kernel_replica.c -o /tmp/kr && for K in 64 256 1024 4096; do /tmp/kr $K; done
 */
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
/* Shared by the three kernels: zero the 8 accumulators, keep two of them alive, clobbers. */
#define ZERO_ACCUMULATORS                                                                  \
    "vxorps %%xmm7,%%xmm7,%%xmm7\n vxorps %%xmm6,%%xmm6,%%xmm6\n vxorps %%xmm5,%%xmm5,%%xmm5\n" \
    "vxorps %%xmm4,%%xmm4,%%xmm4\n vxorps %%xmm3,%%xmm3,%%xmm3\n vxorps %%xmm2,%%xmm2,%%xmm2\n" \
    "vxorps %%xmm1,%%xmm1,%%xmm1\n vxorps %%xmm0,%%xmm0,%%xmm0\n"
#define STORE_TWO "vmovups %%xmm7,(%[o])\n vmovups %%xmm0,16(%[o])\n"
#define CLOBBERS "r10", "r12", "r14", "r15", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", \
    "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "memory", "cc"

/* (a) and (d): the loop head, then per k Cranelift's index arithmetic and register broadcast
 * (K0 for the even k of the unrolled pair, K1 for the odd one). */
#define LOOP_HEAD "xor %%r12,%%r12\n" "1: cmp %[kh],%%r12\n jge 2f\n"
#define INDEX_K0 "imul $2,%%r12,%%r10\n lea (%%r10),%%r14\n imul $32,%%r14,%%r14\n lea (%%r14),%%r15\n add %[xr],%%r10\n" \
    "vmovss (%[x],%%r10,4),%%xmm8\n vbroadcastss %%xmm8,%%xmm8\n"
#define INDEX_K1 "imul $2,%%r12,%%r10\n lea 1(%%r10),%%r14\n imul $32,%%r14,%%r14\n lea (%%r14),%%r15\n lea 1(%[xr],%%r10),%%r10\n"

static long K = 64;
float W[32*4096] __attribute__((aligned(64)));
float X[4096*64] __attribute__((aligned(64)));
float OUT[32*64];

// (a) Cranelift-like: index math per k, movss+broadcast reg, movdqa copy + 132 form
static void ka(long cols){
  for(long c=0;c<cols;c++){
    const float* xrow = X + (c%64)*K;
    __asm__ volatile(
      ZERO_ACCUMULATORS
      LOOP_HEAD INDEX_K0
      "movdqa %%xmm8,%%xmm9\n vfmadd132ps (%[w],%%r15,4),%%xmm7,%%xmm9\n"
      "movdqa %%xmm8,%%xmm10\n vfmadd132ps 16(%[w],%%r15,4),%%xmm6,%%xmm10\n"
      "movdqa %%xmm8,%%xmm11\n vfmadd132ps 32(%[w],%%r15,4),%%xmm5,%%xmm11\n"
      "movdqa %%xmm8,%%xmm12\n vfmadd132ps 48(%[w],%%r15,4),%%xmm4,%%xmm12\n"
      "movdqa %%xmm8,%%xmm13\n vfmadd132ps 64(%[w],%%r15,4),%%xmm3,%%xmm13\n"
      "movdqa %%xmm8,%%xmm14\n vfmadd132ps 80(%[w],%%r15,4),%%xmm2,%%xmm14\n"
      "movdqa %%xmm8,%%xmm15\n vfmadd132ps 96(%[w],%%r15,4),%%xmm1,%%xmm15\n"
      "vfmadd132ps 112(%[w],%%r15,4),%%xmm0,%%xmm8\n"
      INDEX_K1
      "vmovss (%[x],%%r10,4),%%xmm0\n vbroadcastss %%xmm0,%%xmm0\n"
      "movdqa %%xmm0,%%xmm7\n vfmadd132ps (%[w],%%r15,4),%%xmm9,%%xmm7\n"
      "movdqa %%xmm0,%%xmm6\n vfmadd132ps 16(%[w],%%r15,4),%%xmm10,%%xmm6\n"
      "movdqa %%xmm0,%%xmm5\n vfmadd132ps 32(%[w],%%r15,4),%%xmm11,%%xmm5\n"
      "movdqa %%xmm0,%%xmm4\n vfmadd132ps 48(%[w],%%r15,4),%%xmm12,%%xmm4\n"
      "movdqa %%xmm0,%%xmm3\n vfmadd132ps 64(%[w],%%r15,4),%%xmm13,%%xmm3\n"
      "movdqa %%xmm0,%%xmm2\n vfmadd132ps 80(%[w],%%r15,4),%%xmm14,%%xmm2\n"
      "movdqa %%xmm0,%%xmm1\n vfmadd132ps 96(%[w],%%r15,4),%%xmm15,%%xmm1\n"
      "vfmadd132ps 112(%[w],%%r15,4),%%xmm8,%%xmm0\n"
      "add $1,%%r12\n jmp 1b\n 2:\n"
      STORE_TWO
      :: [x]"r"(X), [xr]"r"(xrow - X), [w]"r"(W), [o]"r"(OUT+ (c%64)*32), [kh]"r"(K/2)
      : CLOBBERS);
  }
}
// (b) same but pointer bumps instead of index math, broadcast still reg form
static void kb(long cols){
  for(long c=0;c<cols;c++){
    const float* xrow = X + (c%64)*K;
    __asm__ volatile(
      ZERO_ACCUMULATORS
      "mov %[w],%%r15\n mov %[xr],%%r10\n xor %%r12,%%r12\n"
      "1: cmp %[kh],%%r12\n jge 2f\n"
      "vmovss (%%r10),%%xmm8\n vbroadcastss %%xmm8,%%xmm8\n"
      "movdqa %%xmm8,%%xmm9\n vfmadd132ps (%%r15),%%xmm7,%%xmm9\n"
      "movdqa %%xmm8,%%xmm10\n vfmadd132ps 16(%%r15),%%xmm6,%%xmm10\n"
      "movdqa %%xmm8,%%xmm11\n vfmadd132ps 32(%%r15),%%xmm5,%%xmm11\n"
      "movdqa %%xmm8,%%xmm12\n vfmadd132ps 48(%%r15),%%xmm4,%%xmm12\n"
      "movdqa %%xmm8,%%xmm13\n vfmadd132ps 64(%%r15),%%xmm3,%%xmm13\n"
      "movdqa %%xmm8,%%xmm14\n vfmadd132ps 80(%%r15),%%xmm2,%%xmm14\n"
      "movdqa %%xmm8,%%xmm15\n vfmadd132ps 96(%%r15),%%xmm1,%%xmm15\n"
      "vfmadd132ps 112(%%r15),%%xmm0,%%xmm8\n"
      "vmovss 4(%%r10),%%xmm0\n vbroadcastss %%xmm0,%%xmm0\n"
      "movdqa %%xmm0,%%xmm7\n vfmadd132ps 128(%%r15),%%xmm9,%%xmm7\n"
      "movdqa %%xmm0,%%xmm6\n vfmadd132ps 144(%%r15),%%xmm10,%%xmm6\n"
      "movdqa %%xmm0,%%xmm5\n vfmadd132ps 160(%%r15),%%xmm11,%%xmm5\n"
      "movdqa %%xmm0,%%xmm4\n vfmadd132ps 176(%%r15),%%xmm12,%%xmm4\n"
      "movdqa %%xmm0,%%xmm3\n vfmadd132ps 192(%%r15),%%xmm13,%%xmm3\n"
      "movdqa %%xmm0,%%xmm2\n vfmadd132ps 208(%%r15),%%xmm14,%%xmm2\n"
      "movdqa %%xmm0,%%xmm1\n vfmadd132ps 224(%%r15),%%xmm15,%%xmm1\n"
      "vfmadd132ps 240(%%r15),%%xmm8,%%xmm0\n"
      "add $256,%%r15\n add $8,%%r10\n add $1,%%r12\n jmp 1b\n 2:\n"
      STORE_TWO
      :: [xr]"r"(xrow), [w]"r"(W), [o]"r"(OUT+ (c%64)*32), [kh]"r"(K/2)
      : CLOBBERS);
  }
}
// (c) ideal: 231 form, broadcast from memory, accumulators stay put
static void kc(long cols){
  for(long c=0;c<cols;c++){
    const float* xrow = X + (c%64)*K;
    __asm__ volatile(
      ZERO_ACCUMULATORS
      "mov %[w],%%r15\n mov %[xr],%%r10\n mov %[kk],%%r12\n"
      "1:\n"
      "vbroadcastss (%%r10),%%xmm8\n"
      "vfmadd231ps (%%r15),%%xmm8,%%xmm7\n vfmadd231ps 16(%%r15),%%xmm8,%%xmm6\n vfmadd231ps 32(%%r15),%%xmm8,%%xmm5\n vfmadd231ps 48(%%r15),%%xmm8,%%xmm4\n"
      "vfmadd231ps 64(%%r15),%%xmm8,%%xmm3\n vfmadd231ps 80(%%r15),%%xmm8,%%xmm2\n vfmadd231ps 96(%%r15),%%xmm8,%%xmm1\n vfmadd231ps 112(%%r15),%%xmm8,%%xmm0\n"
      "add $128,%%r15\n add $4,%%r10\n sub $1,%%r12\n jnz 1b\n"
      STORE_TWO
      :: [xr]"r"(xrow), [w]"r"(W), [o]"r"(OUT+ (c%64)*32), [kk]"r"(K)
      : CLOBBERS);
  }
}
// (d) what rnnc emits with its patched Cranelift (vendor/): (a)'s index arithmetic and
// register broadcast, the 231 form with the weight as memory operand, no copies
static void kd(long cols){
  for(long c=0;c<cols;c++){
    const float* xrow = X + (c%64)*K;
    __asm__ volatile(
      ZERO_ACCUMULATORS
      LOOP_HEAD INDEX_K0
      "vfmadd231ps (%[w],%%r15,4),%%xmm8,%%xmm7\n vfmadd231ps 16(%[w],%%r15,4),%%xmm8,%%xmm6\n"
      "vfmadd231ps 32(%[w],%%r15,4),%%xmm8,%%xmm5\n vfmadd231ps 48(%[w],%%r15,4),%%xmm8,%%xmm4\n"
      "vfmadd231ps 64(%[w],%%r15,4),%%xmm8,%%xmm3\n vfmadd231ps 80(%[w],%%r15,4),%%xmm8,%%xmm2\n"
      "vfmadd231ps 96(%[w],%%r15,4),%%xmm8,%%xmm1\n vfmadd231ps 112(%[w],%%r15,4),%%xmm8,%%xmm0\n"
      INDEX_K1
      "vmovss (%[x],%%r10,4),%%xmm8\n vbroadcastss %%xmm8,%%xmm8\n"
      "vfmadd231ps (%[w],%%r15,4),%%xmm8,%%xmm7\n vfmadd231ps 16(%[w],%%r15,4),%%xmm8,%%xmm6\n"
      "vfmadd231ps 32(%[w],%%r15,4),%%xmm8,%%xmm5\n vfmadd231ps 48(%[w],%%r15,4),%%xmm8,%%xmm4\n"
      "vfmadd231ps 64(%[w],%%r15,4),%%xmm8,%%xmm3\n vfmadd231ps 80(%[w],%%r15,4),%%xmm8,%%xmm2\n"
      "vfmadd231ps 96(%[w],%%r15,4),%%xmm8,%%xmm1\n vfmadd231ps 112(%[w],%%r15,4),%%xmm8,%%xmm0\n"
      "add $1,%%r12\n jmp 1b\n 2:\n"
      STORE_TWO
      :: [x]"r"(X), [xr]"r"(xrow - X), [w]"r"(W), [o]"r"(OUT+ (c%64)*32), [kh]"r"(K/2)
      : CLOBBERS);
  }
}
int main(int argc,char**argv){
  if(argc>1) K=atol(argv[1]);
  if(K<2||K>4096||K%2){ fprintf(stderr,"K must be an even number in 2..4096, got %s\n",argv[1]); return 2; }
  for(int i=0;i<32*4096;i++) W[i]=1e-3f*(i%7);
  for(int i=0;i<4096*64;i++) X[i]=1e-3f*(i%5);
  void (*f[4])(long)={ka,kb,kc,kd};
  const char* nm[4]={"(a) as Cranelift 0.135 emits it","(b) (a) without index arithmetic",
                     "(c) ideal: 231 form, broadcast from memory","(d) as rnnc's patched Cranelift emits it"};
  double best[4]={0,0,0,0};
  for(int r=0;r<7;r++) for(int i=0;i<4;i++){
    long cols=64*20000*64/K; double t=now(); f[i](cols); double s=now()-t;
    double g=cols*(double)K*32*2/s/1e9; if(g>best[i]) best[i]=g; }
  for(int i=0;i<4;i++) printf("K=%4ld W panel %4ld KiB: %-45s %5.1f GFLOP/s (best of 7)\n",K,K*32*4/1024,nm[i],best[i]);
}
