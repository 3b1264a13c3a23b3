package org.align4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import org.align4j.llama.NativeTestSupport;
import org.align4j.llama.Vocab;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class TokenizeCommandTest {
    @TempDir Path tmp;

    @Test
    void rootHelpListsTheSubcommandsAndExitsZero() {
        CliRun r = CliRun.of("--help");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).contains("info", "tokenize", "model");
    }

    @Test
    void everyCommandHasHelpThatRendersWithoutPicocliWarnings() {
        // picocli formats descriptions with String.format and warns on System.err when one does not format
        // (a bare '%'): the help then shows the raw text.
        PrintStream stderr = System.err;
        ByteArrayOutputStream warnings = new ByteArrayOutputStream();
        List<String> rendered = new ArrayList<>();
        try {
            System.setErr(new PrintStream(warnings, true, StandardCharsets.UTF_8));
            Deque<CommandLine> todo = new ArrayDeque<>(List.of(Align4jCommand.commandLine(new PrintWriter(new StringWriter()),
                    new PrintWriter(new StringWriter()))));
            while (!todo.isEmpty()) {
                CommandLine c = todo.poll();
                assertThat(c.getUsageMessage()).as(c.getCommandName()).contains("Usage:");
                rendered.add(c.getCommandSpec().qualifiedName());
                todo.addAll(c.getSubcommands().values());
            }
        } finally {
            System.setErr(stderr);
        }
        assertThat(rendered).contains("align4j score", "align4j model synth", "align4j loop");
        assertThat(warnings.toString(StandardCharsets.UTF_8)).isEmpty();
        for (String command : rendered.subList(1, rendered.size())) {
            String[] args = (command.substring("align4j ".length()) + " --help").split(" ");
            CliRun r = CliRun.of(args);
            assertThat(r.exit()).as(command + " --help").isZero();
            assertThat(r.out()).as(command + " --help").contains("Usage: " + command);
        }
    }

    @Test
    void versionExitsZero() {
        CliRun r = CliRun.of("--version");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).startsWith("align4j ");
    }

    @Test
    void unknownSubcommandOrOptionIsAUsageError() {
        assertThat(CliRun.of("frobnicate").exit()).isEqualTo(2);
        CliRun r = CliRun.of("tokenize", "-m", "any.gguf", "--bogus", "x");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("--bogus");
    }

    @Test
    void missingRequiredModelIsAUsageError() {
        CliRun r = CliRun.of("tokenize", "hello");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("--model");
    }

    @Test
    void idsMatchTheBindingAndCarryBosUnlessAsked() {
        Path gguf = NativeTestSupport.vocabFile("llama-spm");
        int[] expected;
        try (Vocab v = Vocab.open(gguf)) {
            expected = v.tokenize("Hello world", true, true);
            assertThat(expected[0]).isEqualTo(v.bos());
        }
        CliRun r = CliRun.of("tokenize", "-m", gguf.toString(), "--ids", "Hello world");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out().strip()).isEqualTo(String.join(" ", Arrays.stream(expected).mapToObj(Integer::toString).toList()));

        CliRun noBos = CliRun.of("tokenize", "-m", gguf.toString(), "--ids", "--no-bos", "Hello world");
        assertThat(noBos.out().strip().split(" ")).hasSize(expected.length - 1);
    }

    @Test
    void fileInputAndPiecesListing() throws IOException {
        Path text = tmp.resolve("t.txt");
        Files.writeString(text, "Hello\nworld");
        CliRun r = CliRun.of("tokenize", "-m", NativeTestSupport.vocabFile("llama-bpe").toString(), "--file", text.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("'Hello'", "'\\n'", "tokens");
    }

    @Test
    void missingModelExitsOneNamingThePath() {
        Path missing = tmp.resolve("nope.gguf");
        CliRun r = CliRun.of("tokenize", "-m", missing.toString(), "hi");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains(missing.toString()).contains("error:").doesNotContain("Exception");
    }

    @Test
    void garbageModelExitsOneNamingThePathAndTheCause() throws IOException {
        Path junk = tmp.resolve("junk.gguf");
        Files.write(junk, new byte[] {'n', 'o', 't', ' ', 'g', 'g', 'u', 'f', 0, 1, 2, 3});
        CliRun r = CliRun.of("tokenize", "-m", junk.toString(), "hi");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains(junk.toString()).containsIgnoringCase("magic");
    }

    @Test
    void truncatedModelExitsOneNamingThePath() throws IOException {
        Path cut = tmp.resolve("cut.gguf");
        byte[] whole = Files.readAllBytes(NativeTestSupport.vocabFile("llama-spm"));
        Files.write(cut, Arrays.copyOf(whole, whole.length / 3));
        CliRun r = CliRun.of("tokenize", "-m", cut.toString(), "hi");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains(cut.toString());
    }
}
