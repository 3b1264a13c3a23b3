package org.align4j.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.random.RandomGenerator;
import org.align4j.llama.Vocab;

/**
 * Text of an exact token length under a model's tokenizer: random whole-word tokens (a space and three
 * or more lowercase letters). A pre-tokenizer splits text before each space-led word, and each of
 * these words is one vocabulary entry, so n of them tokenize back to exactly n tokens (checked).
 * SentencePiece (SPM) tokenizers put a space before the text themselves, so for them the text starts
 * without one.
 */
final class ExactLengthText {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Vocab vocab;
    private final List<String> words = new ArrayList<>();

    ExactLengthText(Vocab vocab) {
        this.vocab = vocab;
        for (int id = 0; id < vocab.nTokens(); id++) {
            String piece = vocab.tokenToPiece(id, false);
            if (piece.matches(" [a-z]{3,}")) {
                words.add(piece);
            }
        }
        if (words.size() < 100) {
            throw new IllegalStateException("the vocabulary has only " + words.size() + " whole-word tokens");
        }
    }

    /** Text that tokenizes (without BOS) to exactly {@code tokens} tokens. */
    String text(int tokens, RandomGenerator rnd) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < tokens; i++) {
            b.append(words.get(rnd.nextInt(words.size())));
        }
        String text = vocab.type() == Vocab.Type.SPM ? b.substring(1) : b.toString();
        int got = vocab.tokenize(text, false, false).length;
        if (got != tokens) {
            throw new IllegalStateException("generated text tokenizes to " + got + " tokens, not " + tokens);
        }
        return text;
    }

    /**
     * Writes {@code count} prompt records whose prompts are exactly {@code promptTokens} tokens as the jobs
     * tokenize them (BOS included), seeded.
     */
    static void writePrompts(Path model, Path file, int count, int promptTokens) {
        SplittableRandom rnd = new SplittableRandom(42);
        List<String> lines = new ArrayList<>();
        try (Vocab vocab = Vocab.open(model)) {
            ExactLengthText text = new ExactLengthText(vocab);
            int words = promptTokens - (vocab.addsBos() ? 1 : 0);
            for (int i = 0; i < count; i++) {
                lines.add(JSON.createObjectNode().put("id", i).put("prompt", text.text(words, rnd)).toString());
            }
        }
        write(file, lines);
    }

    /**
     * Writes {@code count} preference records: prompts of exactly {@code promptTokens} tokens and chosen and
     * rejected of exactly {@code completionTokens}, as score and dpo tokenize them (BOS and EOS included), seeded.
     */
    static void writePairs(Path model, Path file, int count, int promptTokens, int completionTokens) {
        SplittableRandom rnd = new SplittableRandom(42);
        List<String> lines = new ArrayList<>();
        try (Vocab vocab = Vocab.open(model)) {
            ExactLengthText text = new ExactLengthText(vocab);
            int promptWords = promptTokens - (vocab.addsBos() ? 1 : 0);
            int completionWords = completionTokens - (vocab.eos() >= 0 ? 1 : 0);
            for (int i = 0; i < count; i++) {
                lines.add(JSON.createObjectNode().put("id", i)
                        .put("prompt", text.text(promptWords, rnd))
                        .put("chosen", text.text(completionWords, rnd))
                        .put("rejected", text.text(completionWords, rnd)).toString());
            }
        }
        write(file, lines);
    }

    private static void write(Path file, List<String> lines) {
        try {
            Files.write(file, lines, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
