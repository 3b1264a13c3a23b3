package org.align4j.bench;

import static org.align4j.bench.Report.mean;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.align4j.bench.Report.Target;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The trainer-architectures benchmark of issue 14: the trainer's forward on frozen (quantized) weights,
 * in a child JVM ({@link FrozenForwardRun}: one sequence of T tokens, every token scored), against
 * llama.cpp's prompt processing of T tokens on the same file ({@code llama-batched-bench}, same
 * threads), on the Qwen2.5-0.5B shape at Q8_0 and the Llama-3.2-1B shape at Q4_K_M, rounds
 * interleaved; and the child's peak resident set against 1.3 x the file size plus activations.
 */
@Command(name = "train-archs-bench", mixinStandardHelpOptions = true)
public final class TrainArchsBench implements Callable<Integer> {
    @Mixin BenchOptions bench = new BenchOptions("train-archs");

    @Option(names = "--tokens", description = "tokens in the forward and in llama.cpp's prompt (default: ${DEFAULT-VALUE})")
    int tokens = 256;
    @Option(names = "--threads") int threads = Runtime.getRuntime().availableProcessors();
    @Option(names = "--heap", description = "the child JVM's -Xmx (default: ${DEFAULT-VALUE})")
    String heap = "512m";

    private static final List<String[]> MODELS = List.of(new String[] {"qwen2.5-0.5b", "q8_0"}, new String[] {"llama-3.2-1b", "q4_k_m"});
    private static final Pattern LINE = Pattern.compile("frozen forward: \\d+ tokens in ([0-9.]+) s, ([0-9.]+) tokens/s; block matmuls ([0-9.]+) s,"
            + " attention ([0-9.]+) s, output layer ([0-9.]+) s \\(matmul and decode ([0-9.]+) s\\), other ([0-9.]+) s;"
            + " decoding alone \\(measured apart\\): blocks' matrices once ([0-9.]+) s, output weight x(\\d+) ([0-9.]+) s;"
            + " VmHWM (\\d+) kB; heap committed (\\d+) MB");

