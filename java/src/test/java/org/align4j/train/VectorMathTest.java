package org.align4j.train;

import static org.assertj.core.api.Assertions.assertThat;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/** The deterministic vector exp against Math.exp in double, over the range the passes use it in. */
class VectorMathTest {
    @Test
    void expIsWithin3e7RelativeOfMathExp() {
        float[] x = new float[Gemm.L];
        float[] y = new float[Gemm.L];
        double worst = 0;
        int n = 0;
        for (float v = -87f; v <= 88f; v += 0.001f * Gemm.L) {
            for (int i = 0; i < x.length; i++) {
                x[i] = v + 0.001f * i;
            }
            VectorMath.exp(FloatVector.fromArray(Gemm.F, x, 0)).intoArray(y, 0);
            for (int i = 0; i < x.length; i++) {
                double expected = Math.exp(x[i]);
                worst = Math.max(worst, Math.abs(y[i] - expected) / expected);
                n++;
            }
        }
        System.out.printf("VectorMath.exp on %d points in [-87, 88]: worst relative error %.2e (f32 ulp 6e-8; tolerance 3e-7)%n", n, worst);
        assertThat(worst).isLessThan(3e-7);
        assertThat(VectorMath.sum(FloatVector.broadcast(Gemm.F, 0.5f))).isEqualTo(0.5f * Gemm.L);
    }
}
