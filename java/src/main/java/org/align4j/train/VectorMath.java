package org.align4j.train;

import static org.align4j.train.Gemm.F;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Vector functions that give the same bits compiled or interpreted. The Vector API's own EXP and its
 * float reductions may round differently before and after the JIT compiles a loop (SVML versus a
 * per-lane Java fallback; reduction order is unspecified), which would make a pass depend on JIT state
 * rather than only on its inputs. These use only IEEE add, multiply, fma and bit operations.
 */
final class VectorMath {
    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    private static final float ROUND = 12582912f; // 1.5 * 2^23: adding it rounds to an integer, kept in the low bits

    private VectorMath() {}

    /**
     * e^x per lane, within about 2 ulp (Cephes expf: x = n ln2 + r, |r| <= ln2 / 2, a degree-6
     * polynomial for e^r, times 2^n built from bits). Inputs below -87.3 give e^-87.3 (~1e-38), above
     * 88.7 give e^88.7; NaN stays NaN.
     */
    static FloatVector exp(FloatVector x) {
        x = x.max(-87.3f).min(88.7f);
        FloatVector t = x.fma(FloatVector.broadcast(F, LOG2E), FloatVector.broadcast(F, ROUND));
        FloatVector n = t.sub(ROUND);
        FloatVector r = n.fma(FloatVector.broadcast(F, -LN2_HI), x);
        r = n.fma(FloatVector.broadcast(F, -LN2_LO), r);
        FloatVector p = FloatVector.broadcast(F, 1.9875691500e-4f);
        p = p.fma(r, FloatVector.broadcast(F, 1.3981999507e-3f));
        p = p.fma(r, FloatVector.broadcast(F, 8.3334519073e-3f));
        p = p.fma(r, FloatVector.broadcast(F, 4.1665795894e-2f));
        p = p.fma(r, FloatVector.broadcast(F, 1.6666665459e-1f));
        p = p.fma(r, FloatVector.broadcast(F, 5.0000001201e-1f));
        p = p.mul(r.mul(r)).add(r).add(1f);
        // t's low mantissa bits hold n + 2^22; 2^n has exponent bits n + 127.
        IntVector bits = t.reinterpretAsInts().sub(Float.floatToRawIntBits(ROUND) - 127).lanewise(VectorOperators.LSHL, 23);
        return p.mul(bits.reinterpretAsFloats());
    }

    /** The lanes' sum, added in lane order. */
    static float sum(FloatVector v) {
        float s = 0;
        for (int i = 0; i < v.length(); i++) {
            s += v.lane(i);
        }
        return s;
    }
}
