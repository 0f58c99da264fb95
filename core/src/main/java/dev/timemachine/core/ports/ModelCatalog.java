package dev.timemachine.core.ports;

import dev.timemachine.core.fleet.Selection;

/**
 * Resolves a fleet selector ({@code mlflow:*@champion}, {@code churn@*}) to model versions across
 * registries, with the reason each matching version that cannot be replayed is left out. Lists only:
 * nothing is downloaded, so it stays quick for a fleet of a thousand models.
 */
public interface ModelCatalog {
  Selection select(String selector);
}
