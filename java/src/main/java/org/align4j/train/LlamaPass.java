package org.align4j.train;

import static org.align4j.train.Gemm.F;
import static org.align4j.train.Gemm.L;

import java.util.Arrays;
import java.util.List;
import java.util.OptionalLong;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import org.align4j.gguf.LlamaShape;
import org.align4j.gguf.LlamaTensor;

/**
 * The Llama-family forward pass, computed the way llama.cpp's graphs compute it (src/models/llama.cpp,
 * qwen2.cpp, qwen3.cpp): per block, with n = rmsNorm(x), q = wq . n + bq, k = wk . n + bk and
 * v = wv . n + bv, x += wo . attention(rope(qNorm(q)), rope(kNorm(k)), v) + bo, then with
 * n = rmsNorm(x), x += wDown . (silu(wGate . n + bGate) * (wUp . n + bUp)) + bDown; then logits =
 * output . rmsNorm(x) + outputBias. A bias or per-head norm the file lacks is left out, as llama.cpp
 * does; the architecture decides only how RoPE pairs values ({@link LlamaOps.RopeTable}). And its
 * backward pass.
 *
 * <p>One pass covers a batch of sequences packed back to back: R rows in all, one per token, each
 * sequence at positions 0..T_s-1 with causal attention inside it only. Matmuls and norms run over all R
 * rows at once, so each weight is read once per pass. Logits are computed only at the N scored rows
 * (row r scores the token at r + 1), a block of the vocabulary at a time, never all at once: forward
 * keeps each scored row's log-sum-exp and backward recomputes the block's logits from it.
 *
 * <p>A pass made to {@code keep} activations holds what backward needs, about R * (4C + 2Q + 2K + 3F)
 * floats per layer (Q + K more with q/k norms), until {@link #backward} has run once. Weight matmuls,
 * attention and the output layer add their wall time to {@code timings}.
 *
 * <p>Every weight matrix is read through {@link WeightMatrix}: trainable f32 arrays or frozen views of
 * the file in its own type, decoded a tile at a time (the output layer a VOCAB_CHUNK of rows at a
 * time, the embedding a row at a time). Backward adds a matrix's gradient only where {@code grads}
 * holds one for it: an array, or a {@link LoraMatrix} of A and B gradients for a LoRA matrix (whose
 * base gets none); the gradient flowing back to the activations passes every matrix. A pass given a
 * dropout key (a training pass) applies each LoRA matrix's dropout with its own mask from that key
 * ({@link LoraMatrix#masked}), in forward and backward alike; other passes apply none.
 */
final class LlamaPass {
    private static final int VOCAB_CHUNK = 128; // output-weight rows per logits block
    // The output layer's backward sums its input gradient over the vocabulary in this many partial
    // sums, added in a fixed order: results do not depend on the number of threads (up to this many).
    private static final int STRIPES = 32;
    private static final int ROW_CHUNK = 128; // scored rows per sweep over the output weight

    private final LlamaWeights w;
    private final LlamaShape shape;
    private final Parallel par;
    private final TrainerTimings timings;
    private final boolean keep;
    private final int c;
    private final int qw; // Q
    private final int kv; // K
    private final int d; // D
    private final int f;
    private final int heads;
    private final int kvHeads;
    private final int vocab;
    private final int rows; // R
    private final int[] tokens; // (R,)
    private final int[] start; // (S + 1,): sequence s is rows start[s]..start[s+1]-1
    private final int[] pos; // (R,) position of each row in its sequence
    private final int[] scoredRow; // (N,) rows whose logits score the token that follows
    private final int[] scoredSeq; // (N,) the sequence of each
    private final LlamaOps.RopeTable rope;
    private final OptionalLong dropoutKey; // LoraDropout.passKey of a training pass with LoRA dropout

    // Kept by forward for backward.
    private Activations[] saved; // per layer
    private float[] xFinal; // (R, C) residual stream before the final norm
    private double[] scaleFinal; // (R,)
    private float[] normed; // (R, C) final-norm output
    private float[] hidden; // (N, C) normed at the scored rows
    private float[] lastHidden; // (S, C) normed at each sequence's last row
    private float[] lse; // (N,) log-sum-exp of each scored row's logits
    private boolean forwardDone;

