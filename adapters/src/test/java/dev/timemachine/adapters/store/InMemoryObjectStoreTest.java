package dev.timemachine.adapters.store;

import dev.timemachine.core.ports.ObjectStore;

class InMemoryObjectStoreTest extends ObjectStoreContract {
  @Override
  ObjectStore newStore() {
    return new InMemoryObjectStore();
  }
}
