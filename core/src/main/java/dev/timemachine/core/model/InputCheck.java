package dev.timemachine.core.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/**
 * A verified input: which one, and the evidence that it matches the record (the checked-out HEAD, the
 * pulled image's digest and id, the restored snapshot's root digest and file count).
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record InputCheck(InputKind input, String evidence) {}
