package org.align4j.spark;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.align4j.llama.Model;

/**
 * The models of this JVM: each {@link ModelFile} loaded once, by the first task that asks, and shared by every
 * later task (each runs its own context over it); closed when the JVM exits.
 */
final class ExecutorModels {
    private static final String NATIVE_DIR = "align4j.native.dir";
    private static final Map<ModelFile, Model> LOADED = new ConcurrentHashMap<>();
    private static final AtomicInteger LOADS = new AtomicInteger();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(ExecutorModels::closeAll, "align4j-models"));
    }

    private ExecutorModels() {}

    /** The loaded model of {@code file}; the native libraries come from {@code nativeDir} unless this JVM names its own. */
    static Model get(ModelFile file, String nativeDir) {
        if (nativeDir != null && System.getProperty(NATIVE_DIR) == null) {
            System.setProperty(NATIVE_DIR, nativeDir);
        }
        return LOADED.computeIfAbsent(file, f -> {
            LOADS.incrementAndGet();
            return Model.load(f.resolve(), f.options());
        });
    }

    /** How many models this JVM has loaded: one per {@link ModelFile}, however many tasks ran here. */
    static int loads() {
        return LOADS.get();
    }

    private static void closeAll() {
        LOADED.values().forEach(Model::close);
        LOADED.clear();
    }
}
