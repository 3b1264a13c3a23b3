package org.align4j.job;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Locale;
import java.util.function.BiConsumer;
import java.util.stream.Stream;
import org.align4j.Align4jException;
import org.align4j.data.BadRecordException;
import org.align4j.data.ChatRenderer;
import org.align4j.data.JsonlReader;
import org.align4j.data.PreferenceRecord;
import org.align4j.data.TrlRecord;
import org.align4j.engine.TokenizedRecord;
import org.align4j.llama.Vocab;

/** What every training job checks of its tokenized records, and the fingerprint a resumed run compares. */
public final class TrainingRecords {
    private TrainingRecords() {}

    /**
     * Refuses a record whose prompt + completion is longer than {@code maxLen} or that has a token id
     * outside the model's embedding table of {@code vocabSize} rows.
     *
     * @throws BadRecordException naming the record's file and line
     */
    public static void check(TrlRecord record, TokenizedRecord t, int maxLen, int vocabSize) {
        if (t.longestSequence() > maxLen) {
            throw new BadRecordException(record.file(), record.lineNumber(), "prompt + completion is " + t.longestSequence()
                    + " tokens, more than the limit of " + maxLen + " (--max-len)");
        }
        for (int[] ids : Stream.concat(Stream.of(t.prompt()), Stream.of(t.completions())).toList()) {
            for (int id : ids) {
                if (id < 0 || id >= vocabSize) {
                    throw new BadRecordException(record.file(), record.lineNumber(), "token id " + id
                            + " is outside the model's vocabulary of " + vocabSize
                            + " (rows of token_embd.weight): the tokenizer and the weights do not match");
                }
            }
        }
    }

    /**
     * SHA-256 of token id arrays in order, each as its length then its ids (little-endian int32): a resumed
     * run checks that it trains on the same records, tokenized the same way, as the run it continues.
     */
    public static String fingerprint(Stream<int[]> arrays) {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new Align4jException("no SHA-256 in this JVM", e);
        }
        arrays.forEachOrdered(ids -> {
            ByteBuffer b = ByteBuffer.allocate(4 + 4 * ids.length).order(ByteOrder.LITTLE_ENDIAN);
            b.putInt(ids.length);
            for (int id : ids) {
                b.putInt(id);
            }
            sha.update(b.array());
        });
        return HexFormat.of().formatHex(sha.digest());
    }

    /**
     * Reads every line of {@code file} as a preference record, tokenized and checked ({@link #check}), and hands
     * each to {@code each}; a line of another kind, or one {@code each} refuses, is a bad record.
     *
     * @param job     the job's name, for the message on a record of another kind
     * @param rejects where skipped lines go under {@link ErrorPolicy#SKIP}
     * @return the lines skipped under {@link ErrorPolicy#SKIP}
     * @throws BadRecordException the first bad line, under {@link ErrorPolicy#FAIL}
     */
    public static long readPreferences(Path file, String job, Vocab vocab, ChatRenderer renderer, int maxLen, int vocabSize,
                                       ErrorPolicy onError, RejectsWriter rejects, BiConsumer<TrlRecord, TokenizedRecord> each) {
        long[] skipped = {0};
        try (JsonlReader reader = JsonlReader.open(file)) {
            RecordLoop.run(reader, ResumeState.empty(), onError, TrlRecord::parse, record -> {
                if (!(record instanceof PreferenceRecord)) {
                    throw new BadRecordException(record.file(), record.lineNumber(), "a "
                            + record.kind().toString().toLowerCase(Locale.ROOT).replace('_', '-')
                            + " record: " + job + " trains on preference records (\"prompt\", \"chosen\", \"rejected\")");
                }
                TokenizedRecord t = TokenizedRecord.of(record, vocab, renderer);
                check(record, t, maxLen, vocabSize);
                each.accept(record, t);
            }, () -> {}, (line, why) -> {
                rejects.reject(line, why);
                skipped[0]++;
            });
        }
        return skipped[0];
    }

    /** {@code a} then {@code b}: a prompt's tokens and a completion's, as one sequence. */
    public static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