    // One block's saved activations, (R, ...) each.
    private static final class Activations {
        float[] xIn; // (R, C) residual stream entering the block
        double[] scale1; // (R,)
        float[] n1; // (R, C)
        float[] qIn; // (R, H, D) before the q norm; null without one
        double[] qScale; // (R, H) the q norm's scales
        float[] kIn; // (R, G, D) before the k norm; null without one
        double[] kScale; // (R, G)
        float[] q; // (R, H, D) after RoPE
        float[] k; // (R, G, D) after RoPE
        float[] v; // (R, G, D)
        double[] attLse; // (R, H)
        float[] att; // (R, H, D)
        float[] xMid; // (R, C) residual stream after attention
        double[] scale2; // (R,)
        float[] n2; // (R, C)
        float[] gate; // (R, F)
        float[] up; // (R, F)
        float[] act; // (R, F) silu(gate) * up
    }

    /** A pass without dropout. */
    LlamaPass(LlamaWeights w, Parallel par, TrainerTimings timings, List<Sequence> batch, boolean keep) {
        this(w, par, timings, batch, keep, OptionalLong.empty());
    }

    /** @param dropoutKey a training pass's {@link LoraDropout#passKey}, from which LoRA matrices with dropout draw their masks; empty: no dropout */
    LlamaPass(LlamaWeights w, Parallel par, TrainerTimings timings, List<Sequence> batch, boolean keep, OptionalLong dropoutKey) {
        if (batch.isEmpty()) {
            throw new IllegalArgumentException("empty batch");
        }
        this.w = w;
        this.shape = w.shape();
        this.par = par;
        this.timings = timings;
        this.keep = keep;
        this.dropoutKey = dropoutKey;
        this.c = shape.embd();
        this.qw = shape.queryWidth();
        this.kv = shape.kvWidth();
        this.d = shape.headDim();
        this.f = shape.ffn();
        this.heads = shape.heads();
        this.kvHeads = shape.kvHeads();
        this.vocab = w.vocabSize();
        this.start = new int[batch.size() + 1];
        int n = 0;
        int longest = 0;
        for (int s = 0; s < batch.size(); s++) {
            Sequence seq = batch.get(s);
            start[s + 1] = Math.addExact(start[s], seq.tokens().length);
            n += seq.scored();
            longest = Math.max(longest, seq.tokens().length);
        }
        this.rows = start[batch.size()];
        this.tokens = new int[rows];
        this.pos = new int[rows];
        this.scoredRow = new int[n];
        this.scoredSeq = new int[n];
        int next = 0;
        for (int s = 0; s < batch.size(); s++) {
            Sequence seq = batch.get(s);
            int[] t = seq.tokens();
            for (int i = 0; i < t.length; i++) {
                if (t[i] < 0 || t[i] >= vocab) {
                    throw new IllegalArgumentException("sequence " + s + ": token " + t[i] + " at " + i
                            + " is outside the vocabulary of " + vocab);
                }
                tokens[start[s] + i] = t[i];
                pos[start[s] + i] = i;
            }
            for (int i = seq.from(); i < t.length; i++) {
                scoredRow[next] = start[s] + i - 1;
                scoredSeq[next++] = s;
            }
        }
        this.rope = LlamaOps.RopeTable.of(longest, d, shape.ropeTheta(), shape.ropeLinearFactor(), w.ropeFreqs(),
                shape.architecture().rope());
    }

