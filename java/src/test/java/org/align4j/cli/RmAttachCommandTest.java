package org.align4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.align4j.gguf.GgufFile;
import org.align4j.gguf.GgufTensorInfo;
import org.align4j.gguf.RewardHead;
import org.align4j.llama.Model;
import org.align4j.llama.ModelOptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code align4j rm attach} with a score.weight written by the test as safetensors (F32, F16, BF16): the RM
 * file has the head's values exactly (chosen to be exact in every dtype), the LM's tensors byte for byte,
 * and llama.cpp loads it; each bad head is exit 1 with a message naming the file and the cause.
 */
class RmAttachCommandTest {
    static final Path DEMO = RmCommandTest.DEMO;
    static final int HIDDEN = 128; // the demo model's embedding length

    @TempDir Path tmp;

    // score.weight [rows, cols]: value i is (i % 37 - 18) / 64, exact in F32, F16 and BF16.
    static float value(int i) {
        return (i % 37 - 18) / 64f;
    }

    // A safetensors file with one tensor `name` of shape [rows, cols] in dtype.
    static Path safetensors(Path file, String name, String dtype, int rows, int cols) throws IOException {
        int width = dtype.equals("F32") ? 4 : 2;
        int n = rows * cols;
        String header = "{\"__metadata__\":{\"format\":\"pt\"},\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":[" + rows + ","
                + cols + "],\"data_offsets\":[0," + n * width + "]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + n * width).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        for (int i = 0; i < n; i++) {
            float v = value(i);
            switch (dtype) {
                case "F32" -> b.putFloat(v);
                case "F16" -> b.putShort(Float.floatToFloat16(v));
                default -> b.putShort((short) (Float.floatToRawIntBits(v) >>> 16));
            }
        }
        Files.write(file, b.array());
        return file;
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"F32", "F16", "BF16"})
    void attachesTheHeadAndKeepsTheModelsTensors(String dtype) throws IOException {
        Path head = safetensors(tmp.resolve("score.safetensors"), "score.weight", dtype, 1, HIDDEN);
        Path rm = tmp.resolve("rm.gguf");
        CliRun r = CliRun.of("rm", "attach", "--model", DEMO.toString(), "--head", head.toString(), "-o", rm.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        try (GgufFile lm = GgufFile.open(DEMO); GgufFile out = GgufFile.open(rm)) {
            RewardHead h = RewardHead.read(out, HIDDEN);
            for (int i = 0; i < HIDDEN; i++) {
                assertThat(h.weights()[i]).as("w[%d]", i).isEqualTo(value(i));
            }
            assertThat(h.bias()).isZero();
            for (GgufTensorInfo t : lm.tensors()) {
                assertThat(out.tensorData(t.name()).mismatch(lm.tensorData(t.name()))).as(t.name()).isEqualTo(-1L);
            }
        }
        try (Model m = Model.load(rm, ModelOptions.DEFAULT)) {
            assertThat(m.nEmbd()).isEqualTo(HIDDEN);
        }
        assertThat(CliRun.of("info", rm.toString()).out()).contains("reward head:    128 weights, bias 0.0");
    }

    @Test
    void eachBadHeadIsAMessageNamingTheFile() throws IOException {
        Path rm = tmp.resolve("rm.gguf");
        assertFails(safetensors(tmp.resolve("wide.safetensors"), "score.weight", "F32", 1, HIDDEN + 1),
                "score.weight has hidden size 129, and " + DEMO + " has embedding length 128");
        assertFails(safetensors(tmp.resolve("other.safetensors"), "lm_head.weight", "F32", 1, HIDDEN), "no score.weight");
        assertFails(safetensors(tmp.resolve("two.safetensors"), "score.weight", "F32", 2, HIDDEN), "num_labels = 2");
        Path text = tmp.resolve("notes.safetensors");
        Files.writeString(text, "this is not a safetensors file at all");
        assertFails(text, "not a safetensors file");
        assertThat(rm).doesNotExist();
    }

    void assertFails(Path head, String cause) {
        CliRun r = CliRun.of("rm", "attach", "--model", DEMO.toString(), "--head", head.toString(), "-o", tmp.resolve("rm.gguf").toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains(head.toString()).contains(cause).doesNotContain("\tat ");
    }
}
