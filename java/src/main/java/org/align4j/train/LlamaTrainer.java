package org.align4j.train;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/**
 * Forward and backward passes of a Llama-family model (llama, qwen2, qwen3) in f32 on the CPU, for
 * training on losses of sequence log-prob sums ({@link SequenceLoss}: NLL, DPO and its variants), and
 * of a reward model's scalar head on the last token's final hidden state ({@link #withHead}).
 *
 * <p>What it trains is either every parameter of a {@link LlamaParams} (full fine-tuning) or the A and B
 * of a {@link LoraParams} adapter over a frozen base; {@link #trainable()} is the same list for an
 * optimizer either way. {@link #forward} scores a batch and keeps its activations; {@link #backward}
 * takes d(loss)/d(sum) for each sequence and adds the gradients of every trained tensor into their
 * buffers, which keep accumulating (over micro-batches) until {@link #zeroGrads()}. An optimizer
 * updates the trained arrays in place between steps. Matmuls use the Vector API on
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

    private final LlamaParams params; // null when training an adapter
    private final LlamaParams grads;
    private final LlamaWeights weights; // the forward pass's view of what is trained
    private final LlamaWeights gradWeights; // the same view of the gradient buffers
    private final Runnable zeroGrads;
    private List<AdamW.Param> trainable;
    private ScalarHead head; // a reward model's head, trained with the rest; null for none
    private final Parallel par;
    private final float dropout; // an adapter's LoRA dropout; 0 for none and for full fine-tuning
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
        this.weights = params.weights();
        this.gradWeights = grads.weights();
        this.zeroGrads = grads::zero;
        List<AdamW.Param> p = new ArrayList<>();
        for (LlamaParams.Tensor t : params.tensors()) {
            // Hugging Face's Trainer decays every weight but biases and normalisation weights (here the 1-D tensors).
            p.add(new AdamW.Param(t.name(), t.data(), grads.tensor(t.name()).data(), t.dims().length > 1));
        }
        this.trainable = List.copyOf(p);
        this.par = Parallel.ofThreads(threads);
        this.dropout = 0;
    }

    /**
     * Trains only {@code adapter}'s A and B (in place), its base frozen, on {@code threads} threads.
     *
     * @throws IllegalArgumentException unless 1 <= threads <= {@link #MAX_THREADS}, before anything is allocated
     */
    public LlamaTrainer(LoraParams adapter, int threads) {
        Parallel.checkThreads(threads);
        LoraParams adapterGrads = adapter.zerosLike();
        this.params = null;
        this.grads = null;
        this.weights = adapter.weights();
        this.gradWeights = adapterGrads.weights();
        this.zeroGrads = adapterGrads::zero;
        this.trainable = List.copyOf(adapter.adamParams(adapterGrads));
        this.par = Parallel.ofThreads(threads);
        this.dropout = adapter.dropout();
    }

    /** The parameters of a full fine-tuning trainer. */
    public LlamaParams params() {
        if (params == null) {
            throw new IllegalStateException("this trainer trains an adapter; its tensors are trainable()");
        }
        return params;
    }

    /**
     * d(loss)/d(parameter) of a full fine-tuning trainer, summed over every backward since the last
     * {@link #zeroGrads()}; same names and shapes as params.
     */
    public LlamaParams grads() {
        if (grads == null) {
            throw new IllegalStateException("this trainer trains an adapter; its gradients are in trainable()");
        }
        return grads;
    }

    /** The trained tensors with their gradient buffers, in a fixed order: what an optimizer updates. */
    public List<AdamW.Param> trainable() {
        return trainable;
    }

    /**
     * Trains a reward model's {@code head} too: its w and b join {@link #trainable()} (so call this before
     * an optimizer is made over it), {@link #zeroGrads()} clears them, and {@link #rewards()} and
     * {@link #backward(double[], double[])} read it. Once per trainer.
     */
    public LlamaTrainer withHead(ScalarHead head) {
        if (this.head != null) {
            throw new IllegalStateException("this trainer has a head");
        }
        if (head.hiddenSize() != weights.shape().embd()) {
            throw new IllegalArgumentException("a head of width " + head.hiddenSize() + " for a model of width " + weights.shape().embd());
        }
        List<AdamW.Param> p = new ArrayList<>(trainable);
        p.addAll(head.adamParams());
        this.trainable = List.copyOf(p);
        this.head = head;
        return this;
    }

    public int threads() {
        return par.threads();
    }

    /** Wall time of this trainer's passes since it was made, and of the matmuls, attention and output layer in them. */
    public TrainerTimings timings() {
        return timings;
    }

    public void zeroGrads() {
        zeroGrads.run();
        if (head != null) {
            head.zeroGrads();
        }
    }

    /**
     * Log-probs of the batch, keeping activations for one {@link #backward}; a pending forward is dropped.
     * Only for a trainer without dropout: an adapter with LoRA dropout needs {@link #forward(List, long)}.
     */
    public LogProbs forward(List<Sequence> batch) {
        if (dropout > 0) {
            throw new IllegalStateException("this adapter trains with LoRA dropout " + dropout
                    + ": each forward needs its key, LoraDropout.passKey(seed, step, micro-batch)");
        }
        return forward(batch, OptionalLong.empty());
    }

    /**
     * As {@link #forward(List)}, a training pass whose LoRA dropout masks are drawn from {@code dropoutKey}
     * ({@link LoraDropout#passKey} of the run's seed, the optimizer step and the micro-batch), backward using
     * the same masks. Without dropout the key changes nothing.
     */
    public LogProbs forward(List<Sequence> batch, long dropoutKey) {
        return forward(batch, OptionalLong.of(dropoutKey));
    }

    private LogProbs forward(List<Sequence> batch, OptionalLong dropoutKey) {
        long t0 = System.nanoTime();
        LlamaPass pass = new LlamaPass(weights, par, timings, batch, true, dropoutKey);
        pending = null;
        LogProbs out = pass.forward();
        pending = pass;
        timings.addPass(System.nanoTime() - t0);
        return out;
    }

    /**
     * Adds into the gradient buffers the gradient of a loss whose derivative by the log-prob sum of the last
     * forward's sequence s is {@code dLossDSum[s]} (S,). Once per forward.
     */
    public void backward(double[] dLossDSum) {
        backward(dLossDSum, null);
    }

    /** The head's reward of each sequence of the pending forward, (S,), read at its last token. */
    public double[] rewards() {
        if (pending == null || head == null) {
            throw new IllegalStateException(head == null ? "this trainer has no head" : "rewards need a forward first");
        }
        return head.rewards(pending.lastHidden());
    }

    /**
     * As {@link #backward(double[])}, for a loss that also reads the head's {@link #rewards()}:
     * {@code dLossDReward} (S,) is d(loss)/d(reward of sequence s), null when the loss does not read them.
     */
    public void backward(double[] dLossDSum, double[] dLossDReward) {
        if (pending == null) {
            throw new IllegalStateException("backward needs a forward first, and runs once per forward");
        }
        if (dLossDReward != null && head == null) {
            throw new IllegalStateException("this trainer has no head");
        }
        LlamaPass pass = pending;
        pending = null;
        long t0 = System.nanoTime();
        float[] dLastHidden = dLossDReward != null ? head.backward(pass.lastHidden(), dLossDReward) : null;
        pass.backward(dLossDSum, dLastHidden, gradWeights);
        timings.addPass(System.nanoTime() - t0);
    }

    /** Forward, the loss of its sums, backward: {@code loss} supplies d(loss)/d(sum). Without dropout only, as {@link #forward(List)}. */
    public Step forwardBackward(List<Sequence> batch, SequenceLoss loss) {
        return backward(forward(batch), loss);
    }

    /** As {@link #forwardBackward(List, SequenceLoss)}, with LoRA dropout masks from {@code dropoutKey} as {@link #forward(List, long)}. */
    public Step forwardBackward(List<Sequence> batch, SequenceLoss loss, long dropoutKey) {
        return backward(forward(batch, dropoutKey), loss);
    }

    private Step backward(LogProbs lp, SequenceLoss loss) {
        double[] dLossDSum = new double[lp.sums().length];
        double value = loss.lossAndGradient(lp.sums().clone(), dLossDSum);
        backward(dLossDSum);
        return new Step(value, lp);
    }

    /** Log-probs only: no activations kept, gradients untouched (a reference model, evaluation). */
    public LogProbs score(List<Sequence> batch) {
        long t0 = System.nanoTime();
        LogProbs out = new LlamaPass(weights, par, timings, batch, false).forward();
        timings.addPass(System.nanoTime() - t0);
        return out;
    }

    /**
     * The final hidden state (after the output norm) at each sequence's last token, (S, C), with no
     * activations kept: what a reward head reads. Score nothing ({@link Sequence#from()} = T) to skip the
     * output layer.
     */
    public float[] lastHidden(List<Sequence> batch) {
        long t0 = System.nanoTime();
        LlamaPass pass = new LlamaPass(weights, par, timings, batch, false);
        pass.forward();
        timings.addPass(System.nanoTime() - t0);
        return pass.lastHidden();
    }

    @Override
    public void close() {
        pending = null;
        par.close();
    }
}