    /** Runs the forward pass once: the batch's log-probs. */
    LogProbs forward() {
        if (forwardDone) {
            throw new IllegalStateException("forward has run");
        }
        forwardDone = true;
        if (keep) {
            saved = new Activations[shape.layers()];
        }
        float eps = shape.rmsEps();
        float[] x = embed(); // (R, C), the residual stream
        for (int l = 0; l < shape.layers(); l++) {
            LlamaWeights.Layer lw = w.layers().get(l);
            Activations a = new Activations();
            a.xIn = keep ? x.clone() : null;
            a.scale1 = new double[rows];
            a.n1 = new float[rows * c];
            LlamaOps.rmsNorm(par, x, lw.attnNorm(), rows, c, eps, a.n1, a.scale1);
            a.q = linear(a.n1, matrix(l, LlamaTensor.ATTN_Q), lw.bq());
            a.k = linear(a.n1, matrix(l, LlamaTensor.ATTN_K), lw.bk());
            a.v = linear(a.n1, matrix(l, LlamaTensor.ATTN_V), lw.bv());
            if (lw.qNorm() != null) {
                a.qIn = a.q;
                a.qScale = new double[rows * heads];
                a.q = headNorm(a.qIn, lw.qNorm(), heads, a.qScale);
            }
            if (lw.kNorm() != null) {
                a.kIn = a.k;
                a.kScale = new double[rows * kvHeads];
                a.k = headNorm(a.kIn, lw.kNorm(), kvHeads, a.kScale);
            }
            LlamaOps.rope(par, a.q, pos, rows, heads, rope, false);
            LlamaOps.rope(par, a.k, pos, rows, kvHeads, rope, false);
            a.att = new float[rows * qw];
            a.attLse = new double[rows * heads];
            timings.attention(() -> LlamaOps.attention(par, a.q, a.k, a.v, start, heads, kvHeads, d, a.att, a.attLse));
            addLinear(x, a.att, matrix(l, LlamaTensor.ATTN_OUTPUT), lw.bo());

            a.xMid = keep ? x.clone() : null;
            a.scale2 = new double[rows];
            a.n2 = new float[rows * c];
            LlamaOps.rmsNorm(par, x, lw.ffnNorm(), rows, c, eps, a.n2, a.scale2);
            a.gate = linear(a.n2, matrix(l, LlamaTensor.FFN_GATE), lw.bGate());
            a.up = linear(a.n2, matrix(l, LlamaTensor.FFN_UP), lw.bUp());
            a.act = new float[rows * f];
            LlamaOps.swiglu(par, a.gate, a.up, rows, f, a.act);
            addLinear(x, a.act, matrix(l, LlamaTensor.FFN_DOWN), lw.bDown());
            if (keep) {
                saved[l] = a;
            }
        }
        scaleFinal = new double[rows];
        normed = new float[rows * c];
        LlamaOps.rmsNorm(par, x, w.outputNorm(), rows, c, eps, normed, scaleFinal);
        xFinal = keep ? x : null;
        hidden = new float[scoredRow.length * c];
        for (int r = 0; r < scoredRow.length; r++) {
            System.arraycopy(normed, scoredRow[r] * c, hidden, r * c, c);
        }
        int seqs = start.length - 1;
        lastHidden = new float[seqs * c];
        for (int s = 0; s < seqs; s++) {
            System.arraycopy(normed, (start[s + 1] - 1) * c, lastHidden, s * c, c);
        }
        return logProbs(outputForward());
    }

    /** The final norm's output at every row, (R, C); after {@link #forward}. */
    float[] normed() {
        return normed;
    }

    /** The final norm's output at each sequence's last token, (S, C): what a reward head reads; after {@link #forward}. */
    float[] lastHidden() {
        return lastHidden;
    }

    /**
     * Backward of the loss whose derivative by sequence s's log-prob sum is {@code dLossDSum[s]}:
     * adds every parameter's gradient into {@code grads} (the same structure as the weights). Once,
     * after a {@code keep} forward; the saved activations are released as it goes.
     */
    void backward(double[] dLossDSum, LlamaWeights grads) {
        backward(dLossDSum, null, grads);
    }

