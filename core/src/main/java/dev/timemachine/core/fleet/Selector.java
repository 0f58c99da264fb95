package dev.timemachine.core.fleet;

import dev.timemachine.core.errors.TimemachineException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Names model versions across registries, for a fleet replay. A selector is one or more items
 * separated by commas or whitespace; each item is an optional registry prefix ({@code mlflow:}) and a
 * name pattern with a version part:
 *
 * <ul>
 *   <li>built-in: {@code churn@3} (one version), {@code churn@*} (every version), {@code *@latest}
 *       (the highest version of every model);
 *   <li>MLflow: {@code mlflow:churn/3}, {@code mlflow:churn/*}, {@code mlflow:*@champion} (every
 *       version that carries the alias), {@code mlflow:*@latest}.
 * </ul>
 *
 * {@code *} in a name or version matches any run of characters. Pure: matching against what a
 * registry lists is done by whoever holds the registries.
 */
public record Selector(String text, List<Item> items) {
  /** How an item's version part is matched. */
  public enum VersionMatch {
    /** A version number or id, possibly with {@code *}. */
    VERSION,
    /** An MLflow alias ({@code @champion}). */
    ALIAS,
    /** The highest version of each matching name ({@code @latest}). */
    LATEST
  }

  /**
   * @param registry the registry prefix without the colon, or null for the default registry
   * @param namePattern the name, possibly with {@code *}
   * @param versionPattern the version, alias or {@code latest}
   */
  public record Item(String text, String registry, String namePattern, VersionMatch match, String versionPattern) {
    /** True when the item names exactly one version and no pattern: not finding it is worth saying. */
    public boolean explicit() {
      return match != VersionMatch.LATEST && !namePattern.contains("*") && !versionPattern.contains("*");
    }

    public boolean matchesName(String name) {
      return glob(namePattern).matcher(name).matches();
    }

    public boolean matchesVersion(String version) {
      return glob(versionPattern).matcher(version).matches();
    }
  }

  public Selector {
    items = List.copyOf(items);
  }

  public static Selector parse(String text) {
    if (text == null || text.isBlank()) {
      throw TimemachineException.invalidInput(
          "a selector is required, e.g. 'churn@*', '*@latest', 'mlflow:*@champion' or 'churn@1,mlflow:churn/3'");
    }
    List<Item> items = new ArrayList<>();
    for (String part : text.trim().split("[,\\s]+")) {
      items.add(parseItem(part));
    }
    return new Selector(text.trim(), items);
  }

  private static Item parseItem(String part) {
    String registry = null;
    String rest = part;
    int colon = part.indexOf(':');
    if (colon > 0) {
      registry = part.substring(0, colon);
      rest = part.substring(colon + 1);
    }
    boolean mlflowStyle = "mlflow".equals(registry);
    int at = rest.lastIndexOf('@');
    int slash = mlflowStyle ? rest.lastIndexOf('/') : -1;
    String name;
    String version;
    VersionMatch match;
    if (slash > 0 && slash > at) {
      name = rest.substring(0, slash);
      version = rest.substring(slash + 1);
      match = VersionMatch.VERSION;
    } else if (at > 0) {
      name = rest.substring(0, at);
      version = rest.substring(at + 1);
      match = version.equals("latest") ? VersionMatch.LATEST : mlflowStyle ? VersionMatch.ALIAS : VersionMatch.VERSION;
    } else {
      throw TimemachineException.invalidInput(
          "selector item '" + part + "' names no version: use name@version, name@*, *@latest"
              + (mlflowStyle ? ", mlflow:name/version, mlflow:name/* or mlflow:*@alias" : ""));
    }
    if (name.isEmpty() || version.isEmpty() || !name.matches("[A-Za-z0-9._*-]+") || !version.matches("[A-Za-z0-9._*-]+")) {
      throw TimemachineException.invalidInput(
          "selector item '" + part + "': names and versions are letters, digits, '.', '_', '-' or '*'");
    }
    return new Item(part, registry, name, match, version);
  }

  static Pattern glob(String pattern) {
    StringBuilder regex = new StringBuilder();
    String[] pieces = pattern.split("\\*", -1);
    for (int i = 0; i < pieces.length; i++) {
      if (i > 0) {
        regex.append(".*");
      }
      regex.append(Pattern.quote(pieces[i]));
    }
    return Pattern.compile(regex.toString());
  }
}
