package dev.timemachine.cli;

import dev.timemachine.core.data.Snapshots;
import dev.timemachine.core.model.DataRef;
import dev.timemachine.core.json.Json;
import dev.timemachine.app.Components;
import dev.timemachine.app.Config;
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
        "Uploads DIR as a content-addressed snapshot under STORE_URI/snapshots/<root digest>; each file is stored once",
        "by content under STORE_URI/objects/sha256/, and only the objects the store lacks are uploaded.",
        "Prints the root digest and the snapshot URI on stdout. Uploading the same content again uploads nothing,",
        "but reads back and sha256-checks every stored file; an altered or missing one is refused unless --repair."
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

    @Option(names = "--repair",
        description = "If the snapshot exists and some stored files were altered or are missing, re-upload just those from DIR"
            + " (they are overwritten: copy them first if they are evidence).")
    boolean repair;

    @Override
    public Integer call() {
      Config config = Config.fromEnvironment();
      try (Components components = new Components(config)) {
        var err = spec.commandLine().getErr();
        Snapshots.Created created =
            components.snapshots()
                .create(dir, storeUri != null ? storeUri : config.storeUri(), repair, message -> {
                  err.println("  " + message);
                  err.flush();
                });
        DataRef data = created.data();
        var out = spec.commandLine().getOut();
        if (json) {
          out.print(Json.toString(data.withoutFiles()));
        } else {
          out.println(data.rootDigest());
          out.println(data.snapshotUri());
        }
        out.flush();
        err.printf("%d files, %d bytes%s%n", data.fileCount(), data.totalBytes(),
            !created.existed() ? "; uploaded " + created.uploadedObjects() + " new objects, " + created.uploadedBytes()
                + " bytes (the store held the rest)"
                : created.repaired().isEmpty() ? "; the snapshot existed and every stored file was verified"
                : "; repaired " + created.repaired().size() + " altered or missing: " + String.join(", ", created.repaired()));
        err.flush();
        return 0;
      }
    }
  }
}
