package dev.timemachine.core.contract;

import com.fasterxml.jackson.databind.JsonNode;
import dev.timemachine.core.json.Json;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * MLflow's column specs in the contract's words, pure. A model's signature (the {@code signature} of its
 * {@code MLmodel}: {@code inputs} and {@code outputs}, each a JSON list of column specs such as {@code
 * {"type": "long", "name": "tenure_months"}}) and a dataset input's {@code {"mlflow_colspec": [...]}}
 * schema use the same specs. Types: {@code long}/{@code integer} are {@code int}, {@code double}/{@code
 * float} {@code float}, {@code boolean} {@code bool}, {@code string} {@code string}; any other keeps
 * MLflow's name ({@code binary}, {@code datetime}, {@code array}, {@code object}, {@code map}, {@code any}).
 * Tensor specs have no column names and are not read.
 */
public final class MlflowSignature {
  /** The name under which the differences of the signature are reported, in place of a file's path. */
  public static final String LABEL = "MLflow signature";

  private MlflowSignature() {}

  /** One named input of a signature; {@code required} is false for columns MLflow marks optional. */
  public record Input(String name, String type, boolean required) {}

  /** The named inputs of a recorded signature (see {@link ModelContract#mlflowSignature()}); empty when none. */
  public static List<Input> inputs(String signatureJson) {
    if (signatureJson == null || signatureJson.isBlank()) {
      return List.of();
    }
    JsonNode signature = parse(signatureJson);
    return signature == null ? List.of() : colspecs(signature.path("inputs"));
  }

  /**
   * The named column specs of a list, given as the list or as the JSON text of one (MLmodel writes
   * {@code inputs: '[...]'}).
   */
  public static List<Input> colspecs(JsonNode specs) {
    JsonNode list = specs != null && specs.isTextual() ? parse(specs.asText()) : specs;
    List<Input> inputs = new ArrayList<>();
    if (list == null || !list.isArray()) {
      return inputs;
    }
    for (JsonNode spec : list) {
      JsonNode name = spec.path("name");
      if (!name.isTextual() || name.asText().isEmpty() || "tensor".equals(spec.path("type").asText())) {
        continue;
      }
      inputs.add(new Input(name.asText(), typeOf(spec.path("type")), spec.path("required").asBoolean(true)));
    }
    return inputs;
  }

  /** An MLflow column type in the contract's words. */
  public static String typeOf(JsonNode type) {
    String name = type.isTextual() ? type.asText() : type.path("type").asText("any");
    return switch (name) {
      case "long", "integer" -> "int";
      case "double", "float" -> "float";
      case "boolean" -> "bool";
      case "string" -> "string";
      default -> name.isEmpty() ? "any" : name;
    };
  }

  private static JsonNode parse(String text) {
    try {
      return Json.mapper().readTree(text);
    } catch (IOException e) {
      return null;
    }
  }
}
