package dev.timemachine.cli;

import dev.timemachine.domain.DataRef;
import dev.timemachine.domain.Json;
import dev.timemachine.worker.Components;
import dev.timemachine.worker.Config;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code timemachine snapshot create DIR STORE_URI}. */
@Command(name = "snapshot", mixinStandardHelpOptions = true, description = "Manages data snapshots.",
    subcommands = {SnapshotCommand.Create.class})
public final class SnapshotCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required: create");
  }

  /** Uploads a directory as a content-addressed snapshot. */
  @Command(name = "create", mixinStandardHelpOptions = true,
      description = {
        "Uploads DIR as a content-addressed snapshot under STORE_URI/snapshots/<root digest>.",
        "Prints the root digest and the snapshot URI on stdout. Uploading the same content again is a no-op."
      })
  public static final class Create implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "DIR") Path dir;

    @Parameters(index = "1", paramLabel = "STORE_URI", arity = "0..1",
        description = "file:///path or s3://bucket/prefix (default: TIMEMACHINE_STORE)")
    String storeUri;

    @Option(names = "--json",
        description = "Print only {snapshotUri, rootDigest, fileCount, totalBytes} as JSON (what record_run.py --snapshot reads).")
    boolean json;

    @Override
    public Integer call() {
      Config config = Config.fromEnvironment();
      try (Components components = new Components(config)) {
        var err = spec.commandLine().getErr();
        DataRef data =
            components.snapshots()
                .create(dir, storeUri != null ? storeUri : config.storeUri(), message -> {
                  err.println("  " + message);
                  err.flush();
                });
        var out = spec.commandLine().getOut();
        if (json) {
          out.print(Json.toString(data.withoutFiles()));
        } else {
          out.println(data.rootDigest());
          out.println(data.snapshotUri());
        }
        out.flush();
        err.printf("%d files, %d bytes%n", data.fileCount(), data.totalBytes());
        err.flush();
        return 0;
      }
    }
  }
}
