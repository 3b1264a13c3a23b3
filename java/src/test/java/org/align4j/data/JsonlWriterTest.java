package org.align4j.data;

import org.align4j.job.RejectsWriter;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JsonlWriterTest {
    @TempDir Path dir;

    @Test
    void eachRecordIsOnDiskOnceWritten() throws IOException {
        Path f = dir.resolve("out.jsonl");
        try (JsonlWriter w = JsonlWriter.create(f)) {
            w.write(Jsonl.MAPPER.createObjectNode().put("id", 0).put("text", "a\nb"));
            assertThat(Files.readString(f)).isEqualTo("{\"id\":0,\"text\":\"a\\nb\"}\n");
            w.write(Jsonl.MAPPER.createObjectNode().put("id", 1).put("text", "é✓"));
            assertThat(Files.readAllLines(f, StandardCharsets.UTF_8)).containsExactly(
                    "{\"id\":0,\"text\":\"a\\nb\"}", "{\"id\":1,\"text\":\"é✓\"}");
            assertThat(w.written()).isEqualTo(2);
        }
        try (JsonlWriter w = JsonlWriter.append(f)) {
            w.write(Jsonl.MAPPER.createObjectNode().put("id", 2));
            w.close();
            w.close();
        }
        assertThat(Files.readAllLines(f)).hasSize(3).last().isEqualTo("{\"id\":2}");
    }

    @Test
    void unknownFieldsSurviveAReadWriteRoundTrip() throws IOException {
        String in = """
                {"id":"r1","prompt":"p","completion":"c","meta":{"source":"gsm8k","tags":["a",null,true],"deep":{"x":[[1,2],[3]]}},"score":1.50,"tiny":1e-30,"huge":1e400,"big":123456789012345678901234567890,"neg":-0.0,"uni":"\\u00e9\\ud83d\\ude00 \\"q\\""}
                {"prompt":[{"role":"user","content":"hi","name":"bob"}],"chosen":"a","rejected":"b","extra":[]}
                """;
        Path src = dir.resolve("in.jsonl");
        Files.writeString(src, in);
        Path out = dir.resolve("out.jsonl");
        try (JsonlReader r = JsonlReader.open(src); JsonlWriter w = JsonlWriter.create(out)) {
            for (JsonlLine l : r) {
                TrlRecord rec = TrlRecord.parse((JsonlLine.Parsed) l);
                w.write(rec.outputNode());
            }
        }
        List<String> inLines = in.lines().toList();
        List<String> outLines = Files.readAllLines(out);
        assertThat(outLines).hasSize(2);
        JsonNode a = Jsonl.MAPPER.readTree(inLines.get(0));
        JsonNode b = Jsonl.MAPPER.readTree(outLines.get(0));
        assertThat(b).isEqualTo(a);
        // Number text is kept as read: no 1.5 for 1.50, no Infinity for 1e400.
        assertThat(outLines.get(0)).contains("\"score\":1.50").contains("\"huge\":1E+400")
                .contains("\"big\":123456789012345678901234567890");
        // The second record had no id: it gets its line-number id, and nothing else changes.
        JsonNode second = Jsonl.MAPPER.readTree(inLines.get(1));
        ((com.fasterxml.jackson.databind.node.ObjectNode) second).put("id", 1);
        assertThat(Jsonl.MAPPER.readTree(outLines.get(1))).isEqualTo(second);
    }

    @Test
    void rejectsGoNextToTheOutputAndOnlyWhenThereAreAny() throws IOException {
        Path out = dir.resolve("scores.jsonl");
        assertThat(RejectsWriter.pathFor(out)).isEqualTo(dir.resolve("scores.rejects.jsonl"));
        assertThat(RejectsWriter.pathFor(dir.resolve("scores.out"))).isEqualTo(dir.resolve("scores.out.rejects.jsonl"));
        Path in = dir.resolve("in.jsonl");
        Files.writeString(in, "{\"prompt\":\"p\"}\nnot json\n{\"prompt\":\"p\",\"completion\":\"\"}\n");
        try (RejectsWriter none = RejectsWriter.create(out)) {
            assertThat(none.written()).isZero();
        }
        assertThat(RejectsWriter.pathFor(out)).doesNotExist();
        try (JsonlReader r = JsonlReader.open(in); RejectsWriter rejects = RejectsWriter.create(out)) {
            for (JsonlLine l : r) {
                switch (l) {
                    case JsonlLine.Malformed m -> rejects.reject(m);
                    case JsonlLine.Parsed p -> {
                        try {
                            TrlRecord.parse(p);
                        } catch (BadRecordException e) {
                            rejects.reject(e, p);
                        }
                    }
                }
                if (l.lineNumber() == 2) { // flushed per record too
                    assertThat(Files.readAllLines(rejects.file())).hasSize(1);
                }
            }
        }
        List<String> lines = Files.readAllLines(RejectsWriter.pathFor(out));
        assertThat(lines).hasSize(2);
        JsonNode first = Jsonl.MAPPER.readTree(lines.get(0));
        assertThat(first.get("line").asLong()).isEqualTo(2);
        assertThat(first.get("error").asText()).startsWith(in + ":2: malformed JSON");
        assertThat(first.get("record").asText()).isEqualTo("not json");
        JsonNode second = Jsonl.MAPPER.readTree(lines.get(1));
        assertThat(second.get("line").asLong()).isEqualTo(3);
        assertThat(second.get("error").asText()).isEqualTo(in + ":3: field \"completion\" is an empty string: nothing to score");
        assertThat(second.get("record")).isEqualTo(Jsonl.MAPPER.readTree("{\"prompt\":\"p\",\"completion\":\"\"}"));
    }
}
