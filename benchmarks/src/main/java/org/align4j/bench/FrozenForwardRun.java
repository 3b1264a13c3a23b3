package org.align4j.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.align4j.gguf.GgufFile;
import org.align4j.gguf.LlamaTensor;
import org.align4j.train.LlamaWeights;
import org.align4j.train.Parallel;
import org.align4j.train.ReferenceForward;
import org.align4j.train.Sequence;
import org.align4j.train.TrainerTimings;
import org.align4j.train.WeightMatrix;

/**
 * The child JVM of {@link TrainArchsBench}: opens a GGUF frozen ({@link LlamaWeights#frozen}), runs a
 * short warm-up forward, then one timed forward of one sequence of T random tokens (every token scored,
 * the trainer's forward without kept activations), and prints the rate, where the time went and the
 * process's peak resident set (VmHWM), so that the parent reads them from one line.
 *
 * <p>Arguments: MODEL TOKENS THREADS.
 */
public final class FrozenForwardRun {
    private FrozenForwardRun() {}

    public static void main(String[] args) throws IOException {
        Path model = Path.of(args[0]);
        int tokens = Integer.parseInt(args[1]);
        int threads = Integer.parseInt(args[2]);
        try (GgufFile file = GgufFile.open(model); Parallel par = Parallel.ofThreads(threads)) {
            LlamaWeights w = LlamaWeights.frozen(file);
            ReferenceForward forward = new ReferenceForward(w);
            SplittableRandom rng = new SplittableRandom(1);
            forward.score(List.of(new Sequence(random(rng, 32, w.vocabSize()), 1)), par, new TrainerTimings()); // JIT warm-up
            TrainerTimings timings = new TrainerTimings();
            int[] seq = random(rng, tokens, w.vocabSize());
            long t0 = System.nanoTime();
            forward.score(List.of(new Sequence(seq, 1)), par, timings);
            double seconds = (System.nanoTime() - t0) / 1e9;
            double[] decode = decodeSeconds(w, par);
            int outputSweeps = Math.ceilDiv(tokens - 1, 128); // LlamaPass decodes the output weight once per 128 scored rows
            Runtime rt = Runtime.getRuntime();
            System.out.printf(Locale.ROOT, "frozen forward: %d tokens in %.3f s, %.2f tokens/s; block matmuls %.3f s, attention %.3f s,"
                            + " output layer %.3f s (matmul and decode %.3f s), other %.3f s; decoding alone (measured apart): blocks' matrices once %.3f s, output weight x%d %.3f s; VmHWM %d kB; heap committed %d MB, used %d MB%n",
                    tokens, seconds, tokens / seconds, timings.blockMatmulSeconds(), timings.attentionSeconds(),
                    timings.outputMatmulSeconds() + timings.outputOtherSeconds(), timings.outputMatmulSeconds(), timings.otherPassSeconds(),
                    decode[0], outputSweeps, outputSweeps * decode[1], vmHwmKb(), rt.totalMemory() >> 20, (rt.totalMemory() - rt.freeMemory()) >> 20);
        }
    }

    // Seconds to decode every block matrix once, and the output weight once, on par's threads, 16 rows a task.
    private static double[] decodeSeconds(LlamaWeights w, Parallel par) {
        List<WeightMatrix> blocks = new ArrayList<>();
        for (int l = 0; l < w.layers().size(); l++) {
            for (LlamaTensor t : List.of(LlamaTensor.ATTN_Q, LlamaTensor.ATTN_K, LlamaTensor.ATTN_V, LlamaTensor.ATTN_OUTPUT,
                    LlamaTensor.FFN_GATE, LlamaTensor.FFN_UP, LlamaTensor.FFN_DOWN)) {
                blocks.add(w.matrix(l, t));
            }
        }
        return new double[] {decodeSeconds(blocks, par), decodeSeconds(List.of(w.matrix(LlamaTensor.OUTPUT)), par)};
    }

    private static double decodeSeconds(List<WeightMatrix> matrices, Parallel par) {
        long t0 = System.nanoTime();
        for (WeightMatrix m : matrices) {
            int strips = Math.ceilDiv(m.out(), 16);
            ThreadLocal<float[]> buf = ThreadLocal.withInitial(() -> new float[16 * m.in()]);
            par.forEach(strips, s -> m.rows(s * 16, Math.min(16, m.out() - s * 16), buf.get(), 0));
        }
        return (System.nanoTime() - t0) / 1e9;
    }

    private static int[] random(SplittableRandom rng, int n, int vocab) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = rng.nextInt(vocab);
        }
        return t;
    }

    private static long vmHwmKb() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmHWM:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
    }
}
