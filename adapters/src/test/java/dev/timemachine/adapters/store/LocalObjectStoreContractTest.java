package dev.timemachine.adapters.store;

import dev.timemachine.core.ports.ObjectStore;

class LocalObjectStoreContractTest extends ObjectStoreContract {
  @Override
  ObjectStore newStore() {
    return new LocalObjectStore(tmp.resolve("store"));
  }
}
