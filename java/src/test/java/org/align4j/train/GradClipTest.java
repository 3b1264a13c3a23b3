package org.align4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Global-norm clipping against the norm worked by hand and a sequential sum. */
class GradClipTest {
    @Test
    void clipsToTheMaxNormAndReturnsTheNormBefore() {
        float[] a = {3, 4};
        float[] b = {12};
        List<AdamW.Param> params = List.of(new AdamW.Param("a", new float[2], a, true), new AdamW.Param("b", new float[1], b, true));
        double before = GradClip.clipByGlobalNorm(params, 1.0);
        assertThat(before).isEqualTo(Math.sqrt(3 * 3 + 4 * 4 + 12 * 12));
        double after = GradClip.globalNorm(params);
        // torch scales by max / (norm + 1e-6), so the clipped norm is 13 / (13 + 1e-6) below 1; f32 gradients
        System.out.printf("clipped global norm %.9f (max 1.0), diff %.2e%n", after, Math.abs(after - 1));
        assertThat(after).isCloseTo(1.0, offset(1e-6));
        assertThat(a[1] / a[0]).isEqualTo(4f / 3f); // direction kept
    }

    @Test
    void leavesSmallGradientsAlone() {
        float[] g = {0.3f, -0.4f};
        double norm = GradClip.clipByGlobalNorm(List.of(new AdamW.Param("g", new float[2], g, true)), 1.0);
        assertThat(norm).isCloseTo(0.5, offset(1e-7));
        assertThat(g).containsExactly(0.3f, -0.4f);
    }

    @Test
    void chunkedNormMatchesASequentialSum() {
        SplittableRandom rng = new SplittableRandom(3);
        float[] big = new float[200_003]; // several chunks and a ragged last one
        double sumSq = 0;
        for (int i = 0; i < big.length; i++) {
            big[i] = (float) rng.nextGaussian();
            sumSq += (double) big[i] * big[i];
        }
        double norm = GradClip.globalNorm(List.of(new AdamW.Param("big", new float[big.length], big, true)));
        double rel = Math.abs(norm - Math.sqrt(sumSq)) / Math.sqrt(sumSq);
        System.out.printf("global norm over %d elements vs sequential double sum: rel diff %.2e%n", big.length, rel);
        assertThat(rel).isLessThanOrEqualTo(1e-12);
    }

    @Test
    void nonFiniteGradientIsAnErrorNamingIt() {
        float[] g = {1, Float.NaN};
        List<AdamW.Param> params = List.of(new AdamW.Param("ok", new float[1], new float[] {2}, true),
                new AdamW.Param("blk.3.attn_q.weight", new float[2], g, true));
        assertThatThrownBy(() -> GradClip.clipByGlobalNorm(params, 1.0))
                .isInstanceOf(ArithmeticException.class)
                .hasMessage("gradient of blk.3.attn_q.weight[1] is NaN");
    }
}
