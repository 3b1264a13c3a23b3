package org.align4j.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.align4j.Align4jException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ResumePointTest {
    @TempDir Path tmp;

    @Test
    void resumeCutsEveryFileBackToTheLastCommitAndContinuesAfterItsLine() throws IOException {
        Path pairs = tmp.resolve("pairs.jsonl");
        Path candidates = tmp.resolve("cands.jsonl");
        ResumePoint p = ResumePoint.fresh(pairs, List.of(pairs, candidates));
        assertThat(p.linesDone()).isZero();
        Files.writeString(pairs, "{\"id\":\"a/0\"}\n{\"id\":\"a/1\"}\n");
        Files.writeString(candidates, "{\"id\":\"a\"}\n");
        p.commit(1);
        p.commit(2); // a line with no records: committed all the same
        // The run dies while writing line 3's group: a whole pair, a torn one, no candidates record.
        Files.writeString(pairs, "{\"id\":\"c/0\"}\n{\"id\":\"c/", java.nio.file.StandardOpenOption.APPEND);

        ResumePoint resumed = ResumePoint.resume(pairs, List.of(pairs, candidates));
        assertThat(resumed.linesDone()).isEqualTo(2);
        assertThat(Files.readString(pairs)).isEqualTo("{\"id\":\"a/0\"}\n{\"id\":\"a/1\"}\n");
        assertThat(Files.readString(candidates)).isEqualTo("{\"id\":\"a\"}\n");
    }

    @Test
    void refusesToGuessWhenTheCommitAndTheFilesDisagree() throws IOException {
        Path pairs = tmp.resolve("pairs.jsonl");
        Files.writeString(pairs, "{\"id\":\"a/0\"}\n");
        assertThatThrownBy(() -> ResumePoint.resume(pairs, List.of(pairs))).isInstanceOf(Align4jException.class)
                .hasMessageContaining("pairs.jsonl.resume.json is missing");

        ResumePoint.fresh(pairs, List.of(pairs)).commit(1);
        assertThatThrownBy(() -> ResumePoint.resume(pairs, List.of(pairs, tmp.resolve("other.jsonl"))))
                .hasMessageContaining("no size for other.jsonl");
        Files.writeString(pairs, "");
        assertThatThrownBy(() -> ResumePoint.resume(pairs, List.of(pairs)))
                .hasMessageContaining("shorter than the 13 committed");
    }

    @Test
    void aFreshOutputResumesFromTheStart() {
        Path pairs = tmp.resolve("pairs.jsonl");
        assertThat(ResumePoint.resume(pairs, List.of(pairs)).linesDone()).isZero();
    }
}
