package org.align4j.train;

import java.util.Locale;

/**
 * Where a trainer's time went, cumulative since it was made: the wall time of its passes (forward,
 * backward, score) and, within them, of
 * <ul>
 *   <li>the blocks' weight matmuls: every {@link Gemm} product with a projection (q, k, v, o, gate,
 *       up, down) or its gradient, timed around each group of calls at the caller;</li>
 *   <li>the output layer: logits, log-sum-exp and their gradient, a block of the vocabulary at a
 *       time. Its tasks interleave matmuls with exp sums, so its matmul part is an estimate: its wall
 *       time times the fraction of its tasks' thread time that was in {@link Gemm};</li>
 *   <li>attention, forward and backward (its small per-head products included: they are not weight
 *       matmuls);</li>
 * </ul>
 * and, added by the job that drives the trainer, the optimizer (clipping, AdamW, zeroing the
 * gradients). The rest of a pass (norms, RoPE, SwiGLU, the weights' transposes, embedding rows) is
 * the pass time minus these. Timers sit around whole operations, never inside kernels: the cost is a
 * few {@code nanoTime} calls per operation and per vocabulary block.
 */
public final class TrainerTimings {
    private long passNanos;
    private long blockMatmulNanos;
    private long outputNanos;
    private double outputMatmulNanos;
    private long attentionNanos;
    private long optimizerNanos;

    void addPass(long nanos) {
        passNanos += nanos;
    }

    /** Runs {@code products}, a group of the blocks' weight matmuls, counting its wall time. */
    void blockMatmul(Runnable products) {
        long t0 = System.nanoTime();
        products.run();
        blockMatmulNanos += System.nanoTime() - t0;
    }

    /** Runs {@code op}, attention forward or backward, counting its wall time. */
    void attention(Runnable op) {
        long t0 = System.nanoTime();
        op.run();
        attentionNanos += System.nanoTime() - t0;
    }

    /** Adds an output-layer operation of {@code wallNanos}, of which {@code matmulNanos} (estimated, {@link TaskClock}) were matmuls. */
    void addOutput(long wallNanos, double matmulNanos) {
        outputNanos += wallNanos;
        outputMatmulNanos += matmulNanos;
    }

    public void addOptimizer(long nanos) {
        optimizerNanos += nanos;
    }

    /**
     * The thread time of each task of one parallel operation and the part of it in matmuls; each task
     * writes only its own slot. Their ratio apportions the operation's wall time.
     */
    static final class TaskClock {
        private final long[] busy; // (tasks,)
        private final long[] inGemm; // (tasks,)

        TaskClock(int tasks) {
            busy = new long[tasks];
            inGemm = new long[tasks];
        }

        void set(int task, long busyNanos, long gemmNanos) {
            busy[task] = busyNanos;
            inGemm[task] = gemmNanos;
        }

        /** The part of the operation's {@code wallNanos} in matmuls, in the ratio of its tasks' thread times. */
        double matmulPart(long wallNanos) {
            long all = 0;
            long gemm = 0;
            for (int t = 0; t < busy.length; t++) {
                all += busy[t];
                gemm += inGemm[t];
            }
            return all > 0 ? (double) wallNanos * gemm / all : 0;
        }
    }

    public double passSeconds() {
        return passNanos / 1e9;
    }

    /** The blocks' weight matmuls plus the output layer's estimated matmul part. */
    public double matmulSeconds() {
        return (blockMatmulNanos + outputMatmulNanos) / 1e9;
    }

    public double blockMatmulSeconds() {
        return blockMatmulNanos / 1e9;
    }

    public double outputMatmulSeconds() {
        return outputMatmulNanos / 1e9;
    }

    /** The output layer's work besides its matmuls: log-sum-exp, the softmax gradient, partial sums, transposes. */
    public double outputOtherSeconds() {
        return (outputNanos - outputMatmulNanos) / 1e9;
    }

    public double attentionSeconds() {
        return attentionNanos / 1e9;
    }

    /** Norms, RoPE, SwiGLU, transposes, embedding rows: pass time outside the timed operations. */
    public double otherPassSeconds() {
        return Math.max(0, passNanos - blockMatmulNanos - outputNanos - attentionNanos) / 1e9;
    }

    public double optimizerSeconds() {
        return optimizerNanos / 1e9;
    }

    /**
     * {@code matmul 71.2% (blocks 60.1%, output layer 11.1%), attention 8.0%, output log-sum-exp 3.2%,
     * norms/RoPE/SwiGLU/transposes 5.0%, optimizer 4.0%, other 8.5%}: shares of {@code wallSeconds}, the
     * job's training time ("other" is what it spent outside passes and optimizer: losses, batching,
     * metrics).
     */
    public String describe(double wallSeconds) {
        double other = Math.max(0, wallSeconds - passSeconds() - optimizerSeconds());
        return String.format(Locale.ROOT,
                "matmul %.1f%% (blocks %.1f%%, output layer %.1f%%), attention %.1f%%, output log-sum-exp %.1f%%, "
                        + "norms/RoPE/SwiGLU/transposes %.1f%%, optimizer %.1f%%, other %.1f%%",
                pct(matmulSeconds(), wallSeconds), pct(blockMatmulSeconds(), wallSeconds),
                pct(outputMatmulSeconds(), wallSeconds), pct(attentionSeconds(), wallSeconds),
                pct(outputOtherSeconds(), wallSeconds), pct(otherPassSeconds(), wallSeconds),
                pct(optimizerSeconds(), wallSeconds), pct(other, wallSeconds));
    }

    private static double pct(double part, double whole) {
        return whole > 0 ? 100 * part / whole : 0;
    }
}
