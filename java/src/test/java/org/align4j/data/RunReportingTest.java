package org.align4j.data;

import org.align4j.job.ErrorPolicy;
import org.align4j.job.ProgressReporter;
import org.align4j.job.RunSummary;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class RunReportingTest {
    private static final long SECOND = 1_000_000_000L;

    @Test
    void errorPolicyParsesFailAndSkip() {
        assertThat(ErrorPolicy.parse("fail")).isEqualTo(ErrorPolicy.FAIL);
        assertThat(ErrorPolicy.parse("SKIP")).isEqualTo(ErrorPolicy.SKIP);
        assertThat(ErrorPolicy.SKIP).hasToString("skip");
        assertThatThrownBy(() -> ErrorPolicy.parse("ignore")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("--on-error takes fail or skip, not 'ignore'");
    }

    @Test
    void summaryIsOneLine() {
        assertThat(new RunSummary("score", 1000, 3, 384000, 12.3))
                .hasToString("score: 1000 records (3 skipped), 384000 tokens in 12.3 s, 31220 tokens/s");
        assertThat(new RunSummary("sample", 0, 0, 0, 0)).hasToString("sample: 0 records (0 skipped), 0 tokens in 0.0 s, 0 tokens/s");
    }

    @Test
    void progressPrintsAtMostOncePerIntervalWithEta() {
        AtomicLong now = new AtomicLong(0);
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        ProgressReporter p = new ProgressReporter("score", new PrintStream(err, true, StandardCharsets.UTF_8),
                OptionalLong.of(100), false, now::get, SECOND);
        for (int i = 0; i < 10; i++) {
            now.addAndGet(SECOND / 10);
            p.recordDone(50);
        }
        // 10 records of 100 in 1 s: one line, 500 tokens/s, 9 s to go.
        now.addAndGet(SECOND / 2);
        p.recordSkipped();
        now.addAndGet(SECOND / 2);
        p.recordDone(50);
        assertThat(err.toString(StandardCharsets.UTF_8).lines()).containsExactly(
                "score: 10/100 records, 500 tokens/s, ETA 0:00:09",
                "score: 12/100 records, 1 skipped, 275 tokens/s, ETA 0:00:15");
        assertThat(p.summary()).hasToString("score: 11 records (1 skipped), 550 tokens in 2.0 s, 275 tokens/s");
    }

    @Test
    void unknownTotalHasNoEtaAndQuietPrintsNothing() {
        AtomicLong now = new AtomicLong(0);
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream ps = new PrintStream(err, true, StandardCharsets.UTF_8);
        ProgressReporter open = new ProgressReporter("bon", ps, OptionalLong.empty(), false, now::get, SECOND);
        now.addAndGet(2 * SECOND);
        open.recordDone(10);
        assertThat(err.toString(StandardCharsets.UTF_8)).isEqualTo("bon: 1 records, 5 tokens/s" + System.lineSeparator());
        err.reset();
        ProgressReporter quiet = new ProgressReporter("bon", ps, OptionalLong.of(5), true, now::get, SECOND);
        now.addAndGet(5 * SECOND);
        quiet.recordDone(10);
        assertThat(err.size()).isZero();
        assertThat(quiet.records()).isEqualTo(1);
        assertThat(quiet.printed()).isFalse();
    }
}
