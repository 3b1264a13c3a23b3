package org.align4j.dpo;

import org.align4j.job.TrainingRecords;
import org.align4j.train.Sequence;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.align4j.data.BadRecordException;
import org.align4j.data.ChatRenderer;
import org.align4j.job.ErrorPolicy;
import org.align4j.job.RejectsWriter;
import org.align4j.engine.TokenizedRecord;
import org.align4j.data.TrlRecord;
import org.align4j.engine.PrefixSharingScorer;
import org.align4j.engine.ScoreRequest;
import org.align4j.engine.ScorerOptions;
import org.align4j.llama.Model;
import org.align4j.llama.ModelOptions;
import org.align4j.llama.Vocab;

/**
 * A preference dataset as token ids, checked for training, with reference log-prob sums where they are
 * known. Records are tokenized by the shared rule ({@link TokenizedRecord}); a record is refused (under
 * {@link ErrorPolicy#FAIL} the read stops with its {@link BadRecordException}, under SKIP it goes to the
 * rejects file) when it is not a preference record, its chosen and rejected tokenize to the same ids,
 * a completion tokenizes to nothing, prompt + completion is longer than the length limit, a token id is
 * outside the model's embedding table, or a {@code ref_*_logps} column is present but not a finite number
 * or present without its partner.
 */
public final class DpoData {
    /** TRL's column names for precomputed reference log-prob sums (DESIGN.md, {@code score}'s output). */
    public static final String REF_CHOSEN = "ref_chosen_logps";
    public static final String REF_REJECTED = "ref_rejected_logps";

    /**
     * One training pair.
     *
     * @param prompt   (P,) token ids, BOS included when the model adds one
     * @param chosen   (L_c,) token ids of the chosen completion
     * @param rejected (L_r,) token ids of the rejected completion
     */
    public record Pair(String location, int[] prompt, int[] chosen, int[] rejected) {
        /** prompt + chosen, scored from the first completion token. */
        public Sequence chosenSequence() {
            return new Sequence(TrainingRecords.concat(prompt, chosen), prompt.length);
        }

        public Sequence rejectedSequence() {
            return new Sequence(TrainingRecords.concat(prompt, rejected), prompt.length);
        }

        /** Tokens of both sequences. */
        public int tokens() {
            return 2 * prompt.length + chosen.length + rejected.length;
        }
    }

    private final Path file;
    private final List<Pair> pairs;
    private final double[] refChosen; // (N,) NaN where the record has no column
    private final double[] refRejected; // (N,)
    private final long skipped;

    private DpoData(Path file, List<Pair> pairs, double[] refChosen, double[] refRejected, long skipped) {
        this.file = file;
        this.pairs = List.copyOf(pairs);
        this.refChosen = refChosen;
        this.refRejected = refRejected;
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
    public static DpoData read(Path file, Vocab vocab, ChatRenderer renderer, int maxLen, int vocabSize,
                               ErrorPolicy onError, RejectsWriter rejects) {
        List<Pair> pairs = new ArrayList<>();
        List<double[]> refs = new ArrayList<>();
        long skipped = TrainingRecords.readPreferences(file, "dpo", vocab, renderer, maxLen, vocabSize, onError, rejects, (record, t) -> {
            Pair pair = new Pair(record.location(), t.prompt(), t.completions()[0], t.completions()[1]);
            refs.add(referenceColumns(record));
            pairs.add(pair);
        });
        double[] refChosen = refs.stream().mapToDouble(r -> r[0]).toArray();
        double[] refRejected = refs.stream().mapToDouble(r -> r[1]).toArray();
        return new DpoData(file, pairs, refChosen, refRejected, skipped);
    }

    // {ref chosen, ref rejected}, NaN for both when the record has neither column.
    private static double[] referenceColumns(TrlRecord record) {
        JsonNode c = record.node().get(REF_CHOSEN);
        JsonNode r = record.node().get(REF_REJECTED);
        if (c == null && r == null) {
            return new double[] {Double.NaN, Double.NaN};
        }
        if (c == null || r == null) {
            throw new BadRecordException(record.file(), record.lineNumber(), "has \"" + (c == null ? REF_REJECTED : REF_CHOSEN)
                    + "\" but no \"" + (c == null ? REF_CHOSEN : REF_REJECTED) + "\"");
        }
        return new double[] {logProb(record, REF_CHOSEN, c), logProb(record, REF_REJECTED, r)};
    }

    private static double logProb(TrlRecord record, String field, JsonNode v) {
        double x = v.isNumber() ? v.asDouble() : Double.NaN;
        if (!Double.isFinite(x) || x > 0) {
            throw new BadRecordException(record.file(), record.lineNumber(), "field \"" + field
                    + "\" must be a log-prob sum: a finite number <= 0, not " + v);
        }
        return x;
    }

    public Path file() {
        return file;
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

    /** Whether every pair carries both {@code ref_*_logps} columns. */
    public boolean allHaveReferenceColumns() {
        return size() > 0 && Arrays.stream(refChosen).noneMatch(Double::isNaN);
    }

    /** Pairs with the columns (the others have none). */
    public long withReferenceColumns() {
        return Arrays.stream(refChosen).filter(x -> !Double.isNaN(x)).count();
    }

    /** The columns' values, (2, N): reference chosen, reference rejected; NaN where a pair has none. */
    public double[][] referenceColumns() {
        return new double[][] {refChosen.clone(), refRejected.clone()};
    }

    /** The longest prompt + completion over all pairs, in tokens. */
    public int longestSequence() {
        int longest = 0;
        for (Pair p : pairs) {
            longest = Math.max(longest, p.prompt().length + Math.max(p.chosen().length, p.rejected().length));
        }
        return longest;
    }

    /**
     * Reference log-prob sums of every pair's chosen and rejected completion under {@code model}, computed
     * by llama.cpp with the same scorer as {@code align4j score} (so the same values as its
     * {@code ref_*_logps} columns), (2, N).
     */
    public double[][] scoreWith(Path model, int threads, int gpuLayers) {
        double[][] out = new double[2][size()];
        ScorerOptions options = new ScorerOptions(Math.max(2, longestSequence()), 512, 16, threads, true);
        try (Model m = Model.load(model, new ModelOptions(gpuLayers, true, false));
             PrefixSharingScorer scorer = new PrefixSharingScorer(m, options)) {
            for (int i = 0; i < size(); i++) {
                Pair p = pairs.get(i);
                int at = i;
                scorer.submit(new ScoreRequest(p.location(), p.prompt(), new int[][] {p.chosen(), p.rejected()}), r -> {
                    out[0][at] = r.sum(0);
                    out[1][at] = r.sum(1);
                });
            }
            scorer.finish();
        }
        return out;
    }

    /**
     * SHA-256 of every pair's token ids in order: a resumed run checks that it trains on the same pairs,
     * tokenized the same way, as the run it continues.
     */
    public String fingerprint() {
        return TrainingRecords.fingerprint(pairs.stream().flatMap(p -> Stream.of(p.prompt(), p.chosen(), p.rejected())));
    }
}
