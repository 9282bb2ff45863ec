"""Audio classifier: shared preprocessing, the ResNet, inference helper and output schema."""
