package org.align4j.data;

import static org.align4j.data.ChatRenderingTest.line;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrlRecordTest {
    @TempDir Path dir;

    private static void assertBad(String json, String reason) {
        assertThatThrownBy(() -> TrlRecord.parse(line(json))).isInstanceOf(BadRecordException.class)
                .hasMessage("d.jsonl:3: " + reason)
                .satisfies(e -> assertThat(((BadRecordException) e).reason()).isEqualTo(reason));
    }

    @Test
    void classifiesByFields() {
        assertThat(RecordKind.of(line("{\"prompt\":\"p\",\"chosen\":\"a\",\"rejected\":\"b\",\"completion\":\"c\"}").node()))
                .isEqualTo(RecordKind.PREFERENCE);
        assertThat(RecordKind.of(line("{\"prompt\":\"p\",\"completion\":\"c\"}").node())).isEqualTo(RecordKind.PROMPT_COMPLETION);
        assertThat(RecordKind.of(line("{\"prompt\":\"p\",\"chosen\":\"a\"}").node())).isEqualTo(RecordKind.PROMPT);
        assertThat(TrlRecord.parse(line("{\"prompt\":\"p\",\"chosen\":\"a\",\"rejected\":\"b\"}")))
                .isInstanceOf(PreferenceRecord.class);
        assertThat(TrlRecord.parse(line("{\"prompt\":\"p\",\"completion\":\"c\"}"))).isInstanceOf(PromptCompletionRecord.class);
        assertThat(TrlRecord.parse(line("{\"prompt\":\"p\"}"))).isInstanceOf(PromptRecord.class);
        // Any record serves as a prompt record.
        assertThat(PromptRecord.of(line("{\"prompt\":\"p\",\"chosen\":\"a\",\"rejected\":\"\"}")).prompt())
                .isEqualTo(new Content.Text("p"));
    }

    @Test
    void missingFields() {
        assertBad("{\"question\":\"p\"}", "missing field \"prompt\"");
        assertBad("{\"chosen\":\"a\",\"rejected\":\"b\"}", "missing field \"prompt\"");
        assertBad("{\"prompt\":\"p\",\"chosen\":\"a\"}", "has \"chosen\" but no \"rejected\"");
        assertBad("{\"prompt\":\"p\",\"rejected\":\"a\"}", "has \"rejected\" but no \"chosen\"");
    }

    @Test
    void wrongTypes() {
        String expected = "must be a string or a list of {\"role\", \"content\"} messages, got ";
        assertBad("{\"prompt\":42}", "field \"prompt\" " + expected + "number");
        assertBad("{\"prompt\":null}", "field \"prompt\" " + expected + "null");
        assertBad("{\"prompt\":\"p\",\"completion\":{\"text\":\"c\"}}", "field \"completion\" " + expected + "object");
        assertBad("{\"prompt\":\"p\",\"chosen\":\"a\",\"rejected\":true}", "field \"rejected\" " + expected + "boolean");
        assertBad("{\"id\":1.5,\"prompt\":\"p\"}", "field \"id\" must be a string or an integer, got number");
    }

    @Test
    void emptyCompletionsHaveNothingToScore() {
        assertBad("{\"prompt\":\"p\",\"completion\":\"\"}", "field \"completion\" is an empty string: nothing to score");
        assertBad("{\"prompt\":\"p\",\"chosen\":\"a\",\"rejected\":\"\"}", "field \"rejected\" is an empty string: nothing to score");
        assertBad("{\"prompt\":\"p\",\"chosen\":[],\"rejected\":\"b\"}", "field \"chosen\" is an empty list of messages: nothing to score");
        assertBad("{\"prompt\":[]}", "field \"prompt\" is an empty list of messages");
        assertThat(TrlRecord.parse(line("{\"prompt\":\"\",\"completion\":\"c\"}")).prompt()).isEqualTo(new Content.Text(""));
    }

    @Test
    void badMessages() {
        assertBad("{\"prompt\":[{\"role\":\"user\",\"content\":\"a\"},{\"content\":\"b\"}]}", "prompt[1] has no \"role\"");
        assertBad("{\"prompt\":[{\"role\":\"user\"}]}", "prompt[0] has no \"content\"");
        assertBad("{\"prompt\":\"p\",\"completion\":[\"hi\"]}", "completion[0] must be a {\"role\", \"content\"} object, got string");
        assertBad("{\"prompt\":[{\"role\":7,\"content\":\"a\"}]}", "prompt[0].role must be a string, got number");
        assertBad("{\"prompt\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"}]}]}",
                "prompt[0].content must be a string, got array (content parts, as in multimodal data, are not supported)");
    }

    @Test
    void idIsTheIdFieldElseTheZeroBasedLineNumber() throws IOException {
        Path f = dir.resolve("in.jsonl");
        Files.writeString(f, "{\"prompt\":\"a\"}\n\n{\"id\":\"x-1\",\"prompt\":\"b\"}\n{\"id\":7,\"prompt\":\"c\"}\n{\"prompt\":\"d\"}\n");
        List<RecordId> ids = JsonlReaderTest.readAll(f).stream().map(l -> TrlRecord.parse((JsonlLine.Parsed) l).id()).toList();
        assertThat(ids).map(RecordId::toString).containsExactly("0", "x-1", "7", "4");
        assertThat(ids.get(2)).isEqualTo(new RecordId(Jsonl.MAPPER.getNodeFactory().numberNode(7L)))
                .isNotEqualTo(new RecordId(Jsonl.MAPPER.getNodeFactory().textNode("7")));
    }

    @Test
    void outputNodePutsTheIdFirstAndKeepsEverythingElse() {
        TrlRecord r = TrlRecord.parse(line("{\"prompt\":\"p\",\"meta\":{\"k\":[1,2]},\"completion\":\"c\"}"));
        ObjectNode out = r.outputNode();
        assertThat(out.toString()).isEqualTo("{\"id\":2,\"prompt\":\"p\",\"meta\":{\"k\":[1,2]},\"completion\":\"c\"}");
        out.put("completion_logps", -1.5);
        assertThat(r.node().has("completion_logps")).isFalse();
        TrlRecord withId = TrlRecord.parse(line("{\"prompt\":\"p\",\"id\":\"a\"}"));
        assertThat(withId.outputNode().toString()).isEqualTo("{\"id\":\"a\",\"prompt\":\"p\"}");
    }
}
