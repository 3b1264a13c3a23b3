package org.align4j.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

@Command(name = "info")
final class InfoCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        throw new UnsupportedOperationException("info: being written in this session");
    }
}