    /** One child run's figures. */
    record JavaRun(double seconds, double rate, double blocks, double attention, double output, double outputMatmul, double other,
                   double decodeBlocks, double decodeOutput, long hwmKb, long heapMb) {
        static JavaRun parse(ChildRun c) {
            Matcher m = c.find(LINE);
            return new JavaRun(d(m, 1), d(m, 2), d(m, 3), d(m, 4), d(m, 5), d(m, 6), d(m, 7), d(m, 8), d(m, 10),
                    Long.parseLong(m.group(11)), Long.parseLong(m.group(12)));
        }

        private static double d(Matcher m, int g) {
            return Double.parseDouble(m.group(g));
        }
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new TrainArchsBench()).execute(args));
    }

    @Override
    public Integer call() throws IOException {
        Files.createDirectories(bench.work);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Path root = bench.root.toAbsolutePath().normalize();
        Path here = Path.of("").toAbsolutePath();
        String cp = String.join(":", here.relativize(root.resolve("benchmarks/target/classes")).toString(),
                here.relativize(root.resolve("java/target/align4j.jar")).toString(), here.relativize(root.resolve("java/target/lib")) + "/*");
        List<Path> models = new ArrayList<>();
        List<List<String>> javaCmds = new ArrayList<>();
        List<List<String>> cppCmds = new ArrayList<>();
        for (String[] m : MODELS) {
            Path model = bench.synthesize(m[0], m[1]);
            models.add(model);
            javaCmds.add(List.of(java, "--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector", "-Xmx" + heap,
                    "-cp", cp, FrozenForwardRun.class.getName(), model.toString(), String.valueOf(tokens), String.valueOf(threads)));
            cppCmds.add(List.of(bench.batchedBench(), "-m", model.toString(), "-c", String.valueOf(tokens + 16), "-b", String.valueOf(tokens),
                    "-ub", String.valueOf(tokens), "-npp", String.valueOf(tokens), "-ntg", "0", "-npl", "1", "-fa", "on",
                    "-t", String.valueOf(threads), "-tb", String.valueOf(threads), "--output-format", "jsonl"));
        }
        List<List<JavaRun>> java2 = new ArrayList<>();
        List<List<Double>> cpp = new ArrayList<>();
        for (int i = 0; i < MODELS.size(); i++) {
            java2.add(new ArrayList<>());
            cpp.add(new ArrayList<>());
        }
        for (int r = 0; r < bench.rounds; r++) {
            for (int i = 0; i < MODELS.size(); i++) {
                String tag = MODELS.get(i)[0] + "-" + r;
                cpp.get(i).add(bench.run(cppCmds.get(i), bench.work("cpp-" + tag + ".log")).figure("speed_pp"));
                java2.get(i).add(JavaRun.parse(bench.run(javaCmds.get(i), bench.work("java-" + tag + ".log"))));
                System.err.printf(Locale.ROOT, "round %d, %s: java %.2f tokens/s, llama.cpp %.2f tokens/s%n", r + 1, MODELS.get(i)[0],
                        java2.get(i).getLast().rate(), cpp.get(i).getLast());
            }
        }

        Report s = new Report(bench, "Trainer forward on frozen (quantized) weights (issue 14)");
        s.format("The trainer's forward (`LlamaWeights.frozen`: every matrix a view of the mapped file in its own type, decoded a tile at a"
                + " time into the f32 GEMM) on one sequence of %d tokens, every token scored (logits over the whole vocabulary), in a child"
                + " JVM (`-Xmx%s`, after a 32-token warm-up forward), against llama.cpp's prompt processing of %d tokens on the same file"
                + " (`llama-batched-bench`, one sequence, flash attention on); %d threads each; %d rounds, interleaved, means below.%n%n",
                tokens, heap, tokens, threads, bench.rounds);
        s.append("| model | file MiB | Java tokens/s | llama.cpp tokens/s | ratio | Java peak RSS MiB | 1.3 x file + activations MiB |\n");
        s.append("|---|---|---|---|---|---|---|\n");
        List<Target> targets = new ArrayList<>();
        for (int i = 0; i < MODELS.size(); i++) {
            List<JavaRun> j = java2.get(i);
            double rate = mean(j, JavaRun::rate);
            double base = mean(cpp.get(i), Double::doubleValue);
            double fileMib = Files.size(models.get(i)) / 1048576.0;
            double hwm = j.stream().mapToLong(JavaRun::hwmKb).max().orElse(0) / 1024.0;
            double budget = 1.3 * fileMib + Long.parseLong(heap.replaceAll("[^0-9]", "")) * (heap.endsWith("g") ? 1024 : 1);
            s.format("| %s | %.0f | %.2f | %.2f | %.3f | %.0f | %.0f |%n", BenchOptions.synthDescription(MODELS.get(i)[0], MODELS.get(i)[1]),
                    fileMib, rate, base, rate / base, hwm, budget);
            targets.add(new Target(MODELS.get(i)[0] + " " + MODELS.get(i)[1] + ": Java / llama.cpp tokens/s", rate / base, ">= 0.35", rate / base >= 0.35));
            targets.add(new Target(MODELS.get(i)[0] + " " + MODELS.get(i)[1] + ": peak RSS / (1.3 x file + heap limit)", hwm / budget, "<= 1",
                    hwm <= budget));
        }
        s.append("\nThe activations' bound in the RSS budget is the child's heap limit (`-Xmx`), which holds every Java array of the"
                + " forward; the rest of the resident set is the mapped file, the JVM itself and the per-thread decode tiles.\n\n");
        s.targets("%.3f", targets);
        s.append("\nOn a shared 2-core machine the rates move by up to a third from round to round (see the per-round lines in"
                + " the harness's output and logs in its scratch folder): read the ratios as a range, not to two digits.\n");
        s.append("\nWhere the Java forward's time goes (means; decoding measured apart, the same matrices decoded on the same threads"
                + " without the products; the blocks' matmuls and the output layer include their decoding):\n\n");
        s.append("| model | forward s | block matmuls s | decoding the blocks' matrices s | attention s | output layer s | of which matmul + decode s"
                + " | decoding the output weight s | norms, RoPE, SwiGLU, other s |\n|---|---|---|---|---|---|---|---|---|\n");
        for (int i = 0; i < MODELS.size(); i++) {
            List<JavaRun> j = java2.get(i);
            s.format("| %s %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |%n", MODELS.get(i)[0], MODELS.get(i)[1],
                    mean(j, JavaRun::seconds), mean(j, JavaRun::blocks), mean(j, JavaRun::decodeBlocks), mean(j, JavaRun::attention),
                    mean(j, JavaRun::output), mean(j, JavaRun::outputMatmul), mean(j, JavaRun::decodeOutput), mean(j, JavaRun::other));
        }
        s.reproduce("the jar and llama-batched-bench");
        List<List<String>> all = new ArrayList<>();
        for (String[] m : MODELS) {
            all.add(bench.synthCommand(m[0], m[1]));
        }
        all.addAll(cppCmds);
        for (List<String> c : javaCmds) { // the JDK's folder as the reader's own
            List<String> shown = new ArrayList<>(c);
            shown.set(0, "$JAVA_HOME/bin/java");
            all.add(shown);
        }
        s.commands("The commands it runs (models made once; per round, per model, llama.cpp then the Java forward)", all);
        s.write();
        return 0;
    }
}
