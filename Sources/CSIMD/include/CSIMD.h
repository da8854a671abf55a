// Vectorised inner loops with runtime CPU dispatch (AVX2 / F16C on x86-64), for the few loops that
// the Swift compiler cannot vectorise at the package's baseline target (x86-64 without F16C/AVX2).
// Every function handles the longest prefix it can and returns how many elements it did; the caller
// finishes the rest with its Swift scalar twin, which stays the single definition of the result.
// On other CPUs (or without the features) each returns 0.
#ifndef CSIMD_H
#define CSIMD_H
#include <stddef.h>
#include <stdint.h>

/// 1 when the AVX2 + F16C paths run on this CPU (and `WHITTLE_NO_SIMD` is not set), else 0.
int csimd_available(void);

// Element conversions (ALGORITHMS.md / DESIGN.md §4 dtype rules): BF16 and F16 decode exactly;
// F32 → F16 / BF16 round to nearest even; NaNs stay NaNs, quiet, with their sign and top payload.
size_t csimd_bf16_to_f32(const uint16_t *src, float *dst, size_t n);
size_t csimd_f16_to_f32(const uint16_t *src, float *dst, size_t n);
size_t csimd_f32_to_bf16(const float *src, uint16_t *dst, size_t n);
size_t csimd_f32_to_f16(const float *src, uint16_t *dst, size_t n);
size_t csimd_bf16_to_f16(const uint16_t *src, uint16_t *dst, size_t n);
size_t csimd_f16_to_bf16(const uint16_t *src, uint16_t *dst, size_t n);

// NF4 quantization (ALGORITHMS.md §5.2) of the full blocks of `input` (block_size a multiple of 32;
// otherwise 0): absmax per block and packed codes, equal to Kernels' `nf4Quantize`. `midpoints` are
// the 15 NF4 decision boundaries and `tiny` the smallest divisor, both passed from Swift.
size_t csimd_nf4_quantize(uint8_t *packed, float *absmax, const float *input, size_t n,
                          size_t block_size, const float *midpoints, float tiny);
// The absmax (max |w|, NaN skipped) of each full block, as csimd_nf4_quantize stores it.
size_t csimd_nf4_absmax(float *absmax, const float *input, size_t n, size_t block_size);
// Adds Σ (w − ŵ)² to sums[0] and Σ w² to sums[1] (in double) over the full blocks of `input`, where
// ŵ = values[code] · absmax[block] in float is what nf4Dequantize returns (`absmax` already undone
// from double quantization). Returns the elements covered, like the others.
// Dequantizes `pairs` whole bytes of one block (two codes each, high nibble first) times `scale`,
// 8 bytes at a time; returns the bytes done.
size_t csimd_nf4_dequantize_pairs(float *out, const uint8_t *bytes, size_t pairs, float scale, const float *values);
size_t csimd_nf4_squared_error(double *sums, const uint8_t *packed, const float *absmax, const float *input,
                               size_t n, size_t block_size, const float *values);

// int8 × int8 → int32 product for W8A8 (out[i·ldo + j] = Σ_p a[i, p] · b[j, p], a [M, K], b [N, K])
// over the first K rounded down to 16 columns, written (not added); returns that column count.
size_t csimd_int8_matmul(int32_t *out, size_t ldo, const int8_t *a, const int8_t *b, size_t M, size_t N, size_t K);

// One row of symmetric int8 quantization: q = clamp(round_half_even(x / scale), −128, 127), over the
// first n rounded down to 8; and Σ (x − q·scale)² → sums[0], Σ x² → sums[1] (double) over the same.
size_t csimd_int8_quantize_row(const float *x, float scale, int8_t *q, size_t n);
size_t csimd_int8_squared_error(double *sums, const float *x, const int8_t *q, float scale, size_t n);