    /**
     * As {@link #backward(double[], LlamaWeights)}, for a loss that also reads {@link #lastHidden()}:
     * {@code dLossDLastHidden} (S, C) is d loss / d that output (null: the loss does not read it).
     */
    void backward(double[] dLossDSum, float[] dLossDLastHidden, LlamaWeights grads) {
        if (!keep || saved == null) {
            throw new IllegalStateException(keep ? "backward needs a forward first, and runs once" : "this pass kept no activations");
        }
        if (dLossDSum.length != start.length - 1) {
            throw new IllegalArgumentException(dLossDSum.length + " gradients for " + (start.length - 1) + " sequences");
        }
        if (dLossDLastHidden != null && dLossDLastHidden.length != lastHidden.length) {
            throw new IllegalArgumentException(dLossDLastHidden.length + " last-hidden gradients for " + lastHidden.length + " values");
        }
        float[] rowWeight = new float[scoredRow.length]; // (N,) d loss / d logp of each scored token
        for (int r = 0; r < rowWeight.length; r++) {
            rowWeight[r] = (float) dLossDSum[scoredSeq[r]];
        }
        float[] dHidden = outputBackward(rowWeight, grads.output(), grads.outputBias()); // (N, C)
        float[] dNormed = new float[rows * c];
        for (int r = 0; r < scoredRow.length; r++) {
            System.arraycopy(dHidden, r * c, dNormed, scoredRow[r] * c, c);
        }
        for (int s = 0; dLossDLastHidden != null && s < start.length - 1; s++) {
            int at = (start[s + 1] - 1) * c;
            for (int e = 0; e < c; e++) {
                dNormed[at + e] += dLossDLastHidden[s * c + e];
            }
        }
        float[] dx = new float[rows * c]; // (R, C) d loss / d residual stream
        LlamaOps.rmsNormBackward(par, dNormed, xFinal, scaleFinal, w.outputNorm(), rows, c, dx, grads.outputNorm());

        for (int l = shape.layers() - 1; l >= 0; l--) {
            Activations a = saved[l];
            saved[l] = null;
            LlamaWeights.Layer lw = w.layers().get(l);
            LlamaWeights.Layer lg = grads.layers().get(l);
            int block = l;
            // x += act . wDown^T + bDown
            float[] dAct = new float[rows * f];
            timings.blockMatmul(() -> {
                matrix(block, LlamaTensor.FFN_DOWN).backward(par, rows, dx, dAct);
                weightGrad(block, LlamaTensor.FFN_DOWN, dx, a.act, grads);
            });
            biasBackward(dx, c, lg.bDown());
            float[] dGate = new float[rows * f];
            float[] dUp = new float[rows * f];
            LlamaOps.swigluBackward(par, dAct, a.gate, a.up, rows, f, dGate, dUp);
            biasBackward(dGate, f, lg.bGate());
            biasBackward(dUp, f, lg.bUp());
            float[] dn2 = new float[rows * c];
            timings.blockMatmul(() -> {
                matrix(block, LlamaTensor.FFN_GATE).backward(par, rows, dGate, dn2);
                matrix(block, LlamaTensor.FFN_UP).backward(par, rows, dUp, dn2);
                weightGrad(block, LlamaTensor.FFN_GATE, dGate, a.n2, grads);
                weightGrad(block, LlamaTensor.FFN_UP, dUp, a.n2, grads);
            });
            LlamaOps.rmsNormBackward(par, dn2, a.xMid, a.scale2, lw.ffnNorm(), rows, c, dx, lg.ffnNorm());

            // x += att . wo^T + bo
            float[] dAtt = new float[rows * qw];
            timings.blockMatmul(() -> {
                matrix(block, LlamaTensor.ATTN_OUTPUT).backward(par, rows, dx, dAtt);
                weightGrad(block, LlamaTensor.ATTN_OUTPUT, dx, a.att, grads);
            });
            biasBackward(dx, c, lg.bo());
            float[] dqRot = new float[rows * qw];
            float[] dkRot = new float[rows * kv];
            float[] dv = new float[rows * kv];
            timings.attention(() -> LlamaOps.attentionBackward(par, dAtt, a.q, a.k, a.v, a.attLse, start, heads, kvHeads,
                    d, dqRot, dkRot, dv));
            LlamaOps.rope(par, dqRot, pos, rows, heads, rope, true);
            LlamaOps.rope(par, dkRot, pos, rows, kvHeads, rope, true);
            float[] dq = headNormBackward(dqRot, a.qIn, a.qScale, lw.qNorm(), heads, lg.qNorm());
            float[] dk = headNormBackward(dkRot, a.kIn, a.kScale, lw.kNorm(), kvHeads, lg.kNorm());
            biasBackward(dq, qw, lg.bq());
            biasBackward(dk, kv, lg.bk());
            biasBackward(dv, kv, lg.bv());
            float[] dn1 = new float[rows * c];
            timings.blockMatmul(() -> {
                matrix(block, LlamaTensor.ATTN_Q).backward(par, rows, dq, dn1);
                matrix(block, LlamaTensor.ATTN_K).backward(par, rows, dk, dn1);
                matrix(block, LlamaTensor.ATTN_V).backward(par, rows, dv, dn1);
                weightGrad(block, LlamaTensor.ATTN_Q, dq, a.n1, grads);
                weightGrad(block, LlamaTensor.ATTN_K, dk, a.n1, grads);
                weightGrad(block, LlamaTensor.ATTN_V, dv, a.n1, grads);
            });
            LlamaOps.rmsNormBackward(par, dn1, a.xIn, a.scale1, lw.attnNorm(), rows, c, dx, lg.attnNorm());
        }
        // Rows are added in order, so a token that occurs twice sums the same way every time.
        float[] dEmbd = grads.tokenEmbd();
        for (int r = 0; dEmbd != null && r < rows; r++) {
            int at = tokens[r] * c;
            for (int e = 0; e < c; e++) {
                dEmbd[at + e] += dx[r * c + e];
            }
        }
        saved = null;
        xFinal = null;
    }

