package org.align4j.engine;

import org.align4j.llama.Vocab;

/** Each token's text as UTF-8 bytes, fetched from the tokenizer the first time it is sampled and kept. */
final class TokenPieces {
    private final Vocab vocab;
    private final byte[][] pieces; // (n_vocab,), null until first asked for

    TokenPieces(Vocab vocab) {
        this.vocab = vocab;
        this.pieces = new byte[vocab.nTokens()][];
    }

    /** The text a token adds to a completion (control tokens add none). */
    byte[] of(int token) {
        byte[] p = pieces[token];
        if (p == null) {
            p = vocab.tokenToPieceBytes(token, false);
            pieces[token] = p;
        }
        return p;
    }
}