// 2-bit packed weights (code + 2 in 2 bits, groups of 128 columns in 32 bytes: byte t holds columns
// t, t+32, t+64, t+96 from the low bits up) times int8 activations: out[i·ldo + j] = Σ_p a[i, p] ·
// (u[j, p] − 2) for a [M, Kp] (Kp a multiple of 128, zero-padded), written, not added. Returns the
// weight rows done (N), or 0 (nothing written) when the path's instructions are missing or Kp is not a
// multiple of 128. csimd_packed2_matmul picks the path: AVX-512 VNNI rows below CSIMD_PACKED2_TILE_M
// activation rows, VNNI tiles from there, else AVX2. The single paths are for tests and benches.
#define CSIMD_PACKED2_TILE_M 32
size_t csimd_packed2_matmul(int32_t *out, size_t ldo, const int8_t *a, const uint8_t *w, size_t M, size_t N, size_t Kp);
size_t csimd_packed2_matmul_avx2(int32_t *out, size_t ldo, const int8_t *a, const uint8_t *w, size_t M, size_t N, size_t Kp);
size_t csimd_packed2_matmul_vnni_rows(int32_t *out, size_t ldo, const int8_t *a, const uint8_t *w, size_t M, size_t N, size_t Kp);
size_t csimd_packed2_matmul_vnni_tiles(int32_t *out, size_t ldo, const int8_t *a, const uint8_t *w, size_t M, size_t N, size_t Kp);
// Activation codes for the packed kernel: q[i] = clamp(round_half_even(clamp(x[i], −clip, clip) / scale),
// lo, hi) with IEEE division (Quantizer's symmetric / int8 schemes), over the first n rounded down to 8
// (returned; 0 without AVX2).
size_t csimd_packed2_quantize(int8_t *q, const float *x, size_t n, float clip, float scale, float lo, float hi);

// ggml block quantization (llama.cpp's quantize_row_*_ref) of `blocks` whole blocks of x (32 floats,
// 256 for Q4_K and Q6_K) into `out` (the type's block bytes each), `type` a ggml type id below. Stops before the
// first block with a non-finite value or scale and returns the blocks done; the Swift twin
// (GGUFQuantize.swift, GGUFQuantizeK.swift) does the rest. Q6_K needs AVX-512 (0 done without it).
#define CSIMD_GGML_Q4_0 2
#define CSIMD_GGML_Q4_1 3
#define CSIMD_GGML_Q5_0 6
#define CSIMD_GGML_Q8_0 8
#define CSIMD_GGML_Q4_K 12
#define CSIMD_GGML_Q6_K 14
size_t csimd_ggml_quantize(int type, void *out, const float *x, size_t blocks);
size_t csimd_q4_k_quantize(void *out, const float *x, size_t blocks);
size_t csimd_q6_k_quantize(void *out, const float *x, size_t blocks);
/// 1 when csimd_available() and the CPU has AVX-512 F/BW/VL (the NF4 and VNNI int8 products).
int csimd_avx512_available(void);

// NF4 weight W [N, K] (bitsandbytes packing, per-block absmax already undone) times f32 x [M, K]
// whose 32-column chunks are reordered as 16 even then 16 odd columns:
//   y[i·ldy + j] = Σ_k x[i, k] · values[code(j, k)] · absmax[(j·K + k) / block_size]   for j in [n0, n1)
// (written, not added). Returns n1 − n0, or 0 (nothing written) without AVX-512, when K % 32 ≠ 0 or
// block_size is not a power of two ≥ 32.
size_t csimd_nf4_matmul(float *y, size_t ldy, const float *x, const uint8_t *packed, const float *absmax,
                        size_t M, size_t n0, size_t n1, size_t K, size_t block_size, const float *values);
