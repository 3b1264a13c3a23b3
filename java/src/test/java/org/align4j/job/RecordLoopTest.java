package org.align4j.job;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.align4j.data.JsonlReader;
import org.align4j.data.PromptRecord;
import org.align4j.data.RecordId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shared input loop under {@code --resume}: lines the earlier run finished are passed over, except those
 * of the segment the run goes on in, which are handed to the job again first (rejected ones through its skip,
 * whatever the error policy), so that its engines replay that segment.
 */
class RecordLoopTest {
    @TempDir Path tmp;

    /**
     * Ten lines; line 5 is malformed. The earlier run wrote r1-r4, r6 and r7 and rejected line 5, and stopped
     * there: line 8 is the first new one.
     */
    private List<String> resume(InputSegments segments) throws IOException {
        List<String> lines = new ArrayList<>();
        for (int n = 1; n <= 10; n++) {
            lines.add(n == 5 ? "{not json" : "{\"id\": \"r" + n + "\", \"prompt\": \"p\"}");
        }
        Path in = Files.write(tmp.resolve("in.jsonl"), lines);
        Set<RecordId> done = Set.of(1, 2, 3, 4, 6, 7).stream()
                .map(n -> new RecordId(JsonNodeFactory.instance.textNode("r" + n))).collect(java.util.stream.Collectors.toSet());
        ResumeState resume = new ResumeState(done, 6, Set.of(5L), 1, 0, 0);
        List<String> seen = new ArrayList<>();
        try (JsonlReader reader = JsonlReader.open(in)) {
            RecordLoop.run(reader, resume, segments, ErrorPolicy.FAIL, PromptRecord::of,
                    record -> seen.add(record.id().toString()), () -> {}, (line, why) -> seen.add("skip " + line.lineNumber()));
        }
        return seen;
    }

    @Test
    void withoutSegmentsFinishedLinesArePassedOver() throws IOException {
        assertThat(resume(InputSegments.NONE)).containsExactly("r8", "r9", "r10");
    }

    @Test
    void theFinishedPartOfTheSegmentTheRunGoesOnInIsReplayedFirst() throws IOException {
        assertThat(resume(new InputSegments(3))).containsExactly("r7", "r8", "r9", "r10"); // segment 7-9
        assertThat(resume(new InputSegments(4))).containsExactly("skip 5", "r6", "r7", "r8", "r9", "r10"); // segment 5-8
        assertThat(resume(new InputSegments(100))).containsExactly("r1", "r2", "r3", "r4", "skip 5", "r6", "r7", "r8", "r9", "r10");
    }
}