    /** Logits of {@code n} rows of final-norm output {@code hidden} (n, C): (n, V), as the scoring path computes them. */
    static float[] logits(LlamaWeights w, Parallel par, float[] hidden, int n) {
        int c = w.shape().embd();
        int v = w.vocabSize();
        float[] out = new float[n * v];
        for (int r0 = 0; r0 < n; r0 += ROW_CHUNK) {
            int rc = Math.min(ROW_CHUNK, n - r0);
            float[] hT = transposeRows(par, hidden, r0, rc, c);
            int from = r0;
            par.forEach(chunks(v), ch -> {
                int v0 = ch * VOCAB_CHUNK;
                int vc = Math.min(VOCAB_CHUNK, v - v0);
                float[] block = new float[vc * rc];
                float[] wRows = new float[vc * c];
                w.matrix(LlamaTensor.OUTPUT).rows(v0, vc, wRows, 0);
                logitsBlock(wRows, w.outputBias(), c, v0, vc, hT, rc, block);
                for (int t = 0; t < vc; t++) {
                    for (int r = 0; r < rc; r++) {
                        out[(from + r) * v + v0 + t] = block[t * rc + r];
                    }
                }
            });
        }
        return out;
    }

    // (R, C): row r is token r's embedding.
    private float[] embed() {
        float[] x = new float[rows * c];
        WeightMatrix embd = w.matrix(LlamaTensor.TOKEN_EMBD);
        for (int r = 0; r < rows; r++) {
            embd.rows(tokens[r], 1, x, r * c);
        }
        return x;
    }

    // in (R, M) . weight (N, M)^T + bias (N,): (R, N).
    private float[] linear(float[] in, WeightMatrix weight, float[] bias) {
        float[] out = new float[rows * weight.out()];
        addLinear(out, in, weight, bias);
        return out;
    }

    // out (R, N) += in (R, M) . weight (N, M)^T + bias (N,); no bias when it is null.
    private void addLinear(float[] out, float[] in, WeightMatrix weight, float[] bias) {
        timings.blockMatmul(() -> weight.forward(par, rows, in, out));
        if (bias != null) {
            LlamaOps.addBias(par, out, bias, rows, weight.out());
        }
    }

    // Matrix kind of block layer as this pass multiplies by it: a LoRA matrix with its mask in a pass
    // with a dropout key (the same view in forward, backward and its gradients).
    private WeightMatrix matrix(int layer, LlamaTensor kind) {
        WeightMatrix m = w.matrix(layer, kind);
        return dropoutKey.isPresent() && m instanceof LoraMatrix lora ? lora.masked(dropoutKey.getAsLong(), layer, kind) : m;
    }

