package org.align4j.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.align4j.Align4jException;
import org.align4j.IoMessages;
import org.align4j.engine.Adapters;
import org.align4j.engine.SamplingParams;
import org.align4j.reward.Reward;

/**
 * What makes a run's output, recorded beside it ({@code OUT.run.json}) when the run starts: the command,
 * each model and the input by content (sha256; a file may move), and every parameter that changes what is
 * written. {@code --resume} continues an output only if the run it is asked for has the same fingerprint,
 * and names every difference otherwise. What only changes how fast the output is made (threads, batch
 * sizes, context, GPU layers, flash attention) or which records are rejected ({@code --on-error}) is not
 * part of it, and may change between a run and its resume.
 *
 * <p>Every job that writes records takes its output through {@link #claim}: the output's lock first, then
 * the fingerprint.
 */
public final class RunFingerprint {
    private static final String BROKEN = "broken";
    private final ObjectNode node;
    private final Path input;

    private RunFingerprint(ObjectNode node, Path input) {
        this.node = node;
        this.input = input;
    }

    /** A run of {@code command} ({@code sample}, {@code score}, ...) over {@code input}, with no models or parameters yet. */
    public static RunFingerprint of(String command, Path input) {
        ObjectNode n = RunManifest.object();
        n.put("command", command);
        n.putObject("models");
        n.set("input", RunManifest.describeFile(input));
        n.putObject("parameters");
        return new RunFingerprint(n, input);
    }

    /** {@code out.jsonl} -> {@code out.jsonl.run.json}. */
    public static Path pathFor(Path output) {
        return output.resolveSibling(output.getFileName() + ".run.json");
    }

    /** With the model in {@code role} ({@code policy}, {@code reference}, {@code reward}, ...), by content. */
    public RunFingerprint withModel(String role, Path model) {
        ObjectNode n = node.deepCopy();
        ((ObjectNode) n.get("models")).set(role, RunManifest.describeFile(model));
        return new RunFingerprint(n, input);
    }

    /** With one more parameter; {@code value} is a JSON value (a number, a string, an object of parameters). */
    public RunFingerprint withParameter(String name, JsonNode value) {
        ObjectNode n = node.deepCopy();
        ((ObjectNode) n.get("parameters")).set(name, value);
        return new RunFingerprint(n, input);
    }

    /** With the sampling parameters, seed included, as the {@code sampling} parameter. */
    public RunFingerprint withSampling(SamplingParams s) {
        return withParameter("sampling", sampling(s));
    }

    /** With the reward: its SPEC as the {@code reward} parameter, its models as {@code reward}, {@code reward.2}, ... */
    public RunFingerprint withReward(Reward.Identity reward) {
        RunFingerprint f = withParameter("reward", TextNode.valueOf(reward.spec()));
        for (int i = 0; i < reward.models().size(); i++) {
            f = f.withModel(i == 0 ? "reward" : "reward." + (i + 1), reward.models().get(i));
        }
        return f;
    }

    /**
     * With the policy's LoRA adapters: each file by content as the model {@code lora}, {@code lora.2}, ...,
     * their scales as the {@code lora_scales} parameter. None: the fingerprint is unchanged.
     */
    public RunFingerprint withAdapters(Adapters adapters) {
        if (adapters.isEmpty()) {
            return this;
        }
        RunFingerprint f = this;
        ArrayNode scales = RunManifest.object().arrayNode();
        for (int i = 0; i < adapters.list().size(); i++) {
            Adapters.Adapter a = adapters.list().get(i);
            f = f.withModel(i == 0 ? "lora" : "lora." + (i + 1), a.file());
            scales.add(a.scale());
        }
        return f.withParameter("lora_scales", scales);
    }

    /** The sampling parameters as a JSON object (for manifests too). */
    public static ObjectNode sampling(SamplingParams s) {
        ObjectNode o = RunManifest.object();
        o.put("temperature", s.temperature());
        o.put("top_k", s.topK());
        o.put("top_p", s.topP());
        o.put("min_p", s.minP());
        o.put("repeat_penalty", s.repeatPenalty());
        o.put("repeat_last_n", s.repeatLastN());
        o.put("max_tokens", s.maxTokens());
        ArrayNode stops = o.putArray("stop");
        s.stops().forEach(stops::add);
        o.put("seed", s.seed());
        o.put("ignore_eos", s.ignoreEos());
        return o;
    }

    public String command() {
        return node.get("command").asText();
    }

    public Path input() {
        return input;
    }

    /** The fingerprint as JSON: {@code command}, {@code models}, {@code input}, {@code parameters}. */
    public ObjectNode json() {
        return node.deepCopy();
    }

