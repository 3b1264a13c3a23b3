// Token sampling over the logits llama.cpp keeps for the last decode, read in place: align4j's own
// filters and draw, with the semantics and in the order of llama.cpp's sampler chain (llama-sampler.cpp
// of the pinned source): a -inf logit bias on suppressed tokens, the repetition penalty, top-k, top-p,
// min-p, temperature, then a draw from the softmax of what is left. Temperature 0 is the argmax after
// the bias and the penalty. The caller supplies each draw's seed, so the random streams live in Java,
// one per completion.
//
// Why not llama.cpp's chain: it copies the vocabulary into a candidate array and runs scalar passes
// over it for every draw; on a 151k vocabulary that was 5-9% of a CPU sampling run. Here a draw is a
// few vectorised passes and no allocation (the caller owns the scratch).

#include <math.h>
#include <stdint.h>
#include <string.h>
#include "llama.h"
#include "softmax.h"

#define API __attribute__((visibility("default")))

// What the filters left: every token (listed == 0: token v's value is vals[v]) or the list
// (ids[i], cv[i]), i < n, sorted by value, largest first, when sorted != 0.
struct cands {
    int32_t n;
    int listed;
    int sorted;
    const float * vals; // (V,) values after bias and penalty
    int32_t * ids;      // (V,) scratch
    float * cv;         // (V,) scratch
};

static inline void swap_at(float * cv, int32_t * ids, int32_t a, int32_t b) {
    const float t = cv[a];
    cv[a] = cv[b];
    cv[b] = t;
    const int32_t i = ids[a];
    ids[a] = ids[b];
    ids[b] = i;
}

// Restores the min-heap order of cv[0, k) below node i.
static void sift_down(float * cv, int32_t * ids, int32_t k, int32_t i) {
    for (;;) {
        const int32_t l = 2 * i + 1, r = l + 1;
        int32_t m = i;
        if (l < k && cv[l] < cv[m]) m = l;
        if (r < k && cv[r] < cv[m]) m = r;
        if (m == i) return;
        swap_at(cv, ids, i, m);
        i = m;
    }
}

// Orders a min-heap (ids, cv)[0, k) by value, largest first: each minimum moved to the end.
static void heap_to_descending(float * cv, int32_t * ids, int32_t k) {
    for (int32_t end = k - 1; end > 0; end--) {
        swap_at(cv, ids, 0, end);
        sift_down(cv, ids, end, 0);
    }
}

// Sorts (ids, cv)[0, k) by value, largest first (heapsort).
static void sort_descending(float * cv, int32_t * ids, int32_t k) {
    for (int32_t i = k / 2 - 1; i >= 0; i--) sift_down(cv, ids, k, i);
    heap_to_descending(cv, ids, k);
}

// The k largest of vals[0, V) into (ids, cv)[0, k), largest first: a min-heap of the best k seen (most
// tokens fail the one comparison with its root), then heapsort.
static void select_top(const float * vals, int32_t V, int32_t k, int32_t * ids, float * cv) {
    for (int32_t v = 0; v < k; v++) {
        ids[v] = v;
        cv[v] = vals[v];
    }
    for (int32_t i = k / 2 - 1; i >= 0; i--) sift_down(cv, ids, k, i);
    for (int32_t v = k; v < V; v++) {
        if (vals[v] > cv[0]) {
            cv[0] = vals[v];
            ids[0] = v;
            sift_down(cv, ids, k, 0);
        }
    }
    heap_to_descending(cv, ids, k);
}

static float cands_max(const struct cands * c) {
    if (c->listed && c->sorted) return c->cv[0];
    const float * x = c->listed ? c->cv : c->vals;
    float m = -INFINITY;
    #pragma omp simd reduction(max:m)
    for (int32_t i = 0; i < c->n; i++) m = x[i] > m ? x[i] : m;
    return m;
}

// Keeps the k most probable (llama.cpp: all of them when k >= the candidates).
static void top_k(struct cands * c, int32_t k) {
    if (k <= 0 || k >= c->n) return;
    select_top(c->vals, c->n, k, c->ids, c->cv); // the first filter that lists: c is every token
    c->n = k;
    c->listed = 1;
    c->sorted = 1;
}

// Value buckets of the nucleus search: bucket b holds the tokens with max - value in [b, b + 1) * SPAN / BUCKETS;
// the last one also everything lower (weights below e^-40, 4e-18, each).
#define NUCLEUS_BUCKETS 2048
#define NUCLEUS_SPAN 40.0f

static inline int32_t nucleus_bucket(float v, float m) {
    const float d = (m - v) * (NUCLEUS_BUCKETS / NUCLEUS_SPAN);
    return d < (float) (NUCLEUS_BUCKETS - 1) ? (int32_t) d : NUCLEUS_BUCKETS - 1; // -inf: the last
}

