package org.align4j.job;

import org.align4j.data.Jsonl;
import org.align4j.data.JsonlLine;
import org.align4j.data.JsonlReader;
import org.align4j.data.JsonlWriter;
import org.align4j.data.RecordId;
import org.align4j.data.TrlRecord;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.align4j.Align4jException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ResumeStateTest {
    @TempDir Path dir;

    private static RecordId id(long n) {
        return new RecordId(Jsonl.MAPPER.getNodeFactory().numberNode(n));
    }

    @Test
    void noOutputYetIsNothingDone() {
        ResumeState s = ResumeState.scan(dir.resolve("out.jsonl"));
        assertThat(s).isEqualTo(ResumeState.empty());
    }

    @Test
    void unterminatedLastLineIsCutOffAndAppendingContinuesCleanly() throws IOException {
        Path out = dir.resolve("out.jsonl");
        String complete = "{\"id\":0,\"x\":1}\n{\"id\":\"b\",\"x\":2}\n";
        Files.writeString(out, complete + "{\"id\":2,\"x\":");
        ResumeState s = ResumeState.scan(out);
        assertThat(s.records()).isEqualTo(2);
        assertThat(s.doneIds()).containsExactlyInAnyOrder(id(0), new RecordId(Jsonl.MAPPER.getNodeFactory().textNode("b")));
        assertThat(s.isDone(id(0))).isTrue();
        assertThat(s.isDone(id(2))).isFalse();
        assertThat(s.droppedBytes()).isEqualTo("{\"id\":2,\"x\":".length());
        assertThat(Files.readString(out)).isEqualTo(complete);
        try (JsonlWriter w = JsonlWriter.append(out)) {
            w.write(Jsonl.MAPPER.createObjectNode().put("id", 2).put("x", 3));
        }
        assertThat(Files.readAllLines(out)).hasSize(3).last().isEqualTo("{\"id\":2,\"x\":3}");
        assertThat(ResumeState.scan(out).records()).isEqualTo(3);
    }

    @Test
    void unparseableTerminatedLastLineIsCutOff() throws IOException {
        Path out = dir.resolve("out.jsonl");
        Files.writeString(out, "{\"id\":0}\n\n{\"id\":1,\"x\"\n");
        ResumeState s = ResumeState.scan(out);
        assertThat(s.doneIds()).containsExactly(id(0));
        assertThat(Files.readString(out)).isEqualTo("{\"id\":0}\n\n");
    }

    @Test
    void damageBeforeTheLastLineIsNotGuessedAt() throws IOException {
        Path out = dir.resolve("out.jsonl");
        String text = "{\"id\":0}\n{\"id\":1\n{\"id\":2}\n";
        Files.writeString(out, text);
        assertThatThrownBy(() -> ResumeState.scan(out)).isInstanceOf(Align4jException.class)
                .hasMessageStartingWith(out + ":2: not a JSON object; only the last line");
        assertThat(Files.readString(out)).isEqualTo(text);
    }

    @Test
    void outputRecordWithoutIdIsAnError() throws IOException {
        Path out = dir.resolve("out.jsonl");
        Files.writeString(out, "{\"id\":0}\n{\"prompt\":\"p\"}\n");
        assertThatThrownBy(() -> ResumeState.scan(out)).isInstanceOf(Align4jException.class)
                .hasMessageStartingWith(out + ":2: no string or integer \"id\"");
    }

    @Test
    void rejectedLinesAreReadAndTheirPartialLastLineCutOff() throws IOException {
        Path out = dir.resolve("out.jsonl");
        Files.writeString(out, "{\"id\":0}\n");
        Path rejects = RejectsWriter.pathFor(out);
        String complete = "{\"line\":2,\"error\":\"e\",\"record\":\"x\"}\n{\"line\":5,\"error\":\"e\",\"record\":{}}\n";
        Files.writeString(rejects, complete + "{\"line\":9,\"err");
        ResumeState s = ResumeState.scan(out);
        assertThat(s.rejectedLines()).containsExactlyInAnyOrder(2L, 5L);
        assertThat(s.rejects()).isEqualTo(2);
        assertThat(s.isRejected(5)).isTrue();
        assertThat(s.isRejected(9)).isFalse();
        assertThat(Files.readString(rejects)).isEqualTo(complete);
        assertThat(Files.readString(out)).isEqualTo("{\"id\":0}\n");
    }

    @Test
    void aResumedJobSkipsDoneIdsAndRejectedLines() throws IOException {
        // First run: records 0..2, line 3 bad, crash in the middle of line 4's record.
        Path in = dir.resolve("in.jsonl");
        Files.writeString(in, "{\"prompt\":\"a\"}\n{\"prompt\":\"b\"}\n{\"prompt\":\n{\"prompt\":\"d\"}\n{\"prompt\":\"e\"}\n");
        Path out = dir.resolve("out.jsonl");
        Files.writeString(out, "{\"id\":0,\"prompt\":\"a\"}\n{\"id\":1,\"prompt\":\"b\"}\n{\"id\":3,\"pro");
        Files.writeString(RejectsWriter.pathFor(out), "{\"line\":3,\"error\":\"e\",\"record\":\"{\\\"prompt\\\":\"}\n");
        ResumeState s = ResumeState.scan(out);
        try (JsonlReader r = JsonlReader.open(in); JsonlWriter w = JsonlWriter.append(out);
             RejectsWriter rejects = RejectsWriter.append(out)) {
            for (JsonlLine l : r) {
                if (s.isRejected(l.lineNumber())) {
                    continue;
                }
                switch (l) {
                    case JsonlLine.Malformed m -> rejects.reject(m);
                    case JsonlLine.Parsed p -> {
                        TrlRecord rec = TrlRecord.parse(p);
                        if (!s.isDone(rec.id())) {
                            w.write(rec.outputNode());
                        }
                    }
                }
            }
        }
        assertThat(Files.readAllLines(out)).map(l -> Jsonl.MAPPER.readTree(l).get("id").asInt()).containsExactly(0, 1, 3, 4);
        assertThat(Files.readAllLines(RejectsWriter.pathFor(out))).hasSize(1);
    }
}