    // The gradient of matrix kind of block layer, whose product had input in (R, M) and output gradient
    // dOut (R, N), into grads' matrix there: dW (N, M) += dOut^T . in for a trainable W, A's and B's
    // gradients for a LoRA matrix; nothing where grads holds none (a frozen matrix).
    private void weightGrad(int layer, LlamaTensor kind, float[] dOut, float[] in, LlamaWeights grads) {
        WeightMatrix g = grads.matrix(layer, kind);
        if (g instanceof F32Matrix dW) {
            Gemm.atb(par, dW.out(), dW.in(), rows, dOut, in, dW.data());
        } else if (g instanceof LoraMatrix dLora && matrix(layer, kind) instanceof LoraMatrix lora) {
            lora.addGradients(par, rows, in, dOut, dLora);
        }
    }

    // dBias (N,) += column sums of dOut (R, N), when the block has that bias.
    private void biasBackward(float[] dOut, int n, float[] dBias) {
        if (dBias != null) {
            LlamaOps.addColumnSums(par, dOut, rows, n, dBias);
        }
    }

    // RMSNorm over each of the n heads of in (R, n, D) with weight (D,), as qwen3 normalises q and k:
    // (R, n, D); writes each head's scale into scale (R, n).
    private float[] headNorm(float[] in, float[] weight, int n, double[] scale) {
        float[] out = new float[in.length];
        LlamaOps.rmsNorm(par, in, weight, rows * n, d, shape.rmsEps(), out, scale);
        return out;
    }

    // Backward of headNorm given dOut (R, n, D): d loss / d its input, adding into dWeight (D,). Without a
    // norm (weight null) the gradient passes through.
    private float[] headNormBackward(float[] dOut, float[] in, double[] scale, float[] weight, int n, float[] dWeight) {
        if (weight == null) {
            return dOut;
        }
        float[] dIn = new float[dOut.length];
        LlamaOps.rmsNormBackward(par, dOut, in, scale, weight, rows * n, d, dIn, dWeight);
        return dIn;
    }

    // log p of each scored token, (N,); fills lse.
    private double[] outputForward() {
        long begin = System.nanoTime();
        double matmulNanos = 0;
        int n = scoredRow.length;
        lse = new float[n];
        double[] logp = new double[n];
        WeightMatrix output = w.matrix(LlamaTensor.OUTPUT);
        int chunks = chunks(vocab);
        int stripes = Math.min(STRIPES, chunks);
        for (int r0 = 0; r0 < n; r0 += ROW_CHUNK) {
            int rc = Math.min(ROW_CHUNK, n - r0);
            float[] hT = transposeRows(par, hidden, r0, rc, c);
            float[] chunkMax = new float[chunks * rc]; // (chunks, rc) each block's max logit per row
            float[] chunkSum = new float[chunks * rc]; // (chunks, rc) sum of exp(logit - that max)
            float[] target = new float[rc]; // (rc,) logit of each row's next token
            int from = r0;
            TrainerTimings.TaskClock clock = new TrainerTimings.TaskClock(stripes);
            long t0 = System.nanoTime();
            par.forEach(stripes, s -> {
                long taskStart = System.nanoTime();
                long inGemm = 0;
                float[] block = new float[VOCAB_CHUNK * rc]; // (vc, rc) logits, vocabulary-major
                float[] wRows = new float[VOCAB_CHUNK * c]; // (vc, C) output rows v0.., decoded
                for (int ch = stripeStart(s, chunks); ch < stripeStart(s + 1, chunks); ch++) {
                    int v0 = ch * VOCAB_CHUNK;
                    int vc = Math.min(VOCAB_CHUNK, vocab - v0);
                    long g0 = System.nanoTime();
                    output.rows(v0, vc, wRows, 0);
                    logitsBlock(wRows, w.outputBias(), c, v0, vc, hT, rc, block);
                    inGemm += System.nanoTime() - g0;
                    for (int r = 0; r < rc; r += L) {
                        VectorMask<Float> m = F.indexInRange(r, rc);
                        FloatVector max = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
                        for (int t = 0; t < vc; t++) {
                            max = max.max(FloatVector.fromArray(F, block, t * rc + r, m));
                        }
                        FloatVector sum = FloatVector.zero(F);
                        for (int t = 0; t < vc; t++) {
                            sum = sum.add(VectorMath.exp(FloatVector.fromArray(F, block, t * rc + r, m).sub(max)));
                        }
                        max.intoArray(chunkMax, ch * rc + r, m);
                        sum.intoArray(chunkSum, ch * rc + r, m);
                    }
                    for (int r = 0; r < rc; r++) {
                        int next = tokens[scoredRow[from + r] + 1] - v0;
                        if (next >= 0 && next < vc) {
                            target[r] = block[next * rc + r];
                        }
                    }
                }
                clock.set(s, System.nanoTime() - taskStart, inGemm);
            });
            matmulNanos += clock.matmulPart(System.nanoTime() - t0);
            LlamaOps.forRows(par, rc, r -> {
                double max = Double.NEGATIVE_INFINITY;
                for (int ch = 0; ch < chunks; ch++) {
                    max = Math.max(max, chunkMax[ch * rc + r]);
                }
                double sum = 0;
                for (int ch = 0; ch < chunks; ch++) {
                    sum += chunkSum[ch * rc + r] * Math.exp(chunkMax[ch * rc + r] - max);
                }
                double rowLse = max + Math.log(sum);
                lse[from + r] = (float) rowLse;
                logp[from + r] = target[r] - rowLse;
            });
        }
        timings.addOutput(System.nanoTime() - begin, matmulNanos);
        return logp;
    }

