// Intentionally empty: libdora-node.so is assembled from the dora_node_api archive.