// The activations as unsigned bytes (a + 128, malloc'd; NULL without VNNI or memory), and the product on
// them: for a caller that multiplies the same activations by many weight tiles (packed2.c).
uint8_t *csimd_int8_flip(const int8_t *a, size_t n);
size_t csimd_int8_matmul_vnni_flipped(int32_t *out, size_t ldo, const uint8_t *au, const int8_t *b, size_t M, size_t N, size_t K);
// The same product for many activation rows (nf4_gemm.c: a 64-row panel of W dequantized once into a
// cached buffer, then an sgemm-like 6 × 64 block), x in its natural column order, weight rows [n0, n1) of N.
// Returns n1 − n0, or 0 (nothing written) without AVX-512, when K % 32 ≠ 0, block_size is not a power of
// two ≥ 32, or N·K ≥ 2^31.
size_t csimd_nf4_gemm(float *y, size_t ldy, const float *x, const uint8_t *packed, const float *absmax,
                      size_t M, size_t n0, size_t n1, size_t N, size_t K, size_t block_size, const float *values);
// y[i·ldy + j] = Σ_k x[i·K + k] · w[j·K + k] for j < N: the same blocks on an f32 W [N, K] (any K), for
// `tiledMatmul`'s filled tiles. Returns N, or 0 (nothing written) without AVX-512 or when N·K ≥ 2^31.
size_t csimd_f32_panel_gemm(float *y, size_t ldy, const float *x, size_t M, const float *w, size_t N, size_t K);

/// 1 when csimd_avx512_available() and the CPU has AVX-512 VNNI.
int csimd_vnni_available(void);
// csimd_int8_matmul's contract with VPDPBUSD over the first K rounded down to 64 columns (returned);
// 0 (nothing written) without AVX-512 VNNI.
size_t csimd_int8_matmul_vnni(int32_t *out, size_t ldo, const int8_t *a, const int8_t *b, size_t M, size_t N, size_t K);
// The activations as unsigned bytes (a + 128, malloc'd; NULL without VNNI or memory), and the product on
// them: for a caller that multiplies the same activations by many weight tiles (packed2.c).
uint8_t *csimd_int8_flip(const int8_t *a, size_t n);
size_t csimd_int8_matmul_vnni_flipped(int32_t *out, size_t ldo, const uint8_t *au, const int8_t *b, size_t M, size_t N, size_t K);
// The same over all N weight rows, split over the calling thread and up to max_threads − 1 helpers of
// the spinning pool (pool.c) when the product is large enough; returns K rounded down to 64, or 0.
size_t csimd_int8_matmul_vnni_split(int32_t *out, size_t ldo, const int8_t *a, const int8_t *b, size_t M, size_t N, size_t K,
                                    int max_threads);

/// Rows [0, N) of a product of `work` multiply-adds split over the cores by spinning helper threads
/// (pool.c): cut into chunks (multiples of 4 rows, 4 per thread) run as fn(ctx, j0, j1) on the caller
/// and up to max_threads − 1 helpers when the product is worth splitting (≥ CSIMD_POOL_MIN_WORK multiply-adds, N ≥ 16,
/// max_threads > 1); returns 1 when all rows are done, 0 when nothing ran (too small, no helpers, the
/// pool busy with another caller, or the split off after a stall) — the caller then runs all rows.
/// Helpers: the cores this process may run on − 1, at most 7, capped by WHITTLE_POOL_HELPERS.
typedef void (*csimd_rows_fn)(void *ctx, size_t j0, size_t j1);
int csimd_pool_split_rows(csimd_rows_fn fn, void *ctx, size_t N, double work, int max_threads);
#define CSIMD_POOL_MIN_WORK (1u << 16)
/// fn(ctx, w, w + 1) once for each seat w of [0, seats], seats = min(workers − 1, helpers), on the caller
/// and the pool's helpers, for a product of `work` multiply-adds whose threads take their own chunks
/// from a shared counter (Kernels' `splitWork`); a late helper finds its seat with nothing left. Returns
/// 1 when every seat has run, 0 when nothing ran (as csimd_pool_split_rows).
int csimd_pool_run_workers(csimd_rows_fn fn, void *ctx, int workers, double work);
/// The core pool helper h is pinned to (pool.c: never the caller's at a job's start), −1 when none.
int csimd_pool_helper_core(int h);

