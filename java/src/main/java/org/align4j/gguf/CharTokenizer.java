package org.align4j.gguf;

import java.util.LinkedHashMap;
import java.util.SequencedMap;

/**
 * A character-level tokenizer that llama.cpp loads as a SentencePiece ({@code "llama"}, SPM) vocab:
 * every printable ASCII character is one token, every other byte a byte-fallback token, so any text
 * tokenizes and detokenizes back to itself, and text of printable ASCII is exactly one token per
 * character.
 *
 * <p>Layout (259 tokens), Llama 2's first 259 ids with printable bytes spelled as characters:
 * 0 {@code <unk>}, 1 {@code <s>} (BOS), 2 {@code </s>} (EOS, end of generation), then id 3 + b for
 * each byte b: the character itself for 0x21..0x7E, {@code "▁"} (U+2581) for the space, as SPM
 * escapes spaces, and {@code <0xXX>} byte tokens for control bytes, DEL and 0x80..0xFF.
 *
 * <p>Why this holds in llama.cpp's SPM tokenizer (src/llama-vocab.cpp): it splits text into UTF-8
 * characters and merges adjacent symbols only while their concatenation is a token, and no token
 * here is two characters long, so nothing merges; a symbol that is not a token falls back to
 * {@code byte_to_token}, which finds {@code <0xXX>} or else the one-byte token, so every byte has a
 * token (without one it would throw out of {@code llama_tokenize}). {@code add_space_prefix} is
 * false, so no space is prepended to a text (SPM's default is true), and a completion tokenized on
 * its own gives the same tokens as after its prompt. BOS is added when special tokens are asked for,
 * EOS never. {@code </s>} is an end-of-generation token by its text and as the EOS id. The scores
 * are all 0: with no merges they rank nothing.
 */
public final class CharTokenizer {
    /** The name presets and {@code --vocab} use for this tokenizer. */
    public static final String NAME = "char";
    public static final int UNK = 0, BOS = 1, EOS = 2;
    /** The id of byte b is FIRST_BYTE + b. */
    public static final int FIRST_BYTE = 3;
    public static final int VOCAB_SIZE = FIRST_BYTE + 256;
    /** SentencePiece's whitespace marker, which SPM tokenizers put in place of ' '. */
    public static final String SPACE_PIECE = "\u2581";

    // llama_token_type in llama.h
    private static final int NORMAL = 1, UNKNOWN = 2, CONTROL = 3, BYTE = 6;

    private CharTokenizer() {}

    /** The token of one byte of UTF-8 text (of one character, for printable ASCII). */
    public static int tokenOf(byte b) {
        return FIRST_BYTE + Byte.toUnsignedInt(b);
    }

    /** The {@code tokenizer.*} keys. */
    public static TokenizerMetadata metadata() {
        String[] tokens = new String[VOCAB_SIZE];
        int[] types = new int[VOCAB_SIZE];
        tokens[UNK] = "<unk>";
        types[UNK] = UNKNOWN;
        tokens[BOS] = "<s>";
        types[BOS] = CONTROL;
        tokens[EOS] = "</s>";
        types[EOS] = CONTROL;
        for (int b = 0; b < 256; b++) {
            int id = FIRST_BYTE + b;
            if (b == ' ') {
                tokens[id] = SPACE_PIECE;
                types[id] = NORMAL;
            } else if (b > ' ' && b < 0x7F) {
                tokens[id] = Character.toString(b);
                types[id] = NORMAL;
            } else {
                tokens[id] = String.format("<0x%02X>", b);
                types[id] = BYTE;
            }
        }
        SequencedMap<String, GgufValue> m = new LinkedHashMap<>();
        m.put("tokenizer.ggml.model", GgufValue.string("llama"));
        m.put("tokenizer.ggml.pre", GgufValue.string("default"));
        m.put(TokenizerMetadata.TOKENS_KEY, GgufValue.array(GgufValueType.STRING, tokens));
        m.put("tokenizer.ggml.scores", GgufValue.array(GgufValueType.FLOAT32, new float[VOCAB_SIZE]));
        m.put("tokenizer.ggml.token_type", GgufValue.array(GgufValueType.INT32, types));
        m.put("tokenizer.ggml.bos_token_id", GgufValue.uint32(BOS));
        m.put("tokenizer.ggml.eos_token_id", GgufValue.uint32(EOS));
        m.put("tokenizer.ggml.unknown_token_id", GgufValue.uint32(UNK));
        m.put("tokenizer.ggml.add_bos_token", GgufValue.bool(true));
        m.put("tokenizer.ggml.add_eos_token", GgufValue.bool(false));
        m.put("tokenizer.ggml.add_space_prefix", GgufValue.bool(false));
        return new TokenizerMetadata(m);
    }
}
