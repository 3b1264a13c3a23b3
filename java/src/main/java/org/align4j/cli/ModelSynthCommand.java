package org.align4j.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

@Command(name = "synth")
final class ModelSynthCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        throw new UnsupportedOperationException("synth: being written in this session");
    }
}
