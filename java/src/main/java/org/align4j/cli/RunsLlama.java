package org.align4j.cli;

/**
 * A command that runs llama.cpp. The root command loads the native libraries and says which backend
 * they run on before it runs one; other commands (and --help, usage errors) leave them unloaded.
 */
interface RunsLlama {}