    /**
     * d loss / d hidden (N, C), adding d loss / d output weight into {@code dOutput} (V, C). With p the
     * softmax of a row's logits and w = d loss / d logp(next), d loss / d logits = w * (onehot(next) - p).
     */
    private float[] outputBackward(float[] rowWeight, float[] dOutput, float[] dOutputBias) {
        long begin = System.nanoTime();
        double matmulNanos = 0;
        int n = scoredRow.length;
        float[] dHidden = new float[n * c];
        WeightMatrix output = w.matrix(LlamaTensor.OUTPUT);
        int chunks = chunks(vocab);
        int stripes = Math.min(STRIPES, chunks);
        float[] partial = new float[stripes * Math.min(ROW_CHUNK, n) * c]; // (stripes, rc, C)
        for (int r0 = 0; r0 < n; r0 += ROW_CHUNK) {
            int rc = Math.min(ROW_CHUNK, n - r0);
            float[] hT = transposeRows(par, hidden, r0, rc, c);
            Arrays.fill(partial, 0f);
            int from = r0;
            TrainerTimings.TaskClock clock = new TrainerTimings.TaskClock(stripes);
            long t0 = System.nanoTime();
            par.forEach(stripes, s -> {
                long taskStart = System.nanoTime();
                long inGemm = 0;
                float[] block = new float[VOCAB_CHUNK * rc]; // (vc, rc) logits, then their gradient
                float[] wRows = new float[VOCAB_CHUNK * c]; // (vc, C) output rows v0.., decoded
                for (int ch = stripeStart(s, chunks); ch < stripeStart(s + 1, chunks); ch++) {
                    int v0 = ch * VOCAB_CHUNK;
                    int vc = Math.min(VOCAB_CHUNK, vocab - v0);
                    long g0 = System.nanoTime();
                    output.rows(v0, vc, wRows, 0);
                    logitsBlock(wRows, w.outputBias(), c, v0, vc, hT, rc, block);
                    inGemm += System.nanoTime() - g0;
                    for (int r = 0; r < rc; r += L) {
                        VectorMask<Float> m = F.indexInRange(r, rc);
                        FloatVector weight = FloatVector.fromArray(F, rowWeight, from + r, m);
                        FloatVector rowLse = FloatVector.fromArray(F, lse, from + r, m);
                        for (int t = 0; t < vc; t++) {
                            FloatVector p = VectorMath.exp(FloatVector.fromArray(F, block, t * rc + r, m).sub(rowLse));
                            p.mul(weight).neg().intoArray(block, t * rc + r, m);
                        }
                    }
                    for (int r = 0; r < rc; r++) {
                        int next = tokens[scoredRow[from + r] + 1] - v0;
                        if (next >= 0 && next < vc) {
                            block[next * rc + r] += rowWeight[from + r];
                        }
                    }
                    if (dOutputBias != null) {
                        // This stripe owns vocabulary rows v0..v0+vc: no other task writes them.
                        for (int t = 0; t < vc; t++) {
                            double sum = 0;
                            for (int r = 0; r < rc; r++) {
                                sum += block[t * rc + r];
                            }
                            dOutputBias[v0 + t] += (float) sum;
                        }
                    }
                    long g1 = System.nanoTime();
                    if (dOutput != null) {
                        // dOutput rows v0.. (vc, C) += dLogits (vc, rc) . hidden rows (rc, C)
                        Gemm.mulSerial(vc, c, rc, block, 0, rc, 1, hidden, from * c, c, dOutput, v0 * c, c);
                    }
                    // partial (rc, C) += dLogits^T (rc, vc) . output rows v0.. (vc, C)
                    Gemm.mulSerial(rc, c, vc, block, 0, 1, rc, wRows, 0, c, partial, s * rc * c, c);
                    inGemm += System.nanoTime() - g1;
                }
                clock.set(s, System.nanoTime() - taskStart, inGemm);
            });
            matmulNanos += clock.matmulPart(System.nanoTime() - t0);
            LlamaOps.forRows(par, rc, r -> {
                for (int s = 0; s < stripes; s++) {
                    for (int e = 0; e < c; e++) {
                        dHidden[(from + r) * c + e] += partial[(s * rc + r) * c + e];
                    }
                }
            });
        }
        timings.addOutput(System.nanoTime() - begin, matmulNanos);
        return dHidden;
    }