/// Chunk numbers handed out to the threads of one product, each once (Kernels' `splitWork`).
typedef struct { size_t next; } csimd_counter_t;
static inline size_t csimd_counter_next(csimd_counter_t *c) { return __atomic_fetch_add(&c->next, 1, __ATOMIC_RELAXED); }
/// The core this thread is on and how many cores its affinity mask allows (for the tests; −1 where unknown).
int csimd_this_cpu(void);
int csimd_allowed_cores(void);

/// One output of a product with several weights over the same activations (a decode step's q, k, v or
/// gate, up): y[i·ldy + j] for the `rows` weight rows of w (its element type is the kernel's).
typedef struct { float *y; size_t ldy; const void *w; size_t rows; } csimd_out_t;
typedef void (*csimd_out_fn)(void *ctx, const csimd_out_t *out, size_t j0, size_t j1);
/// The outputs' rows laid end to end as one job for the pool (one hand-off for all of them; `work` is
/// their total multiply-adds): fn(ctx, out, j0, j1) on rows [j0, j1) of one output; always runs every row.
void csimd_pool_run_outputs(csimd_out_fn fn, void *ctx, const csimd_out_t *outs, size_t count, double work, int max_threads);
// Several NF4 weights (csimd_out_t.w: a csimd_nf4_weight_t) with the same K and block size on the same x
// (columns interleaved as for csimd_nf4_matmul), csimd_nf4_matmul's product for each, all their weight rows
// one job of the pool (one hand-off for a decode step's q, k, v); returns 1, or 0 (nothing written) where
// csimd_nf4_matmul would not run (no AVX-512, K or block size).
typedef struct { const uint8_t *packed; const float *absmax; } csimd_nf4_weight_t;
int csimd_nf4_matmul_split_many(const csimd_out_t *outs, size_t count, const float *x, size_t M, size_t K, size_t block_size,
                                const float *values, int max_threads);

// 16-bit weight W [N, K] (BF16 or F16 as stored) times f32 x [M, K], the weight widened to f32 in
// registers (exact), so the result is the f32 product on the upcast weight up to summation order:
//   y[i·ldy + j] = Σ_k x[i, k] · f32(w[j, k])      for j in [n0, n1)   (written, not added)
// Any K. AVX-512 (4 activation rows × 4 weight rows register blocks), else AVX2 + F16C (one row ×
// 4); returns n1 − n0, or 0 (nothing written) without AVX2 + F16C. The _avx2 path is for tests and benches.
#define CSIMD_HALF_BF16 0
#define CSIMD_HALF_F16 1
size_t csimd_half_matmul(float *y, size_t ldy, const float *x, const uint16_t *w, size_t M, size_t n0, size_t n1, size_t K, int kind);
size_t csimd_half_matmul_avx2(float *y, size_t ldy, const float *x, const uint16_t *w, size_t M, size_t n0, size_t n1, size_t K, int kind);
// The same over all N weight rows, split by the spinning pool (pool.c) when large enough; returns N, or 0.
size_t csimd_half_matmul_split(float *y, size_t ldy, const float *x, const uint16_t *w, size_t M, size_t N, size_t K, int kind,
                               int max_threads);
// Several 16-bit weights of the same kind and K on the same x, one pool job (csimd_out_t.w: uint16_t);
// returns 1, or 0 (nothing written) without AVX2 + F16C.
int csimd_half_matmul_split_many(const csimd_out_t *outs, size_t count, const float *x, size_t M, size_t K, int kind, int max_threads);

