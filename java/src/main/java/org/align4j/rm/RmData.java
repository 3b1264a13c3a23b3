package org.align4j.rm;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.align4j.data.BadRecordException;
import org.align4j.data.ChatRenderer;
import org.align4j.data.TrlRecord;
import org.align4j.job.ErrorPolicy;
import org.align4j.job.RejectsWriter;
import org.align4j.job.TrainingRecords;
import org.align4j.llama.Vocab;
import org.align4j.train.Sequence;

/**
 * A reward model's preference pairs as token ids, by the shared tokenization rule ({@link org.align4j.engine.TokenizedRecord}:
 * the EOS appended to a plain-text completion is the token the reward is read at), checked as every
 * training job checks them ({@link TrainingRecords}), with each record's optional {@code margin}.
 * A record is refused (under {@link ErrorPolicy#FAIL} the read stops with its {@link BadRecordException},
 * under SKIP it goes to the rejects file) when it is not a preference record, fails those checks, or has
 * a {@code margin} that is not a finite number.
 */
public final class RmData {
    /** The optional field with the pair's margin m in -log sigma(r_c - r_r - m) (Llama 2's RM). */
    public static final String MARGIN = "margin";

    /**
     * One training pair.
     *
     * @param prompt   (P,) token ids, BOS included when the model adds one
     * @param chosen   (L_c,) token ids of the chosen completion
     * @param rejected (L_r,) token ids of the rejected completion
     * @param margin   0 when the record has none
     */
    public record Pair(String location, int[] prompt, int[] chosen, int[] rejected, double margin) {
        /** prompt + chosen; its completion scored only when the imitation term reads it. */
        public Sequence chosenSequence(boolean scored) {
            int[] t = TrainingRecords.concat(prompt, chosen);
            return new Sequence(t, scored ? prompt.length : t.length);
        }

        /** prompt + rejected, nothing scored: only its reward is read. */
        public Sequence rejectedSequence() {
            int[] t = TrainingRecords.concat(prompt, rejected);
            return new Sequence(t, t.length);
        }

        /** Tokens of both sequences. */
        public int tokens() {
            return 2 * prompt.length + chosen.length + rejected.length;
        }
    }

    private final List<Pair> pairs;
    private final long skipped;

    private RmData(List<Pair> pairs, long skipped) {
        this.pairs = List.copyOf(pairs);
        this.skipped = skipped;
    }

    /**
     * Reads every line of {@code file}.
     *
     * @param maxLen    longest prompt + completion accepted, in tokens
     * @param vocabSize rows of the model's embedding table: token ids must be below it
     * @param rejects   where skipped lines go under {@link ErrorPolicy#SKIP}
     * @throws BadRecordException the first bad line, under {@link ErrorPolicy#FAIL}
     */
    public static RmData read(Path file, Vocab vocab, ChatRenderer renderer, int maxLen, int vocabSize, ErrorPolicy onError,
                              RejectsWriter rejects) {
        List<Pair> pairs = new ArrayList<>();
        long skipped = TrainingRecords.readPreferences(file, "rm", vocab, renderer, maxLen, vocabSize, onError, rejects, (record, t) ->
                pairs.add(new Pair(record.location(), t.prompt(), t.completions()[0], t.completions()[1], margin(record))));
        return new RmData(pairs, skipped);
    }

    private static double margin(TrlRecord record) {
        JsonNode m = record.node().get(MARGIN);
        if (m == null || m.isNull()) {
            return 0;
        }
        double x = m.isNumber() ? m.asDouble() : Double.NaN;
        if (!Double.isFinite(x)) {
            throw new BadRecordException(record.file(), record.lineNumber(), "field \"" + MARGIN + "\" must be a finite number, not " + m);
        }
        return x;
    }

    /** The usable pairs, in file order. */
    public List<Pair> pairs() {
        return pairs;
    }

    public int size() {
        return pairs.size();
    }

    /** Lines refused under {@link ErrorPolicy#SKIP}. */
    public long skipped() {
        return skipped;
    }

    /** The token fingerprint a resumed run compares ({@link TrainingRecords#fingerprint}), margins included (as their bits). */
    public String fingerprint() {
        return TrainingRecords.fingerprint(pairs.stream().flatMap(p -> {
            long bits = Double.doubleToLongBits(p.margin());
            return Stream.of(p.prompt(), p.chosen(), p.rejected(), new int[] {(int) (bits >>> 32), (int) bits});
        }));
    }
}