    // block (vc, rc) = wRows, output rows v0..v0+vc (vc, C), . hT (C, rc) + bias entries v0..v0+vc, if any.
    private static void logitsBlock(float[] wRows, float[] bias, int c, int v0, int vc, float[] hT, int rc, float[] block) {
        Arrays.fill(block, 0, vc * rc, 0f);
        Gemm.mulSerial(vc, rc, c, wRows, 0, c, 1, hT, 0, rc, block, 0, rc);
        if (bias != null) {
            for (int t = 0; t < vc; t++) {
                FloatVector b = FloatVector.broadcast(F, bias[v0 + t]);
                for (int r = 0; r < rc; r += L) {
                    VectorMask<Float> m = F.indexInRange(r, rc);
                    FloatVector.fromArray(F, block, t * rc + r, m).add(b).intoArray(block, t * rc + r, m);
                }
            }
        }
    }

    // Rows r0..r0+n of m (., C), transposed: (C, n).
    private static float[] transposeRows(Parallel par, float[] m, int r0, int n, int c) {
        float[] t = new float[c * n];
        LlamaOps.transpose(par, m, r0 * c, n, c, t);
        return t;
    }

    private static int chunks(int vocab) {
        return (vocab + VOCAB_CHUNK - 1) / VOCAB_CHUNK;
    }

    private static int stripeStart(int s, int chunks) {
        int stripes = Math.min(STRIPES, chunks);
        return (int) ((long) s * chunks / stripes);
    }

    private LogProbs logProbs(double[] logp) {
        int seqs = start.length - 1;
        double[] sums = new double[seqs];
        double[][] perToken = new double[seqs][];
        int r = 0;
        for (int s = 0; s < seqs; s++) {
            int n = 0;
            while (r + n < scoredSeq.length && scoredSeq[r + n] == s) {
                n++;
            }
            perToken[s] = Arrays.copyOfRange(logp, r, r + n);
            for (double x : perToken[s]) {
                sums[s] += x;
            }
            r += n;
        }
        return new LogProbs(sums, perToken);
    }
}
