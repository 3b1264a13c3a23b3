package org.align4j.llama;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Tokenization through our bindings against llama.cpp's own test vectors (models/ggml-vocab-NAME.gguf
 * with .inp/.out), every case, read the way tests/test-tokenizer-0.cpp reads them: inputs separated by
 * "\n__ggml_vocab_test__\n", one line of space-separated ids per input, no special tokens added,
 * special-token text not parsed.
 */
class TokenizerVectorsTest {
    private static final String SEPARATOR = "\n__ggml_vocab_test__\n";

    record Case(String text, int[] expected) {}

    static List<Case> readCases(Path gguf) throws IOException {
        String raw = Files.readString(Path.of(gguf + ".inp"), StandardCharsets.UTF_8);
        List<String> inputs = new ArrayList<>();
        int pos = 0;
        while (pos < raw.length()) {
            int next = raw.indexOf(SEPARATOR, pos);
            if (next < 0) {
                inputs.add(raw.substring(pos));
                break;
            }
            inputs.add(raw.substring(pos, next));
            pos = next + SEPARATOR.length();
        }
        List<String> outputs = Files.readAllLines(Path.of(gguf + ".out"), StandardCharsets.UTF_8);
        assertThat(outputs).as("cases in %s.out", gguf).hasSameSizeAs(inputs);
        List<Case> cases = new ArrayList<>();
        for (int i = 0; i < inputs.size(); i++) {
            String ids = outputs.get(i).strip();
            int[] expected = ids.isEmpty() ? new int[0] : Arrays.stream(ids.split(" ")).mapToInt(Integer::parseInt).toArray();
            cases.add(new Case(inputs.get(i), expected));
        }
        return cases;
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"llama-bpe", "llama-spm", "qwen2", "gpt-2", "phi-3", "deepseek-llm", "falcon", "starcoder"})
    void everyCaseMatchesLlamaCppsVectors(String name) throws IOException {
        Path gguf = NativeTestSupport.vocabFile(name);
        List<Case> cases = readCases(gguf);
        List<String> failures = new ArrayList<>();
        try (Vocab vocab = Vocab.open(gguf)) {
            for (Case c : cases) {
                int[] got = vocab.tokenize(c.text(), false, false);
                if (!Arrays.equals(got, c.expected())) {
                    failures.add("'" + c.text() + "': expected " + Arrays.toString(c.expected()) + ", got " + Arrays.toString(got));
                }
            }
        }
        System.out.printf("tokenizer vectors %s: %d/%d cases match%n", name, cases.size() - failures.size(), cases.size());
        assertThat(cases).as("test vectors of %s", name).hasSizeGreaterThan(10);
        assertThat(failures).isEmpty();
    }
}
