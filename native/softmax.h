// Vectorised log-softmax pieces shared by the log-prob and sampling kernels.
#pragma once

#include <math.h>
#include <stdint.h>

// e^x for x <= 0 (all the log-softmax needs, after subtracting the max), relative error below 3e-7,
// written so that the loops below vectorise: x = n ln2 + r with |r| <= ln2/2 (ln2 split in a part
// exact in float and a correction), e^r by its degree-6 Taylor polynomial (remainder < 2e-7), 2^n
// built in the exponent bits. Below -87 the result would leave float's normal range: it is 0 there
// (so e^-inf, a suppressed token's weight, is exactly 0), which no longer changes a sum holding e^0 = 1.
static inline float exp_nonpositive(float x) {
    const float xc = x < -87.0f ? -87.0f : x;
    const float n = rintf(xc * 1.44269504088896341f);
    const float r = (xc - n * 0.693145751953125f) - n * 1.42860682030941723e-6f;
    float p = 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    union { int32_t i; float f; } two_n = { .i = ((int32_t) n + 127) << 23 };
    return x < -87.0f ? 0.0f : p * two_n.f;
}

// logsumexp over one row of V logits: max, then the sum of exp(x - max) in float lanes, reduced in
// double. Both loops vectorise (OpenMP SIMD pragmas; no OpenMP runtime involved).
static inline double row_logsumexp(const float * x, int32_t V) {
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
