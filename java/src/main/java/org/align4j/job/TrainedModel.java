package org.align4j.job;

import org.align4j.train.AdamW;
import org.align4j.train.LlamaExport;
import org.align4j.train.LlamaParams;
import org.align4j.train.LlamaTrainer;
import org.align4j.train.LlamaWeights;
import org.align4j.train.LoraConfig;
import org.align4j.train.LoraExport;
import org.align4j.train.LoraMerge;
import org.align4j.train.LoraParams;
import org.align4j.train.PeftAdapter;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.align4j.Align4jException;
import org.align4j.IoMessages;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.GgufFile;
import org.align4j.gguf.LlamaShape;
import org.align4j.gguf.RewardHead;
import org.align4j.gguf.RewardModelFile;

/**
 * What a training run trains: every parameter of the policy in f32 ({@link FullModel}), or a LoRA adapter
 * over its weights frozen in their file type ({@link Adapter}); how it is checkpointed, restored and
 * written. {@link TrainingRun} opens one for every training job.
 */
public sealed interface TrainedModel extends AutoCloseable permits TrainedModel.FullModel, TrainedModel.Adapter {
    LlamaShape shape();

    int vocabSize();

    LlamaTrainer trainer(int threads);

    /** Takes the trained tensors of a checkpoint whose settings were checked. */
    void restore(RunCheckpoint.Loaded resumed);

    void checkpoint(RunCheckpoint state, AdamW adam);

    /** Writes the result to --out (and --peft, --merge). */
    void write();

    /**
     * Writes a reward model to --out: the trained model, or the base merged with the adapter (as --merge, in
     * {@code mergeType}), with {@code head}'s keys ({@link RewardModelFile}); llama.cpp loads it as the base.
     */
    void writeWithHead(RewardHead head);

    /** For the first log line: "" or "; LoRA ...". */
    String describe();

    @Override
    void close();

    /**
     * The policy in f32 (or the checkpoint's parameters), or, with {@code o.lora()}, a new adapter (B zero,
     * or {@code o.initialAdapter()}'s) over the policy file. A LoRA checkpoint resumes only as a LoRA run
     * and a full one only as a full run.
     */
    static TrainedModel open(TrainerOptions o, RunCheckpoint.Loaded resumed) {
        if (resumed != null && (resumed.adapter() != null) != (o.lora() != null)) {
            throw new Align4jException(o.checkpoint() + (resumed.adapter() != null
                    ? " is of a LoRA run: resume it with the same --lora-rank, --lora-alpha and --lora-targets"
                    : " is of a full fine-tuning run: resume it without --lora-rank"));
        }
        if (o.lora() == null) {
            LlamaParams params = resumed != null ? resumed.params() : LlamaParams.load(o.policy());
            return new FullModel(o, params, o.outType() != null ? o.outType() : LlamaExport.defaultType(o.policy()));
        }
        GgufFile base = GgufFile.open(o.policy());
        try {
            LoraConfig c = o.lora();
            LoraParams lora = LoraParams.create(LlamaWeights.frozen(base), c, o.seed());
            if (o.initialAdapter() != null) {
                AdapterFile.readInto(lora, o.initialAdapter());
            }
            return new Adapter(o, base, lora);
        } catch (RuntimeException e) {
            base.close();
            throw e;
        }
    }


    /** The policy loaded into f32 (or the checkpoint's parameters), all of it trained and written as a model. */
    final class FullModel implements TrainedModel {
        private final TrainerOptions o;
        private final LlamaParams params;
        private final GgmlType outType;

        private FullModel(TrainerOptions o, LlamaParams params, GgmlType outType) {
            this.o = o;
            this.params = params;
            this.outType = outType;
        }

        @Override public LlamaShape shape() { return params.shape(); }
        @Override public int vocabSize() { return params.vocabSize(); }
        @Override public LlamaTrainer trainer(int threads) { return new LlamaTrainer(params, threads); }
        @Override public void restore(RunCheckpoint.Loaded resumed) {} // loaded from it
        @Override public void checkpoint(RunCheckpoint state, AdamW adam) { state.write(o.checkpoint(), params, adam); }
        @Override public void write() { LlamaExport.write(params, o.out(), outType); }
        @Override public void writeWithHead(RewardHead head) { LlamaExport.write(params, o.out(), outType, head.metadata()); }
        @Override public String describe() { return ""; }
        @Override public void close() {}
    }

    /** An adapter over the policy file's weights as they are in the file (mapped, never written), written as a LoRA GGUF. */
    final class Adapter implements TrainedModel {
        private final TrainerOptions o;
        private final GgufFile base;
        private final LoraParams lora;

        private Adapter(TrainerOptions o, GgufFile base, LoraParams lora) {
            this.o = o;
            this.base = base;
            this.lora = lora;
        }

        @Override public LlamaShape shape() { return lora.shape(); }
        @Override public int vocabSize() { return lora.base().vocabSize(); }
        @Override public LlamaTrainer trainer(int threads) { return new LlamaTrainer(lora, threads); }
        @Override public void checkpoint(RunCheckpoint state, AdamW adam) { state.write(o.checkpoint(), lora, adam); }

        @Override
        public void write() {
            LoraExport.write(lora, o.out());
            if (o.peft() != null) {
                PeftAdapter.write(o.out(), lora.shape(), base.has("general.name") ? base.string("general.name") : null, lora.dropout(), o.peft());
            }
            if (o.merge() != null) {
                try (GgufFile adapter = GgufFile.open(o.out())) {
                    LoraMerge.write(base, adapter, 1f, o.merge(), o.mergeType(), o.threads());
                }
            }
        }

        // The adapter and the merge go through files beside --out, removed whatever happens.
        @Override
        public void writeWithHead(RewardHead head) {
            Path adapter = o.out().resolveSibling(o.out().getFileName() + ".adapter.tmp");
            Path merged = o.out().resolveSibling(o.out().getFileName() + ".merged.tmp");
            try {
                LoraExport.write(lora, adapter);
                try (GgufFile a = GgufFile.open(adapter)) {
                    LoraMerge.write(base, a, 1f, merged, o.mergeType(), o.threads());
                }
                try (GgufFile m = GgufFile.open(merged)) {
                    RewardModelFile.write(m, head, o.out());
                }
            } finally {
                delete(adapter);
                delete(merged);
            }
        }

        private static void delete(Path p) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException e) {
                throw new Align4jException(p + ": cannot remove: " + IoMessages.describe(e), e);
            }
        }

        @Override
        public void restore(RunCheckpoint.Loaded resumed) {
            try {
                lora.set(resumed.adapter()::get);
            } catch (IllegalArgumentException e) {
                throw new Align4jException(o.checkpoint() + ": not an adapter of these settings: " + e.getMessage(), e);
            }
        }

        @Override
        public String describe() {
            long trained = lora.tensors().stream().mapToLong(t -> t.data().length).sum();
            return String.format(Locale.ROOT, "; %s (%d trained parameters) over %s%s", o.lora(), trained, o.policy(),
                    o.initialAdapter() != null ? ", continuing from " + o.initialAdapter() : "");
        }

        @Override
        public void close() {
            base.close();
        }
    }
}
