// Log-prob kernels over the logits llama.cpp keeps for the last decode, read in place (no copy to Java).
//
// For each requested (output row i, target token y): logp = logits_i[y] - logsumexp(logits_i), the raw
// log-softmax at temperature 1. Rows repeat when several targets share one position (the last prompt
// token predicts the first token of every completion of that prompt), so each row's logsumexp is
// computed once per run of equal rows.
//
// A NaN or an infinity among a row's logits makes its logsumexp NaN or infinite, and so every log-prob
// gathered from it: the kernels report such a log-prob (or one of -inf, from a -inf logit) as an error
// instead of writing it, at the cost of one comparison per target.

#include <math.h>
#include <stdint.h>
#include "llama.h"
#include "softmax.h"

#define API __attribute__((visibility("default")))

// rows: (n,) output indices of the last decode, as for llama_get_logits_ith
// targets: (n,) token ids; out_logp: (n,) log p(target | context)
// Returns 0, or -(k+1) if rows[k] has no logits, -(n+k+1) if targets[k] is out of range, or -(2n+k+1) if
// the log-prob of targets[k] is not finite (a NaN or infinite logit in rows[k], or a -inf target logit).
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
        const float logp = (float) ((double) x[targets[k]] - lse);
        if (!isfinite(logp)) {
            return -(2 * n + k + 1);
        }
        out_logp[k] = logp;
    }
    return 0;
}

// The K most probable tokens of output row `row` with their log-probs, most probable first.
// ids, logps: (K,). Returns K, -1 if the row has no logits, or -2 if one of the K log-probs is not finite
// (a NaN or infinite logit in the row, or a -inf logit among the K). O(V*K), meant for small K.
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
    if (!isfinite(lse)) {
        return -2;
    }
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
        if (!isfinite(logps[j])) {
            return -2;
        }
    }
    return K;
}