// f32 weight W [N, K] times x [M, K] for a few rows (a decode step; gemv.c): y[i·ldy + j] = Σ_k x[i, k]·w[j, k]
// for j in [n0, n1), written. AVX-512 (M = 1: weight rows in memory order; more: 4 activation rows × 4 weight
// rows blocks; the same sums either way; any K: the last chunk masked); returns n1 − n0, or 0 (nothing
// written) without AVX-512.
size_t csimd_sgemv(float *y, size_t ldy, const float *x, const float *w, size_t M, size_t n0, size_t n1, size_t K);
// Several f32 weights with the same K on the same x, split by the pool as one job (csimd_out_t.w: float);
// returns 1, or 0 (nothing written) without AVX-512.
int csimd_sgemv_split_many(const csimd_out_t *outs, size_t count, const float *x, size_t M, size_t K, int max_threads);
// One query row of attention over cached keys / values, every head of one sequence (attention_one.c; a
// decode step): s[h·n + j] = scale·Σ_d q[h·hd + d]·k[j·stride + g(h)·hd + d] and out[h·hd + d] =
// Σ_j p[h·n + j]·v[j·stride + g(h)·hd + d], stride = kv_heads·hd, g(h) = h / (heads / kv_heads).
// 1 when done, 0 without AVX-512 (the caller keeps sgemm).
int csimd_attention_scores_one(float *s, const float *q, const float *k, size_t n, size_t heads, size_t kv_heads, size_t hd, float scale);
int csimd_attention_mix_one(float *out, const float *p, const float *v, size_t n, size_t heads, size_t kv_heads, size_t hd);

// The f32 forward's exp loops (exp_loops.c, AVX-512 / AVX2 lanes, Cephes expf ≤ 2 ulp); each returns 0
// without SIMD so the Swift scalar twin runs. out = silu(gate)·up (out may alias gate or up); one softmax
// row (o may alias x; an all −∞ row gives zeros); log Σ exp(x) into *result (0 also for a max of ±∞/NaN).
int csimd_swiglu(float *out, const float *gate, const float *up, size_t n);
int csimd_softmax_row(float *o, const float *x, size_t n);
int csimd_log_sum_exp(const float *x, size_t n, double *result);

// Moves the 2 MB pages inside the ranges [ptrs[i], ptrs[i] + bytes[i]) (merged when less than 2 MB apart,
// rounded inward) to huge pages now (Linux MADV_COLLAPSE; huge_pages.c), for the weights a decode step
// streams. Contents are unchanged. Returns the bytes collapsed without error (0: none, not Linux, or
// WHITTLE_HUGE_PAGES=0).
size_t csimd_huge_pages(const void *const *ptrs, const size_t *bytes, size_t count);
// A block for data every decode step reads (the KV cache): from 1 MB on 2 MB-aligned with MADV_HUGEPAGE, so
// it is faulted in as huge pages (huge_pages.c); smaller, or with WHITTLE_HUGE_PAGES=0, plain malloc. free() it.
void *csimd_alloc_huge(size_t bytes);

// Σ x[i] with wide loads (AVX-512 / AVX2, else scalar): the decoding bench's memory-read ceiling.
float csimd_read_sum(const float *x, size_t n);

// Starts the disk write of a written file range without waiting for it (Linux sync_file_range with
// SYNC_FILE_RANGE_WRITE; 0 and nothing elsewhere), so a final fsync finds little left to do.
int csimd_start_writeback(int fd, int64_t offset, int64_t count);

// Turns direct I/O on or off for `fd` (Linux O_DIRECT: writes go from the caller's buffer to the disk,
// no copy into the page cache; offsets, lengths and addresses aligned). 0 on success; -1 where the file
// system or system has none.
int csimd_set_direct(int fd, int on);

// The f32 linears of a prefill (f32_gemm_many.c): y_s[i·ldy + j] = Σ_k x[i·K + k]·w_s[j·K + k] for every
// output s (csimd_out_t.w: float [rows, K]) and i < M, written; all outputs' weight rows one job of the
// spinning pool in 32-row multiples, `csimd_f32_panel_gemm`'s panels. Each element does not depend on the split (an
// output equals its weight run alone). Returns 1, or 0 (nothing written) without AVX-512 or when a
// weight has rows·K ≥ 2^31.
int csimd_f32_gemm_many(const csimd_out_t *outs, size_t count, const float *x, size_t M, size_t K, int max_threads);

// glibc malloc: blocks under mmap_threshold bytes from the heap, up to trim_threshold free bytes kept at its
// top (heap.c; Models' ForwardMemory). 1 when set, 0 off glibc.
int csimd_keep_heap(int mmap_threshold, int trim_threshold);

#endif
