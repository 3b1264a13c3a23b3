package org.align4j.job;

/**
 * The input cut into segments of {@code lines} lines (by physical line number), so that a resumed run
 * computes what the uninterrupted one did, to the bit. llama.cpp's CPU arithmetic for a token depends on
 * what shares its decode and on which KV cells it lands in (README, "Resume and batch shape"), so a job
 * whose engines batch records continuously restarts them at every segment boundary ({@link InputOrder}),
 * and a resumed run goes back to the start of the segment it stopped in and computes that segment's
 * finished lines again without writing them ({@link RecordLoop}).
 *
 * @param lines lines per segment; 0: none (no restarts, no replay)
 */
public record InputSegments(int lines) {
    /** No segments: engines are never restarted for resume, and a resumed run replays nothing. */
    public static final InputSegments NONE = new InputSegments(0);

    /**
     * Engine fills per segment. Each restart lets the pipeline run dry once (at most one longest
     * completion's worth of steps at part occupancy, about 1% more decodes with 32 fills), and a resume
     * replays up to one segment: this trades one against the other.
     */
    static final int FILLS = 32;

    public InputSegments {
        if (lines < 0) {
            throw new IllegalArgumentException("segment lines must not be negative, not " + lines);
        }
    }

    /** For a sampler of {@code seqs} sequences drawing {@code n} completions a record: {@value #FILLS} fills of it. */
    public static InputSegments forSampler(int seqs, int n) {
        return new InputSegments((int) Math.min(Integer.MAX_VALUE, ((long) FILLS * seqs + n - 1) / n));
    }

    /** For scorers of {@code seqs} sequences, counting two completions a record (a preference pair). */
    public static InputSegments forScorer(int seqs) {
        return forSampler(seqs, 2);
    }

    /** Whether the input is cut at all. */
    public boolean cuts() {
        return lines > 0;
    }

    /** The 0-based segment of 1-based line {@code lineNumber}; all lines are in segment 0 without segments. */
    public long of(long lineNumber) {
        return lines == 0 ? 0 : (lineNumber - 1) / lines;
    }
}
