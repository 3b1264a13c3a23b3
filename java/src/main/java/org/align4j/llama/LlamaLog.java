package org.align4j.llama;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Locale;

/**
 * Routes llama.cpp's and ggml's log into {@link System.Logger} "org.align4j.llama". Quiet by default:
 * nothing passes unless {@code -Dalign4j.llama.log=debug|info|warn|error}.
 *
 * <p>The last few error lines of each thread are always kept, and the failures that follow them
 * (a NULL from a load, a non-zero decode) carry them in their exception message: llama.cpp reports
 * the cause only in its log.
 */
final class LlamaLog {
    private LlamaLog() {}

    // ggml_log_level
    private static final int DEBUG = 1, INFO = 2, WARN = 3, ERROR = 4, CONT = 5;
    private static final int RECENT_ERRORS = 8;

    private static final System.Logger LOG = System.getLogger("org.align4j.llama");
    private static final int THRESHOLD = threshold(System.getProperty("align4j.llama.log", "none"));
    private static final ThreadLocal<Deque<String>> RECENT = ThreadLocal.withInitial(ArrayDeque::new);
    private static final ThreadLocal<int[]> LAST_LEVEL = ThreadLocal.withInitial(() -> new int[] {INFO});

    static void install() {
        try {
            MemorySegment stub = Linker.nativeLinker().upcallStub(
                    MethodHandles.lookup().findStatic(LlamaLog.class, "callback",
                            MethodType.methodType(void.class, int.class, MemorySegment.class, MemorySegment.class)),
                    FunctionDescriptor.ofVoid(JAVA_INT, ADDRESS, ADDRESS),
                    Arena.global()); // llama.cpp keeps the pointer for the life of the process
            Llama.llama_log_set(stub, MemorySegment.NULL);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The error lines llama.cpp logged on this thread since the last call, joined; "" if none. */
    static String drainRecentErrors() {
        Deque<String> d = RECENT.get();
        String s = String.join("; ", d);
        d.clear();
        return s;
    }

    @SuppressWarnings("unused") // called from native code
    private static void callback(int level, MemorySegment text, MemorySegment userData) {
        try {
            record(level, text);
        } catch (Throwable t) {
            // An exception escaping an upcall would kill the JVM; a lost log line is the lesser harm.
        }
    }

    private static void record(int level, MemorySegment text) {
        int effective = level == CONT ? LAST_LEVEL.get()[0] : level;
        LAST_LEVEL.get()[0] = effective;
        if (effective < THRESHOLD && effective != ERROR) {
            return;
        }
        String msg = text.reinterpret(Long.MAX_VALUE).getString(0).strip();
        if (msg.isEmpty()) {
            return;
        }
        if (effective == ERROR) {
            Deque<String> d = RECENT.get();
            if (d.size() == RECENT_ERRORS) {
                d.removeFirst();
            }
            d.addLast(msg);
        }
        if (effective >= THRESHOLD) {
            LOG.log(switch (effective) {
                case DEBUG -> System.Logger.Level.DEBUG;
                case INFO -> System.Logger.Level.INFO;
                case WARN -> System.Logger.Level.WARNING;
                default -> System.Logger.Level.ERROR;
            }, msg);
        }
    }

    private static int threshold(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "debug" -> DEBUG;
            case "info" -> INFO;
            case "warn", "warning" -> WARN;
            case "error" -> ERROR;
            case "none", "off" -> Integer.MAX_VALUE;
            default -> throw new IllegalArgumentException("align4j.llama.log must be debug|info|warn|error|none, not " + name);
        };
    }
}
