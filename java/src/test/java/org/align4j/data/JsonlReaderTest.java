package org.align4j.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.align4j.Align4jException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JsonlReaderTest {
    @TempDir Path dir;

    static List<JsonlLine> readAll(Path file) {
        try (JsonlReader r = JsonlReader.open(file)) {
            return r.stream().toList();
        }
    }

    private Path write(String name, String text) throws IOException {
        Path f = dir.resolve(name);
        Files.writeString(f, text, StandardCharsets.UTF_8);
        return f;
    }

    @Test
    void countNonBlankLinesAfterCountsWhatAResumedJobHasLeft() throws IOException {
        Path f = write("p.jsonl", "not json\n{\"prompt\":\"b\"}\n{broken\n\n{\"prompt\":\"e\"}\n");
        assertThat(JsonlReader.countNonBlankLinesAfter(f, 3)).isEqualTo(1);
        assertThat(JsonlReader.countNonBlankLinesAfter(f, 1)).isEqualTo(3);
        assertThat(JsonlReader.countNonBlankLinesAfter(f, 0)).isEqualTo(4);
    }

    @Test
    void blankLinesAreSkippedButCounted() throws IOException {
        Path f = write("p.jsonl", "{\"prompt\":\"a\"}\n\n   \n{\"prompt\":\"b\"}\r\n{\"prompt\":\"c\"}");
        List<JsonlLine> lines = readAll(f);
        assertThat(lines).extracting(JsonlLine::lineNumber).containsExactly(1L, 4L, 5L);
        assertThat(lines).allSatisfy(l -> assertThat(l).isInstanceOf(JsonlLine.Parsed.class));
        assertThat(((JsonlLine.Parsed) lines.get(1)).node().get("prompt").asText()).isEqualTo("b");
        assertThat(((JsonlLine.Parsed) lines.get(2)).node().get("prompt").asText()).isEqualTo("c");
        assertThat(JsonlReader.countNonBlankLines(f)).isEqualTo(3);
    }

    @Test
    void malformedLineIsAValueNamingFileLineAndCause() throws IOException {
        Path f = write("prompts.jsonl", "{\"prompt\":\"a\"}\n{\"prompt\": @}\n{\"prompt\":\"c\"}\n");
        List<JsonlLine> lines = readAll(f);
        assertThat(lines).hasSize(3);
        JsonlLine.Malformed bad = (JsonlLine.Malformed) lines.get(1);
        assertThat(bad.message())
                .startsWith(f + ":2: malformed JSON at column 12: Unexpected character ('@' (code 64))")
                .doesNotContain("Source:");
        assertThat(bad.text()).isEqualTo("{\"prompt\": @}");
        assertThat(bad.toException()).isInstanceOf(Align4jException.class).hasMessage(bad.message());
        assertThat(lines.get(2)).isInstanceOf(JsonlLine.Parsed.class);
    }

    @Test
    void truncatedObjectAndTrailingGarbageAreMalformed() throws IOException {
        Path f = write("p.jsonl", "{\"prompt\":\"a\"\n{\"prompt\":\"b\"} {}\n");
        List<JsonlLine> lines = readAll(f);
        assertThat(((JsonlLine.Malformed) lines.get(0)).message()).startsWith(f + ":1: malformed JSON");
        assertThat(((JsonlLine.Malformed) lines.get(1)).message()).startsWith(f + ":2: malformed JSON").contains("Trailing token");
    }

    @Test
    void nonObjectValuesAreMalformed() throws IOException {
        Path f = write("p.jsonl", "[1, 2]\n\"text\"\nnull\n42\n");
        assertThat(readAll(f)).map(l -> ((JsonlLine.Malformed) l).message()).containsExactly(
                f + ":1: not a JSON object (a JSON array)",
                f + ":2: not a JSON object (a JSON string)",
                f + ":3: not a JSON object (a JSON null)",
                f + ":4: not a JSON object (a JSON number)");
    }

    @Test
    void invalidUtf8IsMalformedAndTheRestIsRead() throws IOException {
        Path f = dir.resolve("p.jsonl");
        byte[] bad = {'{', '"', 'p', 'r', 'o', 'm', 'p', 't', '"', ':', '"', (byte) 0xC3, '"', '}', '\n'};
        Files.write(f, bad);
        Files.writeString(f, "{\"prompt\":\"ok\"}\n", java.nio.file.StandardOpenOption.APPEND);
        List<JsonlLine> lines = readAll(f);
        assertThat(((JsonlLine.Malformed) lines.get(0)).message()).isEqualTo(f + ":1: not valid UTF-8");
        assertThat(lines.get(1)).isInstanceOf(JsonlLine.Parsed.class);
    }

    @Test
    void byteOrderMarkOnTheFirstLineIsIgnored() throws IOException {
        Path f = write("p.jsonl", "\uFEFF{\"prompt\":\"é\"}\n");
        assertThat(((JsonlLine.Parsed) readAll(f).getFirst()).node().get("prompt").asText()).isEqualTo("é");
    }

    @Test
    void linesLongerThanTheReadBufferAreWhole() throws IOException {
        String big = "x".repeat(200_000);
        Path f = write("p.jsonl", "{\"prompt\":\"" + big + "\"}\n{\"prompt\":\"y\"}\n");
        List<JsonlLine> lines = readAll(f);
        assertThat(((JsonlLine.Parsed) lines.get(0)).node().get("prompt").asText()).isEqualTo(big);
        assertThat(lines.get(1).lineNumber()).isEqualTo(2);
    }

    @Test
    void missingFileAndDirectoryNameThePath() {
        Path missing = dir.resolve("nope.jsonl");
        assertThatThrownBy(() -> JsonlReader.open(missing)).isInstanceOf(Align4jException.class)
                .hasMessage(missing + ": no such file");
        assertThatThrownBy(() -> JsonlReader.open(dir)).isInstanceOf(Align4jException.class)
                .hasMessageContaining(dir.toString()).hasMessageContaining("directory");
    }
}
