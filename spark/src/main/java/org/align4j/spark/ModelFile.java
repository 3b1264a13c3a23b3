package org.align4j.spark;

import java.io.Serializable;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.align4j.Align4jException;
import org.align4j.llama.ModelOptions;
import org.apache.spark.SparkFiles;

/**
 * A GGUF as the executors find it: a path every node sees, or the name of a file shipped with
 * {@code spark-submit --files} (or {@code SparkContext.addFile}); loaded with {@code gpuLayers} offloaded.
 */
public record ModelFile(String path, int gpuLayers) implements Serializable {
    public static ModelFile of(Path path) {
        return new ModelFile(path.toString(), 0);
    }

    public ModelFile withGpuLayers(int gpuLayers) {
        return new ModelFile(path, gpuLayers);
    }

    ModelOptions options() {
        return ModelOptions.inference(gpuLayers);
    }

    /** The file on this node: the path itself, else the shipped file of that name. */
    Path resolve() {
        Path given = Path.of(path);
        if (Files.isRegularFile(given)) {
            return given;
        }
        Path shipped = Path.of(SparkFiles.get(given.getFileName().toString()));
        if (Files.isRegularFile(shipped)) {
            return shipped;
        }
        throw new Align4jException(path + ": no such model file on executor " + host() + ", nor one of that name shipped with"
                + " --files: give a path every node sees, or ship the file with spark-submit --files");
    }

    private static String host() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "(host unknown)";
        }
    }
}
