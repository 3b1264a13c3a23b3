package org.align4j.bench;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.align4j.bench.jmh.MatmulKernels;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Runs the JMH micro-benchmarks of the trainer's kernels ({@link MatmulKernels}: the f32 GEMM and the
 * frozen-weight products per type, forward and transposed) and writes their GFLOP/s, 2·R·I·O per call,
 * with the ratio to the f32 GEMM's. Each JMH fork is a fresh JVM; --rounds sets how many per benchmark.
 */
@Command(name = "kernels-bench", mixinStandardHelpOptions = true)
public final class KernelsBench implements Callable<Integer> {
    @Mixin BenchOptions bench = new BenchOptions("kernels");

    @Option(names = "--kernels", split = ",", description = "F32_GEMM and ggml types (default: ${DEFAULT-VALUE})")
    String[] kernels = {"F32_GEMM", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K"};
    @Option(names = "--rows", split = ",", description = "R (default: ${DEFAULT-VALUE})")
    int[] rows = {128};
    @Option(names = "--threads", split = ",", description = "(default: ${DEFAULT-VALUE})")
    int[] threads = {1};
    @Option(names = "--in", description = "I, W's columns (default: ${DEFAULT-VALUE}, Qwen2.5-0.5B's ffn_down)")
    int in = 4864;
    @Option(names = "--out", description = "O, W's rows (default: ${DEFAULT-VALUE})")
    int out = 896;
    @Option(names = "--warmup", description = "warm-up iterations per fork (default: ${DEFAULT-VALUE})")
    int warmup = 2;
    @Option(names = "--iterations", description = "measured iterations per fork (default: ${DEFAULT-VALUE})")
    int iterations = 3;
    @Option(names = "--seconds", description = "seconds per iteration (default: ${DEFAULT-VALUE})")
    int seconds = 1;

    public static void main(String[] args) {
        System.exit(new CommandLine(new KernelsBench()).execute(args));
    }

    /** One benchmark's result: milliseconds per call and the half-width of JMH's 99.9% interval. */
    record Score(double ms, double error) {
        double gflops(double flop) {
            return flop / (ms * 1e-3) / 1e9;
        }
    }

    @Override
    public Integer call() throws IOException, RunnerException {
        ChainedOptionsBuilder options = new OptionsBuilder()
                .include(MatmulKernels.class.getName() + "\\.")
                .forks(bench.rounds)
                .warmupIterations(warmup).warmupTime(TimeValue.seconds(seconds))
                .measurementIterations(iterations).measurementTime(TimeValue.seconds(seconds))
                .param("kernel", kernels)
                .param("rows", Arrays.stream(rows).mapToObj(String::valueOf).toArray(String[]::new))
                .param("threads", Arrays.stream(threads).mapToObj(String::valueOf).toArray(String[]::new))
                .param("in", String.valueOf(in))
                .param("out", String.valueOf(out))
                .shouldFailOnError(true);
        Collection<RunResult> results = new Runner(options.build()).run();

        Map<String, Score> scores = new HashMap<>(); // "method kernel rows threads"
        for (RunResult r : results) {
            String method = r.getParams().getBenchmark().substring(r.getParams().getBenchmark().lastIndexOf('.') + 1);
            scores.put(key(method, r.getParams().getParam("kernel"), r.getParams().getParam("rows"), r.getParams().getParam("threads")),
                    new Score(r.getPrimaryResult().getScore(), r.getPrimaryResult().getScoreError()));
        }

        Report report = new Report(bench, "Trainer kernels (JMH)");
        report.format("""
                JMH (`org.align4j.bench.jmh.MatmulKernels`), average time per call, %d fork(s) × %d measured
                iterations of %d s after %d warm-up ones. W (O %d, I %d): **forward** `Y (R, O) += X (R, I) · Wᵀ`,
                **transposed** `dX (R, I) += dY (R, O) · W`. GFLOP/s count 2·R·I·O a call. `F32_GEMM` is the
                Vector API `Gemm` on an f32 W (Wᵀ materialised for forward, as the trainer does for trainable
                matrices); every other row is `train.FrozenMatrix` on W kept in that type, decoding tiles into
                the same Gemm. Ratios are to F32_GEMM with the same R and threads; ± is JMH's 99.9%% interval
                in ms a call.

                | kernel | R | threads | forward GFLOP/s | ms ± | vs f32 GEMM | transposed GFLOP/s | ms ± | vs f32 GEMM |
                |---|---|---|---|---|---|---|---|---|
                """, bench.rounds, iterations, seconds, warmup, out, in);
        List<String> missing = new ArrayList<>();
        for (int t : threads) {
            for (int r : rows) {
                double flop = 2.0 * r * in * out;
                Score fBase = scores.get(key("forward", "F32_GEMM", r, t));
                Score tBase = scores.get(key("transposed", "F32_GEMM", r, t));
                for (String k : kernels) {
                    Score f = scores.get(key("forward", k, r, t));
                    Score tr = scores.get(key("transposed", k, r, t));
                    if (f == null || tr == null) {
                        missing.add(k + " R=" + r + " threads=" + t);
                        continue;
                    }
                    report.format("| %s | %d | %d | %.1f | %.2f ± %.2f | %s | %.1f | %.2f ± %.2f | %s |%n", k, r, t,
                            f.gflops(flop), f.ms, f.error, ratio(f, fBase), tr.gflops(flop), tr.ms, tr.error, ratio(tr, tBase));
                }
            }
        }
        if (!missing.isEmpty()) {
            report.append("\nNo result for: " + String.join(", ", missing) + ".\n");
        }
        report.reproduce("the Java library and the benchmarks");
        report.write();
        return missing.isEmpty() ? 0 : 1;
    }

    private static String ratio(Score s, Score base) {
        return base == null ? "–" : String.format(java.util.Locale.ROOT, "%.2f", base.ms / s.ms);
    }

    private static String key(String method, String kernel, Object rows, Object threads) {
        return method + " " + kernel + " " + rows + " " + threads;
    }
}
