package dev.timemachine.core.check;

import dev.timemachine.core.data.Snapshots;
import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.model.CodeRef;
import dev.timemachine.core.model.ImageRef;
import dev.timemachine.core.model.ModelVersion;
import dev.timemachine.core.model.Triplet;
import dev.timemachine.core.ports.ImageRegistry;
import dev.timemachine.core.ports.ModelRegistry;
import dev.timemachine.core.ports.Progress;
import dev.timemachine.core.ports.Reachability;
import dev.timemachine.core.ports.SourceCheckout;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * The pre-flight replayability check: whether every recorded input of a version can still be had,
 * without checking anything out, pulling or training. The commit must be in a branch or tag of its
 * repository, the image manifest must be in its registry by digest, the snapshot manifest and each of
 * its objects must be in the store with the recorded sizes (re-hashed with {@code deep}).
 *
 * <p>Each input gets one {@link Item}: {@link Status#OK}, {@link Status#MISSING} (it is gone: a replay
 * would be {@code INPUTS_UNVERIFIABLE}) or {@link Status#UNREACHABLE} (its service did not answer: that
 * says nothing about the input, and is never reported as gone).
 */
public final class Preflight {
  /** What one input's check found. */
  public enum Status {
    OK,
    MISSING,
    UNREACHABLE
  }

  /**
   * @param input {@code registry}, {@code code}, {@code environment} or {@code data}
   * @param detail what was checked, or what is wrong, in one line
   */
  public record Item(String input, Status status, String detail) {}

  /** The check of one version. */
  public record Result(String spec, List<Item> items) {
    public Result {
      items = List.copyOf(items);
    }

    /** Whether some input is gone. */
    public boolean missing() {
      return items.stream().anyMatch(i -> i.status() == Status.MISSING);
    }

    public boolean unreachable() {
      return items.stream().anyMatch(i -> i.status() == Status.UNREACHABLE);
    }

    /** The gone inputs in one line, as a replay's reason would say them. */
    public String reason() {
      return String.join("; ", items.stream().filter(i -> i.status() == Status.MISSING)
          .map(i -> i.input() + ": " + i.detail()).toList());
    }
  }

  private final ModelRegistry registry;
  private final SourceCheckout source;
  private final ImageRegistry images;
  private final Snapshots snapshots;

  public Preflight(ModelRegistry registry, SourceCheckout source, ImageRegistry images, Snapshots snapshots) {
    this.registry = registry;
    this.source = source;
    this.images = images;
    this.snapshots = snapshots;
  }

  public Result check(String spec, boolean deep, Progress progress) {
    List<Item> items = new ArrayList<>();
    ModelVersion version;
    try {
      version = registry.resolve(spec);
    } catch (TimemachineException e) {
      items.add(failed("registry", e));
      return new Result(spec, items);
    }
    items.add(new Item("registry", Status.OK, "resolved " + version.model()));
    Triplet triplet = version.triplet();
    items.add(guarded("code", () -> code(triplet.code())));
    items.add(guarded("environment", () -> image(triplet.environment().image())));
    items.add(guarded("data", () -> {
      List<String> problems = snapshots.check(triplet.data(), deep, progress);
      if (problems.isEmpty()) {
        return new Item("data", Status.OK, triplet.data().fileCount() + " files, " + triplet.data().totalBytes()
            + " bytes " + (deep ? "re-hashed" : "present with their sizes") + " in " + triplet.data().snapshotUri());
      }
      return new Item("data", Status.MISSING, String.join("; ", problems));
    }));
    return new Result(spec, items);
  }

  private Item code(CodeRef code) {
    Reachability reachability = source.reachable(code.repositoryUrl(), code.commit());
    if (reachability.reachable()) {
      return new Item("code", Status.OK, "commit " + code.commit() + " is in " + reachability.ref() + " of " + code.repositoryUrl());
    }
    return new Item("code", Status.MISSING, "commit " + code.commit() + " is in no branch or tag of " + code.repositoryUrl()
        + " (force-pushed away or never pushed)");
  }

  private Item image(ImageRef image) {
    if (images.hasManifest(image)) {
      return new Item("environment", Status.OK, "manifest " + image + " is in its registry");
    }
    return new Item("environment", Status.MISSING, "image " + image + " is gone from its registry (no manifest with that digest)");
  }

  private static Item guarded(String input, Supplier<Item> check) {
    try {
      return check.get();
    } catch (TimemachineException e) {
      return failed(input, e);
    }
  }

  /**
   * A failed look-up: gone when the failure says the thing does not exist (or cannot be what was
   * recorded), else unreachable.
   */
  private static Item failed(String input, TimemachineException e) {
    boolean gone = e.type() == ErrorType.NOT_FOUND || e.type() == ErrorType.INPUT_UNVERIFIABLE
        || e.type() == ErrorType.INVALID_INPUT;
    return new Item(input, gone ? Status.MISSING : Status.UNREACHABLE, e.getMessage());
  }
}