// The nucleus of every token (c unlisted), without sorting the vocabulary: the probability mass per
// value bucket, the bucket where the running mass reaches goal, every token above it, and that bucket's
// tokens sorted and taken, most probable first, until the mass reaches goal.
static void nucleus_by_buckets(struct cands * c, float m, double goal) {
    #pragma omp simd
    for (int32_t v = 0; v < c->n; v++) { // weights and buckets first, in vector lanes; then the scatter
        c->cv[v] = exp_nonpositive(c->vals[v] - m);
        c->ids[v] = nucleus_bucket(c->vals[v], m);
    }
    double mass[NUCLEUS_BUCKETS] = {0};
    for (int32_t v = 0; v < c->n; v++) mass[c->ids[v]] += c->cv[v];
    double cum = 0.0;
    int32_t edge = 0;
    while (edge < NUCLEUS_BUCKETS - 1 && cum + mass[edge] < goal) cum += mass[edge++];
    int32_t kept = 0, at_edge = 0; // kept tokens from the front of (ids, cv), the edge bucket's from the back
    for (int32_t v = 0; v < c->n; v++) {
        const int32_t b = nucleus_bucket(c->vals[v], m);
        if (b < edge) {
            c->ids[kept] = v;
            c->cv[kept] = c->vals[v];
            kept++;
        } else if (b == edge) {
            at_edge++;
            c->ids[c->n - at_edge] = v;
            c->cv[c->n - at_edge] = c->vals[v];
        }
    }
    const int32_t from = c->n - at_edge;
    sort_descending(c->cv + from, c->ids + from, at_edge);
    for (int32_t j = from; j < c->n; j++) { // reads at j >= kept: the move never overwrites what is still to read
        c->ids[kept] = c->ids[j];
        c->cv[kept] = c->cv[j];
        kept++;
        cum += exp_nonpositive(c->cv[kept - 1] - m);
        if (cum >= goal) break;
    }
    c->n = kept;
    c->listed = 1;
    c->sorted = 0;
}

// Keeps the smallest most-probable set whose probability (softmax of the current values) reaches p.
// Sorted candidates (after top-k) are walked; otherwise the top 256 are tried first (a peaked
// distribution's nucleus is among them), then the value buckets.
static void top_p(struct cands * c, float p) {
    if (p >= 1.0f) return;
    const float m = cands_max(c);
    const float * x = c->listed ? c->cv : c->vals;
    float z = 0.0f;
    #pragma omp simd reduction(+:z)
    for (int32_t i = 0; i < c->n; i++) z += exp_nonpositive(x[i] - m);
    const double goal = (double) p * (double) z;
    int32_t k = c->n;
    if (!c->sorted) { // unsorted means every token here: top_k, which sorts, is the only filter before
        k = c->n < 256 ? c->n : 256;
        select_top(c->vals, c->n, k, c->ids, c->cv);
    }
    double cum = 0.0;
    for (int32_t i = 0; i < k; i++) {
        cum += exp_nonpositive(c->cv[i] - m);
        if (cum >= goal) {
            c->n = i + 1;
            c->listed = 1;
            c->sorted = 1;
            return;
        }
    }
    if (k < c->n) {
        nucleus_by_buckets(c, m, goal);
        return;
    }
    c->listed = 1; // rounding kept the sum of all just below p: keep all
    c->sorted = 1;
}

// Keeps the tokens at least p times as probable as the most probable: value >= max + log p.
static void min_p(struct cands * c, float p) {
    if (p <= 0.0f) return;
    const float floor_value = cands_max(c) + logf(p);
    if (c->sorted) {
        int32_t i = 1;
        while (i < c->n && c->cv[i] >= floor_value) i++;
        c->n = i;
        return;
    }
    int32_t kept = 0;
    for (int32_t i = 0; i < c->n; i++) {
        const float v = c->listed ? c->cv[i] : c->vals[i];
        if (v >= floor_value) {
            c->ids[kept] = c->listed ? c->ids[i] : i;
            c->cv[kept] = v;
            kept++;
        }
    }
    c->n = kept;
    c->listed = 1;
}

