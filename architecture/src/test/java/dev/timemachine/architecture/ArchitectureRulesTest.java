package dev.timemachine.architecture;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import java.util.function.Function;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator.ReplaceUnderscores;
import org.junit.jupiter.api.Test;

/**
 * Each rule of {@link ArchitectureTest} fails on a deliberately bad class. The bad classes live in
 * {@code dev.timemachine.architecture.violations.<room>}, a mirror of the real rooms, and the rules
 * are applied to that mirror: a rule that cannot fail would pass here and fail this test.
 */
@DisplayNameGeneration(ReplaceUnderscores.class)
class ArchitectureRulesTest {
  private static final ArchitectureTest.Rules MIRROR = new ArchitectureTest.Rules("dev.timemachine.architecture.violations.");
  private static JavaClasses bad;

  @BeforeAll
  static void importTheBadClasses() {
    bad = new ClassFileImporter().withImportOption(ImportOption.Predefined.ONLY_INCLUDE_TESTS)
        .importPackages("dev.timemachine.architecture.violations");
  }

  @Test
  void a_core_class_that_uses_temporal_breaks_the_core_rule() {
    assertBroken(ArchitectureTest.Rules::corePure, "CoreClassThatUsesTemporal");
  }

  @Test
  void a_core_class_that_opens_a_connection_breaks_the_network_rule() {
    assertBroken(ArchitectureTest.Rules::coreDoesNoNetworkIo, "CoreClassThatUsesTemporal");
  }

  @Test
  void a_workflow_that_reads_the_clock_breaks_the_determinism_rule() {
    assertBroken(ArchitectureTest.Rules::workflowIsDeterministic, "WorkflowThatReadsTheClock");
  }

  @Test
  void an_adapter_that_knows_the_cli_breaks_the_adapter_rule() {
    assertBroken(ArchitectureTest.Rules::adaptersKnowOnlyCore, "AdapterThatKnowsTheCli");
  }

  @Test
  void a_registry_that_uses_an_adapter_breaks_the_registry_rule() {
    assertBroken(ArchitectureTest.Rules::registriesKnowOnlyCore, "RegistryThatUsesAnAdapter");
  }

  @Test
  void an_activity_that_calls_an_adapter_directly_breaks_the_ports_rule() {
    assertBroken(ArchitectureTest.Rules::activitiesUsePorts, "ActivityThatCallsAnAdapter");
  }

  @Test
  void a_command_that_builds_an_adapter_breaks_the_composition_rule() {
    assertBroken(ArchitectureTest.Rules::cliGoesThroughApp, "CommandThatBuildsAnAdapter");
  }

  @Test
  void reading_the_environment_outside_app_breaks_the_configuration_rule() {
    assertBroken(ArchitectureTest.Rules::onlyAppReadsTheEnvironment, "CoreClassThatUsesTemporal");
  }

  private static void assertBroken(Function<ArchitectureTest.Rules, ArchRule> rule, String offender) {
    ArchRule mirrored = rule.apply(MIRROR);
    assertThatThrownBy(() -> mirrored.check(bad))
        .as("rule '%s' on the mirror that holds %s", mirrored.getDescription(), offender)
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining(offender);
  }
}
