// Log-prob kernels over the logits llama.cpp keeps for the last decode, read in place (no copy to Java).
//
// For each requested (output row i, target token y): logp = logits_i[y] - logsumexp(logits_i), the raw
// log-softmax at temperature 1. Rows repeat when several targets share one position (the last prompt
// token predicts the first token of every completion of that prompt), so each row's logsumexp is
// computed once per run of equal rows.

#include <math.h>
#include <stdint.h>
#include "llama.h"

#define API __attribute__((visibility("default")))

// e^x for x <= 0 (all the log-softmax needs, after subtracting the max), relative error below 3e-7,
// written so that the loops below vectorise: x = n ln2 + r with |r| <= ln2/2 (ln2 split in a part
// exact in float and a correction), e^r by its degree-6 Taylor polynomial (remainder < 2e-7), 2^n
// built in the exponent bits. Below -87 the result would leave float's normal range; it is clamped
// there, where it no longer changes a sum that contains e^0 = 1.
static inline float exp_nonpositive(float x) {
    x = x < -87.0f ? -87.0f : x;
    const float n = rintf(x * 1.44269504088896341f);
    const float r = (x - n * 0.693145751953125f) - n * 1.42860682030941723e-6f;
    float p = 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    union { int32_t i; float f; } two_n = { .i = ((int32_t) n + 127) << 23 };
    return p * two_n.f;
}

// logsumexp over one row of V logits: max, then the sum of exp(x - max) in float lanes, reduced in
// double. Both loops vectorise (OpenMP SIMD pragmas; no OpenMP runtime involved).
static double row_logsumexp(const float * x, int32_t V) {
    float m = -INFINITY;
    #pragma omp simd reduction(max:m)
    for (int32_t v = 0; v < V; v++) {
        m = x[v] > m ? x[v] : m;
    }
    float s = 0.0f;
    #pragma omp simd reduction(+:s)
    for (int32_t v = 0; v < V; v++) {
        s += exp_nonpositive(x[v] - m);
    }
    return (double) m + log((double) s);
}

// rows: (n,) output indices of the last decode, as for llama_get_logits_ith
// targets: (n,) token ids; out_logp: (n,) log p(target | context)
// Returns 0, or -(k+1) if rows[k] has no logits, or -(n+k+1) if targets[k] is out of range.
API int32_t align4j_token_logprobs(struct llama_context * ctx, const int32_t * rows, const int32_t * targets,
                                   int32_t n, float * out_logp) {
    const int32_t V = llama_vocab_n_tokens(llama_model_get_vocab(llama_get_model(ctx)));
    const float * x = NULL;
    int32_t row = INT32_MIN;
    double lse = 0.0;
    for (int32_t k = 0; k < n; k++) {
        if (rows[k] != row || x == NULL) {
            row = rows[k];
            x = llama_get_logits_ith(ctx, row);
            if (x == NULL) {
                return -(k + 1);
            }
            lse = row_logsumexp(x, V);
        }
        if (targets[k] < 0 || targets[k] >= V) {
            return -(n + k + 1);
        }
        out_logp[k] = (float) ((double) x[targets[k]] - lse);
    }
    return 0;
}

// The K most probable tokens of output row `row` with their log-probs, most probable first.
// ids, logps: (K,). Returns K, or -1 if the row has no logits. O(V*K), meant for small K.
API int32_t align4j_top_logprobs(struct llama_context * ctx, int32_t row, int32_t K, int32_t * ids, float * logps) {
    const int32_t V = llama_vocab_n_tokens(llama_model_get_vocab(llama_get_model(ctx)));
    const float * x = llama_get_logits_ith(ctx, row);
    if (x == NULL) {
        return -1;
    }
    if (K > V) {
        K = V;
    }
    const double lse = row_logsumexp(x, V);
    int32_t filled = 0;
    for (int32_t v = 0; v < V; v++) {
        if (filled == K && x[v] <= x[ids[K - 1]]) {
            continue;
        }
        int32_t j = filled < K ? filled++ : K - 1;
        while (j > 0 && x[ids[j - 1]] < x[v]) {
            ids[j] = ids[j - 1];
            j--;
        }
        ids[j] = v;
    }
    for (int32_t j = 0; j < K; j++) {
        logps[j] = (float) ((double) x[ids[j]] - lse);
    }
    return K;
}
