package org.align4j.llama;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A model's tokenizer ({@code const llama_vocab*}). The vocab belongs to its model: one from
 * {@link Model#vocab()} is a view that {@link #close()} leaves alone; one from {@link #open(Path)}
 * owns the vocab-only model it loaded and frees it on close.
 */
public final class Vocab implements AutoCloseable {
    /** llama_vocab_type */
    public enum Type { NONE, SPM, BPE, WPM, UGM, RWKV, PLAMO2, TEST }

    private final Model model;
    private final MemorySegment handle;
    private final boolean ownsModel;

    Vocab(Model model, MemorySegment handle) {
        this(model, handle, false);
    }

    private Vocab(Model model, MemorySegment handle, boolean ownsModel) {
        this.model = model;
        this.handle = handle;
        this.ownsModel = ownsModel;
    }

    /** Loads only the tokenizer of a GGUF file (no weights). */
    public static Vocab open(Path gguf) {
        Model m = Model.load(gguf, ModelOptions.VOCAB_ONLY);
        return new Vocab(m, Llama.llama_model_get_vocab(m.handle()), true);
    }

    public int nTokens() {
        return Llama.llama_vocab_n_tokens(handle());
    }

    public Type type() {
        return Type.values()[Llama.llama_vocab_type(handle())];
    }

    public int bos() {
        return Llama.llama_vocab_bos(handle());
    }

    public int eos() {
        return Llama.llama_vocab_eos(handle());
    }

    public int eot() {
        return Llama.llama_vocab_eot(handle());
    }

    /** End of generation: EOS, EOT or any other token the model marks as ending a turn. */
    public boolean isEog(int token) {
        return Llama.llama_vocab_is_eog(handle(), token);
    }

    /** Every end-of-generation token ({@link #isEog}), ascending. */
    public int[] eogTokens() {
        return java.util.stream.IntStream.range(0, nTokens()).filter(this::isEog).toArray();
    }

    /** llama_token_attr bit set of {@code token}. */
    public int attributes(int token) {
        return Llama.llama_vocab_get_attr(handle(), token);
    }

    /** Whether the tokenizer adds BOS when asked to add special tokens. */
    public boolean addsBos() {
        return Llama.llama_vocab_get_add_bos(handle());
    }

    /**
     * Tokenizes UTF-8 text.
     *
     * @param addSpecial   add BOS/EOS as the model's metadata asks
     * @param parseSpecial treat special-token text (such as {@code <|eot_id|>}) as those tokens
     */
    public int[] tokenize(String text, boolean addSpecial, boolean parseSpecial) {
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment t = arena.allocate(Math.max(utf8.length, 1));
            MemorySegment.copy(utf8, 0, t, JAVA_BYTE, 0, utf8.length);
            MemorySegment v = handle();
            return NativeStrings.fillRetrying(arena, JAVA_INT, utf8.length + 2,
                    (buf, cap) -> Llama.llama_tokenize(v, t, utf8.length, buf, cap, addSpecial, parseSpecial))
                    .toArray(JAVA_INT);
        }
    }

    /** The text of one token; {@code special} renders control tokens as their text. */
    public String tokenToPiece(int token, boolean special) {
        return new String(tokenToPieceBytes(token, special), StandardCharsets.UTF_8);
    }

    /**
     * The raw bytes of one token's text: a byte-fallback token (SPM's {@code <0xE2>}) is one byte of a
     * UTF-8 sequence that only later tokens complete, so text built token by token is joined as bytes.
     */
    public byte[] tokenToPieceBytes(int token, boolean special) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = handle();
            return NativeStrings.fillRetrying(arena, JAVA_BYTE, 32,
                    (buf, cap) -> Llama.llama_token_to_piece(v, token, buf, cap, 0, special)).toArray(JAVA_BYTE);
        }
    }

    /** Text of a token sequence, as llama.cpp joins it (handles SPM's leading space and byte tokens). */
    public String detokenize(int[] tokens, boolean removeSpecial, boolean unparseSpecial) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ids = arena.allocateFrom(JAVA_INT, tokens);
            MemorySegment v = handle();
            return NativeStrings.utf8(NativeStrings.fillRetrying(arena, JAVA_BYTE, tokens.length * 8 + 16,
                    (buf, cap) -> Llama.llama_detokenize(v, ids, tokens.length, buf, cap, removeSpecial, unparseSpecial)));
        }
    }

    MemorySegment handle() {
        model.handle(); // throws if the owning model was closed
        return handle;
    }

    @Override
    public void close() {
        if (ownsModel) {
            model.close();
        }
    }
}
