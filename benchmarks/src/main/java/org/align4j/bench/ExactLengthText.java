package org.align4j.bench;

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
}