    /**
     * Takes {@code output} for this run: its {@link OutputLock}, then, for a fresh run, a check that it does
     * not exist yet and the fingerprint written beside it; under {@code resume}, the fingerprint already
     * there compared with this one. The caller closes the lock when the run ends.
     *
     * @throws Align4jException if another run holds the output, it exists without {@code resume}, or the
     *     run to resume differs from this one (every difference named)
     */
    public OutputLock claim(Path output, boolean resume) {
        OutputLock lock = OutputLock.take(output, command());
        try {
            Path file = pathFor(output);
            if (sameFile(output, input)) {
                throw new Align4jException(output + " is the input file: write the output to another file");
            }
            if (!resume) {
                if (Files.exists(output)) {
                    throw new Align4jException(output + " exists: pass --resume to continue it, or remove it");
                }
                RunManifest.write(file, node);
                return lock;
            }
            ObjectNode before = RunManifest.read(file);
            if (before != null && before.has(BROKEN)) {
                throw new Align4jException(output + " is not to be continued: its run found that " + before.get(BROKEN).asText()
                        + " (recorded in " + file + "); start a new output");
            }
            if (before == null) {
                if (size(output) > 0) {
                    throw new Align4jException(output + " has records but no " + file + " saying what made them: not resuming"
                            + " (a run of this version of align4j writes it when it starts); start a new output");
                }
                RunManifest.write(file, node);
                return lock;
            }
            List<String> diffs = differences(before);
            if (!diffs.isEmpty()) {
                throw new Align4jException("--resume continues the run recorded in " + file + ", but " + String.join("; ", diffs)
                        + ": run with the same input, models and parameters, or start a new output");
            }
            return lock;
        } catch (RuntimeException e) {
            lock.close();
            throw e;
        }
    }

    /**
     * Records beside {@code output} that its records are not to be trusted (a reward process that broke the
     * protocol), so that no {@code --resume} continues it. The caller holds the output's lock.
     */
    public static void markBroken(Path output, String why) {
        Path file = pathFor(output);
        ObjectNode recorded = RunManifest.read(file);
        if (recorded != null) {
            recorded.put(BROKEN, why);
            RunManifest.write(file, recorded);
        }
    }

    /** What differs between the run recorded in {@code before} and this one, in words; empty if they are the same run. */
    List<String> differences(ObjectNode before) {
        List<String> d = new ArrayList<>();
        String was = before.path("command").asText("?");
        String now = node.get("command").asText();
        if (!was.equals(now)) {
            d.add("that output was written by " + was + ", not " + now);
        }
        Set<String> roles = new LinkedHashSet<>();
        before.path("models").fieldNames().forEachRemaining(roles::add);
        node.get("models").fieldNames().forEachRemaining(roles::add);
        for (String role : roles) {
            String file = fileDifference(before.path("models").path(role), node.get("models").path(role));
            if (file != null) {
                d.add("the " + role + (role.startsWith("lora") ? " adapter " : " model ") + file);
            }
        }
        String in = fileDifference(before.path("input"), node.get("input"));
        if (in != null) {
            d.add("the input " + in);
        }
        parameterDifferences("parameters", before.path("parameters"), node.get("parameters"), d);
        return d;
    }

    // How a file in the earlier run differs from this run's, or null if it has the same content.
    private static String fileDifference(JsonNode was, JsonNode now) {
        String a = was.path("sha256").asText("");
        String b = now.path("sha256").asText("");
        if (a.equals(b)) {
            return null;
        }
        if (was.isMissingNode()) {
            return "was not in that run, now " + now.path("path").asText();
        }
        if (now.isMissingNode()) {
            return "was " + was.path("path").asText() + ", and is not in this run";
        }
        return "differs: that run's was " + was.path("path").asText() + " (" + was.path("bytes").asLong() + " bytes, sha256 "
                + a.substring(0, Math.min(12, a.length())) + "…), this one is " + now.path("path").asText() + " ("
                + now.path("bytes").asLong() + " bytes, sha256 " + b.substring(0, Math.min(12, b.length())) + "…)";
    }

    // Every parameter that differs, by path (parameters.sampling.temperature was 0.7, now 1.0).
    private static void parameterDifferences(String path, JsonNode was, JsonNode now, List<String> out) {
        if (was.isObject() && now.isObject()) {
            Set<String> names = new LinkedHashSet<>();
            was.fieldNames().forEachRemaining(names::add);
            now.fieldNames().forEachRemaining(names::add);
            for (String name : names) {
                parameterDifferences(path + "." + name, was.path(name), now.path(name), out);
            }
            return;
        }
        // By JSON text: a number read back from the file is a BigDecimal, one just made a float or a long.
        String a = was.isMissingNode() ? "absent" : was.toString();
        String b = now.isMissingNode() ? "absent" : now.toString();
        if (!a.equals(b)) {
            out.add(path + " was " + a + ", now " + b);
        }
    }

    private static boolean sameFile(Path a, Path b) {
        try {
            return Files.exists(a) && Files.exists(b) && Files.isSameFile(a, b);
        } catch (IOException e) {
            throw new Align4jException(a + ": " + IoMessages.describe(e), e);
        }
    }

    private static long size(Path p) {
        try {
            return Files.exists(p) ? Files.size(p) : 0;
        } catch (IOException e) {
            throw new Align4jException(p + ": cannot read its size: " + IoMessages.describe(e), e);
        }
    }
}