// A uniform number in (0, 1) for (draw seed, token): two rounds of MurmurHash3's 32-bit finaliser
// over the token id and the seed's halves, 24 bits of it. Vectorises (32-bit multiplies only).
static inline uint32_t fmix32(uint32_t h) {
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

static inline float token_uniform(uint64_t seed, int32_t token) {
    const uint32_t h = fmix32((uint32_t) seed ^ fmix32((uint32_t) token * 0x9e3779b9u + (uint32_t) (seed >> 32)));
    return ((float) (h >> 8) + 0.5f) * (1.0f / 16777216.0f);
}

// ln x for x > 0 and finite: x = 2^e m with m in [sqrt(1/2), sqrt(2)), ln m = 2 atanh(s), s = (m-1)/(m+1),
// |s| < 0.172, by its series to s^9 (remainder below 3e-9). Vectorises.
static inline float log_positive(float x) {
    union { float f; int32_t i; } b = { .f = x };
    int32_t e = ((b.i >> 23) & 0xff) - 127;
    b.i = (b.i & 0x007fffff) | 0x3f800000; // m in [1, 2)
    float m = b.f;
    if (m > 1.41421356f) {
        m *= 0.5f;
        e += 1;
    }
    const float s = (m - 1.0f) / (m + 1.0f);
    const float s2 = s * s;
    float p = 1.0f / 9.0f;
    p = p * s2 + 1.0f / 7.0f;
    p = p * s2 + 1.0f / 5.0f;
    p = p * s2 + 1.0f / 3.0f;
    p = p * s2 + 1.0f;
    return (float) e * 0.693147180559945f + 2.0f * s * p;
}

// Draws from softmax(value / t) over the candidates by an exponential race (the Gumbel-max trick):
// the token with the largest value / t - ln(-ln U), U uniform per (seed, token). Unlike an inverse CDF
// over the candidates, a logit moved by floating-point noise (1e-5, from the shape of the batch) can
// only change the draw when two keys are that close, so a completion's draws do not move with what is
// decoded beside it. Keys go into cv. -1 if no candidate has a finite value.
static int32_t race(struct cands * c, float t, uint64_t seed) {
    const float inv_t = 1.0f / t;
    const float * x = c->listed ? c->cv : c->vals;
    float * key = c->cv;
    float best = -INFINITY;
    #pragma omp simd reduction(max:best)
    for (int32_t i = 0; i < c->n; i++) {
        const float u = token_uniform(seed, c->listed ? c->ids[i] : i);
        key[i] = x[i] * inv_t - log_positive(-log_positive(u));
        best = key[i] > best ? key[i] : best;
    }
    if (best == -INFINITY) return -1;
    int32_t i = 0;
    while (key[i] != best) i++;
    return c->listed ? c->ids[i] : i;
}

static int32_t argmax(const float * x, int32_t V) {
    int32_t best = 0;
    for (int32_t v = 1; v < V; v++) {
        if (x[v] > x[best]) best = v;
    }
    return best;
}

struct filters {
    float temperature;
    int32_t top_k;
    float top_p;
    float min_p;
    float repeat_penalty;
};

// The values a draw samples from: the logits x themselves, or a copy in vals with the suppressed tokens
// at -inf and each distinct token of the window w (nw tokens) penalised once (logit * penalty if <= 0,
// else / penalty). NULL if one of those tokens is outside the vocabulary. ids is scratch.
static const float * prepare(const float * x, int32_t V, const struct filters * f, const int32_t * suppressed,
                             int32_t n_suppressed, const int32_t * w, int32_t nw, float * vals, int32_t * ids) {
    const int penalize = f->repeat_penalty != 1.0f && nw > 0;
    if (n_suppressed == 0 && !penalize) return x;
    memcpy(vals, x, (size_t) V * sizeof(float));
    for (int32_t i = 0; i < n_suppressed; i++) {
        if (suppressed[i] < 0 || suppressed[i] >= V) return NULL;
        vals[suppressed[i]] = -INFINITY;
    }
    if (penalize) {
        for (int32_t j = 0; j < nw; j++) { // ids[token] = its last position in the window
            if (w[j] < 0 || w[j] >= V) return NULL;
            ids[w[j]] = j;
        }
        for (int32_t j = 0; j < nw; j++) {
            if (ids[w[j]] == j) {
                const float v = vals[w[j]];
                vals[w[j]] = v <= 0.0f ? v * f->repeat_penalty : v / f->repeat_penalty;
            }
        }
    }
    return vals;
}

// The candidates after top-k, top-p and min-p, over the V values.
static struct cands filter(const float * values, int32_t V, const struct filters * f, int32_t * ids, float * cv) {
    struct cands c = { .n = V, .listed = 0, .sorted = 0, .vals = values, .ids = ids, .cv = cv };
    top_k(&c, f->top_k);
    top_p(&c, f->top_p);
    min_p(&c, f->min_p);
    return c;
}

// Samples one token for each of n draws from the last decode.
// rows: (n,) output indices, as for llama_get_logits_ith; seeds: (n,) each draw's random seed
// suppressed: (n_suppressed,) tokens never sampled
// window_start: (n + 1,) draw k's repetition window is window_tokens[window_start[k], window_start[k + 1]):
//   the last tokens of its prompt and completion; ignored when repeat_penalty == 1
// vals, cv: (V,) float scratch; ids: (V,) int32 scratch; out_tokens: (n,)
// Returns 0; -(k+1) if rows[k] has no logits; -(n+k+1) if a suppressed or window token of draw k is
// outside the vocabulary; -(2n+k+1) if draw k has nothing left to sample (every token suppressed);
// -(3n+k+1) if draw k has nothing to sample because its row's logits are NaN or infinite.
// A row with only some NaN or infinite logits may still give a token (NaN never wins a comparison): the
// caller finds it in the logsumexp of the log-prob gather it runs on the same rows (logprobs.c), so the
// hot path pays nothing for the check; the logsumexp is taken here only when a draw fails.
API int32_t align4j_sample(struct llama_context * ctx, float temperature, int32_t top_k_n, float top_p_p,
                           float min_p_p, float repeat_penalty, const int32_t * suppressed, int32_t n_suppressed,
                           int32_t n, const int32_t * rows, const uint64_t * seeds, const int32_t * window_start,
                           const int32_t * window_tokens, float * vals, int32_t * ids, float * cv,
                           int32_t * out_tokens) {
    const int32_t V = llama_vocab_n_tokens(llama_model_get_vocab(llama_get_model(ctx)));
    const struct filters f = { temperature, top_k_n, top_p_p, min_p_p, repeat_penalty };
    for (int32_t k = 0; k < n; k++) {
        const float * x = llama_get_logits_ith(ctx, rows[k]);
        if (x == NULL) return -(k + 1);
        const float * values = prepare(x, V, &f, suppressed, n_suppressed, window_tokens + window_start[k],
                                       window_start[k + 1] - window_start[k], vals, ids);
        if (values == NULL) return -(n + k + 1);
        int32_t token;
        if (temperature <= 0.0f) {
            token = argmax(values, V);
            if (!(values[token] > -INFINITY)) token = -1; // every value -inf, or the first NaN
        } else {
            struct cands c = filter(values, V, &f, ids, cv);
            token = race(&c, temperature, seeds[k]);
        }
        if (token < 0) return isfinite(row_logsumexp(x, V)) ? -(2 * n + k + 1) : -(3 * n + k + 1);
        out_tokens[k] = token;
    }
    return 0;
}

// The distribution align4j_sample draws from at output row `row` with the window (window, nw): every
// token of non-zero probability, in no particular order, into out_ids and out_probs, (V,) each
// (softmax of value / temperature over the candidates, in double; temperature 0: the argmax, 1).
// Returns the number of tokens; -1 if the row has no logits; -2 if a suppressed or window token is
// outside the vocabulary; -3 if the row's logits hold a NaN or an infinity (its logsumexp is not finite).
API int32_t align4j_sample_distribution(struct llama_context * ctx, float temperature, int32_t top_k_n, float top_p_p,
                                        float min_p_p, float repeat_penalty, const int32_t * suppressed,
                                        int32_t n_suppressed, int32_t row, const int32_t * window, int32_t nw,
                                        float * vals, int32_t * ids, float * cv, int32_t * out_ids, double * out_probs) {
    const int32_t V = llama_vocab_n_tokens(llama_model_get_vocab(llama_get_model(ctx)));
    const struct filters f = { temperature, top_k_n, top_p_p, min_p_p, repeat_penalty };
    const float * x = llama_get_logits_ith(ctx, row);
    if (x == NULL) return -1;
    if (!isfinite(row_logsumexp(x, V))) return -3;
    const float * values = prepare(x, V, &f, suppressed, n_suppressed, window, nw, vals, ids);
    if (values == NULL) return -2;
    if (temperature <= 0.0f) {
        const int32_t best = argmax(values, V);
        if (values[best] == -INFINITY) return 0;
        out_ids[0] = best;
        out_probs[0] = 1.0;
        return 1;
    }
    struct cands c = filter(values, V, &f, ids, cv);
    const float m = cands_max(&c);
    double z = 0.0;
    int32_t out = 0;
    for (int32_t i = 0; i < c.n; i++) {
        const float v = c.listed ? c.cv[i] : c.vals[i];
        if (v == -INFINITY) continue;
        out_ids[out] = c.listed ? c.ids[i] : i;
        out_probs[out] = exp(((double) v - m) / temperature);
        z += out_probs[out];
        out++;
    }
    for (int32_t i = 0; i < out; i++) out_probs[i] /= z;
    return out;
}
