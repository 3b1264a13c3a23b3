package org.align4j.reward;

/**
 * A reward process that broke the protocol: a line on stdout beyond one answer per request line. It is
 * found when the extra line arrives, which with a slow process can be prompts later, so every reward it
 * gave before may belong to another request: the run's output is not to be trusted, and the job marks it
 * so that {@code --resume} does not continue it.
 */
public final class RewardProtocolException extends RewardException {
    public RewardProtocolException(String message) {
        super(message);
    }
}
