package dev.timemachine.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator.ReplaceUnderscores;
import org.junit.jupiter.api.Test;

/**
 * The rules of {@code docs/architecture.md}, checked over the main classes of every module (this
 * module depends on the CLI, which depends on everything else). {@code ArchitectureRulesTest} shows
 * that each rule fails on a class that breaks it.
 */
@DisplayNameGeneration(ReplaceUnderscores.class)
class ArchitectureTest {
  private static JavaClasses product;

  @BeforeAll
  static void importEveryModule() {
    product = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
        .importPackages("dev.timemachine");
  }

  @Test
  void the_classpath_holds_every_room() {
    for (String room : Rules.ROOMS) {
      org.assertj.core.api.Assertions.assertThat(product.stream().anyMatch(c -> c.getPackageName().startsWith(room)))
          .as("classes in %s", room).isTrue();
    }
  }

  private static final Rules RULES = new Rules("dev.timemachine.");

  @Test
  void core_imports_no_temporal_adapters_or_cli() {
    RULES.corePure().check(product);
  }

  @Test
  void core_does_no_network_io() {
    RULES.coreDoesNoNetworkIo().check(product);
  }

  @Test
  void workflow_code_does_no_io_clocks_threads_or_randomness() {
    RULES.workflowIsDeterministic().check(product);
  }

  @Test
  void adapters_do_not_import_workflow_activities_app_or_cli() {
    RULES.adaptersKnowOnlyCore().check(product);
  }

  @Test
  void registries_do_not_import_temporal_activities_adapters_app_or_cli() {
    RULES.registriesKnowOnlyCore().check(product);
  }

  @Test
  void activities_reach_the_world_only_through_ports() {
    RULES.activitiesUsePorts().check(product);
  }

  @Test
  void the_cli_reaches_adapters_only_through_app() {
    RULES.cliGoesThroughApp().check(product);
  }

  @Test
  void only_app_reads_the_environment() {
    RULES.onlyAppReadsTheEnvironment().check(product);
  }

  /**
   * The rules, over the rooms under {@code base} ({@code dev.timemachine.} for the product). The test
   * that proves each rule can fail applies them to a mirror of the rooms holding deliberately bad
   * classes.
   */
  static final class Rules {
    static final String[] ROOMS = {
      "dev.timemachine.core", "dev.timemachine.workflow", "dev.timemachine.activities", "dev.timemachine.adapters",
      "dev.timemachine.registries", "dev.timemachine.app", "dev.timemachine.cli", "dev.timemachine.samples"};

    private final String b;

    Rules(String base) {
      this.b = base;
    }

    private String[] rooms(String... names) {
      return java.util.Arrays.stream(names).map(n -> n.contains(".") && !n.startsWith("~") ? n : b + n.replace("~", "") + "..")
          .toArray(String[]::new);
    }

    ArchRule corePure() {
      return noClasses().that().resideInAPackage(b + "core..")
          .should().dependOnClassesThat().resideInAnyPackage(rooms(
              "io.temporal..", "workflow", "activities", "adapters", "registries", "app", "cli",
              "com.github.dockerjava..", "org.eclipse.jgit..", "software.amazon..", "picocli.."))
          .because("the core is the model of a replay: no Temporal, no adapters, no CLI");
    }

    ArchRule coreDoesNoNetworkIo() {
      return noClasses().that().resideInAPackage(b + "core..")
          .should().dependOnClassesThat().resideInAnyPackage("java.net.http..", "java.nio.channels..")
          .orShould().dependOnClassesThat().haveFullyQualifiedName("java.net.Socket")
          .orShould().dependOnClassesThat().haveFullyQualifiedName("java.net.URL")
          .orShould().dependOnClassesThat().haveFullyQualifiedName("java.lang.ProcessBuilder")
          .because("the core reaches services only through its ports");
    }

    ArchRule workflowIsDeterministic() {
      return noClasses().that().resideInAPackage(b + "workflow..")
          .should().dependOnClassesThat().resideInAnyPackage(rooms(
              "java.io..", "java.nio..", "java.net..", "java.util.concurrent..", "~core.data", "adapters",
              "activities", "app"))
          .orShould().callMethod(System.class, "currentTimeMillis")
          .orShould().callMethod(System.class, "nanoTime")
          .orShould().callMethod(System.class, "getenv", String.class)
          .orShould().dependOnClassesThat().areAssignableTo(Thread.class)
          .orShould().dependOnClassesThat().areAssignableTo(java.util.Random.class)
          .orShould().dependOnClassesThat().areAssignableTo(java.time.Clock.class)
          .orShould().callMethod(java.time.Instant.class, "now")
          .orShould().callMethod(java.util.UUID.class, "randomUUID")
          .because("workflow code must replay deterministically against its recorded history");
    }

    ArchRule adaptersKnowOnlyCore() {
      return noClasses().that().resideInAPackage(b + "adapters..")
          .should().dependOnClassesThat().resideInAnyPackage(rooms(
              "workflow", "activities", "registries", "app", "cli", "io.temporal..", "picocli.."))
          .because("adapters implement ports and know nothing of Temporal or the CLI");
    }

    ArchRule registriesKnowOnlyCore() {
      return noClasses().that().resideInAPackage(b + "registries..")
          .should().dependOnClassesThat().resideInAnyPackage(rooms(
              "workflow", "activities", "adapters", "app", "cli", "io.temporal..", "picocli.."))
          .because("registries implement the ModelRegistry port on top of other ports");
    }

    ArchRule activitiesUsePorts() {
      return noClasses().that().resideInAPackage(b + "activities..")
          .should().dependOnClassesThat().resideInAnyPackage(rooms(
              "adapters", "registries", "app", "cli", "com.github.dockerjava..", "org.eclipse.jgit..",
              "software.amazon.."))
          .because("activities are thin: they delegate to ports handed to them by the app");
    }

    ArchRule cliGoesThroughApp() {
      return noClasses().that().resideInAPackage(b + "cli..")
          .should().dependOnClassesThat().resideInAnyPackage(rooms(
              "adapters", "activities", "com.github.dockerjava..", "org.eclipse.jgit..", "software.amazon.."))
          .because("the app module is the single composition root");
    }

    ArchRule onlyAppReadsTheEnvironment() {
      return noClasses().that().resideOutsideOfPackages(b + "app..", b + "samples..")
          .should().callMethod(System.class, "getenv", String.class)
          .orShould().callMethod(System.class, "getenv")
          .because("configuration is read once, in app, and handed to the others as typed settings");
    }
  }
}
