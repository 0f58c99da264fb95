package dev.timemachine.core.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/**
 * The evidence that a verified input matches the record (the checked-out HEAD, the pulled image's
 * digest and id, the restored snapshot's root digest and file count). Which input it is, the activity
 * that returned it says; histories recorded before the {@code input} field was dropped still read.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record InputCheck(String evidence) {}
