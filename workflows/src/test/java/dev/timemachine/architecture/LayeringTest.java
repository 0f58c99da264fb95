package dev.timemachine.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

/**
 * The workflows module's rules: domain and ports know nothing of Temporal; workflow code does no I/O
 * and touches no threads, clocks or randomness, because it must replay deterministically.
 */
@AnalyzeClasses(packages = "dev.timemachine", importOptions = ImportOption.DoNotIncludeTests.class)
class LayeringTest {
  @ArchTest
  static final ArchRule domain_and_ports_do_not_depend_on_temporal =
      noClasses().that().resideInAnyPackage("dev.timemachine.domain..", "dev.timemachine.ports..")
          .should().dependOnClassesThat().resideInAnyPackage("io.temporal..");

  @ArchTest
  static final ArchRule domain_does_not_depend_on_workflows =
      noClasses().that().resideInAnyPackage("dev.timemachine.domain..", "dev.timemachine.ports..")
          .should().dependOnClassesThat().resideInAnyPackage("dev.timemachine.workflow..");

  @ArchTest
  static final ArchRule workflow_code_does_no_io_threads_clocks_or_randomness =
      noClasses().that().resideInAPackage("dev.timemachine.workflow..")
          .should().dependOnClassesThat().resideInAnyPackage("java.io..", "java.nio..", "java.net..", "java.util.concurrent..")
          .orShould().callMethod(System.class, "currentTimeMillis")
          .orShould().callMethod(System.class, "nanoTime")
          .orShould().dependOnClassesThat().areAssignableTo(Thread.class)
          .orShould().dependOnClassesThat().areAssignableTo(java.util.Random.class)
          .orShould().dependOnClassesThat().areAssignableTo(java.time.Clock.class)
          .orShould().callMethod(java.time.Instant.class, "now")
          .orShould().callMethod(java.util.UUID.class, "randomUUID");

  @ArchTest
  static final ArchRule nothing_here_depends_on_adapters =
      noClasses().should().dependOnClassesThat().resideInAnyPackage(
          "dev.timemachine.activities..", "dev.timemachine.registry..", "dev.timemachine.worker..", "dev.timemachine.cli..",
          "com.github.dockerjava..", "org.eclipse.jgit..", "software.amazon..");
}
