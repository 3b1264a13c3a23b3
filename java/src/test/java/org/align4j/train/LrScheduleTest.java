package org.align4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

import org.align4j.train.LrSchedule.Kind;
import org.junit.jupiter.api.Test;

/** Boundary steps of each schedule, 10 warm-up steps of 110, peak 1e-3; the expected values are the schedules' formulas. */
class LrScheduleTest {
    static final double PEAK = 1e-3;
    static final double TOLERANCE = 1e-18;

    static LrSchedule schedule(Kind kind) {
        return new LrSchedule(kind, PEAK, 10, 110);
    }

    @Test
    void warmUpIsLinearFromZeroForEveryKind() {
        for (Kind kind : Kind.values()) {
            LrSchedule s = schedule(kind);
            assertThat(s.at(0)).as(kind.cliName()).isEqualTo(0);
            assertThat(s.at(5)).as(kind.cliName()).isCloseTo(PEAK * 5 / 10, offset(TOLERANCE));
            assertThat(s.at(9)).as(kind.cliName()).isCloseTo(PEAK * 9 / 10, offset(TOLERANCE));
            assertThat(s.at(10)).as(kind.cliName()).isCloseTo(PEAK, offset(TOLERANCE));
        }
    }

    @Test
    void constantStaysAtPeak() {
        assertThat(schedule(Kind.CONSTANT).at(110)).isEqualTo(PEAK);
    }

    @Test
    void linearDecaysToZero() {
        LrSchedule s = schedule(Kind.LINEAR);
        assertThat(s.at(60)).isCloseTo(PEAK * (110 - 60) / 100.0, offset(TOLERANCE));
        assertThat(s.at(109)).isCloseTo(PEAK / 100, offset(TOLERANCE));
        assertThat(s.at(110)).isEqualTo(0);
    }

    @Test
    void cosineDecaysToZero() {
        LrSchedule s = schedule(Kind.COSINE);
        assertThat(s.at(35)).isCloseTo(PEAK * 0.5 * (1 + Math.cos(Math.PI * 25 / 100)), offset(TOLERANCE));
        assertThat(s.at(60)).isCloseTo(PEAK / 2, offset(TOLERANCE));
        assertThat(s.at(110)).isCloseTo(0, offset(TOLERANCE));
    }

    @Test
    void noWarmUpStartsAtPeak() {
        assertThat(new LrSchedule(Kind.LINEAR, PEAK, 0, 10).at(0)).isEqualTo(PEAK);
        assertThat(new LrSchedule(Kind.COSINE, PEAK, 0, 10).at(0)).isEqualTo(PEAK);
    }

    @Test
    void namesAndBoundsAreChecked() {
        assertThat(Kind.named("cosine")).isEqualTo(Kind.COSINE);
        assertThat(Kind.named("constant_with_warmup")).isEqualTo(Kind.CONSTANT);
        assertThatThrownBy(() -> Kind.named("step")).hasMessageContaining("unknown learning-rate schedule 'step'");
        assertThatThrownBy(() -> schedule(Kind.LINEAR).at(111)).hasMessageContaining("outside [0, 110]");
        assertThatThrownBy(() -> new LrSchedule(Kind.LINEAR, PEAK, 11, 10)).hasMessageContaining("warm-up");
    }
}
