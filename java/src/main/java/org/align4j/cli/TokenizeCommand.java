package org.align4j.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

@Command(name = "tokenize")
final class TokenizeCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        throw new UnsupportedOperationException("tokenize: being written in this session");
    }
}
