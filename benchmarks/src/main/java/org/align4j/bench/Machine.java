package org.align4j.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/** The machine a benchmark ran on, in one line for the report. */
final class Machine {
    private Machine() {}

    static String describe(Path root) {
        String cpu = "unknown CPU";
        long memKb = 0;
        try (Stream<String> lines = Files.lines(Path.of("/proc/cpuinfo"))) {
            cpu = lines.filter(l -> l.startsWith("model name")).findFirst().map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse(cpu);
        } catch (IOException e) {
            // not Linux: the CPU stays unnamed
        }
        try (Stream<String> lines = Files.lines(Path.of("/proc/meminfo"))) {
            memKb = lines.filter(l -> l.startsWith("MemTotal")).findFirst()
                    .map(l -> Long.parseLong(l.replaceAll("[^0-9]", ""))).orElse(0L);
        } catch (IOException e) {
            // not Linux: memory unknown
        }
        return String.format("%s, %d cores visible to the JVM, %.0f GiB RAM, %s %s, JDK %s, llama.cpp %s",
                cpu, Runtime.getRuntime().availableProcessors(), memKb / 1048576.0, System.getProperty("os.name"),
                System.getProperty("os.version"), System.getProperty("java.version"), llamaCommit(root));
    }

    private static String llamaCommit(Path root) {
        try {
            Path src = Path.of(Files.readString(root.resolve("build/native/llama-source-dir.txt")).trim());
            Process p = new ProcessBuilder("git", "-C", src.toString(), "rev-parse", "--short=12", "HEAD").start();
            String head = new String(p.getInputStream().readAllBytes()).trim();
            return p.waitFor() == 0 ? head : "(unknown commit)";
        } catch (IOException e) {
            return "(unknown commit)";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "(unknown commit)";
        }
    }
}
