package org.align4j.train;

import java.util.List;

/**
 * Forward and backward passes of a Llama-family model (llama, qwen2, qwen3) in f32 on the CPU, for
 * training on losses of sequence log-prob sums ({@link SequenceLoss}: NLL, DPO and its variants).
 *
 * <p>{@link #forward} scores a batch and keeps its activations; {@link #backward} takes d(loss)/d(sum)
 * for each sequence and adds the gradients of every parameter into {@link #grads()}, which keep
 * accumulating (over micro-batches) until {@link #zeroGrads()}. An optimizer updates
 * {@link #params()}' arrays in place between steps: {@code grads().tensors().get(i)} is the gradient
 * of {@code params().tensors().get(i)} (same name, dims and order). Matmuls use the Vector API on
 * {@code threads} threads; results are bit-identical for any number of threads and any packing of the
 * batch. Not thread-safe: one caller drives a trainer. {@link #timings()} says where its time went.
 *
 * <p>Memory: a forward kept for backward holds about R * (4C + 2Q + 2K + 3F) floats per layer for R tokens
 * in the batch (dimension letters in {@link org.align4j.train}); logits are never held for more than
 * a block of the vocabulary at a time.
 */
public final class LlamaTrainer implements AutoCloseable {
    /** The most threads a trainer runs on (llama.cpp's limit too). */
    public static final int MAX_THREADS = Parallel.MAX_THREADS;

    private final LlamaParams params;
    private final LlamaParams grads;
    private final Parallel par;
    private final TrainerTimings timings = new TrainerTimings();
    private LlamaPass pending;

    /** Result of {@link #forwardBackward}: the loss and the log-probs it was computed from. */
    public record Step(double loss, LogProbs logProbs) {}

    /**
     * Trains {@code params} in place, on {@code threads} threads (1: the caller's thread only).
     *
     * @throws IllegalArgumentException unless 1 <= threads <= {@link #MAX_THREADS}, before anything is allocated
     */
    public LlamaTrainer(LlamaParams params, int threads) {
        Parallel.checkThreads(threads);
        this.params = params;
        this.grads = params.zerosLike();
        this.par = Parallel.ofThreads(threads);
    }

    public LlamaParams params() {
        return params;
    }

    /** d(loss)/d(parameter) summed over every backward since the last {@link #zeroGrads()}; same names and shapes as params. */
    public LlamaParams grads() {
        return grads;
    }

    public int threads() {
        return par.threads();
    }

    /** Wall time of this trainer's passes since it was made, and of the matmuls, attention and output layer in them. */
    public TrainerTimings timings() {
        return timings;
    }

    public void zeroGrads() {
        grads.zero();
    }

    /** Log-probs of the batch, keeping activations for one {@link #backward}; a pending forward is dropped. */
    public LogProbs forward(List<Sequence> batch) {
        long t0 = System.nanoTime();
        LlamaPass pass = new LlamaPass(params.weights(), par, timings, batch, true);
        pending = null;
        LogProbs out = pass.forward();
        pending = pass;
        timings.addPass(System.nanoTime() - t0);
        return out;
    }

    /**
     * Adds into {@link #grads()} the gradient of a loss whose derivative by the log-prob sum of the last
     * forward's sequence s is {@code dLossDSum[s]} (S,). Once per forward.
     */
    public void backward(double[] dLossDSum) {
        if (pending == null) {
            throw new IllegalStateException("backward needs a forward first, and runs once per forward");
        }
        LlamaPass pass = pending;
        pending = null;
        long t0 = System.nanoTime();
        pass.backward(dLossDSum, grads.weights());
        timings.addPass(System.nanoTime() - t0);
    }

    /** Forward, the loss of its sums, backward: {@code loss} supplies d(loss)/d(sum). */
    public Step forwardBackward(List<Sequence> batch, SequenceLoss loss) {
        LogProbs lp = forward(batch);
        double[] dLossDSum = new double[lp.sums().length];
        double value = loss.lossAndGradient(lp.sums().clone(), dLossDSum);
        backward(dLossDSum);
        return new Step(value, lp);
    }

    /** Log-probs only: no activations kept, gradients untouched (a reference model, evaluation). */
    public LogProbs score(List<Sequence> batch) {
        long t0 = System.nanoTime();
        LogProbs out = new LlamaPass(params.weights(), par, timings, batch, false).forward();
        timings.addPass(System.nanoTime() - t0);
        return out;
    }

    @Override
    public void close() {
        pending = null;
        par.close();
    }
}
