package dev.timemachine.core.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.timemachine.core.data.Digests;
import dev.timemachine.core.errors.TimemachineException;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An artifact of another model version that a training consumes (a feature encoder's output, a
 * pretrained backbone): recorded in the consumer's triplet, verified against its sha256 before every
 * training, and mounted read-only at {@code /upstream/<name>/<artifact>}.
 *
 * @param name the directory under {@code /upstream} (default: the upstream model's name)
 * @param model the upstream version, {@code encoder@2}
 * @param artifact the path of the artifact among the upstream version's recorded artifacts
 * @param sha256 and {@code size}: what the upstream version recorded for it
 * @param storeUri the store root whose {@code objects/sha256/} keeps it (registration kept it there)
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record UpstreamRef(String name, ModelRef model, String artifact, String sha256, long size, String storeUri) {
  /** Where upstream artifacts are in the training container, read-only. */
  public static final String MOUNT = "/upstream";

  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
  private static final Pattern SPEC = Pattern.compile("(?:([^=]+)=)?([^:=]+@[^:=]+):(.+)");

  public UpstreamRef {
    if (model == null) {
      throw TimemachineException.invalidInput("an upstream artifact needs the model version it comes from");
    }
    name = name == null ? model.name() : name;
    requireName(name);
    RelativePaths.require(artifact, "upstream artifact");
    Digests.requireSha256Hex(sha256, "sha256 of upstream artifact " + model + ":" + artifact);
    if (size < 0) {
      throw TimemachineException.invalidInput("upstream artifact " + model + ":" + artifact + " has a negative size");
    }
  }

  /** What the command line says: {@code [NAME=]MODEL@VERSION:ARTIFACT}, before it is looked up. */
  public record Spec(String name, ModelRef model, String artifact) {
    public static Spec parse(String text) {
      Matcher m = SPEC.matcher(text == null ? "" : text.strip());
      if (!m.matches()) {
        throw TimemachineException.invalidInput(
            "--upstream expects [NAME=]MODEL@VERSION:ARTIFACT (e.g. encoder@2:encoder.pkl), got '" + text + "'");
      }
      ModelRef model = ModelRef.parse(m.group(2));
      String name = m.group(1) == null ? model.name() : m.group(1);
      requireName(name);
      RelativePaths.require(m.group(3), "upstream artifact");
      return new Spec(name, model, m.group(3));
    }
  }

  private static void requireName(String name) {
    if (!NAME.matcher(name).matches()) {
      throw TimemachineException.invalidInput("upstream name '" + name
          + "' must be 1-64 of letters, digits, '.', '_' or '-', starting with a letter or digit (it is a directory under "
          + MOUNT + ")");
    }
  }

  /** Where the training sees it: {@code /upstream/<name>/<artifact>}. */
  public String containerPath() {
    return MOUNT + "/" + name + "/" + artifact;
  }

  /** The same slot filled by another version's artifact (a backtest with a new encoder). */
  public UpstreamRef replacedBy(UpstreamRef other) {
    return new UpstreamRef(name, other.model(), artifact, other.sha256(), other.size(), other.storeUri());
  }

  @Override
  public String toString() {
    return name + "=" + model + ":" + artifact;
  }

  /** Refuses two upstream artifacts that would land on the same path. */
  public static List<UpstreamRef> requireDistinct(List<UpstreamRef> upstream) {
    List<UpstreamRef> list = upstream == null ? List.of() : List.copyOf(upstream);
    java.util.Set<String> seen = new java.util.HashSet<>();
    for (UpstreamRef u : list) {
      if (!seen.add(u.containerPath())) {
        throw TimemachineException.invalidInput("two upstream artifacts would both be " + u.containerPath());
      }
    }
    return list;
  }
}
